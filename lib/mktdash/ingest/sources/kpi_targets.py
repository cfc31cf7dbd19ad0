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

from mktdash.ingest.sources._simple import Col, Spec

SPEC = Spec(
    table="kpi_targets",
    what="KPI targets file",
    columns=(
        Col("metric", "lower", required=True),
        Col("level", "lower", default="total"),
        Col("entity", default="all"),
        Col("period", "lower", default="week"),
        Col("target", "number", required=True),
    ),
    aliases={"kpi": "metric", "value": "target", "goal": "target"},
    replace_key={"metric": None},
)
NAME = TABLE = SPEC.table
SNAPSHOT = True
# read from params/ by ingest_inbox (not the committed example targets.yaml)
PARAMS_FILES = ("kpi_targets*.yaml", "kpi_targets*.csv")
read, write = SPEC.read, SPEC.write


def sniff(head: str, file_name: str) -> bool:
    """A CSV must also name ``level`` (a bare metric,target file is too generic to claim)."""
    return SPEC.sniff(head, file_name) and (
        file_name.lower().endswith((".yaml", ".yml")) or "level" in head.splitlines()[0].lower()
    )
