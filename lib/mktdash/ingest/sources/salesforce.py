"""Salesforce opportunity report, "Details Only" CSV export -> ``crm_deals``.

Layout as Salesforce writes it (every cell quoted)::

    "Opportunity Owner","Account Name","Opportunity Name","Stage","Amount","Close Date","Created Date",
    "Lead Source","Primary Campaign Source","Opportunity ID","Account ID","Contact ID"
    "Jo Seller","Acme","Acme - Jane Doe","Closed Won","USD 12,500.00","3/14/2025","2/1/2025","Paid Search",...
    ""
    ""
    "Grand Totals (2 records)"
    ""
    "Confidential Information - Do Not Distribute"
    "Copyright © 2000-2025 salesforce.com, inc. All rights reserved."

Quirks handled: the footer (checked: ``N`` in ``Grand Totals (N records)`` must equal the rows read, else the
file is truncated or edited and refused); ``Amount`` with its currency (``USD 12,500.00``, ``$12,500.00``) or a
separate ``Opportunity Currency``/``Amount Currency`` column; amounts of users whose locale writes a decimal
comma (``EUR 4.250,75``); US dates ``M/D/YYYY`` (ISO and ``DD.MM.YYYY`` also accepted);
``Stage`` ``Closed Won``/``Closed Lost`` -> ``is_closed``/``is_won``; ``Account ID`` -> ``customer_id``.

**PII**: ``Opportunity Name`` (often "Company - Person") becomes a salted hash; ``Opportunity Owner``,
``Account Name``, ``Primary Contact`` and any unmapped column are dropped. Snapshot report:
``replace_key={"crm": "salesforce"}`` with no period replaces every earlier Salesforce deal row.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mktdash.ingest import pii
from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError
from mktdash.ingest.sources.hubspot_deals import first_id, salt_of, stage_flags

NAME = "salesforce"
TABLE = "crm_deals"
CRM = "salesforce"
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %I:%M %p", "%d.%m.%Y")
_GRAND = re.compile(r'^"?Grand Totals \((\d[\d,]*) records?\)"?\s*$')
_FOOTER = re.compile(
    r'^"?(\s*|Confidential Information.*|Copyright .*salesforce\.com.*|Grand Totals.*)"?\s*$', re.I
)
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}


def sniff(head: str, file_name: str) -> bool:
    cells = set(T.first_cells(head))
    return "Opportunity Name" in cells and bool({"Stage", "Opportunity ID"} & cells)


def _currency(raw: pd.Series) -> pd.Series:
    code = raw.str.extract(r"^\s*([A-Z]{3})\s", expand=False)
    code = code.fillna(raw.str.extract(r"\d\s*([A-Z]{3})\s*$", expand=False))  # "4.250,75 EUR"
    sym = raw.str.extract(r"^\s*-?([$€£¥])", expand=False)
    sym = sym.fillna(raw.str.extract(r"\d\s*([$€£¥])\s*$", expand=False)).map(_SYMBOLS)  # "4.250,75 €"
    return code.fillna(sym).astype("string")


_COMMA_DECIMALS = re.compile(r"\d,\d{1,2}\s*(?:[A-Z]{3}|[$€£¥])?\s*$")
_POINT_DECIMALS = re.compile(r"\d\.\d{1,2}\s*(?:[A-Z]{3}|[$€£¥])?\s*$")


def _locale_amounts(df: pd.DataFrame, col: str | None) -> pd.DataFrame:
    """Amounts of a user whose Salesforce locale writes ``EUR 4.250,75`` / ``4.250,75 €`` (decimal comma): when
    every amount with cents has a decimal comma and none a decimal point, they are rewritten ``4250.75``."""
    if col is None:
        return df
    raw = df[col].astype("string")
    comma = raw.str.contains(_COMMA_DECIMALS).fillna(False)
    point = raw.str.contains(_POINT_DECIMALS).fillna(False)
    if not comma.any() or point.any():
        return df
    from mktdash.ingest.sources.custom import point_decimals

    return df.assign(**{col: point_decimals(raw.str.replace(r"[A-Z]{3}|[$€£¥]", "", regex=True))})


def read_report(path: Path, required: list[str], what: str) -> pd.DataFrame:
    """The rows of a Salesforce report export ("Details Only" CSV, or the same as .xlsx), checked against its
    ``Grand Totals (N records)`` footer: no footer (truncated) or a different N (edited) is refused."""
    lines = T.read_text(path).splitlines()
    # footer: trailing blank / Grand Totals / Confidential / Copyright lines
    n = len(lines)
    records = None
    grand_line = None
    while n and _FOOTER.match(lines[n - 1]):
        if m := _GRAND.match(lines[n - 1]):
            records, grand_line = int(m.group(1).replace(",", "")), n
        n -= 1
    df = T.read_block("\n".join(lines[:n]), file=path)
    T.require(df, required, file=path, line=1, what=what)
    if records is None:
        raise SourceError(
            "no 'Grand Totals (N records)' footer: the report looks truncated",
            file=path,
            line=n + 1,
            hint="Export the report again with 'Details Only' and keep the footer lines",
        )
    if records != len(df):
        raise SourceError(
            f"the footer says {records} records but {len(df)} rows were read",
            file=path,
            line=grand_line,
            hint="The file was cut or edited after export; export the report again",
        )
    return df


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    df = read_report(path, ["Opportunity Name", "Stage", "Close Date"], "Salesforce opportunity report")
    amount_col = T.pick(df, "Amount", "Amount (converted)")
    raw_amount = (
        df[amount_col].astype("string") if amount_col else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    cur_col = T.pick(df, "Opportunity Currency", "Amount Currency", "Currency")
    currency = T.clean_text(df, cur_col, file=path).str.upper() if cur_col else _currency(raw_amount)
    stage = T.clean_text(df, "Stage", file=path)
    closed, won = stage_flags(stage)
    id_col = T.pick(df, "Opportunity ID", "Opportunity ID (18)")
    ids = T.clean_text(df, id_col, file=path)
    if id_col is None:  # reports without the id column: a stable surrogate from name + created date
        ids = pii.hash_series(df["Opportunity Name"] + "|" + df.get("Created Date", ""), "sf", "text").str[
            :18
        ]
    out: dict[str, Any] = {
        "deal_id": ids,
        "crm": CRM,
        "deal_name": pii.hash_series(T.clean_text(df, "Opportunity Name", file=path), salt_of(ctx), "name"),
        "stage": stage,
        "is_closed": closed,
        "is_won": won,
        "amount": T.to_number(_locale_amounts(df, amount_col), amount_col, file=path),
        "currency": currency,
        "created_date": T.to_date(df, T.pick(df, "Created Date"), file=path, formats=DATE_FORMATS),
        "close_date": T.to_date(df, "Close Date", file=path, formats=DATE_FORMATS),
        "pipeline": T.clean_text(df, T.pick(df, "Type", "Record Type"), file=path),
        "lead_source": T.clean_text(df, T.pick(df, "Lead Source"), file=path),
        "campaign_name": T.clean_text(df, T.pick(df, "Primary Campaign Source", "Campaign Name"), file=path),
        "contact_id": first_id(T.clean_text(df, T.pick(df, "Contact ID", "Primary Contact ID"), file=path)),
        "customer_id": T.clean_text(df, T.pick(df, "Account ID"), file=path),
    }
    frame = T.finish(out, TABLE, df["_line"])
    return Parsed(table=TABLE, frame=frame, source=NAME, period=None, replace_key={"crm": CRM})


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write ``crm_deals`` rows as a Salesforce "Details Only" opportunity report (quoted cells, footer).

    ``deal_name`` is written as given (raw in the demo). ``records`` overrides N in the footer (tests).
    """
    d = df.reset_index(drop=True)
    amt = d["amount"].map(lambda v: "" if pd.isna(v) else f"{float(v):,.2f}")
    cur = T.text_or_empty(d["currency"])
    amount = np.where(amt == "", "", (cur + " " + amt).str.strip())
    out = pd.DataFrame(
        {
            "Opportunity Owner": opts.get("owner", "Sales Team"),
            "Account Name": T.text_or_empty(d["customer_id"]),
            "Opportunity Name": T.text_or_empty(d["deal_name"]),
            "Stage": T.text_or_empty(d["stage"]),
            "Opportunity Currency": cur,  # multi-currency orgs export it next to "USD 12,500.00"
            "Amount": amount,
            "Close Date": d["close_date"].map(lambda v: "" if pd.isna(v) else f"{v.month}/{v.day}/{v.year}"),
            "Created Date": d["created_date"].map(
                lambda v: "" if pd.isna(v) else f"{v.month}/{v.day}/{v.year}"
            ),
            "Lead Source": T.text_or_empty(d["lead_source"]),
            "Primary Campaign Source": T.text_or_empty(d["campaign_name"]),
            "Type": T.text_or_empty(d["pipeline"]),
            "Opportunity ID": T.text_or_empty(d["deal_id"]),
            "Account ID": T.text_or_empty(d["customer_id"]),
            "Contact ID": T.text_or_empty(d["contact_id"]),
        }
    )
    body = out.to_csv(index=False, lineterminator="\n", quoting=1)
    n = opts.get("records", len(d))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(body + footer(n), encoding="utf-8")


def footer(records: int) -> str:
    """The footer lines of a Salesforce report export."""
    return (
        f'""\n""\n"Grand Totals ({records} records)"\n""\n"Confidential Information - Do Not Distribute"\n'
        '"Copyright © 2000-2025 salesforce.com, inc. All rights reserved."\n'
    )
