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

from mktdash.ingest.sources._simple import Col, Spec

SPEC = Spec(
    table="budget_plan",
    what="budget plan",
    columns=(
        Col("month", "month", required=True),
        Col("channel", "lower", required=True),
        Col("campaign_name"),
        Col("planned_spend", "number", required=True),
    ),
    aliases={
        "campaign": "campaign_name",
        "budget": "planned_spend",
        "planned": "planned_spend",
        "spend": "planned_spend",
    },
    replace_key={"channel": None},
    period_column="month",
)
NAME = TABLE = SPEC.table
PARAMS_FILES = ("budget_plan*.yaml", "budget_plan*.csv")  # read from params/ by ingest_inbox
sniff, read, write = SPEC.sniff, SPEC.read, SPEC.write
