"""Budget plan (CSV or YAML) -> ``budget_plan``: planned spend per month and channel (optionally campaign).

CSV (header names case-insensitive)::

    month,channel,campaign_name,planned_spend
    2025-11,search,,120000
    2025-11,social,Prospecting EU,15000

YAML (e.g. ``params/budget_plan.yaml``)::

    budget_plan:
      - {month: 2025-11, channel: search, planned_spend: 120000}

``month`` as ``YYYY-MM`` or any day of the month (stored as its first day); ``planned_spend`` in the
reporting currency; empty ``campaign_name`` = the whole channel. A plan file covers its months: loading a
revised plan replaces those months of the channels it lists (``replace_key`` on ``channel``, ``period`` = first
day of the first month .. last day of the last).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.sources import _tabular as T
from mktdash.sources.base import Parsed, ReadContext

NAME = "budget_plan"
TABLE = "budget_plan"
PARAMS_FILES = ("budget_plan*.yaml", "budget_plan*.csv")  # read from params/ by ingest_inbox
ALIASES = {
    "campaign": "campaign_name",
    "budget": "planned_spend",
    "planned": "planned_spend",
    "spend": "planned_spend",
}
REQUIRED = ("month", "channel", "planned_spend")


def sniff(head: str, file_name: str) -> bool:
    return T.sniff_generic(head, file_name, TABLE, REQUIRED, ALIASES)


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_generic(path, TABLE, ALIASES)
    T.require(df, REQUIRED, file=path, line=1, what="budget plan")
    month = T.to_date(
        df, "month", file=path, formats=("%Y-%m", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"), required=True
    )
    out: dict[str, Any] = {
        "month": month.dt.to_period("M").dt.start_time,
        "channel": T.clean_text(df, "channel", file=path).str.lower(),
        "campaign_name": T.clean_text(df, T.pick(df, "campaign_name"), file=path),
        "planned_spend": T.to_number(df, "planned_spend", file=path),
    }
    frame = T.finish(out, TABLE, df["_line"])
    period = None
    if len(frame):
        first = frame["month"].min().date()
        last = (frame["month"].max() + pd.offsets.MonthEnd(0)).date()
        period = (first, dt.date(last.year, last.month, last.day))
    return Parsed(table=TABLE, frame=frame, source=NAME, period=period, replace_key={"channel": None})


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """CSV or YAML by the suffix of ``path``."""
    T.write_generic(
        df,
        path,
        TABLE,
        {
            "month": "month",
            "channel": "channel",
            "campaign_name": "campaign_name",
            "planned_spend": "planned_spend",
        },
        {"month": lambda s: T.fmt_date(s, "%Y-%m"), "planned_spend": T.fmt_num},
    )
