"""Customer health CSV (generic layout, one row per snapshot date x customer) -> ``customer_health``.

Layout (header names case-insensitive)::

    snapshot_date,customer_id,acquisition_channel,plan,mrr,health_score,churned
    2025-01-05,cus_001,search,pro,490.00,82,false

``mrr`` in the reporting currency; ``health_score`` 0..100; ``churned`` true/false (also 1/0, yes/no).
A re-export of the same snapshot dates replaces them for the customers it lists (``replace_key`` on
``customer_id``, ``period`` = first..last snapshot date).
"""

from __future__ import annotations

from mktdash.ingest.sources._simple import Col, Spec

SPEC = Spec(
    table="customer_health",
    what="customer health file",
    columns=(
        Col("snapshot_date", "date", required=True),
        Col("customer_id", required=True),
        Col("acquisition_channel"),
        Col("plan"),
        Col("mrr", "number"),
        Col("health_score", "number", required=True),
        Col("churned", "bool"),
    ),
    aliases={"date": "snapshot_date", "channel": "acquisition_channel", "account_id": "customer_id"},
    replace_key={"customer_id": None},
    period_column="snapshot_date",
)
NAME = TABLE = SPEC.table
sniff, read, write = SPEC.sniff, SPEC.read, SPEC.write
