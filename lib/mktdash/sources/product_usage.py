"""Product usage CSV (generic layout, one row per day x customer x feature) -> ``product_usage``.

Layout (header names case-insensitive; ``date`` may be ``date_day``)::

    date,customer_id,feature,events,active_users
    2025-01-06,cus_001,reports,120,4

``date`` ISO ``YYYY-MM-DD``; ``events``/``active_users`` whole numbers. The file covers the days from its
first to its last date: a re-export of those days replaces them, feature by feature
(``replace_key={"feature": ...}``: the engine deletes earlier rows of each feature in the file over ``period``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.sources import _tabular as T
from mktdash.sources.base import Parsed, ReadContext

NAME = "product_usage"
TABLE = "product_usage"
ALIASES = {"date": "date_day", "day": "date_day", "account_id": "customer_id"}
REQUIRED = ("date_day", "customer_id", "feature", "events")


def sniff(head: str, file_name: str) -> bool:
    return T.sniff_generic(head, file_name, TABLE, REQUIRED, ALIASES)


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_generic(path, TABLE, ALIASES)
    T.require(df, REQUIRED, file=path, line=1, what="product usage file")
    out: dict[str, Any] = {
        "date_day": T.to_date(df, "date_day", file=path, required=True),
        "customer_id": T.clean_text(df, "customer_id", file=path),
        "feature": T.clean_text(df, "feature", file=path),
        "events": T.to_number(df, "events", file=path, integer=True).fillna(0).astype("int64"),
        "active_users": T.to_number(df, T.pick(df, "active_users"), file=path, integer=True)
        .fillna(0)
        .astype("int64"),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(
        table=TABLE,
        frame=frame,
        source=NAME,
        period=T.period_of(frame["date_day"]),
        replace_key={"feature": None},
    )


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    T.write_generic(
        df,
        path,
        TABLE,
        {
            "date_day": "date",
            "customer_id": "customer_id",
            "feature": "feature",
            "events": "events",
            "active_users": "active_users",
        },
        {"date_day": T.fmt_date, "events": T.fmt_num, "active_users": T.fmt_num},
    )
