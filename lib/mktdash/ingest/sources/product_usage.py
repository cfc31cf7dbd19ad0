"""Product usage CSV (generic layout, one row per day x customer x feature) -> ``product_usage``.

Layout (header names case-insensitive; ``date`` may be ``date_day``)::

    date,customer_id,feature,events,active_users
    2025-01-06,cus_001,reports,120,4

``date`` ISO ``YYYY-MM-DD``; ``events``/``active_users`` whole numbers. The file covers the days from its
first to its last date: a re-export of those days replaces them, feature by feature
(``replace_key={"feature": ...}``: the engine deletes earlier rows of each feature in the file over ``period``).
"""

from __future__ import annotations

from mktdash.ingest.sources._simple import Col, Spec

SPEC = Spec(
    table="product_usage",
    what="product usage file",
    columns=(
        Col("date_day", "date", required=True, header="date"),
        Col("customer_id", required=True),
        Col("feature", required=True),
        Col("events", "count", required=True),
        Col("active_users", "count"),
    ),
    aliases={"date": "date_day", "day": "date_day", "account_id": "customer_id"},
    replace_key={"feature": None},
    period_column="date_day",
)
NAME = TABLE = SPEC.table
sniff, read, write = SPEC.sniff, SPEC.read, SPEC.write
