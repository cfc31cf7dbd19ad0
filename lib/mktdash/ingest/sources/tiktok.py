"""TikTok Ads Manager exports (Export > CSV), broken down by day.

Layout: header on line 1 (``Campaign name``, ``Campaign ID``, ``Ad group name``, ``Ad group ID``, ``Ad name``,
``Ad ID``, ``Date``, ``Currency``, ``Cost``, ``Impressions``, ``Clicks (destination)``, ``Conversions``,
``Total conversion value``), then the rows, then one ``Total of N results`` row (names empty, sums filled)
that is reconciled with the loaded sums.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest.sources import _csv
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError
from mktdash.ingest.sources.google_ads_ui import parse_totals, replace_key

NAME = "tiktok"
TABLE = "ad_daily"
PLATFORM = "tiktok"
# canonical dimension -> TikTok's headers (current, older) where not the usual ones (_csv.AD_DIM_HEADERS)
DIMS = {
    "account_id": ("Advertiser ID", "Account ID"),
    "account_name": ("Advertiser name", "Account name"),
    "campaign_name": ("Campaign name",),
    "ad_group_name": ("Ad group name",),
}
_TOTAL = re.compile(r"^Total( of \d[\d,]* \w+)?$")


def _is_total(line: str, sep: str = ",") -> bool:
    cells = _csv.split_csv_line(line, sep)
    return bool(cells) and bool(_TOTAL.match(cells[0].strip()))


def sniff(head: str, file_name: str) -> bool:
    first = _csv.first_line(head)
    cells = [c.strip() for c in _csv.split_csv_line(first, _csv.sniff_sep(first))]
    return (
        "Campaign name" in cells
        and "Cost" in cells
        and ("Clicks (destination)" in cells or "Ad group name" in cells)
    )


def read(path: Path, ctx: ReadContext) -> Parsed:
    layout = _csv.Layout(_csv.read_bytes(path), path)
    sep = _csv.sniff_sep(layout.head(1)[0])
    end, footer = layout.peel_footer(lambda line: _is_total(line, sep))
    b = _csv.parse_body(layout, 1, end, sep=sep)
    if not footer:  # the tool always ends the file with its totals: without them it was cut short
        raise SourceError(
            "no Total of N results row at the end: the file looks truncated",
            file=path,
            line=layout.data.count(b"\n") + 1,
            hint="Download the report again",
        )
    date_col = b.need("Date", "By Day", "Stat time")
    currency = b.pick("Currency")
    metric_cols = {
        "clicks": b.pick("Clicks (destination)", "Clicks (all)", "Clicks"),
        "impressions": b.need("Impressions"),
        "spend": b.need("Cost"),
        "conversions": b.pick("Conversions"),
        "conversions_value": b.pick("Total conversion value", "Conversion value", "Total purchase value"),
    }
    b.decimal_comma = _csv.decimal_comma_of(b, [metric_cols["spend"]], "en")
    reporting = b.text(currency) if currency else ctx.reporting_currency
    cols = _csv.ad_columns(b, (PLATFORM, NAME), DIMS, metric_cols, reporting)
    df = _csv.ad_frame(b, cols)
    df["date_day"] = pd.Series(b.date(date_col, ("%Y-%m-%d", "%m/%d/%Y")).to_numpy(), dtype="datetime64[s]")
    totals = parse_totals(
        [(n, "Total:" + t) for n, t in footer], b.file_columns, metric_cols, sep, b.decimal_comma
    )
    return Parsed(
        table=TABLE,
        frame=df,
        source=NAME,
        period=_csv.period_of(df),
        totals=totals,
        replace_key=replace_key(df),
        warnings=[] if currency else [f"no Currency column: assumed {ctx.reporting_currency}"],
    )


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write canonical rows as a TikTok Ads Manager daily export with its ``Total`` row."""
    out = pd.DataFrame(
        {
            "Campaign name": _csv.fill(df, "campaign_name"),
            "Campaign ID": _csv.fill(df, "campaign_id"),
            "Ad group name": _csv.fill(df, "ad_group_name"),
            "Ad group ID": _csv.fill(df, "ad_group_id"),
            "Ad name": _csv.fill(df, "ad_name"),
            "Ad ID": _csv.fill(df, "ad_id"),
            "Advertiser ID": _csv.fill(df, "account_id"),
            "Advertiser name": _csv.fill(df, "account_name"),
            "Date": pd.to_datetime(df["date_day"]).dt.strftime("%Y-%m-%d"),
            **_csv.metric_cells(
                df,
                (
                    "Currency",
                    "Cost",
                    "Impressions",
                    "Clicks (destination)",
                    "Conversions",
                    "Total conversion value",
                ),
            ),
        },
        index=df.index,
    )
    total = [""] * len(out.columns)
    cols = list(out.columns)
    total[0] = f"Total of {len(out)} results"
    total[cols.index("Cost")] = f"{df['spend'].astype('float64').round(2).sum():.2f}"
    total[cols.index("Impressions")] = str(int(out["Impressions"].sum()))
    total[cols.index("Clicks (destination)")] = str(int(out["Clicks (destination)"].sum()))
    total[cols.index("Conversions")] = f"{out['Conversions'].sum():.2f}"
    total[cols.index("Total conversion value")] = f"{out['Total conversion value'].sum():.2f}"
    _csv.write_csv(path, [], out, [total])
