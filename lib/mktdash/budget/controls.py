"""Controls: spend limits, proposals for approval, approvals, violations and weekly compliance.

* Limits come from the ``spend_limits`` table (channel or campaign, per week or month, reporting currency).
* Spend above a limit is *excess*; it is *approved* when an approved proposal for the same channel was decided
  on or before the end of the period and at most ``approval_valid_weeks`` weeks before it.
* A *violation* is excess without approval. Weekly compliance = 1 - unapproved excess / spend of the week
  (monthly limits: the excess is booked on the days cumulative month spend crosses the limit).
* Proposals: every recommended weekly change of at least ``approval_threshold`` becomes a proposal with an id
  ``P-<week>-<channel>-<run id>`` (traceable to the run in the archive), an amount and a reason.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mktdash import weeks
from mktdash.budget.spend import window


def proposal_channel(proposal_id: str, channels: list[str]) -> str | None:
    """The channel a proposal id names (``P-2025-W44-social-001`` -> ``social``).

    >>> proposal_channel("P-2025-W44-social-001", ["search", "social"])
    'social'
    """
    parts = str(proposal_id).replace(":", "-").split("-")
    return next((p for p in parts if p in channels), None)


def _approved(wh: Any, channels: list[str]) -> pd.DataFrame:
    ap = wh.df(wh.table("approvals"))
    ap = ap[ap["decision"].astype(str).str.lower() == "approved"].copy()
    ap["channel"] = [proposal_channel(p, channels) for p in ap["proposal_id"]]
    ap["approved_at"] = pd.to_datetime(ap["approved_at"])
    return ap.dropna(subset=["channel"])


def excess_daily(wh: Any, start: dt.date, end: dt.date, valid_weeks: int = 13) -> pd.DataFrame:
    """Per limit and day: spend, the excess booked that day, and whether an approval covers it."""
    limits = wh.df(wh.table("spend_limits"))
    cols = ["date_day", "channel", "campaign_name", "period", "limit_amount", "spend", "excess", "approved"]
    if limits.empty:
        return pd.DataFrame(columns=cols)
    # go back to the start of the month so monthly cumulative spend is right
    first = start.replace(day=1)
    ad = wh.table("ad_daily")
    f = ad.filter((ad.date_day >= first) & (ad.date_day <= end))
    ch = wh.df(f.group_by(["date_day", "channel"]).aggregate(spend=f.spend_reporting.sum()))
    cp = wh.df(f.group_by(["date_day", "channel", "campaign_name"]).aggregate(spend=f.spend_reporting.sum()))
    for d in (ch, cp):
        d["date_day"] = pd.to_datetime(d["date_day"])
    channels = sorted(ch["channel"].dropna().unique())
    appr = _approved(wh, channels)
    rows = []
    for lim in limits.itertuples():
        if pd.isna(lim.campaign_name):
            s = ch[ch["channel"] == lim.channel]
        else:
            s = cp[(cp["channel"] == lim.channel) & (cp["campaign_name"] == lim.campaign_name)]
        s = s.groupby("date_day")["spend"].sum().sort_index()
        if s.empty:
            continue
        key = s.index.to_period("W") if lim.period == "week" else s.index.to_period("M")
        cum = s.groupby(key).cumsum()
        over = np.maximum(cum - lim.limit_amount, 0.0)
        prev = over.groupby(key).shift(1).fillna(0.0)
        exc = over - prev
        pend = key.end_time.normalize()
        a = appr[appr["channel"] == lim.channel]
        approved = np.zeros(len(s), dtype=bool)
        for r in a.itertuples():
            approved |= (r.approved_at.normalize() <= pend) & (
                pend <= r.approved_at + pd.Timedelta(weeks=valid_weeks)
            )
        rows.append(
            pd.DataFrame(
                {
                    "date_day": s.index,
                    "channel": lim.channel,
                    "campaign_name": lim.campaign_name,
                    "period": lim.period,
                    "limit_amount": lim.limit_amount,
                    "spend": s.values,
                    "excess": exc.values,
                    "approved": approved,
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.concat(rows, ignore_index=True)
    return out[(out["date_day"] >= pd.Timestamp(start)) & (out["date_day"] <= pd.Timestamp(end))]


def weekly_channel_limits(wh: Any) -> dict[str, float]:
    """The channel-level limits of ``spend_limits`` as weekly amounts for the optimizer (the tightest per
    channel; a monthly limit counts ``limit x 12 / 52.1775`` per week; campaign-level limits are not channel
    limits and are left to the controls)."""
    from mktdash.budget.feasibility import WEEKS_PER_MONTH

    lim = wh.df(wh.table("spend_limits"))
    lim = lim[lim["campaign_name"].isna() & lim["limit_amount"].notna()]
    out: dict[str, float] = {}
    for r in lim.itertuples():
        weekly = float(r.limit_amount) / (WEEKS_PER_MONTH if r.period == "month" else 1.0)
        out[str(r.channel)] = min(out.get(str(r.channel), weekly), weekly)
    return out


def violations(
    wh: Any, week: str, n_weeks: int = 13, valid_weeks: int = 13, *, excess: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Limit breaches per week and limit: spend, limit, excess, approved, violation (excess not approved).

    ``excess``: :func:`excess_daily` over :func:`mktdash.budget.spend.window` when the caller has it already."""
    d = excess_daily(wh, *window(week, n_weeks), valid_weeks) if excess is None else excess.copy()
    if d.empty:
        return pd.DataFrame(
            columns=[
                "week",
                "channel",
                "campaign_name",
                "period",
                "limit_amount",
                "spend",
                "excess",
                "approved",
                "violation",
            ]
        )
    d["week"] = [weeks.of(x.date()) for x in d["date_day"]]
    g = d.groupby(
        ["week", "channel", "campaign_name", "period", "limit_amount"], dropna=False, as_index=False
    ).agg(spend=("spend", "sum"), excess=("excess", "sum"), approved=("approved", "all"))
    g = g[g["excess"] > 0.005].copy()
    g["violation"] = ~g["approved"]
    return g.sort_values(["week", "channel"]).reset_index(drop=True)


def weekly_compliance(
    wh: Any,
    week: str,
    n_weeks: int = 13,
    goal: float = 0.95,
    valid_weeks: int = 13,
    *,
    excess: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per week: total spend, unapproved excess, compliance = 1 - unapproved excess / spend, meets goal.

    ``excess``: :func:`excess_daily` over :func:`mktdash.budget.spend.window` when the caller has it already."""
    start, end = window(week, n_weeks)
    ad = wh.table("ad_daily")
    f = ad.filter((ad.date_day >= start) & (ad.date_day <= end))
    daily = wh.df(f.group_by("date_day").aggregate(spend=f.spend_reporting.sum()))
    daily["week"] = [weeks.of(pd.Timestamp(x).date()) for x in daily["date_day"]]
    tot = daily.groupby("week", as_index=False)["spend"].sum()
    ex = excess_daily(wh, start, end, valid_weeks) if excess is None else excess.copy()
    if ex.empty:
        tot["unapproved_excess"] = 0.0
    else:
        ex["week"] = [weeks.of(x.date()) for x in ex["date_day"]]
        ex["unapproved"] = np.where(ex["approved"], 0.0, ex["excess"])
        # a day's spend breaching both a channel and a campaign limit is counted once (the larger excess)
        per_day = ex.groupby(["week", "date_day", "channel"], as_index=False)["unapproved"].max()
        tot = tot.merge(
            per_day.groupby("week", as_index=False)["unapproved"]
            .sum()
            .rename(columns={"unapproved": "unapproved_excess"}),
            on="week",
            how="left",
        )
    tot["unapproved_excess"] = tot["unapproved_excess"].fillna(0.0)
    tot["compliance"] = np.where(tot["spend"] > 0, 1.0 - tot["unapproved_excess"] / tot["spend"], 1.0)
    tot["goal"] = goal
    tot["meets_goal"] = tot["compliance"] >= goal
    return tot.sort_values("week").reset_index(drop=True)


def proposals(rec: pd.DataFrame, week: str, run_id: str, threshold: float) -> pd.DataFrame:
    """Proposals for recommended weekly changes of at least ``threshold`` (absolute, reporting currency).

    ``rec`` is :meth:`Recommendation.table`. Ids are ``P-<week>-<channel>-<run id>``. The evidence columns of
    the table (the whole move's P(uplift > 0) and 90% interval, the channel's own revenue change interval) are
    carried onto every proposal when present.
    """
    evidence = [c for c in EVIDENCE_COLUMNS if c in rec.columns]
    rows = []
    for r in rec.itertuples():
        amount = float(r.recommended_weekly_spend - r.current_weekly_spend)
        if abs(amount) < threshold:
            continue
        direction = "increase" if amount > 0 else "decrease"
        gain = float(r.expected_revenue_recommended - r.expected_revenue_current)
        reason = (
            (
                f"{direction} {r.channel} weekly spend by {abs(amount):,.0f} "
                f"({amount / r.current_weekly_spend:+.0%}): marginal ROAS {r.marginal_roas_current:.2f} at the "
                f"current spend vs {r.marginal_roas_recommended:.2f} recommended; expected revenue change "
                f"{gain:+,.0f} per week"
            )
            if r.current_weekly_spend > 0
            else f"{direction} {r.channel}"
        )
        rows.append(
            {
                "proposal_id": f"P-{week}-{r.channel}-{run_id}",
                "run_id": run_id,
                "week": week,
                "channel": r.channel,
                "current_weekly_spend": float(r.current_weekly_spend),
                "recommended_weekly_spend": float(r.recommended_weekly_spend),
                "amount": amount,
                "expected_revenue_change": gain,
                "reason": reason,
                "status": "pending approval",
                **{c: float(getattr(r, c)) for c in evidence},
            }
        )
    cols = [
        "proposal_id",
        "run_id",
        "week",
        "channel",
        "current_weekly_spend",
        "recommended_weekly_spend",
        "amount",
        "expected_revenue_change",
        "reason",
        "status",
        *evidence,
    ]
    return pd.DataFrame(rows, columns=cols)


EVIDENCE_COLUMNS = (
    "plan_prob_uplift_positive",
    "plan_uplift_lower_90",
    "plan_uplift_upper_90",
    "revenue_change_lower_90",
    "revenue_change_upper_90",
)


def write_proposals(props: pd.DataFrame, exports: Path) -> list[Path]:
    """``proposals.csv`` and ``proposals.json`` in the run's exports folder."""
    exports.mkdir(parents=True, exist_ok=True)
    csv, js = exports / "proposals.csv", exports / "proposals.json"
    props.to_csv(csv, index=False)
    js.write_text(json.dumps(props.to_dict(orient="records"), indent=2, default=str), encoding="utf-8")
    return [csv, js]


def approvals_table(wh: Any) -> pd.DataFrame:
    """The approvals as recorded (params/approvals.yaml via ingest), newest first."""
    ap = wh.df(wh.table("approvals"))
    cols = ["proposal_id", "approved_by", "approved_at", "decision", "note"]
    return ap[cols].sort_values("approved_at", ascending=False).reset_index(drop=True)
