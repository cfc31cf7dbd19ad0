"""Customer health CSV (generic layout, one row per snapshot date x customer) -> ``customer_health``.

Layout (header names case-insensitive)::

    snapshot_date,customer_id,acquisition_channel,plan,mrr,health_score,churned
    2025-01-05,cus_001,search,pro,490.00,82,false

``mrr`` in the reporting currency; ``health_score`` 0..100; ``churned`` true/false (also 1/0, yes/no).
A re-export of the same snapshot dates replaces them for the customers it lists (``replace_key`` on
``customer_id``, ``period`` = first..last snapshot date).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.sources import _tabular as T
from mktdash.sources.base import Parsed, ReadContext

NAME = "customer_health"
TABLE = "customer_health"
ALIASES = {"date": "snapshot_date", "channel": "acquisition_channel", "account_id": "customer_id"}
REQUIRED = ("snapshot_date", "customer_id", "health_score")


def sniff(head: str, file_name: str) -> bool:
    return T.sniff_generic(head, file_name, TABLE, REQUIRED, ALIASES)


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_generic(path, TABLE, ALIASES)
    T.require(df, REQUIRED, file=path, line=1, what="customer health file")
    out: dict[str, Any] = {
        "snapshot_date": T.to_date(df, "snapshot_date", file=path, required=True),
        "customer_id": T.clean_text(df, "customer_id", file=path),
        "acquisition_channel": T.clean_text(df, T.pick(df, "acquisition_channel"), file=path),
        "plan": T.clean_text(df, T.pick(df, "plan"), file=path),
        "mrr": T.to_number(df, T.pick(df, "mrr"), file=path),
        "health_score": T.to_number(df, "health_score", file=path),
        "churned": T.to_bool(df, T.pick(df, "churned"), file=path),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(
        table=TABLE,
        frame=frame,
        source=NAME,
        period=T.period_of(frame["snapshot_date"]),
        replace_key={"customer_id": None},
    )


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    T.write_generic(
        df,
        path,
        TABLE,
        {
            c: c
            for c in (
                "snapshot_date",
                "customer_id",
                "acquisition_channel",
                "plan",
                "mrr",
                "health_score",
                "churned",
            )
        },
        {
            "snapshot_date": T.fmt_date,
            "mrr": T.fmt_num,
            "health_score": T.fmt_num,
            "churned": lambda s: s.map(lambda v: "" if pd.isna(v) else str(bool(v)).lower()).astype(object),
        },
    )
