"""Feasible by construction, "hold" when unsure, the horizon objective: known answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mktdash.budget import feasibility
from mktdash.budget.curves import ResponseCurves
from mktdash.budget.feasibility import InfeasibleBudget, Limits, relax
from mktdash.budget.optimizer import evidence, recommend
from mktdash.demo import world

CH = ["search", "social", "display"]


def _truth(names: list[str]) -> ResponseCurves:
    return ResponseCurves.hill_truth({n: world.TRUE_CURVES[n] for n in names})


def test_dominant_channel_relaxes_max_share_by_the_exact_amount() -> None:
    # search holds 80%: with ±30% the others reach at most 1.3 x 20% = 26%, so search needs 74% (not 60%)
    current = {"search": 80_000.0, "social": 12_000.0, "display": 8_000.0}
    rec = recommend(_truth(CH), current, max_change=0.3, max_share=0.6)
    assert [r.constraint for r in rec.relaxations] == ["max_share"]
    assert rec.settings["max_share"] == 0.74
    assert "from 0.6 to 0.74" in rec.relaxations[0].detail
    assert "74,000 of 100,000" in rec.relaxations[0].after
    assert "upper bounds sum to 86,000, below the total budget 100,000" in rec.relaxations[0].detail
    x = rec.recommended
    assert x.sum() == pytest.approx(100_000.0)
    assert x[0] <= 74_000.0 + 1e-6 and x[1] <= 15_600.0 + 1e-6 and x[2] <= 10_400.0 + 1e-6
    assert x[0] >= 56_000.0 - 1e-6  # max_change still holds: it was not relaxed


def test_no_relaxation_when_the_limits_hold() -> None:
    current = {"search": 50_000.0, "social": 30_000.0, "display": 20_000.0}
    rec = recommend(_truth(CH), current, max_change=0.3, max_share=0.6)
    assert rec.relaxations == [] and rec.settings["max_share"] == 0.6


def test_strict_error_names_the_binding_limit_with_real_numbers() -> None:
    current = {"search": 0.5, "social": 0.5, "display": 0.5}
    with pytest.raises(InfeasibleBudget, match=r"lower bounds sum to 1\.65, above the total budget 1\.5"):
        recommend(
            _truth(CH), current, max_change=None, floors={"search": 0.75, "social": 0.9}, relax_order=None
        )


def test_later_limits_kept_as_tight_as_possible() -> None:
    # floors 50+50 and a search cap of 10 on a total of 90: floors must come down to 45 each once max_share and
    # max_change are gone (search's lower bound falls to 0); the cap of 10 stays, max_change goes to 1
    lim = Limits(max_change=0.3, max_share=0.6, floors={"social": 50, "display": 50}, caps={"search": 10})
    final, notes = relax(CH, np.array([80.0, 10.0, 10.0]), 90.0, lim)
    assert final.floors == {"social": 45.0, "display": 45.0}
    assert final.caps == {"search": 10} and final.max_share == 0.6 and final.max_change == 1.0
    assert [n.constraint for n in notes] == ["max_change", "floors"]
    assert notes[1].before == "social 50, display 50" and notes[1].after == "social 45, display 45"


def test_floor_above_cap_raises_the_cap_and_spend_limits_come_last() -> None:
    lim = Limits(
        max_change=None, floors={"search": 90.0}, caps={"search": 80.0}, spend_limits={"social": 5.0}
    )
    final, notes = relax(CH, np.array([60.0, 20.0, 20.0]), 100.0, lim)
    assert final.caps == {"search": 90.0} and final.floors == {"search": 90.0}
    assert final.spend_limits == {"social": 5.0}
    assert [n.constraint for n in notes] == ["caps"]
    # a spend limit is relaxed only when nothing else helps: two limits summing to 60 of a total of 100
    lim = Limits(max_change=0.3, spend_limits={"search": 30.0, "social": 20.0, "display": 10.0})
    final, notes = relax(CH, np.array([60.0, 20.0, 20.0]), 100.0, lim)
    assert [n.constraint for n in notes] == ["max_change", "spend_limits"]
    assert sum(final.spend_limits.values()) == pytest.approx(100.0)


def test_bad_limits_and_totals_are_named() -> None:
    with pytest.raises(InfeasibleBudget, match="budget.max_share is -0.1"):
        Limits(max_share=-0.1)
    with pytest.raises(InfeasibleBudget, match="caps of social is -5"):
        Limits(caps={"social": -5})
    with pytest.raises(InfeasibleBudget, match="total weekly budget is -1.0"):
        relax(CH, np.ones(3), -1.0, Limits())
    with pytest.raises(ValueError, match=r"budget.relax_order names \['share'\]"):
        relax(CH, np.ones(3), 3.0, Limits(), ("share", "caps"))


def _uncertain_curves(spread: float, n: int = 400) -> ResponseCurves:
    """Two linear-ish channels: b's beta is a's x (1 + spread x z), z standard normal (seeded)."""
    z = np.random.default_rng(3).standard_normal(n)
    beta = np.stack([np.full(n, 1000.0), 1000.0 * (1.05 + spread * z)], axis=1)
    k = np.full((n, 2), 1e6)  # half saturation far above the spend: response ~ beta * x / K (linear)
    return ResponseCurves(
        ["a", "b"], np.zeros((n, 2)), np.ones((n, 2)), k, beta, np.ones(2), "hill", 1, False
    )


def test_hold_when_the_move_is_not_backed() -> None:
    cur = {"a": 100.0, "b": 100.0}
    sure = recommend(_uncertain_curves(0.001), cur, max_change=0.3, min_confidence=0.9)
    assert not sure.hold and sure.recommended == pytest.approx([70.0, 130.0], abs=1e-3)
    c = _uncertain_curves(0.5)
    unsure = recommend(c, cur, max_change=0.3, min_confidence=0.9)
    assert unsure.hold and unsure.recommended.tolist() == [100.0, 100.0]
    assert "below budget.min_confidence = 0.90" in unsure.hold_reason
    # a's return is certain, b's is not: the experiment to run is on b, with b's sd of its revenue change
    xb, beta_b = unsure.proposal["allocation"]["b"], c.beta[:, 1]
    sd_b = float((beta_b * (xb / (xb + 1e6) - 100.0 / (100.0 + 1e6))).std())
    assert (
        f"Most of the doubt is in b (its revenue change has sd {float(f'{sd_b:.3g}')} a week)"
        in unsure.hold_reason
    )
    assert "go-dark holdout on b" in unsure.hold_reason
    # the proposal the model did not back is kept with its evidence: P(b's beta > a's) at the seeded draws
    assert unsure.proposal["prob_positive"] == pytest.approx(float((c.beta[:, 1] > c.beta[:, 0]).mean()))
    assert unsure.proposal["prob_positive"] < 0.9 and unsure.proposal["allocation"]["b"] > 100.0


def _linear(beta_a: float, beta_b: float) -> ResponseCurves:
    """Two linear channels (one sample): revenue = beta x spend / 1e6."""
    beta = np.array([[beta_a, beta_b]])
    return ResponseCurves(["a", "b"], np.zeros((1, 2)), np.ones((1, 2)), np.full((1, 2), 1e6), beta,
                          np.ones(2), "hill", 1, False)  # fmt: skip


def test_hold_when_the_model_before_calibration_disagrees_on_the_direction() -> None:
    cur = {"a": 100.0, "b": 100.0}
    calibrated, agrees, disagrees = _linear(1000.0, 2000.0), _linear(1000.0, 1500.0), _linear(2000.0, 1000.0)
    moved = recommend(calibrated, cur, max_change=0.3, min_confidence=0.9, reference=agrees)
    assert not moved.hold and moved.recommended == pytest.approx([70.0, 130.0], abs=1e-3)
    held = recommend(calibrated, cur, max_change=0.3, min_confidence=0.9, reference=disagrees)
    assert held.hold and held.recommended.tolist() == [100.0, 100.0]
    assert "without calibration expects this move to lose revenue (P(uplift > 0) = 0.00)" in held.hold_reason
    assert held.proposal["allocation"]["b"] == pytest.approx(130.0, abs=1e-3)  # the proposal is still shown
    # without min_confidence there is no hold rule at all (the optimizer's raw answer)
    assert not recommend(calibrated, cur, max_change=0.3, reference=disagrees).hold


def test_hold_when_the_move_leaves_the_observed_spend_range() -> None:
    cur = {"a": 100.0, "b": 100.0}
    c = _linear(1000.0, 2000.0)
    inside = recommend(c, cur, max_change=0.3, min_confidence=0.9, observed={"a": (50, 150), "b": (50, 150)})
    assert not inside.hold
    outside = recommend(c, cur, max_change=0.3, min_confidence=0.9, observed={"a": (50, 150), "b": (50, 120)})
    assert outside.hold and outside.recommended.tolist() == [100.0, 100.0]
    assert "b: 130 outside the weekly spend seen in the data (50 .. 120)" in outside.hold_reason


def test_hold_and_horizon_params_are_checked() -> None:
    c = _uncertain_curves(0.1)
    with pytest.raises(ValueError, match="budget.min_confidence is 1.5: set a probability between 0 and 1"):
        recommend(c, {"a": 1.0, "b": 1.0}, min_confidence=1.5)
    with pytest.raises(ValueError, match="budget.horizon_weeks is 0"):
        recommend(c, {"a": 1.0, "b": 1.0}, horizon_weeks=0)


def test_hold_when_uplift_is_smaller_than_its_sd() -> None:
    ev = evidence(np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -6.0]))  # P = 0.9, mean 0.3, sd 2.1
    from mktdash.budget.optimizer import hold_reason

    assert ev["prob_positive"] == pytest.approx(0.9) and ev["uplift_sd"] == pytest.approx(2.1)
    assert "not larger than its uncertainty" in hold_reason(ev, 0.9)


def test_long_horizon_approaches_the_steady_state() -> None:
    c = _truth(["search", "video"])  # decays 0.2 .. 0.5: carry-over matters
    x = np.array([40_000.0, 15_000.0])
    steady = c.response(x)[0]
    long = c.horizon_response(x, 400, current=x)[0]
    longer = c.horizon_response(x, 800, current=x)[0]
    # the tail after the horizon adds at most l_max weeks of carry-over: its weight halves as the horizon doubles
    assert long == pytest.approx(steady, rel=5e-3)
    assert (np.abs(longer - steady) < 0.6 * np.abs(long - steady)).all()
    # from zero adstock it is pymc-marketing's flight objective (num_periods weeks + carry-over) per week
    assert c.horizon_response(x, 4).sum() == pytest.approx(c.flight_response(x, 4)[0] / 4, rel=1e-12)


def test_horizon_recommendation_is_feasible_and_reported() -> None:
    cur = dict(world.CURRENT_SPEND)
    rec = recommend(_truth(list(world.TRUE_CURVES)), cur, max_change=0.3, horizon_weeks=8)
    assert rec.settings["horizon_weeks"] == 8
    assert rec.recommended.sum() == pytest.approx(sum(cur.values()))
    assert feasibility.num(rec.recommended.sum()) == feasibility.num(sum(cur.values()))


def test_weekly_run_on_an_80_percent_world_recommends_and_says_what_it_relaxed() -> None:
    """sections.recommend with the default params (max share 60%, ±30%) on a world where search holds 80%."""
    import budget_world as bw
    import pandas as pd

    from mktdash.budget import mmm, sections

    names = list(world.TRUE_CURVES)
    current = {c: 2_500.0 for c in names}
    current["search"] = 40_000.0  # 40,000 of 50,000: 80%
    frame = pd.DataFrame({"date": pd.date_range("2026-01-05", periods=3, freq="7D"), **{c: [v] * 3 for c, v in
                          current.items()}, "revenue": [1.0] * 3})  # fmt: skip
    fm = mmm.FittedMmm(None, mmm.MmmData(frame, names, []), {})
    model = sections.BudgetModel(fm, _truth(names), current, "2026-W03")
    settings = bw.tiny_settings()
    assert settings.budget.max_share == 0.6 and settings.budget.max_change == 0.3
    rec = sections.recommend(model, settings)
    # the others reach at most 1.3 x 10,000 = 13,000, so search needs 37,000 of 50,000 = 0.74
    assert [r.constraint for r in rec.relaxations] == ["max_share"] and rec.settings["max_share"] == 0.74
    assert rec.recommended.sum() == pytest.approx(50_000.0)
    sec = sections.recommendation_section(model, rec)
    assert any("max_share relaxed from 0.6 to 0.74" in w for w in sec.warnings)
    assert (
        sec.tables["Limits relaxed"]["after"]
        .iloc[0]
        .startswith("0.74 (largest channel up to 37,000 of 50,000")
    )
    assert sec.values["limits_relaxed"] == "max_share"
