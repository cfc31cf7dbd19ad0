"""The only module that talks to the warehouse backend, through Ibis.

DuckDB (a file under ``data/``) is the default; any Ibis backend named in params works for reads
(``warehouse.backend: pyspark`` is tested). Analysis code receives Ibis tables and returns Ibis expressions,
so the same query runs on DuckDB, Spark or a cloud warehouse; only loading and bookkeeping write. On DuckDB
the bookkeeping (table list, counts, the ingest ledger, transactions, deletes) is plain SQL on the connection,
and the Ibis backend is made from that connection on first use: a week with nothing new to load never
imports Ibis (~0.5 s), which is what the weekly run waits for before anything else can start.

Writes happen inside :meth:`Warehouse.transaction` so that a crash mid-file leaves the warehouse as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from mktdash import paths
from mktdash.warehouse.schema import TABLES, create_sql, empty_frame, ibis_schema

if TYPE_CHECKING:
    import ibis


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written."""


class Warehouse:
    """An Ibis connection plus the handful of write operations ingest needs.

    >>> wh = Warehouse.memory()
    >>> wh.ensure_tables()
    >>> wh.count("ad_daily")
    0
    """

    def __init__(
        self,
        con: Any,
        backend: str = "duckdb",
        path: Path | None = None,
        *,
        read_only: bool = False,
        raw: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        self._con, self._raw = con, raw  # an Ibis backend, or (DuckDB) the connection to make one from
        self.backend = backend
        self.path = path
        self.read_only = read_only
        self._tables: list[str] | None = None  # read-only: the table list does not change under us
        self._table_exprs: dict[str, ibis.Table] = {}  # read-only: nor do their schemas (one lookup each)
        self.memo: dict[
            str, Any
        ] = {}  # read-only: facts about the data that cannot change (mktdash.warehouse.rollup)

    @property
    def con(self) -> Any:
        """The Ibis backend. On DuckDB it is made from the open connection on first use: Ibis costs ~0.5 s
        to import, and ingest's bookkeeping (a week with nothing new to load) never needs it."""
        if self._con is None:
            import ibis
            import ibis.backends.duckdb  # noqa: F401

            self._con = ibis.duckdb.from_connection(self._raw)
        return self._con

    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection of a DuckDB warehouse (for bookkeeping SQL that needs no Ibis compile)."""
        return self._raw if self._raw is not None else self.con.con

    # ---- opening -------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str | None = None, *, read_only: bool = False) -> Warehouse:
        """Open (creating if needed) the DuckDB warehouse file; ``data/warehouse.duckdb`` by default."""
        p = Path(path) if path else paths.warehouse_path()
        if read_only and not p.exists():
            raise WarehouseError(f"No warehouse at {p}: run `mktdash ingest` (or `make run`) first.")
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            raw = duckdb.connect(str(p.absolute()), read_only=read_only)
        except duckdb.Error as e:  # IOException on a lock held by another writer
            raise WarehouseError(f"Cannot open warehouse {p}: {e}") from e
        return cls(None, "duckdb", p, read_only=read_only, raw=_with_ibis_settings(raw))

    @classmethod
    def memory(cls) -> Warehouse:
        return cls(None, "duckdb", None, raw=_with_ibis_settings(duckdb.connect()))

    @classmethod
    def from_settings(cls, settings: Any, *, read_only: bool = False) -> Warehouse:
        """Open the backend named by ``settings.warehouse`` (a :class:`mktdash.params.Settings`)."""
        w = settings.warehouse
        if w.backend == "duckdb":
            return cls.open(w.path or None, read_only=read_only)
        if w.backend == "pyspark":
            return cls.spark()
        import ibis

        con = ibis.connect(w.url)
        return cls(con, w.backend, None)

    @classmethod
    def spark(cls, master: str = "local[2]") -> Warehouse:
        """A local PySpark session as the backend (tests compare its answers with DuckDB's)."""
        import ibis
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master(master)
            .appName("mktdash")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        return cls(ibis.pyspark.connect(session), "pyspark", None)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._con is not None:
                self._con.disconnect()  # closes the DuckDB connection it was made from, if any
            elif self._raw is not None:
                self._raw.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading -------------------------------------------------------------------------------------------
    def tables(self) -> list[str]:
        if self._tables is not None:
            return self._tables
        # on DuckDB ~5x faster than ibis list_tables; ingest asks this several times a file
        if self.backend == "duckdb":
            names = [r[0] for r in self.raw.execute("SHOW TABLES").fetchall()]
        else:
            names = list(self.con.list_tables())
        if self.read_only:
            self._tables = names
        return names

    def exists(self, name: str) -> bool:
        return name in self.tables()

    def table(self, name: str) -> ibis.Table:
        """The Ibis table ``name``; an empty canonical one if nothing was loaded into it yet."""
        if name in self._table_exprs:
            return self._table_exprs[name]
        if self.exists(name):
            t = self.con.table(name)
            if self.read_only:
                self._table_exprs[name] = t
            return t
        if name in TABLES:
            import ibis

            return ibis.memtable(empty_frame(name)).cast(ibis.schema(ibis_schema(name)))
        raise WarehouseError(f"No table {name!r} in the warehouse; known: {sorted(self.tables())}")

    def df(self, expr_or_name: ibis.Expr | str) -> pd.DataFrame:
        """Execute an expression (or read a whole table) into pandas."""
        expr = self.table(expr_or_name) if isinstance(expr_or_name, str) else expr_or_name
        return self.con.to_pandas(expr)

    def count(self, name: str) -> int:
        if not self.exists(name):
            return 0
        if self.backend == "duckdb":  # no Ibis compile for the bookkeeping question asked most
            row = self.raw.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            return int(row[0]) if row else 0
        return int(self.con.to_pandas(self.table(name).count()))

    def columns(self, name: str, columns: Sequence[str]) -> pd.DataFrame:
        """Some columns of a whole (small, bookkeeping) table: plain SQL on DuckDB, no Ibis compile."""
        if self.backend == "duckdb" and self.exists(name):
            cols = ", ".join(f'"{c}"' for c in columns)
            return self.raw.execute(f'SELECT {cols} FROM "{name}"').df()
        return self.df(self.table(name).select(*columns))

    def sql(self, query: str) -> pd.DataFrame:
        """Run raw SQL and return a frame (tests use it for independent known answers)."""
        return self.con.sql(query).to_pandas()

    # ---- writing -------------------------------------------------------------------------------------------
    def ensure_tables(self, names: Sequence[str] | None = None) -> None:
        """Create the canonical tables that do not exist yet (empty, with their schema). On DuckDB one SQL
        statement (~10 ms; through Ibis ~0.2 s, and Ibis's ~0.5 s import, on every new warehouse)."""
        have = set(self.tables())
        missing = [n for n in names or TABLES if n not in have]
        if not missing:  # nothing to write (also on a read-only warehouse)
            return
        if self.backend == "duckdb":
            self.raw.execute(";".join(create_sql(n) for n in missing))
            return
        import ibis

        for name in missing:
            self.con.create_table(name, schema=ibis.schema(ibis_schema(name)))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All writes inside the block land together or not at all (DuckDB); a no-op on other backends."""
        if self.backend != "duckdb":
            yield self
            return
        self.raw.execute("BEGIN TRANSACTION")
        try:
            yield self
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        else:
            self.raw.execute("COMMIT")

    @contextlib.contextmanager
    def settings(self, **values: int | str) -> Iterator[Warehouse]:
        """DuckDB settings (``threads=1``, ...) inside the block, put back as they were after it, also after an
        error (a no-op on other backends). The ingest loads each file this way (:func:`load_settings`)."""
        if self.backend != "duckdb":
            yield self
            return
        before = {
            k: (self.raw.execute(f"SELECT current_setting('{k}')").fetchone() or (None,))[0] for k in values
        }
        try:
            for k, v in values.items():
                self.raw.execute(f"SET {k} = {_sql_literal(v)}")
            yield self
        finally:
            for k, v in before.items():
                self.raw.execute(f"SET {k} = {_sql_literal(v)}" if v is not None else f"RESET {k}")

    def append(self, name: str, df: pd.DataFrame) -> None:
        """Insert rows; ``df`` must have the table's columns (use :func:`mktdash.warehouse.schema.conform`)."""
        if df.empty:
            return
        self.ensure_tables([name]) if name in TABLES else None
        if not self.exists(name):
            self.con.create_table(name, df)
        else:
            self.con.insert(name, df)

    def replace_table(self, name: str, df: pd.DataFrame) -> None:
        """Replace a whole table (derived tables, snapshots)."""
        self.con.create_table(name, df, overwrite=True)

    def delete_where(self, name: str, column: str, values: Sequence[Any]) -> int:
        """Delete the rows whose ``column`` is in ``values``; returns how many went."""
        if not values or not self.exists(name):
            return 0
        before = self.count(name)
        placeholders = ", ".join("?" for _ in values)
        self.raw.execute(f'DELETE FROM "{name}" WHERE "{column}" IN ({placeholders})', list(values))
        return before - self.count(name)

    def delete_period(
        self, name: str, *, where: dict[str, Any], date_column: str, start: dt.date, end: dt.date
    ) -> list[str]:
        """Delete rows of ``name`` matching ``where`` with ``date_column`` in [start, end]; return their ingest_ids.

        Used when a corrected re-export of a period replaces what an earlier file loaded.
        """
        if not self.exists(name):
            return []
        conds = [f'"{k}" = ?' for k in where] + [f'"{date_column}" BETWEEN ? AND ?']
        args = [*where.values(), start, end]
        clause = " AND ".join(conds)
        ids = self.raw.execute(f'SELECT DISTINCT ingest_id FROM "{name}" WHERE {clause}', args).fetchall()
        self.raw.execute(f'DELETE FROM "{name}" WHERE {clause}', args)
        return sorted(str(i[0]) for i in ids if i[0] is not None)

    def checkpoint(self) -> None:
        if self.backend == "duckdb":
            self.raw.execute("CHECKPOINT")

    def snapshot(self, dest: Path) -> Path:
        """Copy the DuckDB file to ``dest`` (read-only snapshot for dashboards)."""
        if self.backend != "duckdb" or self.path is None:
            raise WarehouseError("Snapshots are only supported for the DuckDB file backend.")
        import shutil

        self.checkpoint()
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".tmp")
        shutil.copyfile(self.path, tmp)
        tmp.replace(dest)
        return dest


def load_settings(rows: pd.DataFrame, sample: int = 16_384) -> dict[str, int | str]:
    """DuckDB settings for appending ``rows`` in one transaction (:meth:`Warehouse.settings`).

    - ``threads = 1``: a 2-thread ``INSERT`` writes its row groups as it goes and the next ``CHECKPOINT``
      writes them again (300k ad rows: 0.9 s + 0.9 s); one thread appends to the transaction and writes once at
      ``COMMIT`` (0.25 s + 0.6 s), and leaves the other core to the checks that run meanwhile.
    - FSST string compression off unless some text column is mostly distinct (over a quarter of an evenly
      spread sample): names that repeat (campaigns, ad groups, ads over days: nearly every export) are stored
      as a dictionary, and FSST's trial at ``COMMIT`` is then pure cost (~20 % of the write); many distinct long
      names (a large ad-level export) keep it, as without it they take ~2.5x the space.

    Measured in docs/benchmarks.md (Ingest)."""
    part = rows.iloc[:: max(1, len(rows) // sample)]
    text = [c for c in part.columns if pd.api.types.is_string_dtype(part[c].dtype)]
    distinct = any(part[c].nunique() > 0.25 * len(part) for c in text)
    return {"threads": 1} | ({} if distinct else {"disabled_compression_methods": "fsst"})


def _sql_literal(v: int | str) -> str:
    return str(int(v)) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'"


def _with_ibis_settings(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The session settings Ibis gives a DuckDB connection (``from_connection`` sets them again): raw
    bookkeeping SQL then sees what Ibis' queries see."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET python_enable_replacements = false")
    return con
