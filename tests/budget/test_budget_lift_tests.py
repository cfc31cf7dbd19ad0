"""The lift_tests input: CSV / YAML round trip, errors naming line and column, and its weekly measurements."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mktdash.budget import mmm, synthetic
from mktdash.ingest import sources
from mktdash.ingest.sources import lift_tests
from mktdash.ingest.sources.base import ReadContext, SourceError

CTX = ReadContext(pii_salt="s")
CSV = """channel,start_date,end_date,spend_change,incremental,incremental_se,metric,source
Search,2026-09-07,2026-10-04,"-40,000",-61000,9000,revenue,geo holdout Q3
social,2026-06-01,2026-06-14,12000,15000,4000,,agency test
"""


def test_csv_and_yaml_read_the_same_rows(tmp_path: Path) -> None:
    p = tmp_path / "lift_tests_2026.csv"
    p.write_text(CSV, encoding="utf-8")
    assert sources.detect(p).NAME == "lift_tests"
    got = lift_tests.read(p, CTX).frame
    assert got["channel"].tolist() == ["search", "social"]
    assert got["spend_change"].tolist() == [-40000.0, 12000.0]
    assert got["metric"].tolist() == ["revenue", "revenue"]  # the default
    assert got["end_date"].iloc[0] == pd.Timestamp("2026-10-04")
    y = tmp_path / "lift_tests.yaml"
    lift_tests.write(got.drop(columns="_line"), y)
    back = lift_tests.read(y, CTX).frame
    pd.testing.assert_frame_equal(back.drop(columns="_line"), got.drop(columns="_line"))


@pytest.mark.parametrize(
    ("row", "column", "what"),
    [
        ("search,2026-09-07,2026-09-01,-4000,-6000,900,revenue,x", "end_date", "ends before it starts"),
        ("search,2026-09-07,2026-10-04,-4000,-6000,0,revenue,x", "incremental_se", "standard error not > 0"),
        ("search,2026-09-07,2026-10-04,0,-6000,900,revenue,x", "spend_change", "no spend change"),
        ("search,2026-09-07,2026-10-04,-4000,-6000,900,clicks,x", "metric", "metric not revenue/conversions"),
    ],
)
def test_unusable_rows_are_named(tmp_path: Path, row: str, column: str, what: str) -> None:
    p = tmp_path / "lift_tests.csv"
    p.write_text(CSV.splitlines()[0] + "\nsearch,2026-01-05,2026-01-18,-10,-20,5,revenue,ok\n" + row + "\n")
    with pytest.raises(SourceError) as e:
        lift_tests.read(p, CTX)
    assert e.value.line == 3 and e.value.column == column and what in str(e.value) and e.value.hint


def test_weekly_measurements_for_pymc_marketing() -> None:
    frame = pd.DataFrame({"date": pd.date_range("2026-08-31", periods=8, freq="7D"), "search": [1000.0] * 8,
                          "revenue": [5000.0] * 8})  # fmt: skip
    frame.loc[1:4, "search"] = 600.0  # the 4 test weeks (Sep 7 .. Oct 4) ran at 600 instead of 1000
    tests = pd.DataFrame([{"channel": "search", "start_date": "2026-09-07", "end_date": "2026-10-04",
                           "spend_change": -1600.0, "incremental": -2800.0, "incremental_se": 400.0,
                           "metric": "revenue", "source": "holdout"},
                          {"channel": "tv", "start_date": "2026-09-07", "end_date": "2026-10-04",
                           "spend_change": -1.0, "incremental": -1.0, "incremental_se": 1.0,
                           "metric": "revenue", "source": "not a model channel"}])  # fmt: skip
    data = mmm.MmmData(frame, ["search"], [], lift_tests=tests)
    m = mmm.lift_measurements(data, {"search": {"roas": 2.0, "sd": 0.5}})
    # 28 days = 4 weeks: -400 spend and -700 revenue (se 100) per week, from 1000 a week without the test
    assert m.iloc[0][["x", "delta_x", "delta_y", "sigma"]].tolist() == [1000.0, -400.0, -700.0, 100.0]
    # the ROAS prior: at the mean weekly spend ((4 x 1000 + 4 x 600) / 8 = 800), 2.0 x 800 ± 0.5 x 800, from zero
    assert m.iloc[1][["x", "delta_x", "delta_y", "sigma"]].tolist() == [0.0, 800.0, 1600.0, 400.0]
    assert len(m) == 2 and m["label"].iloc[1] == "ROAS prior 2.0 ± 0.5"
    with pytest.raises(mmm.MmmError, match="mmm.roas_priors names 'tv'"):
        mmm.lift_measurements(data, {"tv": {"roas": 2.0, "sd": 0.5}})
    # the lift tests are part of the data's identity (cache key), and a change of them is never "small"
    assert data.hash() != mmm.MmmData(frame, ["search"], []).hash()


def test_a_test_whose_weeks_are_not_all_in_the_data_is_read_at_the_mean_spend() -> None:
    # weekly rows dated Saturdays (as PyMC-Marketing's files): the last row, 2024-03-30, lies within 6 days before
    # a test starting 2024-04-01, but the data hold none of the test's 4 weeks: x is the mean spend (2.0), not
    # that week's spend minus the test's change (3.0 + 1.0)
    frame = pd.DataFrame({"date": pd.date_range("2024-03-02", periods=5, freq="7D"),
                          "x1": [1.0, 2.0, 1.0, 3.0, 3.0], "revenue": [9.0] * 5})  # fmt: skip
    test = {"channel": "x1", "start_date": "2024-04-01", "end_date": "2024-04-28", "spend_change": -8.0,
            "incremental": -40.0, "incremental_se": 4.0, "metric": "revenue", "source": "geo test"}  # fmt: skip
    m = mmm.lift_measurements(mmm.MmmData(frame, ["x1"], [], lift_tests=pd.DataFrame([test])))
    assert m.iloc[0][["x", "delta_x", "delta_y", "sigma"]].tolist() == [2.0, -2.0, -10.0, 1.0]


def test_confounded_world_emits_a_noisy_demand_proxy_and_is_otherwise_unchanged() -> None:
    data, truth = synthetic.confounded(weeks=104, seed=4)
    bare, _ = synthetic.confounded(weeks=104, seed=4, proxy_noise=None)
    assert data.controls == ["trend", "demand_index"] and bare.controls == ["trend"]
    cols = ["date", *data.channels, "trend", "revenue"]
    pd.testing.assert_frame_equal(data.frame[cols], bare.frame[cols])  # the proxy does not change the world
    noise = data.frame["demand_index"].to_numpy() - truth["demand"]
    assert 0.4 < noise.std() < 0.6  # sd 0.5 around the standardized driver
    assert 0.8 < np.corrcoef(data.frame["demand_index"], truth["demand"])[0, 1] < 0.95


def test_planted_holdout_reports_the_true_lift() -> None:
    data, truth = synthetic.confounded(weeks=60, seed=2)
    tested, t2 = synthetic.plant_lift_test(data, truth, "search", start_week=-10, n_weeks=4, se_share=0.1)
    row = tested.lift_tests.iloc[0]
    # go dark by default: search spends nothing in the test weeks, the change is all it would have spent
    assert (tested.frame["search"].iloc[-10:-6] == 0).all()
    assert row["spend_change"] == pytest.approx(-data.frame["search"].iloc[-10:-6].sum())
    half, _ = synthetic.plant_lift_test(data, truth, "search", start_week=-10, n_weeks=4, cut=0.5)
    assert half.lift_tests.iloc[0]["spend_change"] == pytest.approx(row["spend_change"] / 2)
    # the true lift: the true curves' revenue without vs with the cut, over the test and its cool-down (to the end)
    before = truth["curves"].series(data.frame[data.channels].to_numpy())[0].sum(axis=1)
    after = truth["curves"].series(tested.frame[data.channels].to_numpy())[0].sum(axis=1)
    assert t2["lift_tests"][0]["true_incremental"] == pytest.approx(float((after - before)[-10:].sum()))
    assert abs(row["incremental"] - t2["lift_tests"][0]["true_incremental"]) < 4 * row["incremental_se"]
    assert np.allclose(tested.frame["revenue"] - data.frame["revenue"], after - before)
    roi = synthetic.true_roi(t2, tested)
    assert roi["search"] == pytest.approx(t2["contribution"]["search"].sum() / tested.frame["search"].sum())
    # a second holdout, on social, earlier: both tests are kept, each with its own true lift and dark weeks
    both, t3 = synthetic.plant_lift_test(tested, t2, "social", start_week=-30, n_weeks=4)
    assert both.lift_tests["channel"].tolist() == ["search", "social"]
    assert [t["channel"] for t in t3["lift_tests"]] == ["search", "social"]
    assert (both.frame["social"].iloc[-30:-26] == 0).all() and (both.frame["search"].iloc[-10:-6] == 0).all()
    after2 = truth["curves"].series(both.frame[data.channels].to_numpy())[0].sum(axis=1)
    assert t3["lift_tests"][1]["true_incremental"] == pytest.approx(float((after2 - after)[-30:-18].sum()))


def test_demo_world_plants_confounding_and_a_holdout_with_its_true_lift(tmp_path: Path) -> None:
    import budget_world as bw

    from mktdash.demo import world as demo
    from mktdash.warehouse.backend import Warehouse

    plain = bw.demo_world(60)
    w = demo.simulate(seed=7, scale=1.0, end=bw.END, weeks=60, confound=0.5, lift_test=True)
    assert "lift_tests" not in plain.tables and "confounding" not in plain.truth  # additive: off by default
    z = np.array(w.truth["confounding"]["demand"])
    spend = w.weekly["spend_search"].to_numpy()
    on = spend > 0  # not the go-dark weeks
    assert np.corrcoef(z[on], np.log(spend[on]))[0, 1] > 0.3  # search's budget follows demand
    lt = w.truth["lift_tests"][0]
    row = w.tables["lift_tests"].iloc[0]
    assert abs(row["incremental"] - lt["true_incremental"]) < 4 * row["incremental_se"]
    held = w.weekly.set_index("monday").loc[pd.Timestamp(lt["start_date"]).date() :].iloc[:4]
    # go dark for 4 weeks: no search spend, and the change is what the same world spends without the test
    untested = demo.simulate(seed=7, scale=1.0, end=bw.END, weeks=60, confound=0.5).weekly.set_index("monday")
    assert (held["spend_search"] == 0).all()
    assert row["spend_change"] == pytest.approx(-untested.loc[held.index, "spend_search"].sum(), rel=1e-6)
    path = bw.load_world(tmp_path / "wh.duckdb", w)
    from mktdash.warehouse import schema

    with Warehouse.open(path) as wh:
        wh.replace_table("lift_tests", schema.conform(w.tables["lift_tests"], "lift_tests"))
    with Warehouse.open(path, read_only=True) as wh:
        data = mmm.weekly_from_warehouse(wh, bw.tiny_settings(), through_week=bw.WEEK)
    assert data.lift_tests is not None and data.lift_tests["channel"].tolist() == ["search"]
    m = mmm.lift_measurements(data)
    assert m["delta_x"].iloc[0] == pytest.approx(row["spend_change"] / 4, rel=1e-6)
    assert m["x"].iloc[0] == pytest.approx(-m["delta_x"].iloc[0])  # gone dark: from its weekly spend to 0
