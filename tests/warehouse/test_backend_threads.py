"""Warehouse.threads: DuckDB's worker threads inside a block, put back after it (also after an error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mktdash.warehouse.backend import Warehouse


def _threads(wh: Warehouse) -> int:
    return int(wh.raw.execute("SELECT current_setting('threads')").fetchone()[0])  # type: ignore[index]


def test_threads_are_set_inside_and_restored_after(tmp_path: Path) -> None:
    wh = Warehouse.open(tmp_path / "w.duckdb")
    wh.raw.execute("SET threads = 3")  # a setting of the user's: put back as it was, not to the default
    with wh.threads(1):
        assert _threads(wh) == 1
    assert _threads(wh) == 3
    with pytest.raises(RuntimeError, match="boom"), wh.threads(2):
        assert _threads(wh) == 2
        raise RuntimeError("boom")
    assert _threads(wh) == 3
    wh.close()
