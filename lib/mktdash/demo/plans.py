"""The demo world's plans and controls: budget plan, spend limits, approvals, KPI targets and FX rates.

Past months are planned close to what was spent; the current month's plan is deliberately off for two
channels (search planned too low -> over-pacing, video planned too high -> under-pacing), and the weekly
search limit sits below the current search spend, so pacing and compliance have something to flag. The
deliberate misses are returned as truth.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mktdash.demo.catalogue import CHANNELS
from mktdash.warehouse import schema

if TYPE_CHECKING:
    from mktdash.demo.axis import Axis

PLAN_MONTHS_BACK = 14  # the plan covers this many months before the current one, then to the quarter's end
PLAN_NOISE_SD = 0.05  # past months: plan = actual x lognormal(0, 5%)
PACING_BIAS = {"search": 0.75, "video": 1.40}  # current month: plan = projected spend x bias
RUN_RATE_DAYS = 14  # days of spend behind the projection of the current month
WEEK_LIMIT = {"default": 1.25, "search": 0.90}  # weekly limit / current weekly spend (search is breached)
MONTH_LIMIT = 1.30  # monthly limit / projected monthly spend
CAMPAIGN_WEEK_LIMIT = 1.30  # weekly limit of one campaign / its normal weekly spend
APPROVERS = ("finance-lead", "head-of-growth", "cmo")


def simulate(
    rng: np.random.Generator,
    axis: Axis,
    ad: pd.DataFrame,
    fx: dict[str, np.ndarray],
    anomalies: list[dict[str, Any]],
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The plan/control tables and the truth about their deliberate misses."""
    daily = _daily_channel_spend(ad, axis)
    plan, pacing = _budget_plan(rng, axis, daily, ad)
    limits, violations = _spend_limits(axis, daily, ad, anomalies)
    tables = {
        "budget_plan": plan,
        "spend_limits": limits,
        "approvals": _approvals(axis),
        "kpi_targets": _kpi_targets(rng, axis, ad),
        "fx_rates": _fx_table(axis, fx),
    }
    return tables, {"pacing": pacing, "limit_violations": violations}


def _daily_channel_spend(ad: pd.DataFrame, axis: Axis) -> pd.DataFrame:
    """Days x channels spend_reporting (all days of the data, zeros filled)."""
    days = pd.date_range(axis.first_monday, axis.end, freq="D")
    t = ad.groupby(["date_day", "channel"], observed=True)["spend_reporting"].sum().unstack(fill_value=0.0)
    return t.reindex(index=days, columns=list(CHANNELS), fill_value=0.0)


def _month_start(d: dt.date) -> pd.Timestamp:
    return pd.Timestamp(d.year, d.month, 1)


def _budget_plan(
    rng: np.random.Generator, axis: Axis, daily: pd.DataFrame, ad: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    cur_month = _month_start(axis.end)
    q_end = cur_month.to_period("Q").end_time.to_period("M").to_timestamp()
    first_full = (pd.Timestamp(axis.first_monday) - pd.Timedelta(days=1)).to_period(
        "M"
    ).to_timestamp() + pd.DateOffset(months=1)
    months = pd.date_range(
        max(cur_month - pd.DateOffset(months=PLAN_MONTHS_BACK), first_full), q_end, freq="MS"
    )
    actual = daily.groupby(daily.index.to_period("M")).sum()
    run_rate = daily.iloc[-RUN_RATE_DAYS:].mean()
    rows = []
    for m in months:
        days_in = m.days_in_month
        for c in CHANNELS:
            if m < cur_month:
                value = actual.loc[m.to_period("M"), c] * np.exp(rng.normal(0, PLAN_NOISE_SD))
            else:
                bias = PACING_BIAS.get(c, 1.0) if m == cur_month else 1.0
                value = run_rate[c] * days_in * bias * np.exp(rng.normal(0, 0.02))
            rows.append(
                {"month": m, "channel": c, "campaign_name": None, "planned_spend": round(float(value), -2)}
            )
    # one campaign-level line (a breakdown inside its channel) for the current month
    recent = ad[ad["date_day"] > pd.Timestamp(axis.end) - pd.Timedelta(days=RUN_RATE_DAYS)]
    by_camp = (
        recent[recent["channel"] == "shopping"]
        .groupby("campaign_name", observed=True)["spend_reporting"]
        .sum()
    )
    top = str(by_camp.idxmax())
    rows.append(
        {
            "month": cur_month,
            "channel": "shopping",
            "campaign_name": top,
            "planned_spend": round(float(by_camp.max() / RUN_RATE_DAYS * cur_month.days_in_month), -2),
        }
    )
    plan = schema.conform(pd.DataFrame(rows), "budget_plan").drop(columns="ingest_id")
    projected = {
        c: float(
            daily.loc[daily.index >= cur_month, c].sum()
            + run_rate[c] * (cur_month.days_in_month - (axis.end.day))
        )
        for c in CHANNELS
    }
    planned = {
        c: float(
            plan[(plan["month"] == cur_month) & (plan["channel"] == c) & plan["campaign_name"].isna()][
                "planned_spend"
            ].iloc[0]
        )
        for c in CHANNELS
    }
    pacing = {
        "month": cur_month.strftime("%Y-%m"),
        "projected_spend": projected,
        "planned_spend": planned,
        "over": sorted(c for c, b in PACING_BIAS.items() if b < 1),
        "under": sorted(c for c, b in PACING_BIAS.items() if b > 1),
        "rule": "projected = month-to-date + mean daily spend of the last 14 days x remaining days; plan x bias",
    }
    return plan, pacing


def _spend_limits(
    axis: Axis, daily: pd.DataFrame, ad: pd.DataFrame, anomalies: list[dict[str, Any]]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    last_sunday = pd.Timestamp(axis.first_monday) + pd.Timedelta(days=7 * axis.n_complete - 1)
    recent = daily.loc[last_sunday - pd.Timedelta(days=27) : last_sunday]
    weekly = recent.sum() / 4.0
    rows, violations = [], []
    for c in CHANNELS:
        wl = round(float(weekly[c] * WEEK_LIMIT.get(c, WEEK_LIMIT["default"])), -3)
        rows.append({"channel": c, "campaign_name": None, "period": "week", "limit_amount": wl})
        rows.append(
            {
                "channel": c,
                "campaign_name": None,
                "period": "month",
                "limit_amount": round(float(weekly[c] / 7 * 30.5 * MONTH_LIMIT), -3),
            }
        )
        if WEEK_LIMIT.get(c, WEEK_LIMIT["default"]) < 1:
            violations.append(
                {
                    "level": "channel",
                    "entity": c,
                    "period": "week",
                    "limit": wl,
                    "weekly_spend_last_4_weeks": float(weekly[c]),
                }
            )
    spike = next((a for a in anomalies if a["metric"] == "spend"), None)
    if spike is not None:
        from mktdash import weeks as W

        mon = pd.Timestamp(W.monday(spike["week"]))
        camp = ad[(ad["campaign_name"] == spike["entity"])]
        before = camp[(camp["date_day"] >= mon - pd.Timedelta(days=28)) & (camp["date_day"] < mon)]
        normal = float(before["spend_reporting"].sum() / 4.0)
        limit = round(normal * CAMPAIGN_WEEK_LIMIT, -2)
        rows.append(
            {
                "channel": spike["channel"],
                "campaign_name": spike["entity"],
                "period": "week",
                "limit_amount": limit,
            }
        )
        in_week = camp[(camp["date_day"] >= mon) & (camp["date_day"] < mon + pd.Timedelta(days=7))]
        violations.append(
            {
                "level": "campaign",
                "entity": spike["entity"],
                "period": "week",
                "week": spike["week"],
                "limit": limit,
                "spend": float(in_week["spend_reporting"].sum()),
            }
        )
    return schema.conform(pd.DataFrame(rows), "spend_limits").drop(columns="ingest_id"), violations


def _approvals(axis: Axis) -> pd.DataFrame:
    from mktdash import weeks as W

    last = W.latest_complete(axis.end)
    rows = [
        {
            "proposal_id": f"P-{W.shift(last, -3)}-social-001",
            "approved_by": APPROVERS[0],
            "approved_at": pd.Timestamp(W.monday(W.shift(last, -2))) + pd.Timedelta(hours=10),
            "decision": "approved",
            "note": "Shift 10% of display to social for the autumn launch",
        },
        {
            "proposal_id": f"P-{W.shift(last, -2)}-search-001",
            "approved_by": APPROVERS[2],
            "approved_at": pd.Timestamp(W.monday(W.shift(last, -1))) + pd.Timedelta(hours=15, minutes=30),
            "decision": "rejected",
            "note": "No further search increase before the Q4 review",
        },
        {
            "proposal_id": f"P-{W.shift(last, -1)}-shopping-001",
            "approved_by": APPROVERS[1],
            "approved_at": pd.Timestamp(W.monday(last)) + pd.Timedelta(days=1, hours=9),
            "decision": "approved",
            "note": "Raise the shopping cap by 20% while ROAS holds",
        },
    ]
    return schema.conform(pd.DataFrame(rows), "approvals").drop(columns="ingest_id")


def _kpi_targets(rng: np.random.Generator, axis: Axis, ad: pd.DataFrame) -> pd.DataFrame:
    """Targets near recent performance (some ahead, some behind)."""
    recent = ad[ad["date_day"] > pd.Timestamp(axis.end) - pd.Timedelta(days=56)]
    g = (
        recent.groupby("channel", observed=True)[
            ["spend_reporting", "conversions_value_reporting", "conversions", "clicks", "impressions"]
        ]
        .sum()
        .reindex(list(CHANNELS))
    )
    tot = g.sum()
    jitter = lambda: float(np.exp(rng.normal(0.03, 0.08)))  # noqa: E731 - small helper
    rows = [
        {
            "metric": "spend",
            "level": "total",
            "entity": "all",
            "period": "month",
            "target": tot.spend_reporting / 8 * 4.35,
        },
        {
            "metric": "roas",
            "level": "total",
            "entity": "all",
            "period": "week",
            "target": tot.conversions_value_reporting / tot.spend_reporting * jitter(),
        },
        {
            "metric": "cpa",
            "level": "total",
            "entity": "all",
            "period": "week",
            "target": tot.spend_reporting / tot.conversions / jitter(),
        },
        {
            "metric": "pipeline",
            "level": "total",
            "entity": "all",
            "period": "quarter",
            "target": 3_000_000.0 * (tot.spend_reporting / 8 / 155_000),
        },
        {"metric": "cac", "level": "total", "entity": "all", "period": "quarter", "target": 2_500.0},
    ]
    for c, r in g.iterrows():
        rows += [
            {
                "metric": "roas",
                "level": "channel",
                "entity": c,
                "period": "month",
                "target": r.conversions_value_reporting / r.spend_reporting * jitter(),
            },
            {
                "metric": "cpa",
                "level": "channel",
                "entity": c,
                "period": "week",
                "target": r.spend_reporting / r.conversions / jitter(),
            },
            {
                "metric": "ctr",
                "level": "channel",
                "entity": c,
                "period": "week",
                "target": r.clicks / r.impressions * jitter(),
            },
        ]
    df = pd.DataFrame(rows)
    df["target"] = df["target"].astype(float).round(4)
    return schema.conform(df, "kpi_targets").drop(columns="ingest_id")


def _fx_table(axis: Axis, fx: dict[str, np.ndarray]) -> pd.DataFrame:
    days = pd.date_range(axis.first_monday, axis.end, freq="D")
    parts = [
        pd.DataFrame({"date_day": days, "currency": c, "rate_to_reporting": fx[c][: len(days)]})
        for c in fx
        if c != "USD"
    ]
    return schema.conform(pd.concat(parts, ignore_index=True), "fx_rates").drop(columns="ingest_id")
