"""The ingest engine: export files in, canonical warehouse rows out — idempotent, atomic per file, loud.

Per file: sha256 (remembered per path, size and mtime, so an unchanged inbox is not re-read) → seen under
this name before? ``unchanged`` (nothing is written), or ``quarantined`` again with the recorded error
(the file is not re-parsed) → same content loaded under another name? ``duplicate`` → archive the original to ``data/raw/``
(keyed by hash; the inbox file is never modified) → detect the format (or ``source=``) → read → enrich
(ad rows: channel by ``params.channels``, CRM rows: channel from the lead/original source by
``channels.crm_sources``; audience/creative from ad group/ad names, money converted to the
reporting currency with the day's ``fx_rates``; formula-like text cells neutralised; ``ingest_id``) →
validate (:func:`mktdash.ingest.quality.validate` plus minimal checks here) → reconcile the file's totals rows with
the loaded sums → ONE transaction: delete what an earlier export of the same ``replace_key`` loaded for the
overlapping period (a corrected re-export: ledger status ``replaced``, listing the ingest ids), append the
rows, append the ledger row. A :class:`SourceError` quarantines the file (``quarantine`` row naming file, line,
column, error and hint; ledger ``quarantined``; a copy in ``data/quarantine/``) and the batch goes on.
Any other exception (even KeyboardInterrupt) inside the load rolls the transaction back and propagates.

Files are loaded in table-dependency order (FX rates first, then plans/targets, then facts), then by path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from mktdash import paths
from mktdash.ingest import channels, sources
from mktdash.ingest import guard as ingest_guard
from mktdash.ingest.filehash import HashCache, sha256_file
from mktdash.ingest.sources.base import Parsed, ReadContext, SourceError
from mktdash.warehouse import files as warehouse_files
from mktdash.warehouse import rollup
from mktdash.warehouse.backend import load_settings
from mktdash.warehouse.files import DATA_ERRORS
from mktdash.warehouse.schema import DATE_COLUMNS, TABLES, conform

# load order by table: rates before anything priced in them, plans/targets before facts
TABLE_ORDER: dict[str, int] = {
    "fx_rates": 0,
    "kpi_targets": 1,
    "budget_plan": 1,
    "spend_limits": 1,
    "lift_tests": 1,
    "approvals": 1,
}
# CRM tables: the column whose value params.channels.crm_sources maps to ``channel``
CRM_SOURCE: dict[str, str] = {"crm_deals": "lead_source", "crm_contacts": "original_source"}
# original money column -> reporting-currency column, per table with a ``currency`` column
MONEY: dict[str, dict[str, str]] = {
    "ad_daily": {"spend": "spend_reporting", "conversions_value": "conversions_value_reporting"},
    "ad_period": {"spend": "spend_reporting", "conversions_value": "conversions_value_reporting"},
    "crm_deals": {"amount": "amount_reporting"},
}
# the day whose FX rate applies, and whether the nearest day with a rate may stand in
FX_DATE: dict[str, tuple[str, bool]] = {"ad_daily": ("date_day", False), "crm_deals": ("_fx_date", True)}
FX_DATE["ad_period"] = ("period_end", True)  # period totals: the rate of the period's last day (or nearest)
LOADED = ("loaded", "replaced")
# every status a file can end in, and what it means (printed by `mktdash ingest`, shown in 00_ingest)
STATUSES: dict[str, str] = {
    "loaded": "new rows loaded",
    "replaced": "a corrected re-export: replaced the rows of its period",
    "duplicate": "skipped: same content as a file already loaded",
    "unchanged": "skipped: seen before, not changed since",
    "quarantined": "refused: nothing loaded (reasons below)",
}
_FORMULA = r"^[=+@\t\r-]"  # RE2 syntax: runs in pyarrow, not per row ...
_NUMBER_LIKE = r"^[+-][0-9 .,()/-]*$"  # ... minus signed numbers / phone numbers: never touched
_FORMULA_START = pa.array(list("=+@-\t\r"), pa.string())
_OURS = {"platform", "source_relation", "ingest_id"}  # set by readers, not by the file
_AD_METRICS = ("clicks", "impressions", "spend", "conversions", "conversions_value")
# a file to ingest: its path, the format module forced for it (params files), the folder it was found in
Entry = tuple[Path, ModuleType | None, Path | None]


# ---- report -----------------------------------------------------------------------------------------------
@dataclass
class FileResult:
    """What happened to one file."""

    file: str
    status: str  # loaded | replaced | duplicate | unchanged | quarantined
    source: str | None = None
    table: str | None = None
    rows: int = 0
    ingest_id: str | None = None
    sha256: str | None = None
    replaces: list[str] = field(default_factory=list)
    reconciled: bool | None = None
    error: str | None = None
    line: int | None = None
    column: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reason: str | None = None  # the refusal without file/line/column (as in the quarantine table)
    hint: str | None = None  # what to do about it
    shown_as: str | None = None  # the file relative to the folder it was found in (the inbox)
    days: tuple[dt.date, dt.date] | None = (
        None  # first and last day the load wrote or deleted (None: unknown)
    )


@dataclass
class IngestReport:
    """Per-file results of one batch; ``summary()`` for notebooks, ``str()`` for logs."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files if f.status in LOADED)

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def errors(self) -> list[str]:
        return [f.error for f in self.files if f.error]

    def summary(self) -> pd.DataFrame:
        cols = ["file", "status", "source", "table", "rows", "reconciled", "replaces", "error", "seconds"]
        return pd.DataFrame(
            [
                {**{c: getattr(f, c) for c in cols if c != "replaces"}, "replaces": ",".join(f.replaces)}
                for f in self.files
            ],
            columns=cols,
        )

    def counts(self) -> dict[str, int]:
        """Files per status, in :data:`STATUSES` order."""
        found = {s: sum(f.status == s for f in self.files) for s in STATUSES}
        found.update({f.status: found.get(f.status, 0) + 1 for f in self.files if f.status not in found})
        return {s: n for s, n in found.items() if n}

    def status_counts(self) -> pd.DataFrame:
        """One row per status: files, rows and what the status means (for notebooks)."""
        rows = [
            {"status": s, "files": n, "rows": sum(f.rows for f in self.files if f.status == s),
             "meaning": STATUSES.get(s, "")}
            for s, n in self.counts().items()
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["status", "files", "rows", "meaning"])

    def refusals(self) -> pd.DataFrame:
        """Every refused file: where (relative to the folder it was found in), why, and what to do; the same
        text as the warehouse's ``quarantine`` table."""
        cols = ["file", "source", "line", "column", "reason", "what_to_do"]
        rows = [
            {"file": f.shown_as or f.file, "source": f.source, "line": f.line, "column": f.column,
             "reason": f.reason or f.error, "what_to_do": f.hint}
            for f in self.by_status("quarantined")
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=cols).astype({"line": "Int64"})

    def explain(self) -> str:
        """The headline, the count per status, and per refused file its place, reason and what to do."""
        out = [str(self)]
        out += [
            f"  {s:<12} {n:>5} file{'s' if n != 1 else ' '}  {STATUSES.get(s, '')}"
            for s, n in self.counts().items()
        ]
        refused = self.by_status("quarantined")
        if refused:
            out.append(f"refused ({len(refused)}; originals kept in data/raw, listed in data/quarantine):")
        for f in refused:
            where = ", ".join(p for p in (f"line {f.line}" if f.line else "",
                                          f"column {f.column!r}" if f.column else "") if p)  # fmt: skip
            out.append(f"  {f.shown_as or f.file}{f' ({where})' if where else ''}: {f.reason or f.error}")
            if f.hint:
                out.append(f"      what to do: {f.hint}")
        return "\n".join(out)

    def __str__(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items()))
        return f"ingest: {len(self.files)} files ({parts or 'none'}), {self.rows:,} rows loaded"


# ---- entry points -----------------------------------------------------------------------------------------
def ingest_inbox(
    wh: Any, settings: Any, *, source: str | None = None, progress: bool = True, today: dt.date | None = None
) -> IngestReport:
    """Ingest every file under ``data/inbox/`` (recursively, sorted) plus params files formats register.

    A format module may define ``PARAMS_FILES`` (glob patterns under ``params/``, e.g. ``budget_plan*.csv``);
    those files are read with that module.
    """
    inbox = paths.inbox_dir()
    files: list[Entry] = [(p, None, inbox) for p in ingest_guard.walk(inbox)] if inbox.exists() else []
    params_dir = paths.params_dir()
    for m in sources.FORMATS:
        for pattern in getattr(m, "PARAMS_FILES", ()):
            files += [(p, m, params_dir) for p in sorted(params_dir.glob(pattern)) if not p.is_dir()]
    return _run(wh, files, settings, source=source, progress=progress, today=today)


def ingest_paths(
    wh: Any,
    paths_: Iterable[str | Path],
    settings: Any,
    *,
    source: str | None = None,
    progress: bool = True,
    today: dt.date | None = None,
) -> IngestReport:
    """Ingest files (directories are walked recursively); ``source`` forces the format (``--source``)."""
    files: list[Entry] = []
    for p in map(Path, paths_):
        if p.is_dir() and not p.is_symlink():
            files += [(f, None, p) for f in ingest_guard.walk(p)]
        else:  # a file named on the command line: a regular file, not a link (its folder is its root)
            files.append((p, None, None))
    return _run(wh, files, settings, source=source, progress=progress, today=today)


def _shown_as(path: Path, root: Path | None) -> str:
    try:
        return str(path.relative_to(root)) if root is not None else str(path)
    except ValueError:
        return str(path)


def _not_read_sha(path: Path, err: SourceError) -> str:
    """A stable stand-in for the content hash of an entry that is never read (link, FIFO, device), so that
    the next ingest finds it in the ledger and does not refuse it again."""
    try:
        target = os.readlink(path) if path.is_symlink() else f"{os.lstat(path).st_ino}"
    except OSError:
        target = ""
    return hashlib.sha256(f"not-read:{err.message}:{target}".encode()).hexdigest()


def _hash_all(
    files: Sequence[Entry], limits: ingest_guard.Limits, hashes: HashCache
) -> tuple[list[str], dict[int, SourceError]]:
    """Content hashes (cached by path, size, mtime); entries refused by :mod:`mktdash.ingest.guard` or not
    readable get a refusal instead of being read. A file hashed afresh is kept in ``data/raw/`` as it is
    read (:func:`_hash_and_keep`), so that :func:`_archive` need not read and hash it a second time. Files
    not hashed before are hashed two at a time (hashlib and file I/O release the GIL)."""
    shas: dict[int, str] = {}
    refused: dict[int, SourceError] = {}
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mktdash-hash") as pool:
        todo: dict[int, tuple[os.stat_result, Future[str]]] = {}
        for i, (path, _, root) in enumerate(files):
            err = ingest_guard.check_entry(path, root)
            known = hashes.cached(path) if err is None else None
            if err is not None:
                refused[i] = err
            elif known is not None:
                shas[i] = known
            else:
                todo[i] = (path.stat(), pool.submit(_hash_and_keep, path, limits))
        for i, (st, fut) in todo.items():
            path = files[i][0]
            try:
                shas[i] = hashes.remember(path, st, fut.result())
            except OSError as e:
                refused[i] = SourceError(f"cannot read the file ({e.strerror})", file=path,
                                         hint="Check the file's permissions, or export it again")  # fmt: skip
            except SourceError as e:  # swapped for a link or a FIFO since it was checked
                refused[i] = e
    for i, err in refused.items():
        err.not_read = True  # type: ignore[attr-defined]
        shas[i] = _not_read_sha(files[i][0], err)
    return [shas[i] for i in range(len(files))], refused


# ---- the batch --------------------------------------------------------------------------------------------
def _run(
    wh: Any,
    files: Sequence[Entry],
    settings: Any,
    *,
    source: str | None,
    progress: bool,
    today: dt.date | None,
) -> IngestReport:
    missing = [t for t in TABLES if t not in set(wh.tables())]
    if missing:
        wh.ensure_tables(missing)
    ctx = ReadContext(
        reporting_currency=settings.reporting_currency,
        pii_salt=_salt(settings),
        today=today or dt.date.today(),
    )
    forced = sources.get(source) if source else None
    report = IngestReport()
    limits = ingest_guard.Limits.of(settings)
    mappings = getattr(settings, "mappings", None)
    # readers are pure (no warehouse): parse the next file in a thread while this one loads (DuckDB and
    # pyarrow release the GIL), so parsing overlaps the insert; a new first file is parsed while the batch
    # is hashed and archived
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mktdash-read")
    with HashCache() as hashes:  # read once, saved once
        early = _read_early(files, forced, limits, settings, ctx, pool, hashes)
        shas, refused = _hash_all(files, limits, hashes)
    before = _seen_files(wh)
    plan: list[tuple[int, int, Path, ModuleType | None, SourceError | None]] = []
    for i, (path, mod, root) in enumerate(files):
        if (path.name, shas[i]) in before:
            report.files.append(_seen_again(path, shas[i], before[(path.name, shas[i])]))
            report.files[-1].shown_as = _shown_as(path, root)
            continue
        m, err = (None, refused[i]) if i in refused else _detect(path, mod or forced, limits, mappings)
        plan.append((TABLE_ORDER.get(m.TABLE, 2) if m else 9, i, path, m, err))
    plan.sort(key=lambda t: (t[0], t[1]))
    seen = _loaded_hashes(wh)
    book: dict[str, list[pd.DataFrame]] = {"ingest_ledger": [], "quarantine": []}  # duplicates, quarantines
    ahead: dict[int, Future[Parsed]] = {}

    def prefetch(k: int) -> None:
        if k < len(plan) and plan[k][3] is not None and plan[k][4] is None and shas[plan[k][1]] not in seen:
            if early and early[0] == plan[k][1] and early[1] is plan[k][3]:
                ahead[k] = early[2]
            else:
                ahead[k] = pool.submit(_read_shaped, plan[k][3], plan[k][2], ctx, limits, settings)  # type: ignore[arg-type]

    try:
        prefetch(0)
        for k, (_, _, path, mod, err) in enumerate(
            tqdm(plan, desc="ingest", unit="file", disable=not progress)
        ):
            prefetch(k + 1)
            i = plan[k][1]
            res = _one(wh, path, (mod, err, shas[i]), settings, ctx, seen, book, ahead.pop(k, None), limits)
            res.shown_as = _shown_as(path, files[i][2])
            report.files.append(res)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        _flush(wh, book)  # bookkeeping of files that loaded nothing: one write per batch, even after a crash
    rollup.sync(wh, [f.days for f in report.files if f.table == "ad_daily" and f.status in LOADED])
    return report


def _read_early(
    files: Sequence[Entry],
    forced: ModuleType | None,
    limits: ingest_guard.Limits,
    settings: Any,
    ctx: ReadContext,
    pool: ThreadPoolExecutor,
    hashes: HashCache,
) -> tuple[int, ModuleType, Future[Parsed]] | None:
    """Start parsing the batch's first file now when it is new (its hash is not cached, so it will be read
    and archived anyway): for one large export, parsing then overlaps hashing and archiving. At most one file
    is parsed ahead; a file found already loaded after all is simply not used."""
    if not files:
        return None
    path, mod, root = files[0]
    if ingest_guard.check_entry(path, root) is not None or hashes.cached(path) is not None:
        return None
    found, err = _detect(path, mod or forced, limits, getattr(settings, "mappings", None))
    if found is None or err is not None:
        return None
    return 0, found, pool.submit(_read_shaped, found, path, ctx, limits, settings)


def _flush(wh: Any, book: dict[str, list[pd.DataFrame]]) -> None:
    if not any(book.values()):
        return
    with wh.transaction():
        for table, frames in book.items():
            if frames:
                wh.append(table, pd.concat(frames, ignore_index=True))
    for frames in book.values():
        frames.clear()


def _salt(settings: Any) -> str:
    try:
        from mktdash.ingest import pii

        return pii.salt(settings)
    except (ImportError, AttributeError):
        return ""


def _detect(
    path: Path, mod: ModuleType | None, limits: ingest_guard.Limits, mappings: Any = None
) -> tuple[ModuleType | None, SourceError | None]:
    """The format of a file that passed the entry checks, or why there is none (never raises on a file)."""
    try:
        if path.stat().st_size > limits.max_file_mb * ingest_guard.MB:
            ingest_guard.prescan(path, limits)  # refuses it by its size alone: not even sniffed
        return mod or sources.detect(path, mappings), None
    except SourceError as e:
        return None, e
    except OSError as e:
        return None, SourceError(f"cannot read the file ({e.strerror})", file=path)
    except Exception as e:  # noqa: BLE001 - detection must never end the batch
        return None, SourceError(f"could not recognise the file ({type(e).__name__})", file=path,
                                 hint=f"Pass --source NAME; known: {', '.join(sources.names())}")  # fmt: skip


def _one(
    wh: Any,
    path: Path,
    what: tuple[ModuleType | None, SourceError | None, str],
    settings: Any,
    ctx: ReadContext,
    seen: set[str],
    book: dict[str, list[pd.DataFrame]],
    pending: Future[Parsed] | None = None,
    limits: ingest_guard.Limits | None = None,
) -> FileResult:
    t0 = time.perf_counter()
    mod, err, sha = what
    limits = limits or ingest_guard.Limits()
    raw = path  # a file never read (link, FIFO, device) is not archived
    if not getattr(err, "not_read", False):
        try:
            raw, sha = _archive(path, sha, limits)
        except SourceError as e:  # swapped for a link or a FIFO since it was checked
            err = e
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    ingest_id = f"{now:%Y%m%dT%H%M%S}-{sha[:12]}"
    name = mod.NAME if mod else None
    table = mod.TABLE if mod else None
    res = FileResult(
        file=str(path), status="loaded", source=name, table=table, ingest_id=ingest_id, sha256=sha
    )
    if sha in seen:
        res.status, res.rows = "duplicate", 0
        res.warnings.append("same content as a file already loaded: nothing changed")
        book["ingest_ledger"].append(_ledger(res, path, raw, None, now, "same content already loaded"))
        res.seconds = time.perf_counter() - t0
        return res
    try:
        if err is not None:
            raise err
        assert mod is not None
        parsed = pending.result() if pending is not None else _read_shaped(mod, path, ctx, limits, settings)
        res.table = parsed.table
        with _refusing_data_errors(path):
            frame = _finish(wh, parsed, path, settings, ctx, ingest_id, res)
    except SourceError as e:
        if not e.file:
            e.file = str(path)
        return _quarantine(book, res, e, path, raw, now, t0)
    # The load: one transaction. The rows go in on a worker thread while this thread validates them (pure
    # pandas, no warehouse access); a SourceError from the checks rolls the transaction back and quarantines,
    # anything else raised here rolls it back and propagates (a crash, not bad data).
    rows = frame.drop(columns="_line")
    try:
        with wh.settings(**load_settings(rows)), wh.transaction():
            load = _LOADER.submit(_load, wh, parsed.table, rows, parsed)
            try:
                _check(parsed, frame, path, ctx, settings, res)
            finally:
                wait([load])  # never leave the transaction while the worker still uses the connection
            if ingest_guard.may_hold_pii(parsed.table):  # warnings may quote cells (formula neutralising)
                res.warnings = [ingest_guard.redact(w) or "" for w in res.warnings]
            res.replaces = load.result()
            res.rows, res.days = len(rows), _changed_days(parsed, rows)
            res.status = "replaced" if res.replaces else "loaded"
            _insert(wh, "ingest_ledger", _ledger(res, path, raw, parsed, now, "; ".join(res.warnings)))
    except SourceError as e:
        res.replaces, res.rows = [], 0
        if not e.file:
            e.file = str(path)
        return _quarantine(book, res, e, path, raw, now, t0)
    except DATA_ERRORS as e:  # the warehouse refused a value of this file's rows (rolled back)
        res.replaces, res.rows = [], 0
        err = SourceError(f"the warehouse refused its rows ({type(e).__name__})", file=path,
                          hint="Check the file's dates and numbers, or export it again")  # fmt: skip
        return _quarantine(book, res, err, path, raw, now, t0)
    seen.add(sha)
    res.seconds = time.perf_counter() - t0
    return res


_LOADER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mktdash-load")


def _load(wh: Any, table: str, rows: pd.DataFrame, parsed: Parsed) -> list[str]:
    """Inside the open transaction: delete what this export replaces, append its rows."""
    replaced = _replace(wh, parsed, rows)
    _insert(wh, table, rows)
    return replaced


def _insert(wh: Any, table: str, rows: pd.DataFrame) -> None:
    """Append canonical rows. On DuckDB: ``INSERT INTO t SELECT * FROM df`` on the raw connection (inside the
    open transaction; ~10x less fixed cost than Ibis ``insert``, which builds a memtable and re-reads the schema
    per call); other backends through :meth:`Warehouse.append`."""
    raw = getattr(getattr(wh, "con", None), "con", None)
    if wh.backend != "duckdb" or raw is None or rows.empty:
        wh.append(table, rows)
        return
    cols = ", ".join(f'"{c}"' for c in rows.columns)
    view = f"_mktdash_rows_{threading.get_ident()}"
    raw.register(view, pa.Table.from_pandas(rows, preserve_index=False))  # Arrow: ~2x faster scan than pandas
    try:
        raw.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{view}"')
    finally:
        raw.unregister(view)


def _read(mod: ModuleType, path: Path, ctx: ReadContext, limits: ingest_guard.Limits | None = None) -> Parsed:
    """Pre-scan the bytes against the bounds, then call the reader; whatever goes wrong while reading (even
    running out of memory) becomes a clear SourceError, so the file is quarantined and the batch goes on."""
    try:
        ingest_guard.prescan(path, limits or ingest_guard.Limits())
        parsed = mod.read(path, ctx)
    except SourceError:
        raise
    except (MemoryError, RecursionError) as e:  # pyarrow's ArrowMemoryError is a MemoryError
        raise SourceError(
            f"ran out of memory reading it as {mod.NAME} ({type(e).__name__})",
            file=path,
            hint="Export a shorter period or fewer columns, or lower ingest.limits so such files are refused "
            "before they are read",
        ) from None
    except Exception as e:  # noqa: BLE001 - a reader bug on odd input must not crash the batch
        raise SourceError(
            f"could not parse as {mod.NAME} ({type(e).__name__}: {str(e)[:200]})",
            file=path,
            hint=f"Check that this is a {mod.NAME} export, or pass --source NAME",
        ) from e
    if parsed.frame is None or (len(parsed.frame) == 0 and not parsed.empty_ok):
        raise SourceError("no data rows", file=path, hint="Check the date range and filters of the export")
    return parsed


def _read_shaped(
    mod: ModuleType, path: Path, ctx: ReadContext, limits: ingest_guard.Limits | None, settings: Any
) -> Parsed:
    """:func:`_read`, then :func:`_shape` (both on the reading thread)."""
    return _shape(_read(mod, path, ctx, limits), path, ctx, settings)


def nothing_ever_loaded(path: Path | None = None) -> bool:
    """Whether the warehouse's ledger lists files but not one was ever loaded (all refused): "no data at all".
    False when there is no warehouse or no ledger yet (nothing was ingested), or it cannot be read now."""
    statuses = ", ".join(f"'{st}'" for st in LOADED)
    row = warehouse_files.one_row(
        path or paths.warehouse_path(),
        f"SELECT count(*), count(*) FILTER (WHERE status IN ({statuses})) FROM ingest_ledger",
        table="ingest_ledger",
    )
    seen, loaded = row if row else (0, 0)
    return bool(seen) and not loaded


def _loaded_hashes(wh: Any) -> set[str]:
    """Content hashes already loaded (one query per batch; the batch adds its own as it goes)."""
    led = wh.columns("ingest_ledger", ["sha256", "status"])
    return set(led.loc[led["status"].isin(list(LOADED)), "sha256"].dropna().tolist())


def _seen_files(wh: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """(file name, sha256) of every file the ledger has seen -> its last ledger row, plus the quarantine
    verdict (error, line, column, hint) for files that were quarantined."""
    led = wh.columns("ingest_ledger", ["file_name", "sha256", "status", "loaded_at"])
    led = led.dropna(subset=["sha256"]).sort_values("loaded_at", kind="stable")
    seen = {(r.file_name, r.sha256): {"status": r.status, "at": r.loaded_at} for r in led.itertuples()}
    if any(v["status"] == "quarantined" for v in seen.values()):
        q = wh.columns(
            "quarantine", ["file_name", "sha256", "source", "line", "column_name", "error", "hint"]
        )
        for r in q.itertuples():
            if (r.file_name, r.sha256) in seen:
                found = {
                    "source": r.source,
                    "line": r.line,
                    "column": r.column_name,
                    "error": r.error,
                    "hint": r.hint,
                }
                seen[(r.file_name, r.sha256)].update({k: None if pd.isna(v) else v for k, v in found.items()})
    return seen


def _seen_again(path: Path, sha: str, before: dict[str, Any]) -> FileResult:
    """A file this ledger saw before, unchanged: nothing is read or written. A file that was quarantined
    stays quarantined with its recorded error (export it again, fixed, to load it)."""
    res = FileResult(file=str(path), status="unchanged", sha256=sha)
    when = f"{before['at']:%Y-%m-%d %H:%M} UTC" if pd.notna(before["at"]) else "earlier"
    if before["status"] != "quarantined":
        res.warnings.append(f"{before['status']} {when}; unchanged since")
        return res
    line = before.get("line")
    err = SourceError(
        before.get("error") or "quarantined",
        file=path,
        hint=before.get("hint") or "",
        line=None if line is None else int(line),
        column=before.get("column"),
    )
    res.status, res.source = "quarantined", before.get("source")
    try:
        res.table = sources.get(str(res.source)).TABLE if res.source else None
    except SourceError:
        res.table = None
    if ingest_guard.may_hold_pii(res.table):  # rows written before messages were redacted
        err = ingest_guard.redact_error(err)
    res.error, res.line, res.column = str(err), err.line, err.column
    res.reason, res.hint = err.message, err.hint or None
    res.warnings.append(f"quarantined {when}; unchanged since")
    return res


def _raw_path(path: Path, sha: str) -> Path:
    return paths.raw_dir() / sha[:2] / f"{sha}{''.join(path.suffixes[-2:])[:16]}"


def _archive(path: Path, sha: str, limits: ingest_guard.Limits) -> tuple[Path, str]:
    """Keep the original once in ``data/raw/`` (streamed, hashed as it is copied: the content hash is that
    of the bytes kept); return its path and hash. A file over ``limits.max_file_mb`` is not copied: its
    original is the inbox file (never modified by ingest), whose path is returned. A file hashed afresh in
    this batch was kept as it was hashed (:func:`_hash_and_keep`): it is found here and not read again."""
    raw = _raw_path(path, sha)
    if raw.exists():
        return raw, sha
    if path.stat().st_size > limits.max_file_mb * ingest_guard.MB:
        return path, sha
    got, raw = _copy_hashing(path)  # the file changed since it was hashed: keep (and report) what was copied
    return raw, got


def _hash_and_keep(path: Path, limits: ingest_guard.Limits) -> str:
    """The sha256 of a file not hashed before, its bytes kept in ``data/raw/`` in the same read (one read
    for the "seen before?" check and the archive). Over ``limits.max_file_mb``: hashed only, never copied."""
    if path.stat().st_size > limits.max_file_mb * ingest_guard.MB:
        return sha256_file(path)
    return _copy_hashing(path)[0]


def _copy_hashing(path: Path) -> tuple[str, Path]:
    """Stream ``path`` into ``data/raw/`` under the sha256 of the bytes copied; (that hash, the kept file).
    Memory: one block. A copy already kept under that hash stays as it is."""
    folder = paths.raw_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".incoming.{os.getpid()}.{threading.get_ident()}.tmp"
    h = hashlib.sha256()
    try:
        with ingest_guard.open_regular(path) as src, open(tmp, "wb") as dst:
            while block := src.read(ingest_guard.BLOCK):
                h.update(block)
                dst.write(block)
        got = h.hexdigest()
        raw = _raw_path(path, got)
        if not raw.exists():
            raw.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(raw)
    finally:
        tmp.unlink(missing_ok=True)
    return got, raw


# ---- enrich, validate, reconcile --------------------------------------------------------------------------
# what enrichment may raise on rows a reader let through (not warehouse or interrupt errors: those propagate)
_DATA_ERRORS = (MemoryError, ValueError, TypeError, KeyError, IndexError, ArithmeticError, pa.ArrowException)


@contextlib.contextmanager
def _refusing_data_errors(path: Path) -> Iterator[None]:
    """A failure on the file's rows while preparing them becomes a refusal of that file."""
    try:
        yield
    except SourceError:
        raise
    except _DATA_ERRORS as e:
        raise SourceError(f"could not prepare its rows ({type(e).__name__})", file=path,
                          hint="Export the report again without editing it; if it persists, report a bug") from None  # fmt: skip


def _prepare(
    wh: Any, parsed: Parsed, path: Path, settings: Any, ctx: ReadContext, ingest_id: str, res: FileResult
) -> pd.DataFrame:
    """A parsed file's canonical rows, ready to load: :func:`_shape` then :func:`_finish`."""
    return _finish(wh, _shape(parsed, path, ctx, settings), path, settings, ctx, ingest_id, res)


def _shape(parsed: Parsed, path: Path, ctx: ReadContext, settings: Any) -> Parsed:
    """What preparing the rows needs no warehouse for (formula cells, channels, audience and creative, the
    engine's minimal checks): done on the reading thread, while the previous file loads."""
    with _refusing_data_errors(path):
        table, notes = parsed.table, list(parsed.warnings)
        f = parsed.frame.reset_index(drop=True)
        if "_line" not in f:
            f["_line"] = np.arange(1, len(f) + 1)
        f = neutralise_formulas(f, notes)
        if table in ("ad_daily", "ad_period"):
            _ad_dimensions(f, settings)
            _minimal_checks(f, path, ctx, settings)
        if table in CRM_SOURCE:  # after neutralising: a formula-like source maps to the default channel
            need = f["channel"].isna()
            if need.any():
                f["channel"] = f["channel"].astype("string")
                f.loc[need, "channel"] = channels.map_crm_sources(
                    f.loc[need, CRM_SOURCE[table]], settings.channels
                )
        return dataclasses.replace(parsed, frame=f, warnings=notes)


def _ad_dimensions(f: pd.DataFrame, settings: Any) -> None:
    """Channel, audience and creative of ad rows that do not say them, from params (in place)."""
    ctype = f.get("_campaign_type", None)
    need = f["channel"].isna()
    if len(f) and need.all():  # the usual case: the whole column at once (a masked set is ~10x slower)
        f["channel"] = channels.map_channels(f, settings.channels, ctype).astype(f["channel"].dtype)
    elif need.any():
        f.loc[need, "channel"] = channels.map_channels(
            f[need], settings.channels, ctype[need] if ctype is not None else None
        )
    ing = settings.ingest
    f["audience"] = _fill_na(f["audience"], f["ad_group_name"], getattr(ing, "audience_pattern", ""))
    f["creative"] = _fill_na(f["creative"], f["ad_name"], getattr(ing, "creative_pattern", ""))


def _finish(
    wh: Any, parsed: Parsed, path: Path, settings: Any, ctx: ReadContext, ingest_id: str, res: FileResult
) -> pd.DataFrame:
    """The rest of preparing a :func:`_shape`-d file: reporting currency (rates from the warehouse), the
    ingest id, the canonical dtypes."""
    table = parsed.table
    res.table = table
    res.warnings += list(parsed.warnings)
    f = parsed.frame
    if table in MONEY and "currency" in f:
        date_col, nearest = FX_DATE.get(table, ("date_day", False))
        if table == "crm_deals":  # a deal is priced on its close date, else when it was created
            f["_fx_date"] = f["close_date"].fillna(f["created_date"])
        f = channels.convert_currency(
            f,
            _rates(wh, f, ctx.reporting_currency, date_col, nearest),
            ctx.reporting_currency,
            file=str(path),
            money=MONEY[table],
            date_col=date_col,
            nearest=nearest,
        )
    f["ingest_id"] = ingest_id
    cols = TABLES[table]
    if not all(c in f for c in cols):
        f = pd.concat([conform(f, table), f[["_line"]]], axis=1)
    for c, t in cols.items():  # cast only what differs (conform would copy every column)
        if str(f[c].dtype) != str(pd.Series(dtype=t).dtype):
            f[c] = f[c].astype(t)
    return f[[*cols, "_line"]]


def _fill_na(col: pd.Series, names: pd.Series, pattern: str) -> pd.Series:
    """``col``'s missing values from ``names`` by ``pattern`` (:func:`mktdash.ingest.channels.from_names`); a column
    that is all missing (the usual case) is replaced whole, ~10x faster than a masked fill."""
    if not col.isna().all():
        return col.fillna(channels.from_names(names, pattern))
    return channels.from_names(names, pattern).astype(col.dtype)


def _check(
    parsed: Parsed, f: pd.DataFrame, path: Path, ctx: ReadContext, settings: Any, res: FileResult
) -> None:
    """Validation (quality.py) and totals reconciliation; raise SourceError (pure: no warehouse access), also
    when a check fails on the file's rows for another reason (the file is refused, not retried forever)."""
    try:
        res.warnings += _validate(f, parsed.table, path, ctx, settings)
        res.reconciled = _reconcile(parsed, f, path)
    except SourceError:
        raise
    except _DATA_ERRORS as e:
        raise SourceError(f"could not check its rows ({type(e).__name__})", file=path,
                          hint="Export the report again without editing it; if it persists, report a bug") from None  # fmt: skip


def neutralise_formulas(f: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    """The one formula-injection rule of every reader (OWASP CSV injection): text cells a spreadsheet would run
    as formulas get a leading quote, and the ledger says so; the data are kept.

    A text cell is formula-like when it starts with ``=``, ``@``, tab or CR, or with ``+``/``-`` followed by
    anything but a number/phone shape (digits, spaces, ``.,()/-``): ``-2+3+cmd|..`` and ``+HYPERLINK(..)`` are,
    ``+1 555 0100`` and ``-12.50`` are not. Only string columns are looked at (numbers are numeric dtypes).
    """
    for c in f.columns:
        if c.startswith("_") or c in _OURS or not pd.api.types.is_string_dtype(f[c].dtype):
            continue
        s = f[c] if isinstance(f[c].dtype, pd.StringDtype) else f[c].astype("string")
        arr = pa.array(s, type=pa.string(), from_pandas=True)
        first = pc.utf8_slice_codeunits(arr, 0, 1)
        if not pc.any(pc.is_in(first, value_set=_FORMULA_START)).as_py():  # cheap pre-filter
            continue
        match = pc.and_(
            pc.match_substring_regex(arr, _FORMULA), pc.invert(pc.match_substring_regex(arr, _NUMBER_LIKE))
        )
        hit = pc.fill_null(match, False).to_numpy(zero_copy_only=False)
        if hit.any():
            i = int(np.flatnonzero(hit)[0])
            warnings.append(
                f"neutralised {int(hit.sum())} formula-like cell(s) in {c} (first at line {int(f['_line'].iloc[i])}: "
                f"{str(s.iloc[i])[:40]!r}) by prefixing a quote"
            )
            f[c] = s.where(~hit, "'" + s)
    return f


def _minimal_checks(f: pd.DataFrame, path: Path, ctx: ReadContext, settings: Any) -> None:
    """Checks the engine relies on whatever quality.py says: names, no negatives, no future dates."""

    def fail(mask: Any, column: str, what: str, hint: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise SourceError(
                f"{what} ({int(mask.sum())} rows)",
                file=path,
                line=int(f["_line"].iloc[i]),
                column=column,
                hint=hint,
            )

    fail(
        f["campaign_name"].isna() | (f["campaign_name"].astype("string").str.strip() == ""),
        "campaign_name",
        "missing campaign name",
        "Every row needs a campaign",
    )
    for m in _AD_METRICS:
        fail((f[m] < 0).fillna(False), m, f"negative {m}", "Counts and money cannot be negative")
    horizon = pd.Timestamp(ctx.today) + pd.Timedelta(days=int(getattr(settings.ingest, "max_future_days", 0)))
    fail(
        f["date_day" if "date_day" in f else "period_end"] > horizon,
        "date_day",
        f"date in the future (after {horizon.date()})",
        "Check the date column and the report's time zone",
    )


def _validate(f: pd.DataFrame, table: str, path: Path, ctx: ReadContext, settings: Any) -> list[str]:
    try:
        from mktdash.ingest import quality
    except ImportError:
        return []
    out = quality.validate(f, table, file=path, today=ctx.today, settings=settings)
    return list(out) if isinstance(out, list | tuple) else []


def _rates(
    wh: Any, f: pd.DataFrame, reporting: str, date_col: str = "date_day", nearest: bool = False
) -> pd.DataFrame:
    cur = f["currency"].astype("string").str.upper()
    foreign = sorted(set(cur.dropna().unique()) - {reporting})
    if not foreign:
        return pd.DataFrame(columns=["date_day", "currency", "rate_to_reporting"])
    t = wh.table("fx_rates")
    expr = t.filter(t.currency.isin(foreign))
    if not nearest and date_col in f and f[date_col].notna().any():
        lo, hi = f[date_col].min(), f[date_col].max()
        expr = expr.filter((t.date_day >= lo.to_pydatetime()) & (t.date_day <= hi.to_pydatetime()))
    return wh.df(expr.select("date_day", "currency", "rate_to_reporting"))


def _reconcile(parsed: Parsed, f: pd.DataFrame, path: Path) -> bool | None:
    """Totals rows in the file must equal the loaded sums (up to the file's 2-decimal rounding)."""
    totals = {k: v for k, v in parsed.totals.items() if not k.startswith("_")}
    if not totals:
        return None
    line = int(parsed.totals["_line"]) if "_line" in parsed.totals else None
    n = len(f)
    for k, want in totals.items():
        got = (
            float(n) if k == "rows" else float(pd.to_numeric(f[k], errors="coerce").sum()) if k in f else None
        )
        if got is None:
            continue
        tol = 0.5 if k in ("rows", "clicks", "impressions") else 0.01 + 0.005 * n
        if abs(got - want) > max(tol, 1e-9 * abs(want)):
            raise SourceError(
                f"totals do not reconcile: the file's total says {k} = {want:,.2f}, its rows sum to {got:,.2f} "
                f"(difference {got - want:+,.2f})",
                file=path,
                line=line,
                column=k,
                hint="The export is truncated or was edited; download it again",
            )
    return True


# ---- load -------------------------------------------------------------------------------------------------
def _replace(wh: Any, parsed: Parsed, frame: pd.DataFrame) -> list[str]:
    """Delete rows an earlier export of the same key loaded for the overlapping period; return their ids."""
    key = {k: v for k, v in parsed.replace_key.items() if k in TABLES[parsed.table]}
    ids: set[str] = set()
    date_col = DATE_COLUMNS.get(parsed.table)
    if parsed.period is not None and date_col:
        # whole days: a timestamp column (touch_ts) keeps times on the last day of the period
        start = dt.datetime.combine(parsed.period[0], dt.time.min)
        end = dt.datetime.combine(parsed.period[1], dt.time.max)
        if not key:  # no key (touchpoints): the export replaces everything over its period
            ids.update(wh.delete_period(parsed.table, where={}, date_column=date_col, start=start, end=end))
            if parsed.table == "touchpoints":  # and whole journeys it re-exports (no half-old journey left)
                ids.update(_delete_in(wh, parsed.table, "journey_id", frame["journey_id"]))
            return sorted(ids)
        for row in frame[list(key)].drop_duplicates().itertuples(index=False):
            where = {k: v for k, v in zip(key, row, strict=True) if pd.notna(v)}
            if where:
                ids.update(
                    wh.delete_period(parsed.table, where=where, date_column=date_col, start=start, end=end)
                )
        return sorted(ids)
    if not key:
        return []
    # no period: a snapshot replaces the earlier rows with the same values of the (first) key column
    col = next(iter(key))
    ids.update(_delete_in(wh, parsed.table, col, frame[col]))
    return sorted(ids)


def _changed_days(parsed: Parsed, rows: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
    """The days whose rows a load wrote or deleted: its rows' and its period's (see :func:`_replace`); None when
    it replaced earlier rows by key alone, whatever their days."""
    col = DATE_COLUMNS.get(parsed.table)
    if col is None or (parsed.period is None and any(k in TABLES[parsed.table] for k in parsed.replace_key)):
        return None
    days = pd.to_datetime(rows[col], errors="coerce").dropna()
    spans = [parsed.period] if parsed.period else []
    if len(days):
        spans.append((days.min().date(), days.max().date()))
    return (min(a for a, _ in spans), max(b for _, b in spans)) if spans else None


def _delete_in(wh: Any, table: str, col: str, values_: pd.Series) -> set[str]:
    """Delete the rows whose ``col`` is one of ``values_``; return the ingest ids they came from."""
    values = [str(v) for v in values_.dropna().unique()]
    if not values:
        return set()
    inlist = ", ".join(f"'{_sql_str(v)}'" for v in values)
    found = wh.sql(f'SELECT DISTINCT ingest_id FROM "{table}" WHERE "{col}" IN ({inlist})')
    wh.delete_where(table, col, values)
    return {str(x) for x in found["ingest_id"].dropna()}


def _sql_str(v: Any) -> str:
    return re.sub("'", "''", str(v))


def _ledger(
    res: FileResult, path: Path, raw: Path, parsed: Parsed | None, now: dt.datetime, msg: str
) -> pd.DataFrame:
    period = parsed.period if parsed else None
    row = {
        "ingest_id": res.ingest_id,
        "file_name": path.name,
        "raw_path": str(raw),
        "sha256": res.sha256,
        "source": res.source,
        "table_name": res.table,
        "rows": res.rows,
        "period_start": pd.Timestamp(period[0]) if period else pd.NaT,
        "period_end": pd.Timestamp(period[1]) if period else pd.NaT,
        "status": res.status,
        "replaces": ",".join(res.replaces) or None,
        "reconciled": res.reconciled,
        "message": msg or None,
        "loaded_at": pd.Timestamp(now),
    }
    return _row("ingest_ledger", row)


def _row(table: str, values: dict[str, Any]) -> pd.DataFrame:
    """One canonical row, built in one go (conform is per column, slow for bookkeeping rows)."""
    return pd.DataFrame({c: pd.Series([values.get(c)], dtype=t) for c, t in TABLES[table].items()})


def quarantine_dir() -> Path:
    return paths.data_dir() / "quarantine"


def _link_or_copy(src: Path, dst: Path) -> None:
    """``dst`` as a hard link to ``src`` (no second copy of the bytes), a copy across file systems."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _quarantine(
    book: dict[str, list[pd.DataFrame]],
    res: FileResult,
    e: SourceError,
    path: Path,
    raw: Path,
    now: dt.datetime,
    t0: float,
) -> FileResult:
    if ingest_guard.may_hold_pii(res.table):  # CRM, product usage, unknown layouts: no cell value quoted
        e = ingest_guard.redact_error(e)
    res.status, res.rows = "quarantined", 0
    res.error, res.line, res.column = str(e), e.line, e.column
    res.reason, res.hint = e.message, e.hint or None
    if raw != path:  # archived: the quarantine folder links to that one copy
        _link_or_copy(raw, quarantine_dir() / f"{(res.sha256 or '')[:8]}_{path.name}")
    q = _row(
        "quarantine",
        {
            "ingest_id": res.ingest_id,
            "file_name": path.name,
            "raw_path": str(raw),
            "sha256": res.sha256,
            "source": res.source,
            "line": e.line,
            "column_name": e.column,
            "error": e.message,
            "hint": e.hint,
            "quarantined_at": pd.Timestamp(now),
        },
    )
    book["quarantine"].append(q)
    book["ingest_ledger"].append(_ledger(res, path, raw, None, now, str(e)))
    res.seconds = time.perf_counter() - t0
    return res
