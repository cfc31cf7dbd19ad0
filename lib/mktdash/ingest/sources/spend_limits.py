"""Spend limits (CSV or YAML) -> ``spend_limits``: the most a channel (or campaign) may spend per period.

CSV (header names case-insensitive)::

    channel,campaign_name,period,limit_amount
    search,,week,40000
    social,Prospecting EU,month,20000

YAML (e.g. ``params/spend_limits.yaml``)::

    spend_limits:
      - {channel: search, period: week, limit_amount: 40000}

``period`` is ``week`` or ``month``; ``limit_amount`` in the reporting currency; empty ``campaign_name`` =
the whole channel. The file is a snapshot (``SNAPSHOT = True``, no period): loading it replaces every earlier
limit of the channels it lists (``replace_key`` on ``channel``).
"""

from __future__ import annotations

from mktdash.ingest.sources._simple import Col, Spec

SPEC = Spec(
    table="spend_limits",
    what="spend limits file",
    columns=(
        Col("channel", "lower", required=True),
        Col("campaign_name"),
        Col("period", "lower", required=True),
        Col("limit_amount", "number", required=True),
    ),
    aliases={"campaign": "campaign_name", "limit": "limit_amount", "max_spend": "limit_amount"},
    replace_key={"channel": None},
)
NAME = TABLE = SPEC.table
SNAPSHOT = True  # the file is a snapshot: it replaces earlier rows of its channels
PARAMS_FILES = ("spend_limits*.yaml", "spend_limits*.csv")  # read from params/ by ingest_inbox
sniff, read, write = SPEC.sniff, SPEC.read, SPEC.write
