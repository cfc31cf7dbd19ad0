"""LinkedIn Campaign Manager performance exports (Analyze > Export > CSV), daily.

Layout::

    Campaign Performance Report (in UTC)
    "Report Start: 7/1/2025, Report End: 7/31/2025"
    <blank line>
    Start Date (in UTC),Account Name,Account ID,Campaign Group Name,Campaign Group ID,Campaign Name,Campaign ID,...

or, as UTF-16 with tabs, the Ad Performance Report's preamble::

    Ad Performance Report (in UTC)
    Report Start: August 18, 2019, 12:00 AM
    Report End: August 20, 2019, 11:59 PM
    Date Generated: August 21, 2019, 9:14 AM
    <blank line>

or, in the German UI with LinkedIn's newer level names (no campaign group column), tab-separated::

    Bericht zur Performance
    Startdatum des Berichts: ...
    <blank line>
    Startdatum (in UTC)<TAB>Name der Kampagne<TAB>Name der Anzeigengruppe<TAB>Anzeigengruppen-ID<TAB>Gesamtausgaben<TAB>...
    1.10.2026<TAB>...<TAB>"330,51"<TAB>...

M/D/YYYY (or D.M.YYYY) dates, a ``Currency`` column (else the reporting currency is assumed, with a warning),
``Total Spent``, ``Impressions``, ``Clicks``, ``Conversions``, ``Total Conversion Value``. No totals rows.
Headers and the preamble's ``Report Start``/``Report End`` labels are translated by ``_locale.LINKEDIN``; the
period is read when both lines carry a date (else the rows' dates count). Levels:

- with a campaign group column (``Campaign Group Name``): as in Fivetran's ad_reporting, campaign group ->
  campaign, campaign -> ad group, creative -> ad;
- without it (``Name der Kampagne``, ``Name der Anzeigengruppe``): the file's campaign is our campaign and its
  ad group (``Anzeigengruppe``; English ``Ad Group``/``Ad Set`` unverified) our ad group.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest.sources import _csv, _locale
from mktdash.ingest.sources.base import Parsed, ReadContext
from mktdash.ingest.sources.google_ads_ui import replace_key

NAME = "linkedin"
TABLE = "ad_daily"
PLATFORM = "linkedin"
# canonical dimension -> Campaign Manager's headers (a LinkedIn campaign group is a campaign, its campaign
# an ad group, its creative an ad); the account ID has the usual header (_csv.AD_DIM_HEADERS)
DIMS = {
    "account_name": ("Account Name",),
    "campaign_id": ("Campaign Group ID",),
    "campaign_name": ("Campaign Group Name",),
    "ad_group_id": ("Campaign ID",),
    "ad_group_name": ("Campaign Name",),
    "ad_id": ("Creative ID", "Ad ID"),
    "ad_name": ("Creative Name", "Ad Name"),
}
# without a campaign group column: campaign -> campaign, ad group -> ad group ("Ad Group ..." is what
# _locale.LINKEDIN translates "Anzeigengruppe" to; the English export's "Ad Set ..." spelling is unverified)
DIMS_NO_GROUP = {
    **DIMS,
    "campaign_id": ("Campaign ID",),
    "campaign_name": ("Campaign Name",),
    "ad_group_id": ("Ad Group ID", "Ad Set ID"),
    "ad_group_name": ("Ad Group Name", "Ad Set Name"),
}


def _label(english: str) -> str:
    """A regex matching the preamble label ``english`` in every UI language of ``_locale.LINKEDIN``."""
    words = [english, *(k for t in _locale.LINKEDIN.values() for k, v in t.items() if v == english)]
    return "(?:" + "|".join(re.escape(w) for w in words) + "):"


_START_WORD, _END_WORD = _label("Report Start"), _label("Report End")
_START_LABEL = re.compile(_START_WORD)
_START = re.compile(rf"{_START_WORD}\s*([^\t\"]+?)(?:[,\t\"]*\s*{_END_WORD}|[\t\"]*$)", re.M)
_END = re.compile(rf"{_END_WORD}\s*([^\t\"]+)")


def _names(line: str) -> tuple[list[str], str, str]:
    return _csv.header_names(line, _locale.LINKEDIN)


def _is_header(line: str) -> bool:
    names = _names(line)[0]
    return bool(names) and names[0].startswith("Start Date") and any("Campaign" in n for n in names)


def sniff(head: str, file_name: str) -> bool:
    """A LinkedIn header with a campaign group column, or after a (translated) ``Report Start`` line."""
    header = next((x for x in _csv.head_lines(head, 10) if _is_header(x)), None)
    return header is not None and (
        any("Campaign Group" in n for n in _names(header)[0]) or bool(_START_LABEL.search(head))
    )


def why(head: str) -> str:
    """Why :func:`sniff` recognised ``head`` (for ``mktdash ingest --explain``)."""
    lines = _csv.head_lines(head, 10)
    n = next((i for i, x in enumerate(lines, 1) if _is_header(x)), 0)
    title = lines[0].strip().strip('"') if n > 1 else ""
    return f"a LinkedIn header (Start Date (in UTC), ... Campaign ...) on line {n}" + (
        f" after the preamble {title!r}" if title else ""
    )


def _day(text: str) -> dt.date | None:
    """ "7/1/2025" or "August 18, 2019, 12:00 AM" (the preamble's two styles)."""
    found = _locale.find_dates(text)
    return found[0] if found else _csv.parse_mdy(text)


def _period(preamble: str) -> tuple[dt.date, dt.date] | None:
    s, e = _START.search(preamble), _END.search(preamble)
    if not (s and e):
        return None
    p0, p1 = _day(s.group(1)), _day(e.group(1))
    return (p0, p1) if p0 and p1 else None


def read(path: Path, ctx: ReadContext) -> Parsed:
    layout = _csv.Layout(_csv.read_bytes(path), path)
    lines = layout.head(12)
    header = _csv.find_header(lines, _is_header, path, "LinkedIn (Start Date (in UTC), ...)")
    period = _period("\n".join(lines[: header - 1]))
    _, lang, sep = _names(lines[header - 1])
    end, _ = layout.peel_footer(lambda line: False)
    b = _csv.parse_body(layout, header, end, sep=sep)
    b.rename(_locale.translate(b.columns, _locale.LINKEDIN)[0])
    date_col = b.need("Start Date (in UTC)", "Start Date")
    spend = b.need("Total Spent", "Amount Spent")
    b.decimal_comma = _csv.decimal_comma_of(b, [spend], lang)
    currency = b.pick("Currency")
    dims = DIMS if b.pick("Campaign Group Name") else DIMS_NO_GROUP
    b.need("Campaign Group Name", "Campaign Name")
    metrics = {
        "clicks": b.pick("Clicks"),
        "impressions": b.need("Impressions"),
        "spend": spend,
        "conversions": b.pick("Conversions"),
        "conversions_value": b.pick("Total Conversion Value", "Conversion Value"),
    }
    reporting = b.text(currency) if currency else ctx.reporting_currency
    cols = _csv.ad_columns(b, (PLATFORM, NAME), dims, metrics, reporting)
    df = _csv.ad_frame(b, cols)
    df["date_day"] = pd.Series(
        b.date(date_col, ("%m/%d/%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y")).to_numpy(), dtype="datetime64[s]"
    )
    _csv.check_in_period(df, period, path, "the Report Start/End line")
    warnings = [] if currency else [f"no Currency column: assumed {ctx.reporting_currency}"]
    return _csv.parsed_ad(df, NAME, period, "day", warnings, replace_key=replace_key(df))


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write canonical rows as a LinkedIn Campaign Manager daily export."""
    d = pd.to_datetime(df["date_day"])
    start, end = d.min().date(), d.max().date()
    out = pd.DataFrame(
        {
            "Start Date (in UTC)": [_csv.mdY(x) for x in d.dt.date]
            if len(d) < 50_000
            else d.dt.month.astype(str) + "/" + d.dt.day.astype(str) + "/" + d.dt.year.astype(str),
            "Account Name": _csv.fill(df, "account_name"),
            "Account ID": _csv.fill(df, "account_id"),
            "Campaign Group Name": _csv.fill(df, "campaign_name"),
            "Campaign Group ID": _csv.fill(df, "campaign_id"),
            "Campaign Name": _csv.fill(df, "ad_group_name"),
            "Campaign ID": _csv.fill(df, "ad_group_id"),
            "Creative Name": _csv.fill(df, "ad_name"),
            "Creative ID": _csv.fill(df, "ad_id"),
            **_csv.metric_cells(
                df,
                ("Currency", "Total Spent", "Impressions", "Clicks", "Conversions", "Total Conversion Value"),
            ),
        },
        index=df.index,
    )
    pre = [
        "Campaign Performance Report (in UTC)",
        f'"Report Start: {_csv.mdY(start)}, Report End: {_csv.mdY(end)}"',
        "",
    ]
    _csv.write_csv(path, pre, out)
