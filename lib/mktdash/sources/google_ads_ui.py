"""Google Ads UI report downloads (Reports > Download > CSV): campaign, ad group and ad level, with or
without the ``Day`` segment.

Layout::

    Campaign report
    "July 8, 2025 - July 31, 2025"          (or: All time)
    Day,Account,Customer ID,Campaign,Campaign ID,Campaign type,Currency code,Impr.,Clicks,...,Cost,...
    2025-07-08,Acme,123-456-7890,Brand,111,Search,USD,"25,881","3,145",...,199421.15,...
    Total: Search, --, --, ...
    Total: Account, --, --, ...

Quirks handled: counts quoted with thousands separators, ``Cost`` plain, `` --`` for missing, percentages
(``77.77%``, ``< 10%``), ``Total:`` rows at the bottom (skipped, and ``Total: Account`` is returned in
:attr:`Parsed.totals` for reconciliation). Without a ``Day`` column the report must cover a single day.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mktdash.sources import _csv
from mktdash.sources.base import Parsed, ReadContext, SourceError

NAME = "google_ads_ui"
TABLE = "ad_daily"
PLATFORM = "google_ads"
DAY_FORMATS = ("%Y-%m-%d", "%b %d, %Y", "%m/%d/%Y")
CAMPAIGN_TYPES = {"search": "Search", "display": "Display", "video": "Video", "shopping": "Shopping"}
_RANGE = re.compile(r"([A-Z][a-z]+\.? \d{1,2}, \d{4})\s*[-–]\s*([A-Z][a-z]+\.? \d{1,2}, \d{4})")
_METRIC_HEADERS = ("Impr.", "Cost", "Clicks", "Impressions")


def _is_header(line: str) -> bool:
    cells = [c.strip() for c in _csv.split_csv_line(line)]
    return "Campaign" in cells and any(m in cells for m in _METRIC_HEADERS)


def _is_total(line: str) -> bool:
    cells = _csv.split_csv_line(line)
    return bool(cells) and cells[0].strip().startswith("Total:")


def sniff(head: str, file_name: str) -> bool:
    lines = head.lstrip("\ufeff").splitlines()[:5]
    if len(lines) < 3 or "\t" in lines[2]:
        return False
    second = lines[1].strip().strip('"')
    return (second == "All time" or bool(_RANGE.search(second))) and _is_header(lines[2])


def _parse_range(text: str) -> tuple[dt.date, dt.date] | None:
    m = _RANGE.search(text)
    if not m:
        return None
    out = []
    for g in m.groups():
        g = g.replace(".", "")
        for fmt in ("%B %d, %Y", "%b %d, %Y"):
            try:
                out.append(dt.datetime.strptime(g, fmt).date())
                break
            except ValueError:
                continue
    return (out[0], out[1]) if len(out) == 2 else None


def _cell_number(text: str) -> float | None:
    t = re.sub(r"[,%<>\s]", "", text or "")
    if t in ("", "--"):
        return None
    try:
        return float(t)
    except ValueError:
        return None


def parse_totals(
    footer: list[tuple[int, str]], names: list[str], metric_cols: dict[str, str | None], sep: str = ","
) -> dict[str, float]:
    """The ``Total: Account`` row (else the last ``Total:`` row) as {canonical metric: value, "_line": n}."""
    rows = [(n, _csv.split_csv_line(t, sep)) for n, t in footer]
    rows = [(n, r) for n, r in rows if r and r[0].strip().startswith("Total:")]
    if not rows:
        return {}
    pick = next(((n, r) for n, r in rows if r[0].strip() == "Total: Account"), rows[-1])
    line, cells = pick
    pos = {c: i for i, c in enumerate(names)}
    out: dict[str, float] = {"_line": float(line)}
    for metric, col in metric_cols.items():
        if col is not None and col in pos and pos[col] < len(cells):
            v = _cell_number(cells[pos[col]])
            if v is not None:
                out[metric] = v
    return out


def read(path: Path, ctx: ReadContext) -> Parsed:
    data = _csv.read_bytes(path)
    layout = _csv.Layout(data, path)
    lines = layout.head(10)
    header = _csv.find_header(lines, _is_header, path, "Google Ads report")
    period = _parse_range(lines[1]) if len(lines) > 1 and header >= 3 else None
    end, footer = layout.peel_footer(_is_total)
    body = _csv.parse_body(layout, header, end)
    if not footer:  # the tool always ends the file with its totals: without them it was cut short
        raise SourceError(
            "no Total: Account row at the end: the file looks truncated",
            file=path,
            line=layout.data.count(b"\n") + 1,
            hint="Download the report again",
        )
    b = body
    metric_cols = {
        "clicks": b.pick("Clicks", "Interactions"),
        "impressions": b.pick("Impr.", "Impressions"),
        "spend": b.need("Cost"),
        "conversions": b.pick("Conversions", "Conv."),
        "conversions_value": b.pick("Conv. value", "Conversion value", "Total conv. value"),
    }
    day = b.pick("Day", "Date")
    if day is not None:
        dates: Any = b.date(day, DAY_FORMATS)
    elif period is not None and period[0] == period[1]:
        dates = pd.Timestamp(period[0])
    else:
        raise SourceError(
            f"no Day column and the report covers {'all time' if period is None else f'{period[0]}..{period[1]}'}",
            file=path,
            line=header,
            column="Day",
            hint="Add Segment > Time > Day to the report, or export one day per file",
        )
    currency = b.pick("Currency code", "Currency")
    cols = {
        "platform": PLATFORM,
        "source_relation": NAME,
        "account_id": b.text(b.pick("Customer ID", "Account ID")),
        "account_name": b.text(b.pick("Account", "Account name")),
        "campaign_id": b.text(b.pick("Campaign ID")),
        "campaign_name": b.text(b.need("Campaign")),
        "ad_group_id": b.text(b.pick("Ad group ID")),
        "ad_group_name": b.text(b.pick("Ad group")),
        "ad_id": b.text(b.pick("Ad ID")),
        "ad_name": b.text(b.pick("Ad name", "Ad")),
        "clicks": b.number(metric_cols["clicks"], integer=True, fill=0),
        "impressions": b.number(metric_cols["impressions"], integer=True, fill=0),
        "spend": b.number(metric_cols["spend"], fill=0.0),
        "conversions": b.number(metric_cols["conversions"]),
        "conversions_value": b.number(metric_cols["conversions_value"]),
        "currency": b.text(currency) if currency else ctx.reporting_currency,
    }
    df = _csv.ad_frame(b, cols, {"_campaign_type": b.text(b.pick("Campaign type"))})
    if not isinstance(dates, pd.Timestamp):
        df["date_day"] = pd.Series(dates.to_numpy(), dtype="datetime64[s]")
    else:
        df["date_day"] = dates
    _csv.check_in_period(df, period, path, "line 2")
    warnings = [] if currency else [f"no Currency code column: assumed {ctx.reporting_currency}"]
    return Parsed(
        table=TABLE,
        frame=df,
        source=NAME,
        period=period or _csv.period_of(df),
        totals=parse_totals(footer, b.columns, metric_cols),
        replace_key=replace_key(df),
        warnings=warnings,
    )


def replace_key(df: pd.DataFrame) -> dict[str, Any]:
    """platform + source format + the account ids in the file (the engine replaces per account)."""
    accounts = sorted(df["account_id"].dropna().unique().tolist())
    return {
        "platform": str(df["platform"].iloc[0]) if len(df) else PLATFORM,
        "source_relation": str(df["source_relation"].iloc[0]) if len(df) else NAME,
        "account_id": accounts[0] if len(accounts) == 1 else accounts,
    }


# ---- writing ----------------------------------------------------------------------------------------------
def _level(df: pd.DataFrame, level: str) -> str:
    if level != "auto":
        return level
    if "ad_id" in df and df["ad_id"].notna().any():
        return "ad"
    if "ad_group_name" in df and df["ad_group_name"].notna().any():
        return "ad_group"
    return "campaign"


def _pct(num: pd.Series, den: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (num.astype("float64") / den.astype("float64") * 100).round(2)
    return pd.Series(np.where(den.to_numpy() > 0, r.map("{:.2f}%".format), " --"), index=num.index)


def _num_or_dash(s: pd.Series, fmt: str = "{:.2f}") -> pd.Series:
    s = s.astype("float64")
    return pd.Series(np.where(s.isna(), " --", s.round(2).map(fmt.format)), index=s.index)


def campaign_types(df: pd.DataFrame) -> pd.Series:
    """The Google "Campaign type" of each row: ``_campaign_type`` if given, else from ``channel``."""
    if "_campaign_type" in df and df["_campaign_type"].notna().any():
        return df["_campaign_type"].astype("string").fillna("Search")
    ch = (
        df["channel"].astype("string")
        if "channel" in df
        else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    return ch.map(lambda c: CAMPAIGN_TYPES.get(str(c), "Search") if pd.notna(c) else "Search").astype(
        "string"
    )


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write canonical ``ad_daily`` rows as a Google Ads UI report.

    Options: ``level`` (auto | campaign | ad_group | ad), ``day`` (True: Day segment), ``all_time``
    (False: line 2 is the date range), ``title``.
    """
    level = _level(df, opts.get("level", "auto"))
    day = opts.get("day", True)
    d = pd.to_datetime(df["date_day"])
    if not day and d.nunique() > 1:
        raise ValueError("a Google Ads report without the Day segment must cover one day")
    start, end = d.min().date(), d.max().date()
    title = opts.get(
        "title", {"campaign": "Campaign report", "ad_group": "Ad group report", "ad": "Ad report"}[level]
    )
    line2 = (
        "All time"
        if opts.get("all_time")
        else f'"{start:%B} {start.day}, {start.year} - {end:%B} {end.day}, {end.year}"'
    )
    out = pd.DataFrame(index=df.index)
    if day:
        out["Day"] = d.dt.strftime("%Y-%m-%d")
    out["Account"] = _csv.fill(df, "account_name")
    out["Customer ID"] = _csv.fill(df, "account_id")
    out["Campaign"] = _csv.fill(df, "campaign_name")
    out["Campaign ID"] = _csv.fill(df, "campaign_id")
    out["Campaign type"] = campaign_types(df)
    if level in ("ad_group", "ad"):
        out["Ad group"] = _csv.fill(df, "ad_group_name")
        out["Ad group ID"] = _csv.fill(df, "ad_group_id")
    if level == "ad":
        out["Ad ID"] = _csv.fill(df, "ad_id")
        out["Ad name"] = _csv.fill(df, "ad_name")
    out["Currency code"] = _csv.fill(df, "currency", "USD")
    out["Impr."] = _csv.fmt_thousands(df["impressions"])
    out["Clicks"] = _csv.fmt_thousands(df["clicks"])
    out["Interaction rate"] = _pct(df["clicks"], df["impressions"])
    out["Cost"] = _csv.fmt_money(df["spend"])
    out["Conversions"] = _num_or_dash(df["conversions"])
    out["Conv. value"] = _num_or_dash(df["conversions_value"])
    out["Conv. rate"] = _pct(df["conversions"].fillna(0), df["clicks"])

    def total(label: str, part: pd.DataFrame) -> list[str]:
        row = [" --"] * len(out.columns)
        row[0] = label
        cols = list(out.columns)
        row[cols.index("Currency code")] = (
            _csv.one_value(part, "currency", "USD") if part["currency"].nunique() <= 1 else " --"
        )
        row[cols.index("Impr.")] = f"{int(part['impressions'].sum()):,}"
        row[cols.index("Clicks")] = f"{int(part['clicks'].sum()):,}"
        row[cols.index("Cost")] = f"{part['spend'].astype('float64').round(2).sum():.2f}"
        row[cols.index("Conversions")] = f"{part['conversions'].astype('float64').round(2).sum():.2f}"
        row[cols.index("Conv. value")] = f"{part['conversions_value'].astype('float64').round(2).sum():.2f}"
        return row

    work = df.assign(_type=out["Campaign type"])
    if "currency" not in work:
        work["currency"] = "USD"
    footer = [total(f"Total: {t}", g) for t, g in work.groupby("_type", sort=True)]
    plural = {"campaign": "Campaigns", "ad_group": "Ad groups", "ad": "Ads"}[level]
    footer += [total(f"Total: {plural}", work), total("Total: Account", work)]
    _csv.write_csv(path, [title, line2], out, footer)
