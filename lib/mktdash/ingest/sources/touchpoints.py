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

from mktdash.ingest.sources._simple import Col, Spec

SPEC = Spec(
    table="touchpoints",
    what="touchpoints file",
    columns=(
        Col("journey_id", required=True),
        Col("touch_ts", "ts", required=True, header="timestamp"),
        Col("channel", required=True),
        Col("campaign_name", header="campaign"),
        Col("converted", "bool", required=True),
        Col("conversion_value", "number", default=0.0),
    ),
    aliases={"timestamp": "touch_ts", "ts": "touch_ts", "campaign": "campaign_name"},
    period_column="touch_ts",
)
NAME = TABLE = SPEC.table
sniff, read, write = SPEC.sniff, SPEC.read, SPEC.write
