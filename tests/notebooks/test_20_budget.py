"""20_budget end to end: papermill on a small demo warehouse with a tiny MMM fit, then again from the cache."""

from __future__ import annotations

import json
from pathlib import Path

import budget_world as bw  # noqa: E402
import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest
import scrapbook as sb

NB = bw.ROOT / "notebooks" / "20_budget.ipynb"


def _run(run_dir: Path, settings_dict: dict) -> Path:
    out = run_dir / "20_budget.ipynb"
    run_dir.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(NB),
        str(out),
        kernel_name="python3",
        progress_bar=False,
        parameters={"week": bw.WEEK, "params": settings_dict, "run_dir": str(run_dir), "mode": "static"},
    )
    return out


@pytest.mark.slow
def test_20_budget_runs_exports_and_reuses_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    from mktdash import paths

    bw.load_world(paths.warehouse_path(), bw.demo_world(60))
    settings = bw.tiny_settings().model_dump(mode="json")

    run1 = tmp_path / "outputs" / "runs" / bw.WEEK / "run-a"
    nb1 = _run(run1, settings)
    # parameters recorded by papermill
    assert nbformat.read(nb1, as_version=4).metadata.papermill.parameters["week"] == bw.WEEK

    rec = pd.read_csv(run1 / "exports" / "budget_recommendation.csv")
    assert list(rec.columns) == [
        "channel",
        "current_weekly_spend",
        "recommended_weekly_spend",
        "lower_bound",
        "upper_bound",
        "expected_revenue_current",
        "expected_revenue_recommended",
    ]
    assert sorted(rec["channel"]) == ["display", "search", "shopping", "social", "video"]
    # the total is kept, every channel within ±30% of current (and within the exported bounds)
    assert rec["recommended_weekly_spend"].sum() == pytest.approx(rec["current_weekly_spend"].sum(), rel=1e-6)
    assert (rec["recommended_weekly_spend"] <= rec["current_weekly_spend"] * 1.3 + 1e-6).all()
    assert (rec["recommended_weekly_spend"] >= rec["current_weekly_spend"] * 0.7 - 1e-6).all()
    assert (rec["recommended_weekly_spend"] <= rec["upper_bound"] + 1e-6).all()
    # current = mean weekly spend of the last 4 complete weeks, computed independently from the world
    world_ad = bw.demo_world(60).tables["ad_daily"]
    last4 = world_ad[(world_ad["date_day"] >= "2026-10-26") & (world_ad["date_day"] <= "2026-11-22")]
    expect = last4.groupby("channel")["spend_reporting"].sum() / 4
    got = rec.set_index("channel")["current_weekly_spend"]
    assert np.allclose(got.sort_index().to_numpy(), expect.sort_index().to_numpy(), rtol=1e-9)

    roi = pd.read_csv(run1 / "exports" / "mmm_channel_roi.csv")
    assert list(roi.columns) == [
        "channel",
        "roi_mean",
        "roi_lower_90",
        "roi_upper_90",
        "period_start",
        "period_end",
    ]
    assert (roi["roi_lower_90"] <= roi["roi_mean"]).all() and (roi["roi_mean"] <= roi["roi_upper_90"]).all()
    assert (roi["roi_mean"] > 0).all()
    assert roi["period_end"].iloc[0] == "2026-11-22"

    props = json.loads((run1 / "exports" / "proposals.json").read_text())
    assert props and all("run-a" in p["proposal_id"] for p in props)
    assert all(abs(p["amount"]) >= 1000 for p in props)

    scraps = sb.read_notebook(str(nb1)).scraps
    assert scraps["mmm_status"].data == "fitted"
    # the model on record is this data's; the move's evidence and the forecast's backtest are recorded
    assert scraps["mmm_current"].data is True and scraps["mmm_stale_banner"].data == ""
    status = json.loads((run1 / "exports" / "mmm_model_status.json").read_text())
    assert status["current"] is True and status["data_hash"] == status["fitted_data_hash"]
    assert 0.0 <= scraps["proposal_prob_uplift_positive"].data <= 1.0
    assert isinstance(scraps["budget_hold"].data, bool)
    advice = json.loads((run1 / "exports" / "budget_advice.json").read_text())
    assert advice["hold"] is scraps["budget_hold"].data and bool(advice["reason"]) is advice["hold"]
    assert advice["prob_uplift_positive"] == pytest.approx(scraps["proposal_prob_uplift_positive"].data)
    assert scraps["forecast_mase_4w"].data > 0 and scraps["forecast_mase_13w"].data > 0
    assert 0.0 <= scraps["compliance"].data <= 1.0
    assert scraps["planned_spend_mtd"].data > 0
    cache = list((tmp_path / "data" / "cache" / "mmm").glob("*/meta.json"))
    assert len(cache) == 2  # the model, and the backtest's model fitted without the last 26 weeks

    # the next weekly run reuses the cached model (no refit) and gives the same recommendation
    run2 = tmp_path / "outputs" / "runs" / bw.WEEK / "run-b"
    nb2 = _run(run2, settings)
    assert sb.read_notebook(str(nb2)).scraps["mmm_status"].data == "cached"
    rec2 = pd.read_csv(run2 / "exports" / "budget_recommendation.csv")
    assert np.allclose(rec2["recommended_weekly_spend"], rec["recommended_weekly_spend"], rtol=1e-6)
