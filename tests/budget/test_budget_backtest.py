"""Forecast backtest: the scoring has known answers; AutoETS runs offline; the MMM forecast on a tiny fit."""

from __future__ import annotations

import numpy as np
import pytest

from mktdash.budget import backtest

WEEKS = np.arange(160)
SEASONAL = 1000.0 + 100.0 * np.sin(2 * np.pi * WEEKS / 52)


def _naive(y: np.ndarray):
    return {"seasonal naive": lambda o, h: backtest.seasonal_ahead(y[: o + 1], h)}


def test_seasonal_naive_is_exact_on_a_pure_season() -> None:
    t = backtest.score(SEASONAL, 110, _naive(SEASONAL), (4, 13))
    assert t["mase"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert t["origins"].tolist() == [160 - 4 - 110, 160 - 13 - 110]


def test_mase_scales_by_the_in_sample_one_week_change() -> None:
    y = SEASONAL + 5.0 * WEEKS  # a season plus a trend of 5 a week: seasonal naive is 260 short every week
    t = backtest.score(y, 120, _naive(y), (4,))
    expect = np.mean([260.0 / np.abs(np.diff(y[: o + 1])).mean() for o in range(120, 156)])
    assert t["mase"].iloc[0] == pytest.approx(expect, rel=1e-12)
    # with the trend: ours' baseline rule (a season back plus a season of fitted slope) is exact on a line
    line = 5.0 * WEEKS + 7.0
    ahead = backtest.seasonal_ahead(line[:100], 13, trend=True)
    assert ahead == pytest.approx(line[100:113])


def test_autoets_runs_offline_when_installed() -> None:
    ets = backtest._autoets()
    if ets is None:
        pytest.skip("statsforecast is not installed (optional: it pins pandas < 3)")
    f = ets(SEASONAL[:120], 4)
    assert f.shape == (4,) and np.abs(f - SEASONAL[120:124]).max() < 50.0  # it follows the season
