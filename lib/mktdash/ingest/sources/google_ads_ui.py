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
:attr:`Parsed.totals` for reconciliation). The "Excel .csv" download is UTF-16LE with BOM and tab-separated;
other UI languages translate the title, the range, the headers and the totals labels and write numbers as
``1.234,56`` (dictionaries in :mod:`mktdash.ingest.sources._locale`); legacy AdWords reports put the range in the
title (``Ad report (Oct 25, 2016-Oct 31, 2016)``) with the header on line 2. Without a ``Day`` segment the grain
follows the range: one day, one ISO week (week grain), or any other range (``ad_period``), see
:func:`mktdash.ingest.sources._csv.parsed_ad`; ``All time`` without Day is refused. A report with settings columns only
is refused ("no metric columns"), one with no rows loads nothing for its period.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mktdash.ingest.sources import _csv, _locale
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError

NAME = "google_ads_ui"
TABLE = "ad_daily"
PLATFORM = "google_ads"
DAY_FORMATS = ("%Y-%m-%d", "%b %d, %Y", "%m/%d/%Y", "%d.%m.%Y", "%d/%m/%Y")
CAMPAIGN_TYPES = {"search": "Search", "display": "Display", "video": "Video", "shopping": "Shopping"}
# the headers (in English, after translation) that make a line a Google Ads report header
VOCABULARY = {
    *{v for table in _locale.GOOGLE_ADS.values() for v in table.values()},
    "Impr.", "Impressions", "Conv.", "Conversions", "Campaign state", "Ad group state", "Ad state",
    "Final URL", "Avg. CPC", "CTR", "Search impr. share", "Labels",
}  # fmt: skip
METRIC_HEADERS = ("Impr.", "Impressions", "Clicks", "Interactions", "Cost")
NO_METRICS = (
    "this report has no metric columns: add Impr., Clicks, Cost (Columns > Performance) and download it again"
)
# "Total: Account", "Gesamt: Konto", "Total : compte", legacy AdWords "Total - account"
_TOTAL = re.compile(r"^(Total|Gesamt|Totale|Totaal|Totais)\s*(:|\s-\s)")


def header_names(line: str) -> tuple[list[str], str, str]:
    """A header line's cells in English, the UI language and the delimiter."""
    return _csv.header_names(line, _locale.GOOGLE_ADS)


def _is_header(line: str) -> bool:
    names = header_names(line)[0]
    return ("Campaign" in names or "Ad group" in names) and len(VOCABULARY.intersection(names)) >= 2


def is_total(line: str, sep: str = ",") -> bool:
    cells = _csv.split_csv_line(line, sep)
    return bool(cells) and bool(_TOTAL.match(cells[0].strip()))


def preamble(lines: list[str]) -> tuple[int, tuple[dt.date, dt.date] | None] | None:
    """(1-based header line, the period of the preamble) of a Google Ads UI download, else None.

    Line 1 is the title, line 2 the date range (``All time`` gives no period), the header on line 3; legacy
    AdWords downloads put the range in the title (``Ad report (Oct 25, 2016-Oct 31, 2016)``), header on 2."""
    for h in (3, 2):
        if len(lines) < h or not _is_header(lines[h - 1]):
            continue
        pre = lines[: h - 1]
        period = _locale.parse_range(" ".join(pre))
        if period is not None or any(_locale.is_all_time(x) for x in pre):
            return h, period
    return None


def sniff(head: str, file_name: str) -> bool:
    return preamble(_csv.head_lines(head, 5)) is not None


def why(head: str) -> str:
    """Why :func:`sniff` recognised ``head`` (for ``mktdash ingest --explain``)."""
    lines = _csv.head_lines(head, 5)
    found = preamble(lines)
    if found is None:
        return "forced"
    h, period = found
    names = header_names(lines[h - 1])[0]
    known = [n for n in names if n in VOCABULARY][:4]
    rng = f"the date range {period[0]}..{period[1]}" if period else "All time"
    where = "in the title" if h == 2 else "on line 2"
    return f"{rng} {where} and a Google Ads header on line {h} ({', '.join(known)}, ...)"


def _cell_number(text: str, decimal_comma: bool = False) -> float | None:
    t = re.sub(r"[.%<>\s\u00a0\u202f]" if decimal_comma else r"[,%<>\s\u00a0\u202f]", "", text or "")
    t = t.replace(",", ".") if decimal_comma else t
    if t in ("", "--"):
        return None
    try:
        return float(t)
    except ValueError:
        return None


def parse_totals(
    footer: list[tuple[int, str]],
    names: list[str],
    metric_cols: dict[str, str | None],
    sep: str = ",",
    decimal_comma: bool = False,
) -> dict[str, float]:
    """The account totals row (``Total: Account`` in any UI language, else the last totals row) as
    {canonical metric: value, "_line": n}."""
    rows = [(n, _csv.split_csv_line(t, sep)) for n, t in footer]
    rows = [(n, r) for n, r in rows if r and (_TOTAL.match(r[0].strip()) or r[0].strip().startswith("Total"))]
    if not rows:
        return {}

    def is_account(cell: str) -> bool:
        return _TOTAL.sub("", cell.strip()).strip().lower() in _locale.ACCOUNT_WORDS

    line, cells = next(((n, r) for n, r in rows if is_account(r[0])), rows[-1])
    pos = {c: i for i, c in enumerate(names)}
    out: dict[str, float] = {"_line": float(line)}
    for metric, col in metric_cols.items():
        if col is not None and col in pos and pos[col] < len(cells):
            v = _cell_number(cells[pos[col]], decimal_comma)
            if v is not None:
                out[metric] = v
    return out


def _open(path: Path) -> tuple[_csv.Layout, int, tuple[dt.date, dt.date] | None, str, str]:
    """The layout, header line, period, UI language and delimiter of a download."""
    layout = _csv.Layout(_csv.read_bytes(path), path)
    lines = layout.head(10)
    found = preamble(lines)
    if found is None:
        header = _csv.find_header(lines, _is_header, path, "Google Ads report")
        return layout, header, None, *header_names(lines[header - 1])[1:]
    header, period = found
    _, lang, sep = header_names(lines[header - 1])
    return layout, header, period, lang, sep


def read(path: Path, ctx: ReadContext) -> Parsed:
    layout, header, period, lang, sep = _open(path)
    end, footer = layout.peel_footer(lambda line: is_total(line, sep))
    b = _csv.parse_body(layout, header, end, sep=sep, expect_rows=False)
    b.rename(_locale.translate(b.columns, _locale.GOOGLE_ADS)[0])
    metric_cols = {
        "clicks": b.pick("Clicks", "Interactions"),
        "impressions": b.pick("Impr.", "Impressions"),
        "spend": b.pick("Cost"),
        "conversions": b.pick("Conversions", "Conv."),
        "conversions_value": b.pick("Conv. value", "Conversion value", "Total conv. value"),
    }
    if not any(metric_cols[m] for m in ("clicks", "impressions", "spend")):
        raise SourceError(NO_METRICS, file=path, line=header, column="Cost")
    if len(b) and not footer:  # the tool always ends the file with its totals: without them it was cut short
        raise SourceError(
            "no totals row (Total: Account) at the end: the file looks truncated",
            file=path,
            line=layout.data.count(b"\n") + 1,
            hint="Download the report again",
        )
    b.need("Cost")
    b.decimal_comma = _csv.decimal_comma_of(b, [metric_cols["spend"], metric_cols["conversions_value"]], lang)
    grain, dates = _grain(b, period, path, header)
    currency = b.pick("Currency code", "Currency")
    df = _csv.ad_frame(
        b, _columns(b, metric_cols, currency, ctx), {"_campaign_type": b.text(b.pick("Campaign type"))}
    )
    df["date_day"] = (
        dates if isinstance(dates, pd.Timestamp) else pd.Series(dates.to_numpy(), dtype="datetime64[s]")
    )
    _csv.check_in_period(df, period, path, "line 2")
    warnings = (
        [] if currency or not len(b) else [f"no Currency code column: assumed {ctx.reporting_currency}"]
    )
    return _csv.parsed_ad(
        df, NAME, period, grain, warnings,
        totals=parse_totals(
            footer, _locale.translate(b.file_columns, _locale.GOOGLE_ADS)[0], metric_cols, sep, b.decimal_comma
        ),
        replace_key=replace_key(df),
    )  # fmt: skip


def _columns(
    b: _csv.Body, metric_cols: dict[str, str | None], currency: str | None, ctx: ReadContext
) -> dict[str, Any]:
    dims = {  # canonical dimension -> the report's headers (in English) where not the usual ones
        "account_id": ("Customer ID", "Account ID"),
        "account_name": ("Account", "Account name"),
        "campaign_name": ("Campaign",),
        "ad_group_name": ("Ad group",),
        "ad_name": ("Ad name", "Ad"),
    }
    reporting = b.text(currency) if currency else ctx.reporting_currency
    return _csv.ad_columns(b, (PLATFORM, NAME), dims, metric_cols, reporting, need=())


def _grain(b: _csv.Body, period: tuple[dt.date, dt.date] | None, path: Path, header: int) -> tuple[str, Any]:
    """(grain, dates) of a report: ``day`` with a Day segment (or a one-day range), ``week`` with a Week
    segment over whole weeks or a range that is one ISO week (the rows go on the week's Sunday), ``period``
    for any other range (kept as totals of that exact period, see :mod:`mktdash.ingest.sources._csv`)."""
    day = b.pick("Day", "Date")
    if day is not None:
        return "day", b.date(day, DAY_FORMATS)
    week = b.pick("Week")
    if week is not None:
        dates = b.date(week, DAY_FORMATS)
        whole = period is not None and _locale.is_iso_week((period[0], period[0] + dt.timedelta(days=6)))
        whole = whole and period is not None and period[1].isoweekday() == 7
        if not whole:
            raise SourceError(
                f"a Week segment over {_span(period)}: its first or last week is partial",
                file=path, line=header, column="Week",
                hint="Use Segment > Time > Day, or a date range from a Monday to a Sunday",
            )  # fmt: skip
        return "week", dates
    if period is None:
        raise SourceError(
            "no Day column and the report covers all time: its rows have no dates",
            file=path, line=header, column="Day",
            hint="Add Segment > Time > Day to the report, or pick a date range (e.g. Last week (Mon - Sun))",
        )  # fmt: skip
    if period[0] == period[1]:
        return "day", pd.Timestamp(period[0])
    return ("week" if _locale.is_iso_week(period) else "period"), pd.Timestamp(period[0])


def _span(period: tuple[dt.date, dt.date] | None) -> str:
    return "all time" if period is None else f"{period[0]}..{period[1]}"


def replace_key(df: pd.DataFrame) -> dict[str, Any]:
    """platform + source format + the account ids in the file (the engine replaces per account).

    A file without account ids (a Google Ads campaign report has no Customer ID column by default) replaces
    only its own campaigns: another account's report for the same days is not deleted by it."""
    accounts = sorted(df["account_id"].dropna().unique().tolist())
    key: dict[str, Any] = {
        "platform": str(df["platform"].iloc[0]) if len(df) else PLATFORM,
        "source_relation": str(df["source_relation"].iloc[0]) if len(df) else NAME,
        "account_id": accounts[0] if len(accounts) == 1 else accounts,
    }
    if not accounts and len(df):
        key["campaign_name"] = sorted(df["campaign_name"].dropna().unique().tolist())
    return key


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
    (False: line 2 is the date range), ``title``, ``excel`` (the "Excel .csv" download: UTF-16LE, tabs).
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
    if opts.get("excel"):  # the "Excel .csv" download: UTF-16LE with BOM, tab-separated
        _csv.write_csv(path, [title, line2.strip('"')], out, footer, sep="\t", encoding="utf-16")
    else:
        _csv.write_csv(path, [title, line2], out, footer)
