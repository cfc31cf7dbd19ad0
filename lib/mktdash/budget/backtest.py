"""Rolling-origin backtest of the weekly revenue forecast: ours (the MMM) vs seasonal naive vs AutoETS.

The model is fitted once on the weeks before the first origin (:func:`mktdash.budget.mmm.truncated`), so no
forecast sees the weeks it predicts. From each origin ``o`` (the last known week) every method forecasts the
next ``h`` weeks (``HORIZONS``: 4 and 13):

* **ours**: :mod:`mktdash.budget.forecast`'s rule. Baseline = the same week one year earlier plus a year of
  linear trend (the recent level when there is no such week); the baseline of a week is the model's fitted
  non-media revenue over the weeks it was fitted on and actual revenue minus the model's media revenue after
  them (the origin's knowledge). Media = the posterior mean of the curves run over the actual spend (spend is
  planned, so it is known ahead).
* **seasonal naive**: the revenue of the same week one year earlier (the last known week without one).
* **AutoETS**: statsforecast's automatic exponential smoothing (season 52 weeks) on the revenue up to the
  origin; left out when statsforecast is not installed.

MASE (per method and horizon) = mean absolute error over the ``h`` weeks, averaged over origins, divided by the
in-sample mean absolute one-week change of revenue up to the origin (the non-seasonal naive's error: a
MASE below 1 beats "next week = this week" in-sample).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mktdash.budget import mmm
from mktdash.budget.curves import ResponseCurves

HORIZONS = (4, 13)
SEASON = 52


def baseline_and_media(
    fm: mmm.FittedMmm, data: mmm.MmmData, curves: ResponseCurves
) -> tuple[np.ndarray, np.ndarray]:
    """Per week of ``data``: non-media revenue (fitted over the model's weeks, actual minus media after) and
    the model's media revenue (posterior mean) on the actual spend."""
    media = curves.series(data.spend[curves.channels].to_numpy(dtype=float)).sum(axis=2).mean(axis=0)
    y = data.frame[data.target].to_numpy(dtype=float)
    base = y - media
    n_fit = len(fm.data.frame)
    base[:n_fit] = mmm.baseline(fm)
    return base, media


def seasonal_ahead(history: np.ndarray, h: int, trend: bool = False) -> np.ndarray:
    """The next ``h`` values: the value one season earlier (+ a season of linear trend when ``trend``); the
    mean of the last 4 values where there is none.

    >>> seasonal_ahead(np.arange(60.0), 2).tolist()
    [8.0, 9.0]
    """
    n = len(history)
    slope = float(np.polyfit(np.arange(n), history, 1)[0]) if trend and n > 2 else 0.0
    recent = float(history[-4:].mean())
    return np.array(
        [history[n + j - SEASON] + slope * SEASON if n + j - SEASON >= 0 else recent for j in range(h)]
    )


def _autoets() -> Callable[[np.ndarray, int], np.ndarray] | None:
    try:
        from statsforecast.models import AutoETS
    except ImportError:
        return None

    def run(y: np.ndarray, h: int) -> np.ndarray:
        season = SEASON if len(y) >= 2 * SEASON else 1
        return np.asarray(AutoETS(season_length=season).fit(y).predict(h)["mean"], dtype=float)

    return run


def backtest(
    fm: mmm.FittedMmm,
    data: mmm.MmmData,
    *,
    horizons: Sequence[int] = HORIZONS,
    step: int = 1,
    curve_samples: int = 200,
    autoets: bool = True,
) -> pd.DataFrame:
    """MASE per method and horizon over rolling origins from the model's last fitted week (``fm`` fitted on a
    prefix of ``data``). Columns: ``method, horizon, mase, mae, origins``."""
    n_fit, n = len(fm.data.frame), len(data.frame)
    if n_fit >= n:
        raise mmm.MmmError("the backtest needs a model fitted on fewer weeks than the data (mmm.truncated)")
    curves = fm.curves(curve_samples)
    base, media = baseline_and_media(fm, data, curves)
    y = data.frame[data.target].to_numpy(dtype=float)
    ets = _autoets() if autoets else None
    methods: dict[str, Callable[[int, int], np.ndarray]] = {
        "ours (MMM)": lambda o, h: seasonal_ahead(base[: o + 1], h, trend=True) + media[o + 1 : o + 1 + h],
        "seasonal naive": lambda o, h: seasonal_ahead(y[: o + 1], h),
    }
    if ets is not None:
        methods["AutoETS (statsforecast)"] = lambda o, h: ets(y[: o + 1], h)
    return score(y, n_fit - 1, methods, horizons, step)


def score(
    y: np.ndarray,
    first_origin: int,
    methods: dict[str, Callable[[int, int], np.ndarray]],
    horizons: Sequence[int] = HORIZONS,
    step: int = 1,
) -> pd.DataFrame:
    """MASE and MAE per method and horizon; ``methods[name](origin, h)`` forecasts ``y[origin + 1 : origin + 1 + h]``.

    >>> y = np.arange(120.0)  # a straight line: seasonal naive is 52 off every week; one-week changes are 1
    >>> score(y, 80, {"seasonal naive": lambda o, h: seasonal_ahead(y[: o + 1], h)}, (4,))["mase"].tolist()
    [52.0]
    """
    rows: list[dict[str, Any]] = []
    for h in horizons:
        origins = list(range(first_origin, len(y) - h, step))
        for name, f in methods.items():
            mase, mae = [], []
            for o in origins:
                err = float(np.abs(y[o + 1 : o + 1 + h] - f(o, h)).mean())
                scale = float(np.abs(np.diff(y[: o + 1])).mean())
                mae.append(err)
                mase.append(err / scale if scale > 0 else np.nan)
            rows.append({"method": name, "horizon": h, "mase": float(np.mean(mase)) if mase else np.nan,
                         "mae": float(np.mean(mae)) if mae else np.nan, "origins": len(origins)})  # fmt: skip
    return pd.DataFrame(rows)
