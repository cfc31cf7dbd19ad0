"""HubSpot deals export (CRM > Deals > Export, CSV) -> ``crm_deals``.

Columns as HubSpot names them (a view may add or drop some; only ``Record ID``, ``Deal Stage`` and
``Create Date`` are required)::

    Record ID,Deal Name,Deal Stage,Amount,Deal Currency Code,Close Date,Create Date,Pipeline,Deal owner,
    Original Source Type,Original Source Drill-Down 1,Original Source Drill-Down 2,Associated Contact IDs,
    Associated Company IDs

Dates ``2025-01-15 10:23`` (or ISO / M/D/YYYY); ``Deal Stage`` labels (``Closed Won``, ``Closed Lost``,
``Appointment Scheduled`` ... or internal ids ``closedwon``) give ``is_closed``/``is_won``; the source is
``Original Source Type``, ``Original Traffic Source`` (current exports) or ``Original Source`` (legacy);
the campaign comes from ``Campaign``/``Original Campaign`` if exported, else from the source drill-downs
(:func:`campaign_from_drilldowns`); ``Associated Contact IDs`` (``;``-separated) gives the first contact id;
``Associated Company IDs`` gives ``customer_id``. Columns not read here never refuse a file, even when the
export repeats their name (HubSpot's all-properties export writes ``Billing Contact`` twice).

**PII**: ``Deal Name`` often holds a person's name ("Jane Doe - renewal"), so ``deal_name`` is the salted hash
of it (:mod:`mktdash.ingest.pii`); ``Deal owner``, ``Associated Contact`` (names/emails) and any other column are
dropped in the reader. The export is a full snapshot: ``replace_key={"crm": "hubspot"}`` with no period means
"replace every earlier HubSpot deal row".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mktdash.ingest import pii
from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources.base import Parsed, ReadContext

NAME = "hubspot_deals"
TABLE = "crm_deals"
CRM = "hubspot"
DATE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)
SOURCE_COLS = ("Original Source Type", "Original Traffic Source", "Original Source")
DRILL = {  # drill-down n: current name, legacy name, oldest portals' name
    n: (
        f"Original Traffic Source Drill-Down {n}",
        f"Original Source Drill-Down {n}",
        f"Original Source Data {n}",
    )
    for n in (1, 2)
}
# where HubSpot keeps utm_campaign, by source (labels, legacy labels and API values folded to letters only):
# Paid search / Email marketing / Other campaigns -> drill-down 1; social -> drill-down 2 (drill-down 1 is the
# network); no campaign for search terms, referring sites, direct or offline (import names, CRM_UI)
CAMPAIGN_IN_DRILL1 = frozenset({"paidsearch", "emailmarketing", "othercampaigns"})
NO_CAMPAIGN = frozenset(
    {"organicsearch", "referrals", "directtraffic", "offlinesources", "offline", "aireferrals"}
)


# internal property names (API, Operations Hub / warehouse syncs) -> the export's labels
API_LABELS = {
    "hs_object_id": "Record ID",
    "createdate": "Create Date",
    "email": "Email",
    "firstname": "First Name",
    "lastname": "Last Name",
    "phone": "Phone Number",
    "mobilephone": "Mobile Phone Number",
    "lifecyclestage": "Lifecycle Stage",
    "hs_lead_status": "Lead Status",
    "hubspotscore": "HubSpot Score",
    "hs_analytics_source": "Original Traffic Source",
    "hs_analytics_source_data_1": "Original Traffic Source Drill-Down 1",
    "hs_analytics_source_data_2": "Original Traffic Source Drill-Down 2",
    "dealname": "Deal Name",
    "dealstage": "Deal Stage",
    "amount": "Amount",
    "deal_currency_code": "Deal Currency Code",
    "closedate": "Close Date",
    "pipeline": "Pipeline",
}


LEGACY_IDS = ("Contact ID", "Deal ID")  # older exports' name of "Record ID"


def labels(cells: list[str]) -> list[str]:
    """Header cells with internal property names replaced by the export's labels (labels kept as they are),
    and an older export's ``Contact ID``/``Deal ID`` read as ``Record ID`` when there is none."""
    out = [API_LABELS.get(c, c) for c in cells]
    if "Record ID" not in out:
        legacy = next((c for c in LEGACY_IDS if c in out), None)
        out = ["Record ID" if c == legacy else c for c in out]
    return out


def read_export(path: Path) -> pd.DataFrame:
    """The rows of a HubSpot export (CSV or .xlsx), headers as labels."""
    df = T.read_block(T.read_text(path), file=path)
    df.columns = labels(list(df.columns))
    return df


def fold(s: pd.Series) -> pd.Series:
    """Labels compared by letters and digits only: ``Paid Search``, ``paid search``, ``PAID_SEARCH`` agree."""
    return s.astype("string").str.casefold().str.replace(r"[^0-9a-z]", "", regex=True)


def campaign_from_drilldowns(source: pd.Series, drill1: pd.Series, drill2: pd.Series) -> pd.Series:
    """The original campaign HubSpot's source drill-downs hold for each row's source (see ``CAMPAIGN_IN_DRILL1``);
    labels we do not know (custom sources) keep drill-down 2, where older exports put the campaign.

    >>> s = pd.Series(["Paid Search", "Paid Social", "Organic Search", "PAID_SEARCH"])
    >>> campaign_from_drilldowns(s, pd.Series(["Brand", "Facebook", "shoes", "Q3"]),
    ...                          pd.Series(["brand kw", "Launch", "google.com", None])).tolist()
    ['Brand', 'Launch', <NA>, 'Q3']
    """
    key = fold(source)
    in1 = key.isin(CAMPAIGN_IN_DRILL1).fillna(False).to_numpy(dtype=bool)
    none = key.isin(NO_CAMPAIGN).fillna(False).to_numpy(dtype=bool)
    out = drill2.astype("string").where(~in1, drill1.astype("string"))
    return out.mask(none).astype("string")


def source_and_campaign(df: pd.DataFrame, path: Path, campaign_cols: tuple[str, ...]) -> dict[str, pd.Series]:
    """``source`` and ``campaign`` of CRM rows: an exported campaign column if any, else the drill-downs."""
    source = T.clean_text(df, T.pick(df, *SOURCE_COLS), file=path)
    camp_col = T.pick(df, *campaign_cols)
    if camp_col is not None:
        return {"source": source, "campaign": T.clean_text(df, camp_col, file=path)}
    d1, d2 = (T.clean_text(df, T.pick(df, *DRILL[n]), file=path) for n in (1, 2))
    return {"source": source, "campaign": campaign_from_drilldowns(source, d1, d2)}


def drilldowns_for(source: pd.Series, campaign: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The inverse for writers: the campaign in drill-down 1 or 2 as HubSpot would put it."""
    in1 = fold(source).isin(CAMPAIGN_IN_DRILL1).fillna(False).to_numpy(dtype=bool)
    camp = T.text_or_empty(campaign)
    return camp.where(in1, ""), camp.where(~in1, "")


def sniff(head: str, file_name: str) -> bool:
    cells = set(labels(T.first_cells(head)))
    return {"Record ID", "Deal Stage"} <= cells


def salt_of(ctx: ReadContext) -> str:
    return ctx.pii_salt or pii.salt()


def stage_flags(stage: pd.Series) -> tuple[pd.Series, pd.Series]:
    s = stage.astype("string").str.lower().str.replace(r"[\s_-]", "", regex=True)
    closed = s.str.startswith("closed").fillna(False)
    won = (closed & s.str.contains("won")).fillna(False)
    return closed.astype("boolean"), won.astype("boolean")


def first_id(s: pd.Series) -> pd.Series:
    return s.astype("string").str.split(r"[;,]", regex=True).str[0].str.strip().replace("", pd.NA)


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = read_export(path)
    T.require(df, ["Record ID", "Deal Stage", "Create Date"], file=path, line=1, what="HubSpot deals export")
    salt = salt_of(ctx)
    stage = T.clean_text(df, "Deal Stage", file=path)
    closed, won = stage_flags(stage)
    origin = source_and_campaign(df, path, ("Campaign", "Original Campaign", "Associated Campaign"))
    ids = T.clean_text(df, "Record ID", file=path)
    out: dict[str, Any] = {
        "deal_id": ids,
        "crm": CRM,
        "deal_name": pii.hash_series(T.clean_text(df, T.pick(df, "Deal Name"), file=path), salt, "name"),
        "stage": stage,
        "is_closed": closed,
        "is_won": won,
        "amount": T.to_number(df, T.pick(df, "Amount"), file=path),
        "currency": T.clean_text(df, T.pick(df, "Deal Currency Code", "Currency"), file=path).str.upper(),
        "created_date": T.to_date(df, "Create Date", file=path, formats=DATE_FORMATS, required=True),
        "close_date": T.to_date(df, T.pick(df, "Close Date"), file=path, formats=DATE_FORMATS),
        "pipeline": T.clean_text(df, T.pick(df, "Pipeline"), file=path),
        "lead_source": origin["source"],
        "campaign_name": origin["campaign"],
        "contact_id": first_id(
            T.clean_text(df, T.pick(df, "Associated Contact IDs", "Associated Contact ID"), file=path)
        ),
        "customer_id": first_id(
            T.clean_text(df, T.pick(df, "Associated Company IDs", "Associated Company ID"), file=path)
        ),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(table=TABLE, frame=frame, source=NAME, period=None, replace_key={"crm": CRM})


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write ``crm_deals`` rows as a HubSpot deals export. ``deal_name`` is written as given (the demo passes
    raw names, which the reader then hashes). Dates as ``YYYY-MM-DD HH:MM``."""
    d = df.reset_index(drop=True)
    drill1, drill2 = drilldowns_for(d["lead_source"], d["campaign_name"])
    out = pd.DataFrame(
        {
            "Record ID": T.text_or_empty(d["deal_id"]),
            "Deal Name": T.text_or_empty(d["deal_name"]),
            "Deal Stage": T.text_or_empty(d["stage"]),
            "Amount": T.fmt_num(d["amount"]),
            "Deal Currency Code": T.text_or_empty(d["currency"]),
            "Close Date": T.fmt_date(d["close_date"], "%Y-%m-%d %H:%M"),
            "Create Date": T.fmt_date(d["created_date"], "%Y-%m-%d %H:%M"),
            "Pipeline": T.text_or_empty(d["pipeline"]),
            "Deal owner": np.repeat(opts.get("owner", "Sales Team"), len(d)),
            "Original Source Type": T.text_or_empty(d["lead_source"]),
            "Original Source Drill-Down 1": drill1,
            "Original Source Drill-Down 2": drill2,
            "Associated Contact IDs": T.text_or_empty(d["contact_id"]),
            "Associated Company IDs": T.text_or_empty(d["customer_id"]),
        }
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, lineterminator="\n")
