"""Warehouse.settings: DuckDB settings inside a block, put back after it (also after an error); and the settings
a load uses (load_settings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mktdash.warehouse.backend import Warehouse, load_settings


def _setting(wh: Warehouse, name: str) -> object:
    return wh.raw.execute(f"SELECT current_setting('{name}')").fetchone()[0]  # type: ignore[index]


def test_settings_are_set_inside_and_restored_after(tmp_path: Path) -> None:
    wh = Warehouse.open(tmp_path / "w.duckdb")
    wh.raw.execute("SET threads = 3")  # a setting of the user's: put back as it was, not to the default
    with wh.settings(threads=1, disabled_compression_methods="fsst"):
        assert _setting(wh, "threads") == 1 and _setting(wh, "disabled_compression_methods") == "FSST"
    assert _setting(wh, "threads") == 3 and _setting(wh, "disabled_compression_methods") == ""
    with pytest.raises(RuntimeError, match="boom"), wh.settings(threads=2):
        assert _setting(wh, "threads") == 2
        raise RuntimeError("boom")
    assert _setting(wh, "threads") == 3
    wh.close()


def _names(distinct: int, n: int = 40_000) -> pd.DataFrame:
    i = np.arange(n) % distinct
    return pd.DataFrame({"ad_name": pd.array([f"Spring sale | prospecting | video #{k}" for k in i], dtype="string"),
                         "campaign_name": pd.array([f"Campaign {k % 7}" for k in i], dtype="string"),
                         "clicks": np.arange(n)})  # fmt: skip


def test_a_load_keeps_fsst_only_when_some_text_column_is_mostly_distinct() -> None:
    """Repeated names (2,000 ads over 20 days) compress as a dictionary: FSST off; 30,000 distinct ad names in
    40,000 rows: FSST stays. One thread either way."""
    assert load_settings(_names(2_000)) == {"threads": 1, "disabled_compression_methods": "fsst"}
    assert load_settings(_names(30_000)) == {"threads": 1}
    assert load_settings(_names(2_000).iloc[:0]) == {"threads": 1, "disabled_compression_methods": "fsst"}
