"""Audience and creative performance, and creative fatigue (CTR decaying with the creative's age).

Fatigue test per creative: weighted least squares of log weekly CTR on the creative's age in weeks since its
first delivery (weights = clicks, since var(log CTR) ~ 1/clicks; residual dispersion floored at 1, t test with
n-2 df), vectorised over creatives with group sums. A creative is fatigued when the slope is negative with
Benjamini-Hochberg q <= alpha and its CTR decays by at least ``min_decay`` per 30 days
(``exp(slope * 30/7) - 1``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mktdash import weeks
from mktdash.analytics import kpis
from mktdash.analytics.significance import bh_adjust, t_cdf
from mktdash.reporting import missing


def performance(wh: Any, level: str, week: str, *, trailing_weeks: int = 4) -> pd.DataFrame:
    """KPIs of every audience (``level="audience"``) or creative for ``week`` with week-over-week change."""
    w = kpis.level_weekly(wh, level, first=weeks.shift(week, -max(trailing_weeks, 1)), last=week)
    cmp = kpis.compare(w, week, ["entity"], trailing_weeks=trailing_weeks)
    return kpis.wide_wow(cmp, ["entity"]).rename(columns={"entity": level})


def fatigue(
    wh: Any,
    week: str,
    *,
    lookback_weeks: int = 26,
    alpha: float = 0.01,
    min_decay: float = 0.02,
    min_weeks: int = 6,
) -> pd.DataFrame:
    """Creatives whose CTR falls with age: slope, decay per 30 days, p, q and ``fatigued`` flag.

    Uses the weeks up to ``week`` (at most ``lookback_weeks``); age counts from the creative's first week
    with impressions in that window. Vectorised over creatives (one pass of group sums).
    """
    first = weeks.shift(week, -(lookback_weeks - 1))
    w = wh.df(kpis.weekly(wh, ["creative"], first=first, last=week, metrics=["ctr"]))
    w = w[(w["impressions"] > 0) & (w["clicks"] > 0)].copy()
    cols = [
        "creative",
        "weeks",
        "impressions",
        "ctr_first",
        "ctr_last",
        "slope_per_week",
        "decay_30d",
        "p_value",
        "q_value",
        "fatigued",
    ]
    if w.empty:
        return missing.annotate(pd.DataFrame(columns=cols), kpis.no_ads(wh, "creative fatigue"))
    w["monday"] = pd.to_datetime([weeks.monday(x) for x in w["week"]])
    w = w.sort_values(["creative", "monday"])
    g = w.groupby("creative", sort=False)
    w["x"] = (w["monday"] - g["monday"].transform("min")).dt.days / 7.0
    w["y"] = np.log(w["clicks"] / w["impressions"])
    w["w"] = w["clicks"].astype(float)  # var(log CTR) ~ 1 / clicks
    sw = g["w"].transform("sum")
    xbar = (w["w"] * w["x"]).groupby(w["creative"]).transform("sum") / sw
    ybar = (w["w"] * w["y"]).groupby(w["creative"]).transform("sum") / sw
    dx, dy = w["x"] - xbar, w["y"] - ybar
    sxx = (w["w"] * dx**2).groupby(w["creative"]).sum()
    slope = (w["w"] * dx * dy).groupby(w["creative"]).sum() / sxx.replace(0, np.nan)
    resid = dy - w["creative"].map(slope) * dx
    n = g.size()
    phi = ((w["w"] * resid**2).groupby(w["creative"]).sum() / (n - 2).clip(lower=1)).clip(lower=1.0)
    tstat = slope / np.sqrt(phi / sxx.replace(0, np.nan))
    out = (
        pd.DataFrame(
            {
                "weeks": n,
                "impressions": g["impressions"].sum(),
                "ctr_first": g["ctr"].apply(lambda s: s.iloc[:2].mean()),
                "ctr_last": g["ctr"].apply(lambda s: s.iloc[-2:].mean()),
                "slope_per_week": slope,
                "decay_30d": np.expm1(slope * 30 / 7),
                "p_value": t_cdf(tstat, (n - 2).clip(lower=1)),  # one-sided: decline
            }
        )
        .rename_axis("creative")
        .reset_index()
    )
    out = out[(out["weeks"] >= min_weeks) & out["p_value"].notna()]
    if out.empty:
        return pd.DataFrame(columns=cols)
    out["q_value"] = bh_adjust(out["p_value"])
    out["fatigued"] = (out["q_value"] <= alpha) & (out["decay_30d"] <= -min_decay)
    return out[cols].sort_values(["fatigued", "decay_30d"], ascending=[False, True]).reset_index(drop=True)
