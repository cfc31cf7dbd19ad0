"""Plan vs actual and pacing: month x channel (x campaign) plan against spend, MTD/QTD utilisation, projection.

Aggregations run as Ibis expressions on the warehouse tables; the small per-channel arithmetic (day-of-week
profile, projection) is pandas on a few hundred rows.

Projection: ``projected = spend to date + run_rate x sum(dow_factor over the remaining days)`` where
``run_rate`` is the last 14 days' mean daily spend divided by their mean day-of-week factor, and the factors are
the channel's mean spend per weekday over the last 8 weeks relative to its daily mean. ``daily_to_land`` is the
mean daily spend over the remaining days that lands exactly on plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from mktdash import weeks

RUN_RATE_DAYS = 14
PROFILE_WEEKS = 8


def as_of(wh: Any, week: str) -> dt.date:
    """The pacing date: the report week's Sunday, or the last day with spend if that is earlier."""
    ad = wh.table("ad_daily")
    last = wh.df(ad.aggregate(last=ad.date_day.max()))["last"].iloc[0]
    sunday = weeks.sunday(week)
    if pd.isna(last):
        return sunday
    return min(pd.Timestamp(last).date(), sunday)


def _daily(wh: Any, start: dt.date, end: dt.date, campaign: bool = False) -> pd.DataFrame:
    ad = wh.table("ad_daily")
    keys = ["date_day", "channel"] + (["campaign_name"] if campaign else [])
    expr = (
        ad.filter((ad.date_day >= start) & (ad.date_day <= end))
        .group_by(keys)
        .aggregate(spend=ad.spend_reporting.sum())
    )
    df = wh.df(expr)
    df["date_day"] = pd.to_datetime(df["date_day"])
    return df


def plan_vs_actual(wh: Any, week: str, months: int = 6) -> pd.DataFrame:
    """Plan vs actual per month x channel for the last ``months`` months up to the report month.

    Columns: ``month, channel, planned_spend, actual_spend, utilisation, variance`` (actual - plan). The
    current month is month-to-date (see :func:`pacing` for its projection).
    """
    day = as_of(wh, week)
    first = (pd.Timestamp(day.replace(day=1)) - pd.DateOffset(months=months - 1)).date()
    plan = wh.table("budget_plan")
    p = wh.df(
        plan.filter(plan.campaign_name.isnull() & (plan.month >= first) & (plan.month <= day))
        .group_by(["month", "channel"])
        .aggregate(planned_spend=plan.planned_spend.sum())
    )
    ad = wh.table("ad_daily")
    a = wh.df(
        ad.filter((ad.date_day >= first) & (ad.date_day <= day))
        .group_by(month=ad.date_day.truncate("M"), channel=ad.channel)
        .aggregate(actual_spend=ad.spend_reporting.sum())
    )
    for d in (p, a):
        d["month"] = pd.to_datetime(d["month"]).dt.date if not d.empty else d.get("month")
    out = p.merge(a, on=["month", "channel"], how="outer").fillna({"planned_spend": 0.0, "actual_spend": 0.0})
    out["utilisation"] = np.where(
        out["planned_spend"] > 0, out["actual_spend"] / out["planned_spend"], np.nan
    )
    out["variance"] = out["actual_spend"] - out["planned_spend"]
    out["month"] = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
    return out.sort_values(["month", "channel"]).reset_index(drop=True)


def dow_profile(daily: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean spend by weekday relative to the mean day, per key (columns 0..6 = Monday..Sunday)."""
    d = daily.copy()
    d["dow"] = d["date_day"].dt.day_of_week
    by = d.groupby([*keys, "dow"])["spend"].mean().unstack("dow").reindex(columns=range(7)).fillna(0.0)
    mean = by.mean(axis=1).replace(0.0, np.nan)
    return by.div(mean, axis=0).fillna(1.0)


def _period_pacing(
    daily: pd.DataFrame,
    plan: pd.DataFrame,
    keys: list[str],
    start: dt.date,
    end: dt.date,
    day: dt.date,
    tolerance: float,
    label: str,
) -> pd.DataFrame:
    hist = daily[daily["date_day"] > pd.Timestamp(day) - pd.Timedelta(days=7 * PROFILE_WEEKS)]
    prof = dow_profile(hist, keys)
    recent = daily[daily["date_day"] > pd.Timestamp(day) - pd.Timedelta(days=RUN_RATE_DAYS)]
    # complete the recent window with zero days so a stopped campaign has a low run rate
    rr = recent.groupby(keys)["spend"].sum() / RUN_RATE_DAYS
    rec_days = pd.date_range(pd.Timestamp(day) - pd.Timedelta(days=RUN_RATE_DAYS - 1), day)
    remaining = pd.date_range(pd.Timestamp(day) + pd.Timedelta(days=1), end)
    in_period = daily[(daily["date_day"] >= pd.Timestamp(start)) & (daily["date_day"] <= pd.Timestamp(day))]
    to_date = in_period.groupby(keys)["spend"].sum()
    rows = []
    for key, g in plan.groupby(keys):
        key = key if isinstance(key, tuple) else (key,)
        k = key if len(key) > 1 else key[0]
        f = prof.loc[k] if k in prof.index else pd.Series(1.0, index=range(7))
        rec_f = float(np.mean([f[d.weekday()] for d in rec_days])) or 1.0
        rate = float(rr.get(k, 0.0)) / rec_f
        rem_f = float(sum(f[d.weekday()] for d in remaining))
        spent = float(to_date.get(k, 0.0))
        planned = float(g["planned_spend"].sum())
        projected = spent + rate * rem_f
        ratio = projected / planned - 1.0 if planned > 0 else np.nan
        status = (
            ("over" if ratio > tolerance else "under" if ratio < -tolerance else "on track")
            if planned > 0
            else "no plan"
        )
        days_left = len(remaining)
        elapsed = (pd.Timestamp(day) - pd.Timestamp(start)).days + 1
        total_days = (pd.Timestamp(end) - pd.Timestamp(start)).days + 1
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "period": label,
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "planned_spend": planned,
                "spend_to_date": spent,
                "utilisation": spent / planned if planned > 0 else np.nan,
                "expected_utilisation": elapsed / total_days,
                "run_rate_daily": rate,
                "projected_spend": projected,
                "projected_vs_plan": ratio,
                "status": status,
                "days_left": days_left,
                "daily_to_land": max(planned - spent, 0.0) / days_left if days_left else 0.0,
            }
        )
    return pd.DataFrame(rows)


def pacing(wh: Any, week: str, tolerance: float = 0.15) -> pd.DataFrame:
    """Month-to-date and quarter-to-date pacing per channel, plus campaign lines where the plan has them.

    Columns: ``channel, campaign_name, period (MTD|QTD), planned_spend, spend_to_date, utilisation,
    expected_utilisation, run_rate_daily, projected_spend, projected_vs_plan, status, days_left, daily_to_land``.
    """
    day = as_of(wh, week)
    m_start = day.replace(day=1)
    m_end = (pd.Timestamp(m_start) + pd.offsets.MonthEnd(0)).date()
    q = pd.Timestamp(day).to_period("Q")
    q_start, q_end = q.start_time.date(), q.end_time.date()
    hist_start = min(q_start, day - dt.timedelta(days=7 * PROFILE_WEEKS))
    plan = wh.df(wh.table("budget_plan"))
    plan["month"] = pd.to_datetime(plan["month"]).dt.date
    out = []
    daily = _daily(wh, hist_start, day)
    chan_plan = plan[plan["campaign_name"].isna()]
    for label, start, end in (("MTD", m_start, m_end), ("QTD", q_start, q_end)):
        p = chan_plan[(chan_plan["month"] >= start) & (chan_plan["month"] <= end)]
        if not p.empty:
            out.append(_period_pacing(daily, p, ["channel"], start, end, day, tolerance, label))
    camp_plan = plan[plan["campaign_name"].notna() & (plan["month"] == m_start)]
    if not camp_plan.empty:
        cd = _daily(wh, hist_start, day, campaign=True)
        out.append(
            _period_pacing(cd, camp_plan, ["channel", "campaign_name"], m_start, m_end, day, tolerance, "MTD")
        )
    if not out:
        return pd.DataFrame(
            columns=[
                "channel",
                "campaign_name",
                "period",
                "planned_spend",
                "spend_to_date",
                "projected_spend",
                "status",
            ]
        )
    df = pd.concat(out, ignore_index=True)
    if "campaign_name" not in df:
        df["campaign_name"] = None
    cols = ["channel", "campaign_name"] + [c for c in df.columns if c not in ("channel", "campaign_name")]
    return df[cols]


def headline(p: pd.DataFrame) -> dict[str, float]:
    """MTD totals over channels: planned, actual, projected and utilisation."""
    m = p[(p["period"] == "MTD") & p["campaign_name"].isna()]
    planned, actual = float(m["planned_spend"].sum()), float(m["spend_to_date"].sum())
    return {
        "planned_spend_mtd": planned,
        "actual_spend_mtd": actual,
        "projected_spend_month": float(m["projected_spend"].sum()),
        "utilisation_mtd": actual / planned if planned else float("nan"),
        "channels_off_pace": int((m["status"].isin(["over", "under"])).sum()),
    }
