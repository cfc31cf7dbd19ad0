"""KPI targets (CSV or YAML) -> ``kpi_targets``: the target of a metric per level/entity and period.

CSV (header names case-insensitive)::

    metric,level,entity,period,target
    roas,total,all,week,3.0
    cpa,channel,search,week,45

YAML (``params/targets.yaml`` is the committed example)::

    kpi_targets:
      - {metric: roas, level: total, entity: all, period: week, target: 3.0}

``level`` is total | channel | platform | campaign (``entity`` "all" for total); ``period`` week | month |
quarter; money targets in the reporting currency. The file is a snapshot (``SNAPSHOT = True``, no period):
loading it replaces every earlier target of the metrics it lists (``replace_key`` on ``metric``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.sources import _tabular as T
from mktdash.sources.base import Parsed, ReadContext

NAME = "kpi_targets"
TABLE = "kpi_targets"
SNAPSHOT = True
# read from params/ by ingest_inbox (not the committed example targets.yaml)
PARAMS_FILES = ("kpi_targets*.yaml", "kpi_targets*.csv")
ALIASES = {"kpi": "metric", "value": "target", "goal": "target"}
REQUIRED = ("metric", "target")


def sniff(head: str, file_name: str) -> bool:
    return T.sniff_generic(head, file_name, TABLE, REQUIRED, ALIASES) and (
        file_name.lower().endswith((".yaml", ".yml")) or "level" in head.splitlines()[0].lower()
    )


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = T.read_generic(path, TABLE, ALIASES)
    T.require(df, REQUIRED, file=path, line=1, what="KPI targets file")
    out: dict[str, Any] = {
        "metric": T.clean_text(df, "metric", file=path).str.lower(),
        "level": T.clean_text(df, T.pick(df, "level"), file=path).str.lower().fillna("total"),
        "entity": T.clean_text(df, T.pick(df, "entity"), file=path).fillna("all"),
        "period": T.clean_text(df, T.pick(df, "period"), file=path).str.lower().fillna("week"),
        "target": T.to_number(df, "target", file=path),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(table=TABLE, frame=frame, source=NAME, period=None, replace_key={"metric": None})


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """CSV or YAML by the suffix of ``path``."""
    T.write_generic(
        df,
        path,
        TABLE,
        {c: c for c in ("metric", "level", "entity", "period", "target")},
        {"target": T.fmt_num},
    )
