"""Warehouse.ensure_tables: DuckDB's plain DDL makes the tables Ibis would make, and keeps what exists."""

from __future__ import annotations

from pathlib import Path

import ibis

from mktdash.warehouse.backend import Warehouse
from mktdash.warehouse.schema import TABLES, ibis_schema


def test_duckdb_tables_have_the_columns_and_types_ibis_creates(tmp_path: Path) -> None:
    ours = Warehouse.open(tmp_path / "ours.duckdb")
    ours.ensure_tables()
    theirs = Warehouse.open(tmp_path / "ibis.duckdb")
    for name in TABLES:
        theirs.con.create_table(name, schema=ibis.schema(ibis_schema(name)))
        assert (
            ours.raw.execute(f'DESCRIBE "{name}"').fetchall()
            == theirs.raw.execute(f'DESCRIBE "{name}"').fetchall()
        ), name
    assert sorted(ours.tables()) == sorted(TABLES)
    ours.close()
    theirs.close()


def test_existing_tables_and_rows_are_kept(tmp_path: Path) -> None:
    wh = Warehouse.open(tmp_path / "w.duckdb")
    wh.ensure_tables(["fx_rates"])
    wh.raw.execute("INSERT INTO fx_rates (currency, rate_to_reporting) VALUES ('EUR', 1.1)")
    wh.ensure_tables()
    assert wh.count("fx_rates") == 1 and set(wh.tables()) == set(TABLES)
    wh.close()
