"""``mktdash ingest --explain FILE``: what ingest would make of a file, without loading anything.

For each file: the detected format and why, the encoding, the delimiter, the UI language and number style,
the period and grain, the currency, how each column of the file maps to the canonical table (and which are
ignored), the totals rows found, and what would be loaded (rows, period, sums) or why the file would be
refused. The verdict runs the same reader, checks and currency conversion as ``mktdash ingest``, against the
warehouse opened read-only (FX rates), so "would load" means it would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from mktdash.ingest import engine as ingest
from mktdash.ingest import guard as ingest_guard
from mktdash.ingest import sources
from mktdash.ingest.sources import _csv, _locale, _xlsx
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError

_MONEY = ("spend", "conversions_value")


def explain(path: Path, settings: Any, *, source: str | None = None, wh: Any = None) -> tuple[str, bool]:
    """The explanation of ``path`` as text, and whether ingest would load it."""
    out = [f"{path}"]
    add = out.append
    try:
        encoding = _encoding(path)
    except OSError as e:
        add(f"  encoding:   unreadable ({e.strerror or e})")
        return "\n".join(out), False
    except SourceError as e:
        add(f"  encoding:   unreadable ({_shown(e, None)})")
        return "\n".join(out), False
    add(f"  encoding:   {encoding}")
    try:
        mod = sources.get(source) if source else sources.detect(path, getattr(settings, "mappings", None))
    except SourceError as e:
        add("  format:     not recognised")
        add(f"  refused:    {_shown(e, None)}")
        return "\n".join(out), False
    add(f"  format:     {mod.NAME} -> table {mod.TABLE}")
    add(f"  because:    {_why(mod, source, path)}")
    ctx = ReadContext(
        reporting_currency=settings.reporting_currency, pii_salt=ingest._salt(settings), today=dt.date.today()
    )
    with _csv.trace() as bodies:
        try:
            parsed = ingest._read(mod, path, ctx)
        except SourceError as e:
            _describe_bodies(bodies, add)
            add(f"  refused:    {_shown(e, mod.TABLE)}")
            return "\n".join(out), False
    _describe_bodies(bodies, add)
    _describe_parsed(parsed, add)
    loads = _verdict(parsed, path, settings, ctx, wh, add)
    return "\n".join(out), loads


def _why(mod: ModuleType, source: str | None, path: Path) -> str:
    """The format's own reason (``why(head)``) when it has one, else its description and first line."""
    if source:
        return "forced with --source"
    head = sources.head_text(path)
    if hasattr(mod, "why"):
        try:
            return str(mod.why(head))
        except Exception:  # noqa: BLE001 - a reason is a courtesy: fall back to the generic one
            pass
    doc = (mod.__doc__ or "").strip().splitlines()
    what = doc[0].split(" (")[0].rstrip(".") if doc else mod.NAME
    first = head.lstrip("\ufeff").splitlines()[0][:80] if head.strip() else ""
    if ingest_guard.may_hold_pii(mod.TABLE):
        first = ingest_guard.redact(first) or ""
    return f"the layout of {what}: first line {first!r}"


def _encoding(path: Path) -> str:
    with open(path, "rb") as f:
        if _xlsx.is_xlsx(f.read(4), path.name):
            return "Excel workbook (.xlsx): its table is read as text"
        f.seek(0)
        return _csv.decode_stream(f, path)[1]  # the readers' own decoding, in blocks


def _shown(e: SourceError, table: str | None) -> str:
    """A refusal as printed: without cell values when the file may hold personal data (as ingest stores it)."""
    return str(ingest_guard.redact_error(e) if ingest_guard.may_hold_pii(table) else e)


def _describe_bodies(bodies: list[_csv.Body], add: Any) -> None:
    """Delimiter, language, number style and the column mapping of the table the reader parsed."""
    if not bodies:
        return
    b = bodies[0]
    header = b.header_line
    originals = [b.original.get(c, c) for c in b.columns]
    lang = language_of(originals)
    add(
        f"  delimiter:  {_csv.SEP_NAMES.get(b.sep, repr(b.sep))}"
        + (f", header on line {header}" if header else "")
    )
    style = "decimal comma (1.234,56)" if b.decimal_comma else "decimal point (1,234.56)"
    add(f"  locale:     {_locale.LANGUAGE_NAMES.get(lang, lang)} headers, {style}")
    if "date_day" not in b.mapping:
        add("    (no date column: the rows take the report's period, see below)")
    by_col: dict[str, list[str]] = {}
    for canon, col in b.mapping.items():
        by_col.setdefault(col, []).append(canon)
    add("  columns:")
    for col in b.columns:
        shown = b.original.get(col, col)
        label = f"{shown!r}" + (f" ({col})" if shown != col else "")
        if col in by_col:
            add(f"    {label} -> {', '.join(by_col[col])}")
    ignored = [repr(b.original.get(c, c)) for c in b.columns if c not in by_col]
    if ignored:
        add(f"    ignored: {', '.join(ignored)}")


def language_of(names: list[str]) -> str:
    """The UI language of a header, by whichever format dictionary knows most of its names."""
    best, hits = "en", 0
    for table in (_locale.GOOGLE_ADS, _locale.META, _locale.LINKEDIN):
        for lang, words in table.items():
            n = sum(1 for c in names if c in words and words[c] != c)
            if n > hits:
                best, hits = lang, n
    return best


def _describe_parsed(parsed: Parsed, add: Any) -> None:
    f = parsed.frame
    p = parsed.period
    span = f"{p[0]}..{p[1]}" if p else "from the rows' dates"
    iso = p[0].isocalendar() if p is not None and _locale.is_iso_week(p) else None
    week = f" (ISO week {iso[0]}-W{iso[1]:02d})" if iso else ""
    add(f"  period:     {span}{week}; grain: {parsed.grain}")
    if "currency" in f and len(f):
        cur = sorted(f["currency"].dropna().astype(str).unique())
        add(f"  currency:   {', '.join(cur) or 'none'}")
    totals = {k: v for k, v in parsed.totals.items() if not k.startswith("_")}
    if totals:
        line = parsed.totals.get("_line")
        where = f"line {int(line)}" if line else "the file"
        add(f"  totals row: {where}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in totals.items()))
    else:
        add("  totals row: none")
    for w in parsed.warnings:
        add(f"  note:       {w}")


def _verdict(parsed: Parsed, path: Path, settings: Any, ctx: ReadContext, wh: Any, add: Any) -> bool:
    """Run the engine's checks (no load): print what would be loaded, or why the file would be refused."""
    res = ingest.FileResult(file=str(path), status="loaded", source=parsed.source, table=parsed.table)
    try:
        frame = ingest._prepare(wh, parsed, path, settings, ctx, "explain", res)
        ingest._check(parsed, frame, path, ctx, settings, res)
    except SourceError as e:
        if not e.file:
            e.file = str(path)
        add(f"  refused:    {_shown(e, parsed.table)}")
        return False
    except Exception as e:  # noqa: BLE001 - explain never ends in a traceback; ingest would stop on this file
        why = SourceError(f"the checks failed ({type(e).__name__}: {str(e)[:200]})", file=path.name)
        add(f"  refused:    {_shown(why, parsed.table)}")
        return False
    sums = {m: float(pd.to_numeric(frame[m]).sum()) for m in ("impressions", "clicks", *_MONEY) if m in frame}
    shown = ", ".join(f"{m} {_fmt(v)}" for m, v in sums.items())
    rec = {True: "totals reconciled", None: "no totals to reconcile", False: "totals differ"}[res.reconciled]
    add(
        f"  would load: {len(frame)} rows into {parsed.table}"
        + (f" ({shown}; {rec})" if shown else f" ({rec})")
    )
    for w in res.warnings[len(parsed.warnings) :]:
        add(f"  note:       {w}")
    return True


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def explain_paths(paths_: list[Path], settings: Any, *, source: str | None = None) -> int:
    """Print the explanation of every file (folders walked); exit code 0 when all would load, else 1."""
    from mktdash.warehouse.backend import Warehouse

    files = [
        f for p in paths_ for f in (sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p])
    ]
    wh = _warehouse(Warehouse)
    try:
        ok = True
        for f in files:
            text, loads = explain(f, settings, source=source, wh=wh)
            print(text + "\n", flush=True)
            ok &= loads
    finally:
        wh.close()
    return 0 if ok else 1


def _warehouse(warehouse: Any) -> Any:
    """The warehouse read-only (its FX rates), or an empty one in memory when there is none yet."""
    try:
        return warehouse.open(read_only=True)
    except Exception:  # noqa: BLE001 - no warehouse yet, or locked by a run: explain against an empty one
        wh = warehouse.memory()
        wh.ensure_tables()
        return wh
