"""Forecast the next 4-13 weeks of spend and revenue under the plan and under the recommendation.

revenue_t = baseline_t + media_t + noise_t where
* baseline_t: the fitted non-media part (intercept, trend, season, events) of the same ISO week one year
  earlier, shifted by the fitted trend over the year (seasonal-naive on the model's own baseline);
* media_t: the posterior curves run through time-resolved adstock, carrying over the last ``l_max`` weeks of
  actual spend, so the transition from the current to the new allocation is part of the forecast;
* noise_t: the fitted observation noise. Intervals are 90% over posterior samples x noise draws.

Weekly plan spend comes from ``budget_plan`` (month x channel, spread evenly over the month's days); months
without a plan use the current weekly allocation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mktdash import weeks
from mktdash.budget.curves import ResponseCurves


def plan_weekly(
    plan: pd.DataFrame, channels: list[str], start_week: str, n_weeks: int, fallback: Mapping[str, float]
) -> pd.DataFrame:
    """Weekly planned spend (rows = ISO weeks from ``start_week``, columns = channels)."""
    p = plan[plan["campaign_name"].isna()].copy() if "campaign_name" in plan else plan.copy()
    p["month"] = pd.to_datetime(p["month"]).dt.to_period("M")
    monthly = p.groupby(["month", "channel"])["planned_spend"].sum()
    rows = []
    for i in range(n_weeks):
        wk = weeks.shift(start_week, i)
        days = pd.date_range(weeks.monday(wk), periods=7)
        row: dict[str, Any] = {"week": wk}
        for c in channels:
            total = 0.0
            for d in days:
                m = d.to_period("M")
                if (m, c) in monthly.index:
                    total += monthly[(m, c)] / d.days_in_month
                else:
                    total += fallback.get(c, 0.0) / 7.0
            row[c] = total
        rows.append(row)
    return pd.DataFrame(rows)


def forecast(
    fm: Any,
    curves: ResponseCurves,
    paths_by_name: Mapping[str, pd.DataFrame],
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Weekly revenue forecast per spend path (``{"plan": frame, "recommended": frame}``, frames with ``week``
    and one column per channel). Returns long rows: ``scenario, week, spend, revenue_mean, revenue_lower_90,
    revenue_upper_90, media_revenue_mean``."""
    from mktdash.budget import mmm as mmm_mod

    data = fm.data
    base_hist = mmm_mod.baseline(fm)
    dates = pd.to_datetime(data.frame["date"])
    hist_weeks = [weeks.of(d.date()) for d in dates]
    n = len(hist_weeks)
    trend_per_week = (np.polyfit(np.arange(n), base_hist, 1)[0]) if n > 2 else 0.0
    sd = mmm_mod.residual_sd(fm)
    history = data.spend[curves.channels].to_numpy(dtype=float)[-curves.l_max :]
    rng = np.random.default_rng(seed)
    out = []
    for name, path in paths_by_name.items():
        spend = path[curves.channels].to_numpy(dtype=float)
        media = curves.series(spend, history).sum(axis=2)  # (S, H)
        last_year = [weeks.shift(wk, -52) for wk in path["week"]]
        recent = float(base_hist[-4:].mean())
        # last year's fitted baseline for the same ISO week plus one year of fitted trend; else the recent level
        base_arr = np.array(
            [
                base_hist[hist_weeks.index(ly)] + trend_per_week * 52 if ly in hist_weeks else recent
                for ly in last_year
            ]
        )
        draws = base_arr[None, :] + media + rng.normal(0.0, sd, size=media.shape)
        for j, wk in enumerate(path["week"]):
            out.append(
                {
                    "scenario": name,
                    "week": wk,
                    "spend": float(spend[j].sum()),
                    "revenue_mean": float(draws[:, j].mean()),
                    "revenue_lower_90": float(np.quantile(draws[:, j], 0.05)),
                    "revenue_upper_90": float(np.quantile(draws[:, j], 0.95)),
                    "media_revenue_mean": float(media[:, j].mean()),
                }
            )
    return pd.DataFrame(out)


def summary(fc: pd.DataFrame) -> pd.DataFrame:
    """Totals over the horizon per scenario."""
    g = fc.groupby("scenario", as_index=False).agg(
        weeks=("week", "count"),
        spend=("spend", "sum"),
        revenue=("revenue_mean", "sum"),
        media_revenue=("media_revenue_mean", "sum"),
    )
    g["media_roas"] = g["media_revenue"] / g["spend"]
    return g
