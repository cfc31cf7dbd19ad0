"""Google Analytics 4 report exports (Reports > Share this report > Download file > CSV) -> ``web_daily``.

Layout as GA4 writes it::

    # ----------------------------------------
    # Traffic acquisition: Session default channel group
    # Account: Acme
    # Property: Acme Web (properties/123456789)
    # ----------------------------------------
    #
    # All Users
    # Start date: 20250101
    # End date: 20250131
    Session default channel group,Date,Sessions,Engaged sessions,Total users,Key events,Total revenue
    Paid Search,20250101,1200,800,950,31,4210.5
    ...
    Grand total,,54321,...

    # ----------------------------------------
    # (further sections: other dimensions, no Date, ...)

Quirks handled: a ``#`` comment preamble per section (property name and id, ``Start date``/``End date`` as
YYYYMMDD); several sections split by ``# ---`` lines, of which we load the *one* daily section with the
finest grain (channel group x source / medium x Date if present, else channel group x Date; loading two
would double count) and skip the others (listed in ``Parsed.warnings``); ``Grand total`` rows skipped and
returned in ``Parsed.totals`` for reconciliation; ``Key events`` (GA4 since 2024) or ``Conversions``
(older exports); ``Total users`` or ``Users``; dates as YYYYMMDD. The covered period is the preamble's
start/end dates (a day without sessions is still covered), the replacement key the property id.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash.ingest.sources import _tabular as T
from mktdash.ingest.sources._csv import split_csv_line
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError
from mktdash.ingest.sources.custom import point_decimals

NAME = "ga4"
TABLE = "web_daily"

CHANNEL_COLS = (
    "Session default channel group",
    "Session primary channel group (Default Channel Group)",
    "Default channel group",
    "First user default channel group",
)
SOURCE_MEDIUM_COLS = ("Session source / medium", "Source / medium", "First user source / medium")
METRICS = {  # canonical -> accepted headers (newest first)
    "sessions": ("Sessions",),
    "engaged_sessions": ("Engaged sessions",),
    "users": ("Total users", "Users", "Active users"),
    "key_events": ("Key events", "Conversions"),
    "revenue": ("Total revenue", "Purchase revenue", "Revenue"),
}
_PROPERTY = re.compile(r"^#\s*Property:\s*(?P<name>.*?)\s*(?:\((?:properties/)?(?P<id>\d+)\))?\s*$")
_PROPERTY_ID = re.compile(r"^#\s*Property ID:\s*(?:properties/)?(?P<id>\d+)")
_START = re.compile(r"^#\s*(?:Start date|Startdatum):\s*(\d+)\s*$")
_END = re.compile(r"^#\s*(?:End date|Enddatum):\s*(\d+)\s*$")


# GA4 writes its headers in the UI language and changes their case between versions ("... (Default Channel
# Group)" / "(Default channel group)"): headers are matched case-insensitively (dashes folded) and renamed to
# the English spelling above. German as seen in German-UI downloads (which are also ";"-separated with a decimal
# comma, see ``_decimal_comma``).
LOCALIZED = {
    "de": {
        "Sitzung - primäre Channelgruppe (Standard-Channelgruppe)": CHANNEL_COLS[1],
        "Sitzung - Standard-Channelgruppe": CHANNEL_COLS[0],
        "Sitzung - Quelle/Medium": SOURCE_MEDIUM_COLS[0],
        "Sitzung - Quelle / Medium": SOURCE_MEDIUM_COLS[0],
        "Datum": "Date",
        "Sitzungen": "Sessions",
        "Sitzungen mit Interaktionen": "Engaged sessions",
        "Nutzer insgesamt": "Total users",
        "Aktive Nutzer": "Active users",
        "Schlüsselereignisse": "Key events",
        "Gesamtumsatz": "Total revenue",
    },
}


def _fold(header: str) -> str:
    return re.sub(r"\s*[-\u2013\u2014]\s*", " - ", header.strip()).casefold()


_KNOWN = {
    **{_fold(c): c for c in (*CHANNEL_COLS, *SOURCE_MEDIUM_COLS, "Date", *sum(METRICS.values(), ()))},
    **{_fold(k): v for names in LOCALIZED.values() for k, v in names.items()},
}


def _canonical(cells: list[str]) -> list[str]:
    return [_KNOWN.get(_fold(c), c) for c in cells]


def _sep(header: str) -> str:
    """``;`` for the semicolon downloads of some UI languages, else ``,``."""
    return ";" if header.count(";") > header.count(",") else ","


def _cells(header: str) -> list[str]:
    return _canonical([c.strip() for c in split_csv_line(header, _sep(header))])


def sniff(head: str, file_name: str) -> bool:
    lines = T.head_lines(head, 60)
    comments = [ln for ln in lines if ln.startswith("#")]
    if any(_START.match(ln) for ln in comments) and any(ln.startswith("# ---") for ln in comments):
        return True
    return any(_cells(ln)[:1] and _cells(ln)[0] in CHANNEL_COLS for ln in lines if not ln.startswith("#"))


def _sections(text: str) -> list[dict[str, Any]]:
    """Split into sections: comment lines, then a CSV block (header + rows) with its first file line."""
    lines = text.splitlines()
    out: list[dict[str, Any]] = []
    cur: dict[str, Any] = {"comments": [], "start": None, "rows": []}
    for i, ln in enumerate(lines, start=1):
        if ln.startswith("#"):
            if cur["start"] is not None:  # a comment after data: next section
                out.append(cur)
                cur = {"comments": [], "start": None, "rows": []}
            cur["comments"].append(ln)
        elif not ln.strip():
            if cur["start"] is not None:
                out.append(cur)
                cur = {"comments": [], "start": None, "rows": []}
        else:
            if cur["start"] is None:
                cur["start"] = i
            cur["rows"].append(ln)
    if cur["start"] is not None:
        out.append(cur)
    return out


def _decimal_comma(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Numbers written ``1.234,5`` (semicolon downloads) as ``1234.5``."""
    for c in columns:
        df[c] = point_decimals(df[c])
    return df


def _preamble(text: str, path: Path) -> dict[str, Any]:
    """Property name and id, start and end dates from the ``#`` comment lines."""
    got: dict[str, Any] = {"name": None, "id": None, "start": None, "end": None}

    def day(m: re.Match[str], i: int) -> dt.date:
        try:
            return dt.datetime.strptime(m.group(1), "%Y%m%d").date()
        except ValueError:
            raise SourceError(
                f"not a date: {m.group(1)!r}", file=path, line=i, hint="The preamble dates must be YYYYMMDD"
            ) from None

    for i, ln in enumerate(text.splitlines()[:200], start=1):
        if m := _PROPERTY_ID.match(ln):
            got["id"] = m.group("id")
        elif m := _PROPERTY.match(ln):
            got["name"] = m.group("name")
            got["id"] = got["id"] or m.group("id")
        elif (m := _START.match(ln)) and got["start"] is None:
            got["start"] = day(m, i)
        elif (m := _END.match(ln)) and got["end"] is None:
            got["end"] = day(m, i)
    return got


def _daily_section(sections: list[dict[str, Any]], path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The finest daily channel section and the sections skipped; the Date-dimension refusal if none."""
    if not sections:
        raise SourceError("no data section found", file=path, hint="Download the GA4 report as CSV again")
    best = None
    best_rank = -1
    skipped = []
    for sec in sections:
        cells = _cells(sec["rows"][0])
        rank = -1
        if any(c in CHANNEL_COLS for c in cells) and "Date" in cells:
            rank = 2 if any(c in SOURCE_MEDIUM_COLS for c in cells) else 1
        if rank > best_rank:
            if best is not None:
                skipped.append(best)
            best, best_rank = sec, rank
        else:
            skipped.append(sec)
    if best is None or best_rank < 1:
        first = _cells(sections[0]["rows"][0])
        raise SourceError(
            "no daily section with 'Session default channel group' and 'Date'",
            file=path,
            line=sections[0]["start"],
            column="Date" if any(c in CHANNEL_COLS for c in first) else "Session default channel group",
            hint="In GA4 add the 'Date' dimension to the Traffic acquisition report before downloading",
        )
    return best, skipped


def _table(best: dict[str, Any], path: Path) -> pd.DataFrame:
    """The section's rows with English headers and ``.`` decimals."""
    sep = _sep(best["rows"][0])
    df = T.read_block("\n".join(best["rows"]), file=path, first_line=best["start"], sep=sep)
    df.columns = _canonical(list(df.columns))
    if sep == ";":
        df = _decimal_comma(df, [c for c in df.columns if c in _KNOWN.values() and c not in CHANNEL_COLS])
    return df


def _totals(tot: pd.DataFrame, cols: dict[str, str | None], path: Path) -> dict[str, float]:
    totals: dict[str, float] = {}
    if len(tot):
        totals["_line"] = float(tot["_line"].iloc[0])  # the engine names this line when totals disagree
        for k, c in cols.items():
            if c is not None:
                v = T.to_number(tot, c, file=path)
                if v.notna().any():
                    totals[k] = float(v.iloc[0])
    return totals


def read(path: Path, ctx: ReadContext) -> Parsed:
    path = Path(path)
    text = T.read_text(path)
    pre = _preamble(text, path)
    best, skipped = _daily_section(_sections(text), path)
    df = _table(best, path)
    chan = T.pick(df, *CHANNEL_COLS)
    smed = T.pick(df, *SOURCE_MEDIUM_COLS)
    cols = {k: T.pick(df, *v) for k, v in METRICS.items()}
    if cols["sessions"] is None:
        T.require(df, [METRICS["sessions"][0]], file=path, line=best["start"], what="GA4 report")
    assert chan is not None
    label = df[chan].astype("string").str.strip()
    is_total = label.str.lower().isin(["grand total", "total", "totals", "gesamtsumme"]).fillna(False)
    tot = df[is_total]
    df = df[~is_total].reset_index(drop=True)

    out: dict[str, Any] = {
        "date_day": T.to_date(df, "Date", file=path, formats=("%Y%m%d", "%Y-%m-%d"), required=True),
        "property_id": pd.Series(pre["id"], index=df.index, dtype="string"),
        "channel_group": T.clean_text(df, chan, file=path).fillna("Unassigned"),
        "source_medium": T.clean_text(df, smed, file=path),
    }
    for k, c in cols.items():
        v = T.to_number(df, c, file=path, integer=k in ("sessions", "engaged_sessions", "users"))
        out[k] = v.fillna(0) if k != "revenue" or c is not None else v
    for k in ("sessions", "engaged_sessions", "users"):
        out[k] = out[k].astype("int64")
    frame = T.finish(out, TABLE, df["_line"])
    period = (pre["start"], pre["end"]) if pre["start"] and pre["end"] else T.period_of(frame["date_day"])
    warnings = [
        f"skipped GA4 section at line {s['start']} ({', '.join(T.header_cells(s['rows'][0])[:3])}...)"
        for s in skipped
    ]
    if pre["id"] is None:
        warnings.append(f"no property id in the preamble; property name {pre['name']!r} kept as property_id")
        frame["property_id"] = pd.Series(pre["name"], index=frame.index, dtype="string")
    return Parsed(
        table=TABLE,
        frame=frame,
        source=NAME,
        period=period,
        totals=_totals(tot, cols, path),
        replace_key={"property_id": frame["property_id"].iloc[0] if len(frame) else pre["id"]},
        warnings=warnings,
    )


def write(df: pd.DataFrame, path: Path, **opts: Any) -> None:
    """Write ``web_daily`` rows of one property as a GA4 CSV download.

    Options: ``property_name`` ("Demo Web"), ``account`` ("Demo Account"), ``legacy`` (True writes
    ``Conversions`` instead of ``Key events``), ``summary_section`` (True adds a non-daily channel-group
    section, as GA4 does when a report has two tables), ``start``/``end`` (dates for the preamble).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    d = df.sort_values(["date_day", "channel_group"], kind="stable").reset_index(drop=True)
    pid = str(d["property_id"].dropna().iloc[0]) if d["property_id"].notna().any() else "0"
    start = opts.get("start") or pd.to_datetime(d["date_day"]).min().date()
    end = opts.get("end") or pd.to_datetime(d["date_day"]).max().date()
    ke = "Conversions" if opts.get("legacy") else "Key events"
    with_sm = d["source_medium"].notna().any() if "source_medium" in d else False
    pre = [
        "# ----------------------------------------",
        "# Traffic acquisition: Session default channel group",
        f"# Account: {opts.get('account', 'Demo Account')}",
        f"# Property: {opts.get('property_name', 'Demo Web')} ({pid})",
        "# ----------------------------------------",
        "#",
        "# All Users",
        f"# Start date: {start:%Y%m%d}",
        f"# End date: {end:%Y%m%d}",
    ]
    body = pd.DataFrame({"Session default channel group": T.text_or_empty(d["channel_group"])})
    if with_sm:
        body["Session source / medium"] = T.text_or_empty(d["source_medium"])
    body["Date"] = T.fmt_date(d["date_day"], "%Y%m%d")
    body["Sessions"] = T.fmt_num(d["sessions"])
    body["Engaged sessions"] = T.fmt_num(d["engaged_sessions"])
    body["Total users"] = T.fmt_num(d["users"])
    body[ke] = T.fmt_num(d["key_events"])
    body["Total revenue"] = T.fmt_num(d["revenue"])
    total = {c: "" for c in body.columns}
    total["Session default channel group"] = "Grand total"
    total.update(
        {
            "Sessions": str(int(d["sessions"].sum())),
            "Engaged sessions": str(int(d["engaged_sessions"].sum())),
            "Total users": str(int(d["users"].sum())),
            ke: repr(round(float(d["key_events"].sum()), 6)),
            "Total revenue": repr(round(float(d["revenue"].sum()), 6)),
        }
    )
    body = pd.concat([body, pd.DataFrame([total])], ignore_index=True)
    parts = ["\n".join(pre) + "\n" + body.to_csv(index=False, lineterminator="\n").rstrip("\n")]
    if opts.get("summary_section"):
        summ = d.groupby("channel_group", sort=True)[["sessions", "users"]].sum().reset_index()
        summ.columns = ["Session default channel group", "Sessions", "Total users"]
        parts.append(
            "\n".join(pre[:5] + ["#", f"# Start date: {start:%Y%m%d}", f"# End date: {end:%Y%m%d}"])
            + "\n"
            + summ.to_csv(index=False, lineterminator="\n").rstrip("\n")
        )
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
