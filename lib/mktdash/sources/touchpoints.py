"""Customer journeys CSV (generic layout, one row per touch) -> ``touchpoints``.

Layout (header names case-insensitive)::

    journey_id,timestamp,channel,campaign,converted,conversion_value
    j000001,2025-01-06T09:15:00,search,Brand - Exact,false,0
    j000001,2025-01-07 18:02:11,social,Prospecting,true,120.0

``timestamp`` ISO (``T`` or space; seconds optional); ``converted`` true/false, the same on every row of a
journey; ``conversion_value`` in the reporting currency (same on every row of the journey, 0 when not
converted). The file covers first..last touch day (``period``); a re-export of those days replaces them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.sources import _tabular as T
from mktdash.sources.base import Parsed, ReadContext

NAME = "touchpoints"
TABLE = "touchpoints"
ALIASES = {"timestamp": "touch_ts", "ts": "touch_ts", "campaign": "campaign_name"}
REQUIRED = ("journey_id", "touch_ts", "channel", "converted")


def sniff(head: str, file_name: str) -> bool:
    return T.sniff_generic(head, file_name, TABLE, REQUIRED, ALIASES)


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_generic(path, TABLE, ALIASES)
    T.require(df, REQUIRED, file=path, line=1, what="touchpoints file")
    out: dict[str, Any] = {
        "journey_id": T.clean_text(df, "journey_id", file=path),
        "touch_ts": T.to_date(df, "touch_ts", file=path, formats=T.TS_FORMATS, required=True, day=False),
        "channel": T.clean_text(df, "channel", file=path),
        "campaign_name": T.clean_text(df, T.pick(df, "campaign_name"), file=path),
        "converted": T.to_bool(df, "converted", file=path),
        "conversion_value": T.to_number(df, T.pick(df, "conversion_value"), file=path).fillna(0.0),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(
        table=TABLE, frame=frame, source=NAME, period=T.period_of(frame["touch_ts"]), replace_key={}
    )


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    T.write_generic(
        df,
        path,
        TABLE,
        {
            "journey_id": "journey_id",
            "touch_ts": "timestamp",
            "channel": "channel",
            "campaign_name": "campaign",
            "converted": "converted",
            "conversion_value": "conversion_value",
        },
        {
            "touch_ts": lambda s: T.fmt_date(s, "%Y-%m-%dT%H:%M:%S"),
            "conversion_value": T.fmt_num,
            "converted": lambda s: s.map(lambda v: "" if pd.isna(v) else str(bool(v)).lower()).astype(object),
        },
    )
