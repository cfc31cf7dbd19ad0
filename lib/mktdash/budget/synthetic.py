"""A tiny weekly MMM world from known curves (for tests and as the benchmark's fallback).

Same formulas as the demo world (docs/contracts.md): contribution ``beta * x^S / (x^S + K^S)`` with
``x_t = spend_t + decay * x_{t-1}``, plus a baseline with trend and yearly seasonality and Gaussian noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mktdash.budget.curves import ResponseCurves
from mktdash.budget.mmm import MmmData

CURVES: dict[str, dict[str, float]] = {
    "search": {"decay": 0.25, "half_saturation": 50_000.0, "shape": 1.4, "beta": 160_000.0},
    "social": {"decay": 0.40, "half_saturation": 55_000.0, "shape": 1.3, "beta": 170_000.0},
    "display": {"decay": 0.30, "half_saturation": 22_000.0, "shape": 1.1, "beta": 34_000.0},
}
SPEND = {"search": 48_000.0, "social": 32_000.0, "display": 14_000.0}


def simulate(
    weeks: int = 80,
    seed: int = 1,
    curves: dict[str, dict[str, float]] | None = None,
    spend: dict[str, float] | None = None,
    noise_sd: float = 8_000.0,
) -> tuple[MmmData, dict[str, Any]]:
    """Weekly data (:class:`MmmData`) and its truth (``{"channels": curves, "contribution": DataFrame}``)."""
    curves = curves or CURVES
    spend = spend or SPEND
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=weeks, freq="W-MON")
    frame = pd.DataFrame({"date": dates})
    contrib = pd.DataFrame(index=frame.index)
    truth = ResponseCurves.hill_truth(curves, l_max=weeks)
    for c in curves:
        level = spend[c] * np.exp(np.cumsum(rng.normal(0, 0.12, weeks)) * 0.5)
        frame[c] = np.maximum(level * rng.lognormal(0, 0.25, weeks), 0.0)
    contrib_arr = truth.series(frame[list(curves)].to_numpy())[0]
    for j, c in enumerate(curves):
        contrib[c] = contrib_arr[:, j]
    t = np.arange(weeks)
    doy = (dates.day_of_year.to_numpy() - 1) / 365.25
    base = 300_000.0 + 300.0 * t + 15_000 * np.sin(2 * np.pi * doy) - 10_000 * np.cos(2 * np.pi * doy)
    frame["trend"] = np.linspace(0.0, 1.0, weeks)
    frame["revenue"] = base + contrib.sum(axis=1).to_numpy() + rng.normal(0, noise_sd, weeks)
    data = MmmData(frame, list(curves), ["trend"], "revenue", "synthetic")
    return data, {"channels": curves, "contribution": contrib, "curves": truth}


def confounded(
    weeks: int = 104,
    seed: int = 1,
    channel: str = "search",
    strength: float = 0.5,
    demand_revenue: float = 60_000.0,
    noise_sd: float = 8_000.0,
    proxy_noise: float | None = 0.5,
) -> tuple[MmmData, dict[str, Any]]:
    """A world where an unobserved demand driver moves both ``channel``'s spend and revenue.

    The driver ``z`` is a standardized AR(1) series (0.85 week to week). Spend of ``channel`` is multiplied by
    ``exp(strength x z)`` (budgets follow demand, as search does) and revenue gets ``demand_revenue x z``; the
    model sees neither ``z`` nor its effect, so a plain MMM credits the channel with the demand's revenue.
    What it can see, as real advertisers can (brand/organic search sessions in GA4, a category demand index), is
    a noisy proxy: control column ``demand_index`` = ``z`` + Gaussian noise of sd ``proxy_noise`` (0.5: a
    correlation of ~0.9 with ``z``; None: no proxy). Truth as :func:`simulate`, plus ``truth["demand"]`` (the
    driver) and ``truth["confounded"]``.
    """
    data, truth = simulate(weeks, seed, noise_sd=noise_sd)
    rng = np.random.default_rng(seed + 10_000)
    z = np.zeros(weeks)
    for t in range(1, weeks):
        z[t] = 0.85 * z[t - 1] + rng.normal(0.0, 1.0)
    z = (z - z.mean()) / z.std()
    frame = data.frame.copy()
    frame[channel] = frame[channel] * np.exp(strength * z)
    curves: ResponseCurves = truth["curves"]
    contrib = curves.series(frame[data.channels].to_numpy())[0]
    old = truth["contribution"].to_numpy()
    frame["revenue"] = frame["revenue"] - old.sum(axis=1) + contrib.sum(axis=1) + demand_revenue * z
    truth["contribution"] = pd.DataFrame(contrib, columns=data.channels)
    truth["demand"] = z
    truth["confounded"] = channel
    controls = list(data.controls)
    if (
        proxy_noise is not None
    ):  # its own generator: the world (spend, revenue) is the same with or without it
        frame["demand_index"] = z + np.random.default_rng(seed + 20_000).normal(0.0, proxy_noise, weeks)
        controls.append("demand_index")
    return MmmData(frame, data.channels, controls, "revenue", "synthetic_confounded"), truth


def true_roi(truth: dict[str, Any], data: MmmData) -> dict[str, float]:
    """Each channel's true ROI over the data: true contribution / spend."""
    c = truth["contribution"]
    return {ch: float(c[ch].sum() / data.frame[ch].sum()) for ch in data.channels}


def plant_lift_test(
    data: MmmData,
    truth: dict[str, Any],
    channel: str,
    *,
    start_week: int = -12,
    n_weeks: int = 4,
    cut: float = 1.0,
    se_share: float = 0.1,
    seed: int = 0,
    cooldown: int = 8,
) -> tuple[MmmData, dict[str, Any]]:
    """Run a holdout on ``channel``: spend cut by ``cut`` for ``n_weeks`` from week ``start_week`` (added to the
    data's lift tests: plant one per channel for a world whose every channel was tested).

    ``cut=1.0`` (the default) is the standard incrementality design, a go-dark holdout (the ads off in the test
    cells, as Meta/Google conversion lift and geo holdouts): the test then measures the channel's whole
    incremental revenue at its spend; a partial cut (0.5: spend halved) measures only the top of the curve.

    The data's spend and revenue are changed by the true effect of the cut (curves with carry-over); the
    experiment reports the true incremental revenue over the test weeks and the ``cooldown`` weeks after them
    (the carry-over a well-designed test measures) plus noise of sd ``se_share`` x |lift| (its standard
    error), as a ``lift_tests`` row. ``truth["lift_tests"]`` keeps the true lift.
    """
    frame = data.frame.copy()
    i0 = start_week % len(frame)
    weeks_idx = np.arange(i0, i0 + n_weeks)
    curves: ResponseCurves = truth["curves"]
    before = curves.series(frame[data.channels].to_numpy())[0]
    j = data.channels.index(channel)
    removed = frame.loc[weeks_idx, channel].to_numpy() * cut
    frame.loc[weeks_idx, channel] -= removed
    after = curves.series(frame[data.channels].to_numpy())[0]
    effect = after.sum(axis=1) - before.sum(axis=1)  # carry-over after the test included
    frame["revenue"] = frame["revenue"] + effect
    lift = float(effect[i0 : i0 + n_weeks + cooldown].sum())  # the test weeks and the cool-down after them
    se = se_share * abs(lift)
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(frame["date"].iloc[i0])
    row = {
        "channel": channel,
        "start_date": start,
        "end_date": start + pd.Timedelta(days=7 * n_weeks - 1),
        "spend_change": -float(removed.sum()),
        "incremental": lift + float(rng.normal(0.0, se)),
        "incremental_se": se,
        "metric": "revenue",
        "source": "planted holdout",
    }
    tests = pd.concat([t for t in (data.lift_tests, pd.DataFrame([row])) if t is not None], ignore_index=True)
    new_truth = {**truth, "contribution": pd.DataFrame(after, columns=data.channels)}
    new_truth["lift_tests"] = [
        *truth.get("lift_tests", []),
        {**row, "true_incremental": lift, "channel_index": j},
    ]
    out = MmmData(frame, data.channels, data.controls, data.target, data.source, tests)
    return out, new_truth
