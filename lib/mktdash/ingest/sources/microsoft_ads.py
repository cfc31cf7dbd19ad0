"""Microsoft Advertising (Bing Ads) report downloads, daily.

Layout (utf-8-sig, every cell quoted)::

    "Report Name: Campaign performance"
    "Report Time: 7/1/2025 - 7/31/2025"
    "Time Zone: (GMT-08:00) Pacific Time (US & Canada); Tijuana"
    "Last Completed Available Day: ..."
    "Last Completed Available Hour: ..."
    "Report Aggregation: Daily"
    "Report Filter: "
    "Potential Incomplete Data: false"
    "Rows: 42"
    <blank line>
    "Gregorian date","Account name","Account number","Campaign name",...,"Spend","Conversions","Revenue"
    ...
    "©2025 Microsoft Corporation. All rights reserved. "

``Rows: N`` is reconciled with the rows loaded (:attr:`Parsed.totals` ``rows``). API-style names
(``TimePeriod``, ``CampaignName``, ``Spend``, ``Revenue`` ...) are accepted too.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest.sources import _csv, _locale
from mktdash.ingest.sources.base import Parsed, ReadContext
from mktdash.ingest.sources.google_ads_ui import campaign_types, replace_key

# canonical dimension -> the report's headers (UI names, then API names)
DIMS = {
    "account_id": ("Account number", "AccountNumber", "Account ID", "AccountId"),
    "account_name": ("Account name", "AccountName"),
    "campaign_id": ("Campaign ID", "CampaignId"),
    "campaign_name": ("Campaign name", "CampaignName"),
    "ad_group_id": ("Ad group ID", "AdGroupId"),
    "ad_group_name": ("Ad group", "AdGroupName"),
    "ad_id": ("Ad ID", "AdId"),
    "ad_name": ("Ad title", "AdTitle", "Ad name"),
}
NAME = "microsoft_ads"
TABLE = "ad_daily"
PLATFORM = "microsoft_ads"
_TIME = re.compile(r"Report Time:\s*(\d{1,2}/\d{1,2}/\d{4})\s*[-,]\s*(\d{1,2}/\d{1,2}/\d{4})")
_ROWS = re.compile(r"Rows:\s*([\d,]+)")


def _is_header(line: str) -> bool:
    return ("Campaign name" in line or "CampaignName" in line) and "Impressions" in line


def _is_footer(line: str) -> bool:
    return "Microsoft Corporation" in line or line.strip().strip('"').startswith("©")


def sniff(head: str, file_name: str) -> bool:
    first = _csv.first_line(head)
    return first.strip().strip('"').startswith("Report Name:")


def read(path: Path, ctx: ReadContext) -> Parsed:
    data = _csv.read_bytes(path)
    layout = _csv.Layout(data, path)
    lines = layout.head(20)
    header = _csv.find_header(lines, _is_header, path, "Microsoft Advertising report")
    pre = "\n".join(lines[: header - 1])
    m = _TIME.search(pre)
    p0, p1 = (_csv.parse_mdy(m.group(1)), _csv.parse_mdy(m.group(2))) if m else (None, None)
    period = (p0, p1) if p0 is not None and p1 is not None else None
    rows = _ROWS.search(pre)
    end, _ = layout.peel_footer(_is_footer)
    b = _csv.parse_body(layout, header, end, sep=_csv.sniff_sep(lines[header - 1]))
    date_col = b.pick("Gregorian date", "TimePeriod", "Date")
    if date_col is None and period is None:
        b.need("Gregorian date", "TimePeriod", "Date")
    currency = b.pick("Currency code", "CurrencyCode", "Currency")
    b.need("Campaign name", "CampaignName")
    metrics = {
        "clicks": b.pick("Clicks"),
        "impressions": b.need("Impressions"),
        "spend": b.need("Spend"),
        "conversions": b.pick("Conversions", "Conv."),
        "conversions_value": b.pick("Revenue"),
    }
    reporting = b.text(currency) if currency else ctx.reporting_currency
    cols = _csv.ad_columns(b, (PLATFORM, NAME), DIMS, metrics, reporting)
    df = _csv.ad_frame(b, cols, {"_campaign_type": b.text(b.pick("Campaign type", "CampaignType"))})
    grain = "day"
    if date_col is not None:
        df["date_day"] = pd.Series(
            b.date(date_col, ("%m/%d/%Y", "%Y-%m-%d")).to_numpy(), dtype="datetime64[s]"
        )
    else:  # "Report Aggregation: Summary": totals of the Report Time range (see _csv.parsed_ad)
        assert period is not None
        df["date_day"] = pd.Timestamp(period[0])
        df["date_day"] = df["date_day"].astype("datetime64[s]")
        grain = "day" if period[0] == period[1] else "week" if _locale.is_iso_week(period) else "period"
    _csv.check_in_period(df, period, path, "the Report Time line")
    totals = (
        {"rows": float(rows.group(1).replace(",", "")), "_line": float(pre.count("\n") + 1)} if rows else {}
    )
    if rows:
        totals["_line"] = float(next(i for i, x in enumerate(lines, 1) if _ROWS.search(x)))
    warnings = [] if currency else [f"no Currency code column: assumed {ctx.reporting_currency}"]
    return _csv.parsed_ad(df, NAME, period, grain, warnings, totals=totals, replace_key=replace_key(df))


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write canonical rows as a Microsoft Advertising campaign/ad group report download."""
    d = pd.to_datetime(df["date_day"])
    start, end = d.min().date(), d.max().date()
    out = pd.DataFrame(
        {
            "Gregorian date": d.dt.month.astype(str)
            + "/"
            + d.dt.day.astype(str)
            + "/"
            + d.dt.year.astype(str),
            "Account name": _csv.fill(df, "account_name"),
            "Account number": _csv.fill(df, "account_id"),
            "Campaign name": _csv.fill(df, "campaign_name"),
            "Campaign ID": _csv.fill(df, "campaign_id"),
            "Campaign type": campaign_types(df),
            "Ad group": _csv.fill(df, "ad_group_name"),
            "Ad group ID": _csv.fill(df, "ad_group_id"),
            "Ad ID": _csv.fill(df, "ad_id"),
            "Ad title": _csv.fill(df, "ad_name"),
            "Currency code": _csv.fill(df, "currency", "USD"),
            "Impressions": df["impressions"].astype("int64"),
            "Clicks": df["clicks"].astype("int64"),
            "Spend": _csv.fmt_money(df["spend"]),
            "Conversions": df["conversions"].astype("float64").round(2),
            "Revenue": df["conversions_value"].astype("float64").round(2),
        },
        index=df.index,
    )
    tz = "(GMT-08:00) Pacific Time (US & Canada); Tijuana"
    pre = [
        f'"Report Name: {opts.get("title", "Campaign performance")}"',
        f'"Report Time: {_csv.mdY(start)} - {_csv.mdY(end)}"',
        f'"Time Zone: {tz}"',
        f'"Last Completed Available Day: {_csv.mdY(end)} 11:59:59 PM {tz}"',
        f'"Last Completed Available Hour: {_csv.mdY(end)} 11:00:00 PM {tz}"',
        '"Report Aggregation: Daily"',
        '"Report Filter: "',
        '"Potential Incomplete Data: false"',
        f'"Rows: {len(out)}"',
        "",
    ]
    trailer = ["", f'"©{end.year} Microsoft Corporation. All rights reserved. "']
    _csv.write_csv(
        path, pre, out, quoting=csv.QUOTE_ALL, encoding="utf-8-sig", lineterminator="\r\n", trailer=trailer
    )
