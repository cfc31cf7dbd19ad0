"""The weekly KPI query gives identical results on PySpark local[2] and DuckDB."""

from __future__ import annotations

import numpy as np
import pytest
from kpi_synth import ad_daily

from mktdash.analytics import kpis
from mktdash.warehouse.backend import Warehouse


@pytest.mark.spark
@pytest.mark.slow
def test_weekly_kpis_identical_on_spark_and_duckdb(tmp_path, monkeypatch) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.chdir(tmp_path)  # Spark creates ./spark-warehouse
    df = ad_daily(
        seed=5, n_weeks=3, end_week="2026-W01", campaigns_per_channel=1
    )  # crosses the 2025/2026 ISO year boundary
    duck = Warehouse.memory()
    duck.append("ad_daily", df)
    spark = Warehouse.spark()
    session = spark.con._session
    session.createDataFrame(df).createOrReplaceTempView("ad_daily")  # a temp view: nothing written to disk
    a = kpis.channel_weekly(duck)
    b = kpis.channel_weekly(spark)
    assert a["week"].tolist() == b["week"].tolist() and "2026-W01" in set(a["week"])
    assert a["channel"].tolist() == b["channel"].tolist()
    for c in kpis.CHANNEL_WEEKLY_COLUMNS[2:]:
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-12, err_msg=c)
