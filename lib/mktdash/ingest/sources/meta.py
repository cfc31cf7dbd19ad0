"""Meta Ads Manager exports (Export table data > CSV), by day or without time breakdown.

Layout: header on line 1 (``Reporting starts``, ``Reporting ends``, ``Campaign name``, ``Ad set name``,
``Ad name``, ``Amount spent (USD)`` — the currency is inside the column name —, ``Impressions``, ``Reach``,
``Link clicks``, ``Clicks (all)``, ``Results``, ``Result indicator``, ``Cost per results``, optional
``Purchases conversion value`` and ids). An optional summary row (no campaign/ad set/ad name) spans the whole
period: it gives :attr:`Parsed.period` and the totals to reconcile. ``clicks`` are ``Link clicks`` (as in
Fivetran's facebook_ads model), ``conversions`` are ``Results`` when the ``Result indicator`` is a conversion.
A ``Day`` breakdown column, when present, gives the rows' days. Without a daily breakdown every row spans the
report's range: one ISO week loads at week grain, any other range into ``ad_period``. An export for a period
without delivery (the header and one row ``No data available.``) is a valid empty report. Headers in the UI
languages of :data:`mktdash.ingest.sources._locale.META` (``Ausgegebener Betrag (EUR)``, ``Montant dépensé (EUR)``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mktdash.ingest.sources import _csv, _locale
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError
from mktdash.ingest.sources.google_ads_ui import replace_key

NAME = "meta"
TABLE = "ad_daily"
PLATFORM = "meta"
_SPENT = re.compile(r"^Amount spent \(([A-Z]{3})\)$")
CONVERSION_INDICATOR = r"(?i)purchase|lead|conversion|complete_registration|subscribe"
DEFAULT_INDICATOR = "actions:offsite_conversion.fb_pixel_purchase"
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y")
LOCAL_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m/%d/%Y",
)  # other UI languages: day first


def _names(line: str) -> tuple[list[str], str, str]:
    """A header line's cells in English, the UI language and the delimiter."""
    return _csv.header_names(line, _locale.META, prefixes=True)


def sniff(head: str, file_name: str) -> bool:
    first = _csv.first_line(head)
    names = _names(first)[0]
    return (
        ("Reporting starts" in names or "Day" in names)
        and "Campaign name" in names
        and any(_SPENT.match(n) for n in names)
    )


def why(head: str) -> str:
    """Why :func:`sniff` recognised ``head`` (for ``mktdash ingest --explain``)."""
    names = _names(head.lstrip("\ufeff").splitlines()[0])[0]
    spent = next((n for n in names if _SPENT.match(n)), "Amount spent")
    first = "Reporting starts" if "Reporting starts" in names else "Day"
    return f"a Meta Ads Manager header on line 1 ({first}, Campaign name, {spent})"


def _no_data_line(layout: _csv.Layout, end: int) -> bool:
    """The body is the single line "No data available." (one cell, not padded to the header's width)."""
    start = layout.offset_of_line(2)
    if end - start > 4096:  # a real body: not worth decoding
        return False
    body = layout.data[start:end].decode("utf-8").strip()
    return "\n" not in body and body.strip('"').strip().lower() in _locale.NO_DATA


def _no_data(b: _csv.Body) -> bool:
    """Meta's export of a period without delivery: the header and one row "No data available."."""
    if len(b) != 1:
        return False
    cells = [v for v in b.table.slice(0, 1).to_pylist()[0].values() if v not in (None, "")]
    return len(cells) == 1 and str(cells[0]).strip().lower() in _locale.NO_DATA


def read(path: Path, ctx: ReadContext) -> Parsed:
    layout = _csv.Layout(_csv.read_bytes(path), path)
    names, lang, sep = _names(layout.head(1)[0])
    end, _ = layout.peel_footer(lambda line: False)
    if _no_data_line(layout, end):
        end = layout.offset_of_line(2)
    b = _csv.parse_body(layout, 1, end, sep=sep, expect_rows=False)
    b.rename(_locale.translate(b.columns, _locale.META, prefixes=True)[0])
    spent = next((c for c in b.columns if _SPENT.match(c)), None)
    if spent is None:
        b.need("Amount spent (USD)")
    assert spent is not None
    currency = _SPENT.match(spent).group(1)  # type: ignore[union-attr]
    day = b.pick("Day")  # Breakdown > By time > Day adds a Day column (the Reporting range: the whole period)
    if day is None:  # else each row's Reporting starts/ends give its day or range
        b.need("Reporting starts")
        b.need("Reporting ends")
    b.mapping.update({"currency (in the header)": spent})
    b.need("Campaign name")
    if _no_data(b) or len(b) == 0:
        b.split(np.ones(len(b), dtype=bool))
        df = _csv.ad_frame(b, {"platform": PLATFORM, "source_relation": NAME, "currency": currency})
        return _csv.parsed_ad(df, NAME, None, "day", [], replace_key=replace_key(df))
    summary, summary_mask = _split_summary(b, path)
    if len(b) == 0:
        raise SourceError(
            "the export has only its summary row", file=path, line=1, hint="Check the breakdown of the report"
        )
    b.decimal_comma = _csv.decimal_comma_of(b, [spent], lang)
    metric_cols: dict[str, str | None] = {
        "clicks": b.pick("Link clicks", "Clicks (all)"),
        "impressions": b.need("Impressions"),
        "spend": spent,
        "conversions": b.pick("Results"),
        "conversions_value": b.pick(
            "Purchases conversion value", "Website purchases conversion value", "Conversion value"
        ),
    }
    df = _csv.ad_frame(b, _columns(b, metric_cols, currency))
    formats = DATE_FORMATS if lang == "en" else LOCAL_DATE_FORMATS
    dates, grain, period = _dates(b, day, formats, path)
    df["date_day"] = pd.Series(dates.to_numpy(), dtype="datetime64[s]")
    totals: dict[str, float] = {}
    if summary is not None and summary.num_rows == 1:
        sb = _csv.Body(summary, int(np.flatnonzero(summary_mask)[0]) + 2, path)
        sb.decimal_comma = b.decimal_comma
        if sb.has(b.pick("Reporting starts")) and sb.has(b.pick("Reporting ends")):
            period = (_first_day(sb, "Reporting starts", formats), _first_day(sb, "Reporting ends", formats))
        totals = {"_line": float(sb.lines[0])}
        for m, c in metric_cols.items():
            if c is not None and m != "conversions":
                v = sb.number(c)[0].as_py()
                if v is not None:
                    totals[m] = v
        _csv.check_in_period(df, period, path, "the summary row")
    return _csv.parsed_ad(df, NAME, period, grain, [], totals=totals, replace_key=replace_key(df))


def _first_day(b: _csv.Body, col: str, formats: tuple[str, ...]) -> dt.date:
    return b.date(b.need(col), formats)[0].as_py().date()


def _dates(
    b: _csv.Body, day: str | None, formats: tuple[str, ...], path: Path
) -> tuple[pa.ChunkedArray, str, tuple[dt.date, dt.date] | None]:
    """(the rows' days, grain, period): from the Day column when there is one, else from the Reporting
    starts/ends of each row (see :func:`_grain`)."""
    start_col, end_col = b.pick("Reporting starts"), b.pick("Reporting ends")
    starts = b.date(start_col, formats) if start_col else None
    ends = b.date(end_col, formats) if end_col else None
    if day is not None:
        dates = b.date(day, formats)
        b.mapping["date_day"] = day
        period = None
        if starts is not None and ends is not None:
            period = (pc.min(starts).as_py().date(), pc.max(ends).as_py().date())
        return dates, "day", period
    assert starts is not None and ends is not None
    grain, period = _grain(b, starts, ends, path)
    return starts, grain, period


def _split_summary(b: _csv.Body, path: Path) -> tuple[pa.Table | None, np.ndarray]:
    """Remove the summary row (no campaign, ad set or ad name) from ``b``; return it and its mask."""
    summary_mask = np.ones(len(b), dtype=bool)
    for c in (b.pick(x) for x in ("Campaign name", "Ad set name", "Ad name")):
        if c is not None:
            summary_mask &= np.asarray(pc.is_null(b.table[c]).to_numpy(zero_copy_only=False))
    if summary_mask.sum() > 1:
        i = int(np.flatnonzero(summary_mask)[1])
        raise b.row_error(
            i,
            "a row has no campaign, ad set or ad name",
            "Campaign name",
            "Export the report again without editing it",
        )
    return (b.split(summary_mask) if summary_mask.any() else None), summary_mask


def _grain(
    b: _csv.Body, starts: pa.ChunkedArray, ends: pa.ChunkedArray, path: Path
) -> tuple[str, tuple[dt.date, dt.date] | None]:
    """``day`` (Breakdown by day: every row one day), else every row spans the same range: ``week`` when it
    is one ISO week, ``period`` otherwise (see :func:`mktdash.ingest.sources._csv.parsed_ad`)."""
    same = np.asarray(pc.equal(starts, ends).to_numpy(zero_copy_only=False))
    if same.all():
        return "day", None
    s0, e0 = pc.min(starts).as_py().date(), pc.max(ends).as_py().date()
    one = pc.all(pc.equal(starts, pc.min(starts))).as_py() and pc.all(pc.equal(ends, pc.max(ends))).as_py()
    if not one:
        i = int(np.flatnonzero(~same)[0])
        raise b.row_error(
            i,
            "rows span different date ranges (Reporting starts/ends)",
            "Reporting ends",
            "Export with Breakdown > By time > Day",
        )
    return ("week" if _locale.is_iso_week((s0, e0)) else "period"), (s0, e0)


def _columns(b: _csv.Body, metric_cols: dict[str, str | None], currency: str) -> dict[str, Any]:
    results = b.number(metric_cols["conversions"])
    indicator = b.pick("Result indicator")
    if indicator is not None:
        is_conv = pc.fill_null(pc.match_substring_regex(b.table[indicator], CONVERSION_INDICATOR), False)
        conversions = pc.if_else(is_conv, pc.fill_null(results, 0.0), pa.scalar(0.0))
    else:
        conversions = results
    dims = {
        "campaign_name": ("Campaign name",),
        "ad_group_id": ("Ad set ID",),
        "ad_group_name": ("Ad set name",),
    }
    return _csv.ad_columns(b, (PLATFORM, NAME), dims, metric_cols, currency, need=(), conversions=conversions)


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write canonical rows as a Meta Ads Manager export (daily breakdown, ``summary=True`` adds the total row)."""
    cur = _csv.one_value(df, "currency", "USD")
    if "currency" in df and df["currency"].nunique() > 1:
        raise ValueError("a Meta export has one currency (that of its ad account)")
    day = pd.to_datetime(df["date_day"]).dt.strftime("%Y-%m-%d")
    conv = df["conversions"].astype("float64")
    out = pd.DataFrame(
        {
            "Reporting starts": day,
            "Reporting ends": day,
            "Account ID": _csv.fill(df, "account_id"),
            "Account name": _csv.fill(df, "account_name"),
            "Campaign name": _csv.fill(df, "campaign_name"),
            "Campaign ID": _csv.fill(df, "campaign_id"),
            "Ad set name": _csv.fill(df, "ad_group_name"),
            "Ad set ID": _csv.fill(df, "ad_group_id"),
            "Ad name": _csv.fill(df, "ad_name"),
            "Ad ID": _csv.fill(df, "ad_id"),
            f"Amount spent ({cur})": df["spend"].astype("float64").round(2),
            "Impressions": df["impressions"].astype("int64"),
            "Reach": (df["impressions"].astype("int64") * 0.8).round().astype("int64"),
            "Link clicks": df["clicks"].astype("int64"),
            "Clicks (all)": (df["clicks"].astype("int64") * 1.3).round().astype("int64"),
            "Results": conv.round(2),
            "Result indicator": np.where(conv.notna(), DEFAULT_INDICATOR, ""),
            "Cost per results": (df["spend"].astype("float64") / conv.where(conv > 0)).round(2),
            "Purchases conversion value": df["conversions_value"].astype("float64").round(2),
        },
        index=df.index,
    )
    if opts.get("summary", True) and len(out):
        d = pd.to_datetime(df["date_day"])
        top: dict[str, Any] = {c: "" for c in out.columns}
        top.update(
            {
                "Reporting starts": d.min().strftime("%Y-%m-%d"),
                "Reporting ends": d.max().strftime("%Y-%m-%d"),
                f"Amount spent ({cur})": round(float(out[f"Amount spent ({cur})"].sum()), 2),
                "Impressions": int(out["Impressions"].sum()),
                "Reach": int(out["Reach"].sum()),
                "Link clicks": int(out["Link clicks"].sum()),
                "Clicks (all)": int(out["Clicks (all)"].sum()),
                "Purchases conversion value": round(float(out["Purchases conversion value"].sum()), 2),
            }
        )
        out = pd.concat([pd.DataFrame([top]), out], ignore_index=True)
    _csv.write_csv(path, [], out)
