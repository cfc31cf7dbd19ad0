"""HubSpot contacts export (CRM > Contacts > Export, CSV) -> ``crm_contacts`` with PII hashed.

Columns as HubSpot names them (only ``Record ID`` and ``Create Date`` are required)::

    Record ID,First Name,Last Name,Email,Phone Number,Create Date,Lifecycle Stage,Lead Status,
    HubSpot Score,Original Traffic Source,Original Traffic Source Drill-Down 1,
    Original Traffic Source Drill-Down 2,Contact owner

Internal property names (``hs_object_id``, ``createdate``, ``hs_analytics_source`` ... from the API or a
warehouse sync) are read as their labels. Older exports say ``Original Source`` / ``Original Source Drill-Down 1/2``; both are read. The original
campaign is an exported ``Original Campaign`` column, else the drill-down where HubSpot keeps
``utm_campaign`` for the row's source (:func:`mktdash.ingest.sources.hubspot_deals.campaign_from_drilldowns`).
An all-properties export (~300 columns, some names repeated) loads: unread columns never refuse a file.

**PII** never leaves this reader: ``Email`` -> ``email_hash`` (lower-cased, stripped), ``First Name`` +
``Last Name`` -> ``name_hash`` (lower-cased, whitespace collapsed), ``Phone Number`` (or ``Mobile Phone
Number``) -> ``phone_hash`` (digits only), each a salted HMAC-SHA256 (:mod:`mktdash.ingest.pii`). Every other
column that is not mapped below (owner, company, address, ...) is dropped. Snapshot export: ``replace_key={"crm": "hubspot"}``, no period.

``write`` takes raw ``email``, ``first_name``, ``last_name``, ``phone`` columns when the frame has them (the
demo world plants PII this way); otherwise it writes placeholders derived from ``contact_id``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest import pii
from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources.base import Parsed, ReadContext
from mktdash.ingest.sources.hubspot_deals import (
    DATE_FORMATS,
    drilldowns_for,
    labels,
    read_export,
    salt_of,
    source_and_campaign,
)

NAME = "hubspot_contacts"
TABLE = "crm_contacts"
CRM = "hubspot"


def sniff(head: str, file_name: str) -> bool:
    cells = set(labels(T.first_cells(head)))
    return "Record ID" in cells and bool({"Email", "Lifecycle Stage"} & cells) and "Deal Stage" not in cells


def hash_people(
    df: pd.DataFrame,
    salt: str,
    *,
    file: Path,
    email: str | None,
    first: str | None,
    last: str | None,
    phone: str | None,
) -> dict[str, pd.Series]:
    """The three PII hashes of a frame of raw export strings."""
    f = T.clean_text(df, first, file=file).fillna("")
    la = T.clean_text(df, last, file=file).fillna("")
    full = (f + " " + la).str.strip().replace("", pd.NA)
    return {
        "email_hash": pii.hash_series(T.clean_text(df, email, file=file), salt, "email"),
        "name_hash": pii.hash_series(full, salt, "name"),
        "phone_hash": pii.hash_series(T.clean_text(df, phone, file=file), salt, "phone"),
    }


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = read_export(path)
    T.require(df, ["Record ID", "Create Date"], file=path, line=1, what="HubSpot contacts export")
    origin = source_and_campaign(df, path, ("Original Campaign",))
    out: dict[str, Any] = {
        "contact_id": T.clean_text(df, "Record ID", file=path),
        "crm": CRM,
        **hash_people(
            df,
            salt_of(ctx),
            file=path,
            email=T.pick(df, "Email"),
            first=T.pick(df, "First Name"),
            last=T.pick(df, "Last Name"),
            phone=T.pick(df, "Phone Number", "Mobile Phone Number"),
        ),
        "created_date": T.to_date(df, "Create Date", file=path, formats=DATE_FORMATS, required=True),
        "lifecycle_stage": T.clean_text(df, T.pick(df, "Lifecycle Stage"), file=path),
        "lead_status": T.clean_text(df, T.pick(df, "Lead Status"), file=path),
        "lead_score": T.to_number(df, T.pick(df, "HubSpot Score"), file=path),
        "original_source": origin["source"],
        "original_campaign": origin["campaign"],
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(table=TABLE, frame=frame, source=NAME, period=None, replace_key={"crm": CRM})


def raw_people(d: pd.DataFrame) -> dict[str, pd.Series]:
    """Raw PII columns of a frame for writers, with placeholders where absent."""
    cid = T.text_or_empty(d["contact_id"])
    get = lambda c, default: T.text_or_empty(d[c]) if c in d else default  # noqa: E731
    return {
        "first": get("first_name", pd.Series("Contact", index=d.index)),
        "last": get("last_name", cid),
        "email": get("email", ("contact" + cid + "@example.com")),
        "phone": get("phone", pd.Series("", index=d.index)),
    }


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write contacts as a HubSpot export (raw PII from ``email``/``first_name``/``last_name``/``phone``)."""
    d = df.reset_index(drop=True)
    p = raw_people(d)
    drill1, drill2 = drilldowns_for(d["original_source"], d["original_campaign"])
    out = pd.DataFrame(
        {
            "Record ID": T.text_or_empty(d["contact_id"]),
            "First Name": p["first"],
            "Last Name": p["last"],
            "Email": p["email"],
            "Phone Number": p["phone"],
            "Create Date": T.fmt_date(d["created_date"], "%Y-%m-%d %H:%M"),
            "Lifecycle Stage": T.text_or_empty(d["lifecycle_stage"]),
            "Lead Status": T.text_or_empty(d["lead_status"]),
            "HubSpot Score": T.fmt_num(d["lead_score"]),
            "Original Source": T.text_or_empty(d["original_source"]),
            "Original Source Drill-Down 1": drill1,
            "Original Source Drill-Down 2": drill2,
            "Contact owner": opts.get("owner", "Sales Team"),
        }
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, lineterminator="\n")
