"""Salesforce leads report, "Details Only" CSV (or .xlsx) export -> ``crm_contacts`` with PII hashed.

Layout as Salesforce writes it (every cell quoted, the same footer as the opportunity report)::

    "Lead Owner","First Name","Last Name","Title","Company / Account","Email","Phone","Lead Source",
    "Lead Status","Rating","Create Date","Lead ID"
    "Jo Seller","Jane","Roe","CMO","Acme","jane.roe@example.com","555-0100","Trade Show","Open - Not Contacted",
    "Hot","3/14/2025","00Q5g00000AbCdE"
    ""
    "Grand Totals (1 record)"
    ""
    "Confidential Information - Do Not Distribute"
    "Copyright © 2000-2025 salesforce.com, inc. All rights reserved."

The footer is checked as for opportunities (:func:`mktdash.ingest.sources.salesforce.read_report`). ``Lead Source``
(the picklist: Web, Phone Inquiry, Partner Referral, Purchased List, Other and custom values) is the
``original_source`` that ``channels.crm_sources`` maps; ``Lead Status`` the ``lead_status``; ``Status`` of
converted leads aside, every lead is lifecycle stage ``lead``. ``Lead ID`` is the ``contact_id``; a report
without it gets a stable surrogate from email (or name) and create date. Dates M/D/YYYY (ISO accepted).

**PII**: ``Email``, ``First Name`` + ``Last Name``, ``Phone``/``Mobile`` are hashed as in the HubSpot reader;
owner, company, title, address and every other column are dropped. Snapshot report:
``replace_key={"crm": "salesforce"}`` with no period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest import pii
from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources.base import Parsed, ReadContext
from mktdash.ingest.sources.hubspot_contacts import hash_people
from mktdash.ingest.sources.hubspot_deals import salt_of
from mktdash.ingest.sources.salesforce import DATE_FORMATS, footer, read_report

NAME = "salesforce_leads"
TABLE = "crm_contacts"
CRM = "salesforce"
LEAD_DATE_FORMATS = (*DATE_FORMATS, "%m/%d/%Y, %I:%M %p")


def sniff(head: str, file_name: str) -> bool:
    cells = set(T.first_cells(head))
    return (
        "Lead Source" in cells
        and bool({"Lead ID", "Lead Status", "Lead Owner"} & cells)
        and "Opportunity Name" not in cells
    )


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = read_report(path, ["Lead Source", "Create Date"], "Salesforce leads report")
    email = T.pick(df, "Email")
    ids = T.clean_text(df, T.pick(df, "Lead ID", "Lead ID (18)"), file=path)
    if ids.isna().all():  # no id column: a stable surrogate (hashed, so no PII in the id)
        who = (
            T.clean_text(df, email, file=path)
            .str.lower()
            .fillna(T.clean_text(df, T.pick(df, "Last Name"), file=path).fillna(""))
        )
        ids = pii.hash_series(who + "|" + df["Create Date"].astype("string"), "sf", "text").str[:18]
    out: dict[str, Any] = {
        "contact_id": ids,
        "crm": CRM,
        **hash_people(
            df,
            salt_of(ctx),
            file=path,
            email=email,
            first=T.pick(df, "First Name"),
            last=T.pick(df, "Last Name"),
            phone=T.pick(df, "Phone", "Mobile", "Mobile Phone"),
        ),
        "created_date": T.to_date(df, "Create Date", file=path, formats=LEAD_DATE_FORMATS, required=True),
        "lifecycle_stage": "lead",
        "lead_status": T.clean_text(df, T.pick(df, "Lead Status"), file=path),
        "lead_score": T.to_number(df, T.pick(df, "Lead Score"), file=path),
        "original_source": T.clean_text(df, "Lead Source", file=path),
        "original_campaign": T.clean_text(df, T.pick(df, "Campaign Name", "Last Campaign"), file=path),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(table=TABLE, frame=frame, source=NAME, period=None, replace_key={"crm": CRM})


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write ``crm_contacts`` rows as a Salesforce leads report (raw PII from ``email``/``first_name``/
    ``last_name``/``phone`` when present, placeholders otherwise)."""
    from mktdash.ingest.sources.hubspot_contacts import raw_people

    d = df.reset_index(drop=True)
    p = raw_people(d)
    out = pd.DataFrame(
        {
            "Lead Owner": opts.get("owner", "Sales Team"),
            "First Name": p["first"],
            "Last Name": p["last"],
            "Email": p["email"],
            "Phone": p["phone"],
            "Lead Source": T.text_or_empty(d["original_source"]),
            "Lead Status": T.text_or_empty(d["lead_status"]),
            "Create Date": d["created_date"].map(
                lambda v: "" if pd.isna(v) else f"{v.month}/{v.day}/{v.year}"
            ),
            "Lead ID": T.text_or_empty(d["contact_id"]),
        }
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(
        out.to_csv(index=False, lineterminator="\n", quoting=1) + footer(len(d)), encoding="utf-8"
    )
