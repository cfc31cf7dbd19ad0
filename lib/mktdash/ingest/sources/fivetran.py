"""Fivetran ``ad_reporting`` unified model (``ad_reporting__ad_report``) as CSV or Parquet.

Columns: ``source_relation, date_day, platform, account_id, account_name, campaign_id, campaign_name,
ad_group_id, ad_group_name, ad_id, ad_name, clicks, impressions, spend, conversions, conversions_value`` —
the canonical grain itself. ``platform`` values (``Google Ads``, ``Facebook Ads``, ``google_ads``...) are
normalised to ours (``google_ads``, ``meta``...); ``source_relation`` is kept as Fivetran wrote it. The model has
no currency column: an optional ``currency`` column is used, else spend is taken to be in the reporting
currency (with a warning). No totals rows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mktdash.ingest.sources import _csv
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError

NAME = "fivetran"
TABLE = "ad_daily"
COLUMNS = [
    "source_relation",
    "date_day",
    "platform",
    "account_id",
    "account_name",
    "campaign_id",
    "campaign_name",
    "ad_group_id",
    "ad_group_name",
    "ad_id",
    "ad_name",
    "clicks",
    "impressions",
    "spend",
    "conversions",
    "conversions_value",
]
PLATFORMS = {
    "facebook": "meta",
    "facebook_ads": "meta",
    "meta": "meta",
    "instagram": "meta",
    "bing": "microsoft_ads",
    "bing_ads": "microsoft_ads",
    "microsoft": "microsoft_ads",
    "microsoft_advertising": "microsoft_ads",
    "google": "google_ads",
    "adwords": "google_ads",
    "linkedin_ads": "linkedin",
    "linkedin": "linkedin",
    "tiktok_ads": "tiktok",
    "tiktok": "tiktok",
}


def platform_name(value: str) -> str:
    """``Facebook Ads`` -> ``meta``, ``Google Ads`` -> ``google_ads``, ``Twitter Ads`` -> ``twitter_ads``."""
    key = re.sub(r"[^a-z0-9]+", "_", str(value).strip().lower()).strip("_")
    return PLATFORMS.get(key, PLATFORMS.get(key.removesuffix("_ads"), key))


def sniff(head: str, file_name: str) -> bool:
    first = _csv.first_line(head)
    cells = {c.strip() for c in re.split(r"[,\t]", first.removeprefix("PAR1:"))}
    return {"source_relation", "date_day", "spend", "campaign_name"} <= cells


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    if path.read_bytes()[:4] == b"PAR1":
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as e:
            raise SourceError(f"unreadable Parquet ({e})", file=path, hint="Export the table again") from None
        table = table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema]))
        b = _csv.Body(table, 1, path)  # Parquet "lines" are 1-based row numbers
    else:
        data = _csv.read_bytes(path)
        layout = _csv.Layout(data, path)
        end, _ = layout.peel_footer(lambda line: False)
        b = _csv.parse_body(layout, 1, end)
    for c in ("source_relation", "date_day", "platform", "campaign_name", "spend"):
        b.need(c)
    currency = b.pick("currency")
    cols: dict[str, Any] = {
        c: b.text(b.pick(c))
        for c in COLUMNS
        if c not in ("date_day", "clicks", "impressions", "spend", "conversions", "conversions_value")
    }
    cols.update(
        {
            "clicks": b.number(b.pick("clicks"), integer=True, fill=0),
            "impressions": b.number(b.pick("impressions"), integer=True, fill=0),
            "spend": b.number("spend", fill=0.0),
            "conversions": b.number(b.pick("conversions")),
            "conversions_value": b.number(b.pick("conversions_value")),
            "currency": b.text(currency) if currency else ctx.reporting_currency,
        }
    )
    df = _csv.ad_frame(b, cols)
    df["date_day"] = pd.Series(b.date("date_day", ("%Y-%m-%d",)).to_numpy(), dtype="datetime64[s]")
    uniq = df["platform"].dropna().unique()
    df["platform"] = df["platform"].map({p: platform_name(p) for p in uniq}).astype("string")
    if df["platform"].isna().any():
        i = int(df.index[df["platform"].isna()][0])
        raise SourceError(
            "missing platform",
            file=path,
            line=int(df["_line"].iloc[i]),
            column="platform",
            hint="Every row of ad_reporting has a platform",
        )
    return Parsed(
        table=TABLE,
        frame=df,
        source=NAME,
        period=_csv.period_of(df),
        replace_key={
            "source_relation": sorted(df["source_relation"].dropna().unique().tolist()),
            "account_id": sorted(df["account_id"].dropna().unique().tolist()),
        },
        warnings=[]
        if currency
        else [f"Fivetran ad_reporting has no currency: spend assumed in {ctx.reporting_currency}"],
    )


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write canonical rows as the unified ad report (Parquet when ``path`` ends in .parquet).

    ``currency=True`` adds the optional ``currency`` column.
    """
    out = pd.DataFrame(index=df.index)
    for c in COLUMNS:
        out[c] = df.get(c, pd.NA)
    out["source_relation"] = out["source_relation"].fillna(out["platform"].astype("string") + ".daily")
    out["date_day"] = pd.to_datetime(df["date_day"]).dt.strftime("%Y-%m-%d")
    out["spend"] = out["spend"].astype("float64").round(2)
    if opts.get("currency", "currency" in df and df["currency"].notna().any()):
        out["currency"] = df["currency"]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if str(path).endswith(".parquet"):
        out.to_parquet(path, index=False)
    else:
        out.to_csv(path, index=False, lineterminator="\n")
