"""The only module that talks to the warehouse backend, through Ibis.

DuckDB (a file under ``data/``) is the default; any Ibis backend named in params works for reads
(``warehouse.backend: pyspark`` is tested). Analysis code receives Ibis tables and returns Ibis expressions,
so the same query runs on DuckDB, Spark or a cloud warehouse; only loading and bookkeeping write.

Writes happen inside :meth:`Warehouse.transaction` so that a crash mid-file leaves the warehouse as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.backends.duckdb  # noqa: F401  (imported here, so a preheated kernel has it: ~0.4 s)
import pandas as pd

from mktdash import paths
from mktdash.schema import TABLES, empty_frame, ibis_schema


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
        self, con: Any, backend: str = "duckdb", path: Path | None = None, *, read_only: bool = False
    ) -> None:
        self.con = con
        self.backend = backend
        self.path = path
        self.read_only = read_only
        self._tables: list[str] | None = None  # read-only: the table list does not change under us
        self._table_exprs: dict[str, ibis.Table] = {}  # read-only: nor do their schemas (one lookup each)
        self.memo: dict[str, Any] = {}  # read-only: facts about the data that cannot change (mktdash.rollup)

    # ---- opening -------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str | None = None, *, read_only: bool = False) -> Warehouse:
        """Open (creating if needed) the DuckDB warehouse file; ``data/warehouse.duckdb`` by default."""
        p = Path(path) if path else paths.warehouse_path()
        if read_only and not p.exists():
            raise WarehouseError(f"No warehouse at {p}: run `mktdash ingest` (or `make run`) first.")
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = ibis.duckdb.connect(str(p), read_only=read_only)
        except Exception as e:  # duckdb raises IOException on a lock held by another writer
            raise WarehouseError(f"Cannot open warehouse {p}: {e}") from e
        return cls(con, "duckdb", p, read_only=read_only)

    @classmethod
    def memory(cls) -> Warehouse:
        return cls(ibis.duckdb.connect(), "duckdb", None)

    @classmethod
    def from_settings(cls, settings: Any, *, read_only: bool = False) -> Warehouse:
        """Open the backend named by ``settings.warehouse`` (a :class:`mktdash.params.Settings`)."""
        w = settings.warehouse
        if w.backend == "duckdb":
            return cls.open(w.path or None, read_only=read_only)
        if w.backend == "pyspark":
            return cls.spark()
        con = ibis.connect(w.url)
        return cls(con, w.backend, None)

    @classmethod
    def spark(cls, master: str = "local[2]") -> Warehouse:
        """A local PySpark session as the backend (tests compare its answers with DuckDB's)."""
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
            self.con.disconnect()

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
            names = [r[0] for r in self.con.con.execute("SHOW TABLES").fetchall()]
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
            return int(self.con.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        return int(self.con.to_pandas(self.table(name).count()))

    def sql(self, query: str) -> pd.DataFrame:
        """Run raw SQL and return a frame (tests use it for independent known answers)."""
        return self.con.sql(query).to_pandas()

    # ---- writing -------------------------------------------------------------------------------------------
    def ensure_tables(self, names: Sequence[str] | None = None) -> None:
        """Create the canonical tables that do not exist yet (empty, with their schema)."""
        for name in names or TABLES:
            if not self.exists(name):
                self.con.create_table(name, schema=ibis.schema(ibis_schema(name)))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All writes inside the block land together or not at all (DuckDB); a no-op on other backends."""
        if self.backend != "duckdb":
            yield self
            return
        self.con.raw_sql("BEGIN TRANSACTION")
        try:
            yield self
        except BaseException:
            self.con.raw_sql("ROLLBACK")
            raise
        else:
            self.con.raw_sql("COMMIT")

    def append(self, name: str, df: pd.DataFrame) -> None:
        """Insert rows; ``df`` must have the table's columns (use :func:`mktdash.schema.conform`)."""
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
        self.con.con.execute(f'DELETE FROM "{name}" WHERE "{column}" IN ({placeholders})', list(values))
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
        ids = self.con.con.execute(f'SELECT DISTINCT ingest_id FROM "{name}" WHERE {clause}', args).fetchall()
        self.con.con.execute(f'DELETE FROM "{name}" WHERE {clause}', args)
        return sorted(str(i[0]) for i in ids if i[0] is not None)

    def checkpoint(self) -> None:
        if self.backend == "duckdb":
            self.con.raw_sql("CHECKPOINT")

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
