"""Plain DuckDB on warehouse files, for what needs no Ibis: the runner's one scalar (the last day with data),
the published snapshots (copy, add the dashboards' aggregate, read), and DuckDB's value errors for ingest.

With :mod:`mktdash.warehouse.backend` the only place that opens DuckDB. Light on purpose: the runner and the
live dashboard import it without Ibis (~0.5 s).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from mktdash import weeks
from mktdash.warehouse import rollup

Error = duckdb.Error  # what a query on a snapshot raises
# DuckDB's errors about values (not I/O or interrupts): an ingested file whose rows raise one is refused
DATA_ERRORS: tuple[type[Exception], ...] = tuple(
    getattr(duckdb, n)
    for n in ("ConversionException", "InvalidInputException", "OutOfRangeException", "ConstraintException")
    if hasattr(duckdb, n)
)


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse's write lock (an ingest, a run of an older version)."""


def read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the database file ``path`` (raises :data:`Error` when it cannot)."""
    return duckdb.connect(str(path), read_only=True)


def one_row(path: Path, sql: str, *, table: str) -> tuple[Any, ...] | None:
    """The first row of ``sql`` on the warehouse file ``path``, read-only; None when there is no such file, no
    ``table`` in it, or it cannot be opened now (a writer holds it)."""
    if not path.exists():
        return None
    try:
        with read_only(path) as con:
            if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone():
                return None
            return con.execute(sql).fetchone()
    except duckdb.Error:
        return None


def last_day(path: Path, *, wait: float = 0.0) -> dt.date | None:
    """The last day with ad data in the warehouse file ``path``; without ad data, of the first other dated
    source with rows (:data:`mktdash.weeks.REPORT_WEEK_SOURCES`); None when there is none. While another
    process holds the write lock, retries for ``wait`` seconds, then raises :class:`WarehouseBusy`."""
    deadline = time.monotonic() + wait
    while path.exists():
        try:
            with read_only(path) as con:
                return _last_day(con)
        except duckdb.IOException as e:  # "Could not set lock on file": a writer holds it
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse {path} is in use by another process ({str(e).splitlines()[0]}); "
                    "run again once it has finished"
                ) from e
            time.sleep(0.2)
    return None


def _last_day(con: Any) -> dt.date | None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    value = None
    for table, column in weeks.REPORT_WEEK_SOURCES.items():
        if table in tables and value is None:
            value = con.execute(f"SELECT max({column}) FROM {table}").fetchone()[0]
    return value.date() if isinstance(value, dt.datetime) else value


def snapshot(src: Path, dest: Path) -> None:
    """Copy the warehouse ``src`` into the new file ``dest`` consistently, and add the dashboards' weekly
    aggregate (:data:`mktdash.warehouse.rollup.DASHBOARD`) so that a page view never scans ``ad_daily``."""
    _copy_consistent(src, dest)
    con = duckdb.connect(str(dest))
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "ad_daily" in tables:
            con.execute(f"CREATE OR REPLACE TABLE {rollup.DASHBOARD} AS {rollup.dashboard_sql(con)}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    dest.with_name(dest.name + ".wal").unlink(missing_ok=True)


def _copy_consistent(src: Path, dest: Path) -> None:
    """Normally: attach ``src`` read-only, which holds DuckDB's shared file lock so that no writer can change
    it, and copy the file (and WAL) bytes: ~40x faster than rewriting every row. When another process holds
    the write lock, the file and its WAL are copied aside and DuckDB's ``COPY FROM DATABASE`` reads the copy.
    """
    con = duckdb.connect()
    try:
        try:
            con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        except duckdb.Error:
            with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
                side = Path(tmp) / "side.duckdb"
                _copy_file(src, side)
                con.execute(f"ATTACH '{side}' AS src")
                con.execute(f"ATTACH '{dest}' AS snap")
                con.execute("COPY FROM DATABASE src TO snap")
                con.execute("DETACH snap")
                con.execute("DETACH src")
            return
        _copy_file(src, dest)
        con.execute("DETACH src")
    finally:
        con.close()


def _copy_file(src: Path, dest: Path) -> None:
    """The database file and, when a writer left one, its write-ahead log."""
    shutil.copyfile(src, dest)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, dest.with_name(dest.name + ".wal"))
