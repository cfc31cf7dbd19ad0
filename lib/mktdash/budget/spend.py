"""Spend analytics: by channel, campaign and platform, over time (weekday, week, month), and efficiency.

ROAS here is platform-claimed (``conversions_value_reporting / spend_reporting``); marginal ROAS comes from
the MMM response curves (revenue per extra unit of spend at the current weekly spend).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from mktdash import weeks
from mktdash.analytics import metrics

DIMENSIONS = ("channel", "campaign_name", "platform")


def window(week: str, n_weeks: int) -> tuple[dt.date, dt.date]:
    """First Monday and last Sunday of the ``n_weeks`` weeks ending with ``week``."""
    return weeks.monday(weeks.shift(week, -(n_weeks - 1))), weeks.sunday(week)


def _ratios(df: pd.DataFrame) -> pd.DataFrame:
    """ROAS and CPA of summed spend, conversions and revenue (:mod:`mktdash.analytics.metrics`; NaN when den = 0)."""
    return metrics.ratio_frame(df, ["roas", "cpa"])


def by_dimension(wh: Any, week: str, dim: str = "channel", n_weeks: int = 13) -> pd.DataFrame:
    """Spend, conversions, platform revenue, ROAS, CPA and share of spend by ``dim`` over ``n_weeks`` weeks."""
    if dim not in DIMENSIONS:
        raise ValueError(f"dim must be one of {DIMENSIONS}")
    start, end = window(week, n_weeks)
    ad = wh.table("ad_daily")
    keys = ["channel", dim] if dim != "channel" else ["channel"]
    expr = (
        ad.filter((ad.date_day >= start) & (ad.date_day <= end))
        .group_by(keys)
        .aggregate(
            spend=ad.spend_reporting.sum(),
            conversions=ad.conversions.sum(),
            revenue=ad.conversions_value_reporting.sum(),
        )
    )
    df = _ratios(wh.df(expr))
    df["share"] = df["spend"] / df["spend"].sum() if df["spend"].sum() else np.nan
    return df.sort_values("spend", ascending=False).reset_index(drop=True)


def over_time(wh: Any, week: str, grain: str = "week", n_weeks: int = 26) -> pd.DataFrame:
    """Spend and ROAS by channel per ``grain``: ``week`` (ISO week), ``month`` or ``weekday`` (mean per day)."""
    start, end = window(week, n_weeks)
    ad = wh.table("ad_daily")
    f = ad.filter((ad.date_day >= start) & (ad.date_day <= end))
    daily = wh.df(
        f.group_by(["date_day", "channel"]).aggregate(
            spend=f.spend_reporting.sum(),
            conversions=f.conversions.sum(),
            revenue=f.conversions_value_reporting.sum(),
        )
    )
    daily["date_day"] = pd.to_datetime(daily["date_day"])
    if grain == "week":
        daily["period"] = [weeks.of(d.date()) for d in daily["date_day"]]
        out = daily.groupby(["period", "channel"], as_index=False)[["spend", "conversions", "revenue"]].sum()
    elif grain == "month":
        daily["period"] = daily["date_day"].dt.strftime("%Y-%m")
        out = daily.groupby(["period", "channel"], as_index=False)[["spend", "conversions", "revenue"]].sum()
    elif grain == "weekday":
        daily["period"] = daily["date_day"].dt.day_name().str[:3]
        out = daily.groupby(["period", "channel"], as_index=False)[["spend", "conversions", "revenue"]].mean()
        order = {d: i for i, d in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])}
        out = out.sort_values(["period"], key=lambda s: s.map(order), kind="stable")
    else:
        raise ValueError("grain must be week, month or weekday")
    return _ratios(out).reset_index(drop=True)


def current_allocation(wh: Any, week: str, n_weeks: int = 4) -> dict[str, float]:
    """Mean weekly spend per channel over the ``n_weeks`` complete weeks ending with ``week``."""
    start, end = window(week, n_weeks)
    ad = wh.table("ad_daily")
    df = wh.df(
        ad.filter((ad.date_day >= start) & (ad.date_day <= end))
        .group_by("channel")
        .aggregate(spend=ad.spend_reporting.sum())
    )
    return {str(r.channel): float(r.spend) / n_weeks for r in df.itertuples()}


def campaign_efficiency(wh: Any, week: str, n_weeks: int = 4) -> pd.DataFrame:
    """Recent spend and platform-claimed value per campaign (input of the campaign split)."""
    df = by_dimension(wh, week, "campaign_name", n_weeks)
    return df.rename(columns={"revenue": "value"})[["channel", "campaign_name", "spend", "value"]]


def efficiency(
    wh: Any, week: str, curves: Any = None, current: dict[str, float] | None = None, n_weeks: int = 26
) -> pd.DataFrame:
    """Per channel: ROAS, CPA, marginal ROAS (from ``curves`` at ``current``), and the Spearman correlation
    of weekly spend with weekly ROAS (negative: diminishing returns visible in the platform numbers)."""
    t = over_time(wh, week, "week", n_weeks)
    tot = by_dimension(wh, week, "channel", n_weeks)[["channel", "spend", "roas", "cpa"]]
    corr = {}
    for ch, g in t.groupby("channel"):
        g = g[g["spend"] > 0]
        # Spearman = Pearson on (average) ranks; pandas' method="spearman" imports scipy.stats (~1.3 s)
        corr[ch] = float(g["spend"].rank().corr(g["roas"].rank())) if len(g) >= 4 else np.nan
    tot["spend_roas_correlation"] = tot["channel"].map(corr)
    if curves is not None and current:
        cur = np.array([current.get(c, 0.0) for c in curves.channels])
        m = curves.marginal(cur).mean(axis=0)
        avg = curves.response(cur).mean(axis=0) / np.where(cur > 0, cur, np.nan)
        tot["mmm_roas"] = tot["channel"].map(dict(zip(curves.channels, avg, strict=True)))
        tot["marginal_roas"] = tot["channel"].map(dict(zip(curves.channels, m, strict=True)))
    return tot
