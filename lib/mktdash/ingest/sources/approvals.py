"""Budget-change approvals (CSV or YAML) -> ``approvals``: who approved or rejected which proposal, when.

CSV (header names case-insensitive)::

    proposal_id,approved_by,approved_at,decision,note
    2025-W46-search,cmo,2025-11-17T09:30:00,approved,shift 10% from display

YAML (``params/approvals.yaml`` is the committed example)::

    approvals:
      - {proposal_id: 2025-W46-search, approved_by: cmo, approved_at: 2025-11-17T09:30:00, decision: approved}

``decision`` is ``approved`` or ``rejected``; ``approved_at`` ISO date-time (date alone = midnight).
``approved_by`` should be a role or staff handle, not a customer's personal data. The file is a snapshot of
the log (``SNAPSHOT = True``, no period): loading it replaces earlier decisions on the proposals it lists
(``replace_key`` on ``proposal_id``).
"""

from __future__ import annotations

from mktdash.ingest.sources._simple import Col, Spec

SPEC = Spec(
    table="approvals",
    what="approvals file",
    columns=(
        Col("proposal_id", required=True),
        Col("approved_by", required=True),
        Col("approved_at", "ts"),
        Col("decision", "lower", required=True),
        Col("note"),
    ),
    aliases={
        "proposal": "proposal_id",
        "by": "approved_by",
        "at": "approved_at",
        "date": "approved_at",
        "comment": "note",
    },
    replace_key={"proposal_id": None},
)
NAME = TABLE = SPEC.table
SNAPSHOT = True
# read from params/ by ingest_inbox (not the committed example approvals.yaml)
PARAMS_FILES = ("approvals_*.yaml", "approvals*.csv")
sniff, read, write = SPEC.sniff, SPEC.read, SPEC.write
