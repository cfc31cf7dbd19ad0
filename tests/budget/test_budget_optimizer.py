"""Optimizer and response curves: pymc-marketing's known answer, brute-force checks, bounds, risk, speed."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mktdash.budget import optimizer, scenarios
from mktdash.budget.curves import ResponseCurves
from mktdash.budget.optimizer import InfeasibleBudget, allocation_bounds, optimize, recommend, split_campaigns
from mktdash.demo import world

# pymc-marketing tests/mmm/test_budget_optimizer.py::test_allocate_budget (GeometricAdstock(l_max=4),
# LogisticSaturation, 2 chains x 2 draws, num_periods=30)
LAM = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]])
BETA = np.array([[0.5, 1.0]] * 4)
ALPHA = np.array([[0.5, 0.7]] * 4)


def _pymc_marketing_curves() -> ResponseCurves:
    return ResponseCurves(
        ["channel_1", "channel_2"],
        ALPHA,
        LAM,
        np.ones_like(LAM),
        BETA,
        np.ones(2),
        saturation="logistic",
        l_max=4,
        normalize=True,
    )


def test_known_answer_of_pymc_marketing_budget_optimizer() -> None:
    res = optimize(_pymc_marketing_curves(), 100.0, horizon=30, ftol=1e-14)
    assert res.x == pytest.approx([54.78357587906867, 45.21642412093133], abs=2e-3)
    assert res.utility == pytest.approx(48.8, rel=1e-2, abs=1e-2)


def test_known_answer_with_bounds() -> None:
    res = optimize(_pymc_marketing_curves(), 100.0, np.zeros(2), np.array([50.0, 50.0]), horizon=30)
    assert res.x == pytest.approx([50.0, 50.0], abs=1e-9)


def test_curves_match_the_demo_truth_formulas() -> None:
    truth = {"channels": world.TRUE_CURVES}
    c = ResponseCurves.hill_truth(world.TRUE_CURVES, l_max=200)
    spend = {
        "search": 60_000.0,
        "social": 30_000.0,
        "display": 20_000.0,
        "video": 15_000.0,
        "shopping": 20_000.0,
    }
    x = np.array([spend[ch] for ch in c.channels])
    assert c.response(x).sum() == pytest.approx(world.steady_state_revenue(spend, truth), rel=1e-9)
    rng = np.random.default_rng(3)
    path = pd.DataFrame(rng.uniform(0, 80_000, (30, 5)), columns=c.channels)
    expect = world.true_contributions(path, truth).to_numpy()
    assert c.series(path.to_numpy())[0] == pytest.approx(expect, rel=1e-9)


def test_marginal_is_the_derivative() -> None:
    for sat in ("logistic", "hill"):
        c = ResponseCurves(
            ["a", "b"],
            ALPHA[:2],
            LAM[:2] + 1,
            np.full((2, 2), 0.8),
            BETA[:2] * 1000,
            np.array([50.0, 80.0]),
            saturation=sat,
            l_max=6,
            normalize=(sat == "logistic"),
        )
        x, h = np.array([40.0, 70.0]), 1e-4
        num = (c.response(x + h) - c.response(x - h)) / (2 * h)
        assert c.marginal(x) == pytest.approx(num, rel=1e-5)


def test_optimizer_matches_brute_force_grid_on_true_curves() -> None:
    ch = {k: world.TRUE_CURVES[k] for k in ("search", "video")}
    c = ResponseCurves.hill_truth(ch)
    total = 100_000.0
    grid = np.linspace(0, total, 20_001)
    rev = [c.response(np.array([g, total - g])).sum() for g in grid]
    best = grid[int(np.argmax(rev))]
    res = optimize(c, total, x0=np.array([80_000.0, 20_000.0]))
    assert res.x[0] == pytest.approx(best, abs=10.0)
    assert res.x.sum() == pytest.approx(total)


def test_allocation_bounds_known_values_and_infeasible() -> None:
    names = ["a", "b", "c"]
    cur = np.array([50.0, 30.0, 20.0])
    lo, hi = allocation_bounds(
        names, cur, 200.0, max_change=0.3, max_share=0.5, floors={"c": 60.0}, caps={"b": 70}
    )
    # pro rata base at a total of 200: 100, 60, 40; the floor of c lifts both of its bounds to 60
    assert lo.tolist() == pytest.approx([70.0, 42.0, 60.0])
    assert hi.tolist() == pytest.approx([100.0, 70.0, 60.0])
    with pytest.raises(InfeasibleBudget, match=r"the floor of a \(90\) is above its cap \(80\)"):
        allocation_bounds(names, cur, 100.0, floors={"a": 90.0}, caps={"a": 80.0})
    c = ResponseCurves.hill_truth({n: world.TRUE_CURVES["search"] for n in names})
    with pytest.raises(InfeasibleBudget, match="cannot add up"):
        optimize(c, 100.0, np.zeros(3), np.full(3, 20.0))


def test_recommend_respects_every_constraint() -> None:
    c = ResponseCurves.hill_truth(world.TRUE_CURVES)
    current = world.CURRENT_SPEND
    rec = recommend(
        c, current, max_change=0.3, max_share=0.45, floors={"video": 13_000.0}, caps={"social": 30_000}
    )
    cur = np.array([current[k] for k in c.channels])
    x = rec.recommended
    assert x.sum() == pytest.approx(cur.sum(), rel=1e-9)
    assert (x >= cur * 0.7 - 1e-6).all() and (x <= cur * 1.3 + 1e-6).all()
    assert x.max() <= 0.45 * cur.sum() + 1e-6
    assert x[c.channels.index("video")] >= 13_000.0 - 1e-6
    assert x[c.channels.index("social")] <= 30_000.0 + 1e-6
    assert rec.uplift()["uplift_mean"] > 0
    t = rec.table()
    assert list(t.columns[:7]) == optimizer.EXPORT_COLUMNS


def test_recommendation_reaches_the_demo_oracle_within_max_change() -> None:
    """The truth's own optimum within ±30% (world.optimal_allocation) is matched on the true curves."""
    truth = {"channels": world.TRUE_CURVES}
    c = ResponseCurves.hill_truth(world.TRUE_CURVES)
    rec = recommend(c, world.CURRENT_SPEND, max_change=0.3, max_share=None)
    oracle = world.optimal_allocation(dict(world.CURRENT_SPEND), truth, 0.3)
    got = dict(zip(c.channels, rec.recommended, strict=True))
    assert world.steady_state_revenue(got, truth) >= world.steady_state_revenue(oracle, truth) * (1 - 1e-6)


def test_risk_averse_utility_moves_money_away_from_uncertain_channel() -> None:
    rng = np.random.default_rng(0)
    s = 400
    beta = np.column_stack(
        [np.full(s, 100.0), rng.lognormal(np.log(100.0), 0.6, s)]
    )  # b: same-ish mean, risky
    beta[:, 1] *= 100.0 / beta[:, 1].mean()
    c = ResponseCurves(
        ["a", "b"],
        np.zeros((s, 2)),
        np.ones((s, 2)),
        np.full((s, 2), 50.0),
        beta,
        np.ones(2),
        saturation="hill",
        l_max=1,
        normalize=False,
    )
    mean = optimize(c, 100.0, risk="mean")
    careful = optimize(c, 100.0, risk="mean_minus_risk", risk_lambda=2.0)
    q = optimize(c, 100.0, risk="quantile", risk_quantile=0.1)
    assert mean.x == pytest.approx([50.0, 50.0], abs=0.5)
    assert careful.x[1] < mean.x[1] - 5 and q.x[1] < mean.x[1] - 5
    # the quantile optimum is at least as good as the mean optimum by its own yardstick
    assert (
        optimizer.utility_of(c, q.x, "quantile", risk_quantile=0.1)
        >= optimizer.utility_of(c, mean.x, "quantile", risk_quantile=0.1) - 1e-9
    )


def test_speed_100_channels() -> None:
    rng = np.random.default_rng(1)
    s, n = 200, 100
    c = ResponseCurves(
        [f"c{i}" for i in range(n)],
        rng.uniform(0.1, 0.6, (s, n)),
        rng.uniform(1.0, 2.0, (s, n)),
        np.ones((s, n)),
        rng.uniform(50, 150, (s, n)),
        rng.uniform(500, 1500, n),
        saturation="logistic",
        l_max=8,
    )
    current = {f"c{i}": v for i, v in enumerate(rng.uniform(200, 2000, n))}
    t0 = time.perf_counter()
    rec = recommend(c, current, max_change=0.3)
    assert time.perf_counter() - t0 < 5.0
    assert rec.recommended.sum() == pytest.approx(sum(current.values()), rel=1e-9)
    assert rec.result is not None and rec.result.success


def test_split_campaigns_sums_to_channel_amount() -> None:
    cam = pd.DataFrame(
        {
            "channel": ["a", "a", "a", "b"],
            "campaign_name": ["x", "y", "z", "w"],
            "spend": [10.0, 10.0, 20.0, 5.0],
            "value": [40.0, 20.0, 0.0, 0.0],
        }
    )
    out = split_campaigns({"a": 90.0, "b": 7.0}, cam)
    assert out.groupby("channel")["recommended_weekly_spend"].sum().to_dict() == pytest.approx(
        {"a": 90.0, "b": 7.0}
    )
    assert out.set_index("campaign_name")["recommended_weekly_spend"]["x"] == pytest.approx(60.0)


def test_scenarios_monotone_and_flighting() -> None:
    c = ResponseCurves.hill_truth(world.TRUE_CURVES)
    df = scenarios.budget_scenarios(
        c, world.CURRENT_SPEND, (-0.3, 0.0, 0.5), flighting=world.HISTORY_SPEND, max_change=0.3
    )
    opt = df[df["kind"] == "optimised"].sort_values("total_weekly_spend")
    assert opt["expected_revenue"].is_monotonic_increasing
    pro = df[df["kind"] == "pro rata"].set_index("scenario")["expected_revenue"]
    assert (opt.set_index("total_weekly_spend")["expected_revenue"].to_numpy() >= pro.to_numpy() - 1e-6).all()
    flight = df[df["kind"] == "fixed plan"].iloc[0]
    assert flight["total_weekly_spend"] == pytest.approx(sum(world.HISTORY_SPEND.values()))


def test_widget_recomputes_fast_without_refit() -> None:
    from mktdash.budget import widgets
    from mktdash.params import Settings

    c = ResponseCurves.hill_truth(world.TRUE_CURVES)
    model = SimpleNamespace(
        curves=c,
        current=dict(world.CURRENT_SPEND),
        currency="USD",
        current_array=np.array([world.CURRENT_SPEND[k] for k in c.channels]),
    )
    app = widgets.BudgetDashboard(model, Settings())
    app.total.value = 120_000.0
    assert app.last["recommendation"].total == pytest.approx(120_000.0)
    app.caps["search"].value = 60_000.0
    res = app.last
    assert res["table"].set_index("channel")["recommended_weekly_spend"]["search"] <= 60_000.0 + 1e-6
    assert res["seconds"] < 1.0
    static = widgets.dashboard(model, Settings(), "static")
    assert "Recommendation at the current total" in static.tables


@pytest.mark.parametrize("risk", ["mean", "mean_minus_risk", "quantile"])
def test_projected_gradient_agrees_with_slsqp(risk: str) -> None:
    rng = np.random.default_rng(5)
    s, n = 100, 15
    c = ResponseCurves(
        [f"c{i}" for i in range(n)],
        rng.uniform(0.1, 0.6, (s, n)),
        rng.uniform(1.0, 2.0, (s, n)),
        np.ones((s, n)),
        rng.uniform(50, 150, (s, n)),
        rng.uniform(500, 1500, n),
        l_max=8,
    )
    cur = rng.uniform(200, 2000, n)
    lo, hi = allocation_bounds(c.channels, cur, cur.sum(), max_change=0.5)
    a = optimize(c, cur.sum(), lo, hi, x0=cur, method="slsqp", risk=risk)
    b = optimize(c, cur.sum(), lo, hi, x0=cur, method="projected_gradient", risk=risk)
    assert b.x.sum() == pytest.approx(cur.sum(), rel=1e-9)
    assert (b.x >= lo - 1e-6).all() and (b.x <= hi + 1e-6).all()
    tol = 1e-6 if risk != "quantile" else 2e-3  # the quantile utility is only piecewise smooth
    assert b.utility == pytest.approx(a.utility, rel=tol)
