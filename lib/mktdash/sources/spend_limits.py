"""Spend limits (CSV or YAML) -> ``spend_limits``: the most a channel (or campaign) may spend per period.

CSV (header names case-insensitive)::

    channel,campaign_name,period,limit_amount
    search,,week,40000
    social,Prospecting EU,month,20000

YAML (e.g. ``params/spend_limits.yaml``)::

    spend_limits:
      - {channel: search, period: week, limit_amount: 40000}

``period`` is ``week`` or ``month``; ``limit_amount`` in the reporting currency; empty ``campaign_name`` =
the whole channel. The file is a snapshot (``SNAPSHOT = True``, no period): loading it replaces every earlier
limit of the channels it lists (``replace_key`` on ``channel``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.sources import _tabular as T
from mktdash.sources.base import Parsed, ReadContext

NAME = "spend_limits"
TABLE = "spend_limits"
SNAPSHOT = True  # the file is a snapshot: it replaces earlier rows of its channels
PARAMS_FILES = ("spend_limits*.yaml", "spend_limits*.csv")  # read from params/ by ingest_inbox
ALIASES = {"campaign": "campaign_name", "limit": "limit_amount", "max_spend": "limit_amount"}
REQUIRED = ("channel", "period", "limit_amount")


def sniff(head: str, file_name: str) -> bool:
    return T.sniff_generic(head, file_name, TABLE, REQUIRED, ALIASES)


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_generic(path, TABLE, ALIASES)
    T.require(df, REQUIRED, file=path, line=1, what="spend limits file")
    out: dict[str, Any] = {
        "channel": T.clean_text(df, "channel", file=path).str.lower(),
        "campaign_name": T.clean_text(df, T.pick(df, "campaign_name"), file=path),
        "period": T.clean_text(df, "period", file=path).str.lower(),
        "limit_amount": T.to_number(df, "limit_amount", file=path),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(table=TABLE, frame=frame, source=NAME, period=None, replace_key={"channel": None})


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """CSV or YAML by the suffix of ``path``."""
    T.write_generic(
        df,
        path,
        TABLE,
        {c: c for c in ("channel", "campaign_name", "period", "limit_amount")},
        {"limit_amount": T.fmt_num},
    )
