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
    doy = (dates.dayofyear.to_numpy() - 1) / 365.25
    base = 300_000.0 + 300.0 * t + 15_000 * np.sin(2 * np.pi * doy) - 10_000 * np.cos(2 * np.pi * doy)
    frame["trend"] = np.linspace(0.0, 1.0, weeks)
    frame["revenue"] = base + contrib.sum(axis=1).to_numpy() + rng.normal(0, noise_sd, weeks)
    data = MmmData(frame, list(curves), ["trend"], "revenue", "synthetic")
    return data, {"channels": curves, "contribution": contrib, "curves": truth}
