"""Risk report: concentration (HHI of spend shares), ROAS volatility per channel, downside of an allocation.

* HHI = sum of squared spend shares (1/n for an even split, 1 for a single channel).
* ROAS volatility: coefficient of variation of weekly platform ROAS over recent weeks, and the posterior sd of
  the model's average ROAS at the current spend.
* Downside: the 5th percentile of weekly media revenue over the posterior, recommended vs current.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def hhi(spend: np.ndarray | pd.Series) -> float:
    """Herfindahl-Hirschman index of spend shares.

    >>> hhi(np.array([50.0, 50.0]))
    0.5
    """
    s = np.asarray(spend, dtype=float)
    tot = s.sum()
    return float(((s / tot) ** 2).sum()) if tot > 0 else float("nan")


def roas_volatility(
    weekly: pd.DataFrame, curves: Any = None, current: dict[str, float] | None = None
) -> pd.DataFrame:
    """Per channel: mean and sd of weekly ROAS (from :func:`mktdash.budget.spend.over_time`), its CV, and the
    model ROAS's posterior mean/sd at the current spend when ``curves`` are given."""
    g = weekly[weekly["spend"] > 0].groupby("channel")["roas"].agg(["mean", "std"]).reset_index()
    g = g.rename(columns={"mean": "weekly_roas_mean", "std": "weekly_roas_sd"})
    g["weekly_roas_cv"] = g["weekly_roas_sd"] / g["weekly_roas_mean"]
    if curves is not None and current:
        cur = np.array([current.get(c, 0.0) for c in curves.channels])
        roas = curves.response(cur) / np.where(cur > 0, cur, np.nan)
        g["model_roas_mean"] = g["channel"].map(dict(zip(curves.channels, roas.mean(axis=0), strict=True)))
        g["model_roas_sd"] = g["channel"].map(dict(zip(curves.channels, roas.std(axis=0), strict=True)))
    return g


def downside(rec: Any) -> pd.DataFrame:
    """Current vs recommended: HHI, expected weekly media revenue, its sd, 5th percentile and P(loss)."""
    rows = []
    for name, alloc, rev in (
        ("current", rec.current, rec.revenue_current),
        ("recommended", rec.recommended, rec.revenue_recommended),
    ):
        r = rev.sum(axis=1)
        rows.append(
            {
                "allocation": name,
                "total_weekly_spend": float(alloc.sum()),
                "hhi": hhi(alloc),
                "max_share": float(alloc.max() / alloc.sum()) if alloc.sum() else np.nan,
                "expected_revenue": float(r.mean()),
                "revenue_sd": float(r.std()),
                "revenue_p5": float(np.quantile(r, 0.05)),
                "revenue_p95": float(np.quantile(r, 0.95)),
            }
        )
    df = pd.DataFrame(rows)
    d = rec.revenue_recommended.sum(axis=1) - rec.revenue_current.sum(axis=1)
    df["prob_worse_than_current"] = [np.nan, float((d < 0).mean())]
    return df
