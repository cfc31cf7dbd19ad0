"""Google Ads Editor exports (File > Export > CSV) with performance statistics.

Layout: UTF-16LE with a BOM, tab-separated, CRLF line ends, header on line 1 with Editor's capitalisation
(``Campaign``, ``Campaign Type``, ``Ad Group``, ``Ad Group ID``...), statistics columns (``Clicks``, ``Impr.``,
``Cost``, ``Conversions``, ``Conv. value``). Editor statistics cover the date range chosen when downloading
them, which the file does not record: a ``Day`` column is used when present, else a single date (or a range
that must be one day) in the file name, e.g. ``editor_2025-07-08.csv``. No totals rows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest.sources import _csv, _locale
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError
from mktdash.ingest.sources.google_ads_ui import DAY_FORMATS, PLATFORM, campaign_types, replace_key

# canonical dimension -> Editor's headers (in English) where not the usual ones (_csv.AD_DIM_HEADERS)
DIMS = {
    "account_id": ("Customer ID", "Account ID"),
    "account_name": ("Account", "Account name"),
    "campaign_name": ("Campaign",),
    "ad_group_id": ("Ad Group ID",),
    "ad_group_name": ("Ad Group",),
    "ad_name": ("Ad name", "Ad Name"),
}
NAME = "google_ads_editor"
TABLE = "ad_daily"
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def sniff(head: str, file_name: str) -> bool:
    first = _csv.first_line(head)
    cells = {c.lower() for c in _locale.translate(first.split("\t"), _locale.GOOGLE_ADS)[0]}
    return len(cells) > 2 and "campaign" in cells and ("campaign type" in cells or "ad group" in cells)


def read(path: Path, ctx: ReadContext) -> Parsed:
    data = _csv.read_bytes(path)
    layout = _csv.Layout(data, path)
    end, _ = layout.peel_footer(lambda line: False)
    b = _csv.parse_body(layout, 1, end, sep="\t")
    names, lang = _locale.translate(b.columns, _locale.GOOGLE_ADS)  # Editor in another UI language
    b.rename(names)
    b.decimal_comma = _csv.decimal_comma_of(b, [b.pick("Cost")], lang)
    day = b.pick("Day", "Date")
    if day is not None:
        dates: Any = b.date(day, DAY_FORMATS)
    else:
        found = sorted(set(_DATE_IN_NAME.findall(Path(path).name)))
        if len(found) != 1:
            raise SourceError(
                "no Day column and no single date in the file name: Editor statistics have no dates of their own",
                file=path,
                line=1,
                column="Day",
                hint="Download statistics for one day and name the file like editor_2025-07-08.csv",
            )
        dates = pd.Timestamp(found[0])
    currency = b.pick("Currency code", "Currency")
    b.need("Campaign")
    metrics = {
        "clicks": b.pick("Clicks"),
        "impressions": b.pick("Impr.", "Impressions"),
        "spend": b.need("Cost"),
        "conversions": b.pick("Conversions", "Conv."),
        "conversions_value": b.pick("Conv. value", "Conversion value"),
    }
    reporting = b.text(currency) if currency else ctx.reporting_currency
    cols = _csv.ad_columns(b, (PLATFORM, NAME), DIMS, metrics, reporting)
    df = _csv.ad_frame(b, cols, {"_campaign_type": b.text(b.pick("Campaign Type"))})
    df["date_day"] = (
        dates if isinstance(dates, pd.Timestamp) else pd.Series(dates.to_numpy(), dtype="datetime64[s]")
    )
    return Parsed(
        table=TABLE,
        frame=df,
        source=NAME,
        period=_csv.period_of(df),
        replace_key=replace_key(df),
        warnings=[] if currency else [f"no Currency code column: assumed {ctx.reporting_currency}"],
    )


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write canonical rows as an Editor export (UTF-16LE + BOM, tabs, CRLF; ``day=False`` drops Day)."""
    out = pd.DataFrame(index=df.index)
    if opts.get("day", True):
        out["Day"] = pd.to_datetime(df["date_day"]).dt.strftime("%Y-%m-%d")
    out["Account"] = _csv.fill(df, "account_name")
    out["Customer ID"] = _csv.fill(df, "account_id")
    out["Campaign"] = _csv.fill(df, "campaign_name")
    out["Campaign ID"] = _csv.fill(df, "campaign_id")
    out["Campaign Type"] = campaign_types(df)
    out["Ad Group"] = _csv.fill(df, "ad_group_name")
    out["Ad Group ID"] = _csv.fill(df, "ad_group_id")
    if "ad_id" in df and df["ad_id"].notna().any():
        out["Ad ID"] = _csv.fill(df, "ad_id")
        out["Ad name"] = _csv.fill(df, "ad_name")
    out["Currency code"] = _csv.fill(df, "currency", "USD")
    out["Clicks"] = df["clicks"].astype("int64")
    out["Impr."] = df["impressions"].astype("int64")
    out["Cost"] = _csv.fmt_money(df["spend"])
    out["Conversions"] = df["conversions"].astype("float64").round(2)
    out["Conv. value"] = df["conversions_value"].astype("float64").round(2)
    _csv.write_csv(path, [], out, sep="\t", encoding="utf-16", lineterminator="\r\n")
