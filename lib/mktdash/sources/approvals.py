"""Budget-change approvals (CSV or YAML) -> ``approvals``: who approved or rejected which proposal, when.

CSV (header names case-insensitive)::

    proposal_id,approved_by,approved_at,decision,note
    2025-W46-search,cmo,2025-11-17T09:30:00,approved,shift 10% from display

YAML (``params/approvals.yaml`` is the committed example)::

    approvals:
      - {proposal_id: 2025-W46-search, approved_by: cmo, approved_at: 2025-11-17T09:30:00, decision: approved}

``decision`` is ``approved`` or ``rejected``; ``approved_at`` ISO date-time (date alone = midnight).
``approved_by`` should be a role or staff handle, not a customer's personal data. The file is a snapshot of
the log (``SNAPSHOT = True``, no period): loading it replaces earlier decisions on the proposals it lists
(``replace_key`` on ``proposal_id``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.sources import _tabular as T
from mktdash.sources.base import Parsed, ReadContext

NAME = "approvals"
TABLE = "approvals"
SNAPSHOT = True
# read from params/ by ingest_inbox (not the committed example approvals.yaml)
PARAMS_FILES = ("approvals_*.yaml", "approvals*.csv")
ALIASES = {
    "proposal": "proposal_id",
    "by": "approved_by",
    "at": "approved_at",
    "date": "approved_at",
    "comment": "note",
}
REQUIRED = ("proposal_id", "approved_by", "decision")


def sniff(head: str, file_name: str) -> bool:
    return T.sniff_generic(head, file_name, TABLE, REQUIRED, ALIASES)


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_generic(path, TABLE, ALIASES)
    T.require(df, REQUIRED, file=path, line=1, what="approvals file")
    out: dict[str, Any] = {
        "proposal_id": T.clean_text(df, "proposal_id", file=path),
        "approved_by": T.clean_text(df, "approved_by", file=path),
        "approved_at": T.to_date(df, T.pick(df, "approved_at"), file=path, formats=T.TS_FORMATS, day=False),
        "decision": T.clean_text(df, "decision", file=path).str.lower(),
        "note": T.clean_text(df, T.pick(df, "note"), file=path),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(table=TABLE, frame=frame, source=NAME, period=None, replace_key={"proposal_id": None})


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """CSV or YAML by the suffix of ``path``."""
    T.write_generic(
        df,
        path,
        TABLE,
        {c: c for c in ("proposal_id", "approved_by", "approved_at", "decision", "note")},
        {"approved_at": lambda s: T.fmt_date(s, "%Y-%m-%dT%H:%M:%S")},
    )
