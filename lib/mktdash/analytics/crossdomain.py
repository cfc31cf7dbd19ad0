"""Cross-domain views by acquisition channel: CRM funnel and pipeline, product adoption, customer health,
and finance (marketing ROI, CAC, CAC payback).

Definitions (all money in the reporting currency; a period is [start, end] by date):

* leads = CRM contacts created in the period; lead quality = mean ``lead_score`` and the share scoring >= 50;
* opportunities = deals created in the period; won / closed by ``is_won`` / ``is_closed``;
* pipeline *sourced* by a channel = amount of deals whose own ``channel`` (lead source) is it; pipeline
  *influenced* = amount of deals whose deal channel **or** contact's original channel is it (a deal can
  influence two channels, so influenced does not add up);
* sales-cycle length = days from ``created_date`` to ``close_date`` of won deals;
* CAC = paid-media spend / new customers won in the period; CAC payback (months) = CAC / new MRR per
  new customer (``customer_health`` first snapshot of the customer);
* marketing ROI = (platform-claimed revenue + won CRM amount from paid channels - spend) / spend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pandas as pd

from mktdash.analytics import kpis, metrics
from mktdash.reporting import missing

PAID = ("search", "social", "display", "video", "shopping")
LEAD_COLUMNS = ["channel", "leads", "mean_lead_score", "high_quality", "high_quality_share"]
FUNNEL_COLUMNS = [
    "channel", "opportunities", "closed_deals", "won_deals", "pipeline_sourced", "won_amount",
    "sales_cycle_days_mean", "sales_cycle_days_median", "pipeline_influenced", "leads", "mean_lead_score",
    "lead_to_opp", "opp_to_win",
]  # fmt: skip
HEALTH_COLUMNS = [
    "acquisition_channel", "customers", "churned", "churn_rate", "retention", "mean_health_score", "mrr",
]  # fmt: skip
FINANCE_COLUMNS = [
    "channel", "spend", "revenue", "won_amount", "new_customers", "new_mrr", "roi", "cac", "payback_months",
]  # fmt: skip


def _period(t: ibis.Table, col: str, start: dt.date | None, end: dt.date | None) -> ibis.Table:
    if start:
        t = t.filter(t[col] >= ibis.literal(dt.datetime.combine(start, dt.time())))
    if end:
        t = t.filter(t[col] < ibis.literal(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())))
    return t


def lead_quality(wh: Any, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """Leads and lead score by channel (contacts created in the period)."""
    if notice := missing.notice(wh, "leads and lead quality by channel", "crm_contacts"):
        return missing.frame(notice, LEAD_COLUMNS)
    c = _period(wh.table("crm_contacts"), "created_date", start, end)
    c = c.mutate(channel=c.channel.fill_null("unknown"))
    q = c.group_by("channel").aggregate(
        leads=c.count(),
        mean_lead_score=c.lead_score.mean(),
        high_quality=(c.lead_score >= 50).cast("int64").sum(),
    )
    df = wh.df(q)
    df["high_quality_share"] = metrics.divide(df["high_quality"].astype(float), df["leads"])
    return df.sort_values("leads", ascending=False).reset_index(drop=True)


def funnel(wh: Any, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """By channel: leads, opportunities, won, lead->opportunity, opportunity->win, pipeline sourced and
    influenced, won amount, sales-cycle length (mean and median days)."""
    if notice := missing.notice(wh, "pipeline sourced and influenced by channel", "crm_deals"):
        return missing.frame(notice, FUNNEL_COLUMNS)
    d = _period(wh.table("crm_deals"), "created_date", start, end)
    contacts = wh.table("crm_contacts").select(contact_id="contact_id", contact_channel="channel")
    d = d.left_join(contacts, d.contact_id == contacts.contact_id).mutate(
        channel=ibis._.channel.fill_null("unknown")
    )
    deals = wh.df(
        d.select(
            "deal_id",
            "channel",
            "contact_channel",
            "is_closed",
            "is_won",
            "amount_reporting",
            "created_date",
            "close_date",
        )
    )
    deals["is_won"] = deals["is_won"].fillna(False).astype(bool)
    deals["is_closed"] = deals["is_closed"].fillna(False).astype(bool)
    deals["amount_reporting"] = deals["amount_reporting"].fillna(0.0).astype(float)
    deals["cycle_days"] = (
        pd.to_datetime(deals["close_date"]) - pd.to_datetime(deals["created_date"])
    ).dt.days
    g = deals.groupby("channel")
    out = pd.DataFrame(
        {
            "opportunities": g.size(),
            "closed_deals": g["is_closed"].sum(),
            "won_deals": g["is_won"].sum(),
            "pipeline_sourced": g["amount_reporting"].sum(),
            "won_amount": deals[deals["is_won"]].groupby("channel")["amount_reporting"].sum(),
            "sales_cycle_days_mean": deals[deals["is_won"]].groupby("channel")["cycle_days"].mean(),
            "sales_cycle_days_median": deals[deals["is_won"]].groupby("channel")["cycle_days"].median(),
        }
    )
    infl = pd.concat(
        [
            deals[["deal_id", "channel", "amount_reporting"]],
            deals[["deal_id", "contact_channel", "amount_reporting"]].rename(
                columns={"contact_channel": "channel"}
            ),
        ]
    ).dropna(subset=["channel"])
    infl = infl.drop_duplicates(["deal_id", "channel"]).groupby("channel")["amount_reporting"].sum()
    out["pipeline_influenced"] = infl
    leads = pd.DataFrame(lead_quality(wh, start, end)).set_index("channel")
    out = out.join(leads[["leads", "mean_lead_score"]], how="outer")
    out = metrics.ratio_frame(out, ["lead_to_opp", "opp_to_win"])
    out = out.fillna(
        {
            "opportunities": 0,
            "closed_deals": 0,
            "won_deals": 0,
            "pipeline_sourced": 0.0,
            "won_amount": 0.0,
            "pipeline_influenced": 0.0,
            "leads": 0,
        }
    )
    return (
        out.rename_axis("channel")
        .reset_index()
        .sort_values("pipeline_sourced", ascending=False, ignore_index=True)
    )


def _latest_health(wh: Any, end: dt.date | None = None) -> pd.DataFrame:
    h = _period(wh.table("customer_health"), "snapshot_date", None, end)
    df = wh.df(h)
    if df.empty:
        return df
    df = df.sort_values("snapshot_date")
    first = (
        df.groupby("customer_id")
        .first()[["snapshot_date", "mrr"]]
        .rename(columns={"snapshot_date": "first_snapshot", "mrr": "first_mrr"})
    )
    last = df.groupby("customer_id").last()
    out = last.join(first)
    out["acquisition_channel"] = out["acquisition_channel"].fillna("unknown")
    return out.reset_index()


def customer_health(wh: Any, end: dt.date | None = None) -> pd.DataFrame:
    """By acquisition channel (latest snapshot per customer): customers, churned, churn rate, retention,
    mean health score, MRR."""
    if notice := missing.notice(wh, "churn, retention and MRR by acquisition channel", "customer_health"):
        return missing.frame(notice, HEALTH_COLUMNS)
    h = _latest_health(wh, end)
    if h.empty:
        return pd.DataFrame(columns=HEALTH_COLUMNS)
    h["churned"] = h["churned"].fillna(False).astype(bool)
    g = h.groupby("acquisition_channel")
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "churned": g["churned"].sum(),
            "mean_health_score": g["health_score"].mean(),
            "mrr": h[~h["churned"]].groupby("acquisition_channel")["mrr"].sum(),
        }
    )
    out["churn_rate"] = metrics.divide(out["churned"].astype(float), out["customers"])
    out["retention"] = 1 - out["churn_rate"]
    return out.fillna({"mrr": 0.0}).reset_index().sort_values("customers", ascending=False, ignore_index=True)


def feature_adoption(wh: Any, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """Share of customers of each acquisition channel that used each feature in the period (wide: one
    column per feature)."""
    if notice := missing.notice(
        wh, "feature adoption by acquisition channel", "product_usage", "customer_health"
    ):
        return missing.frame(notice, ["acquisition_channel", "customers"])
    u = _period(wh.table("product_usage"), "date_day", start, end)
    used = wh.df(u.filter(u.events > 0).select("customer_id", "feature").distinct())
    h = _latest_health(wh, end)
    if used.empty or h.empty:
        return pd.DataFrame(columns=["acquisition_channel", "customers"])
    ch = h.set_index("customer_id")["acquisition_channel"]
    used["acquisition_channel"] = used["customer_id"].map(ch).fillna("unknown")
    n = h.groupby("acquisition_channel").size().rename("customers")
    k = used.groupby(["acquisition_channel", "feature"]).size().unstack(fill_value=0)
    share = k.div(n, axis=0).fillna(0.0)
    return pd.concat([n, share], axis=1).fillna(0.0).rename_axis("acquisition_channel").reset_index()


def finance(wh: Any, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per paid channel plus ``total``: spend, platform revenue, won CRM amount, new customers,
    new MRR, ROI, CAC, CAC payback months."""
    if notice := missing.notice(wh, "marketing ROI, CAC and payback by channel", "ad_daily"):
        return missing.frame(notice, FINANCE_COLUMNS)
    t = wh.table("ad_daily")
    ads = wh.df(
        kpis.totals(
            t.filter(
                (t.date_day >= ibis.literal(dt.datetime.combine(start, dt.time())))
                & (t.date_day < ibis.literal(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())))
            ),
            ["channel"],
        )
    )
    ads = ads.set_index("channel")[["spend", "revenue"]]
    d = _period(wh.table("crm_deals"), "close_date", start, end)
    won = wh.df(d.filter(d.is_won).select("channel", "customer_id", "amount_reporting"))
    h = _latest_health(wh, end)
    new_mrr = h.set_index("customer_id")["first_mrr"] if not h.empty else pd.Series(dtype=float)
    won["new_mrr"] = won["customer_id"].map(new_mrr).fillna(0.0)
    wg = won.groupby("channel").agg(
        won_amount=("amount_reporting", "sum"),
        new_customers=("customer_id", "nunique"),
        new_mrr=("new_mrr", "sum"),
    )
    out = ads.join(wg, how="left").fillna(0.0)
    out.loc["total"] = out.sum()
    out = metrics.ratio_frame(out, ["marketing_roi", "cac", "payback_months"]).rename(
        columns={"marketing_roi": "roi"}
    )
    out = out.rename_axis("channel").reset_index()
    return missing.annotate(
        out, missing.notice(wh, "won amount, new customers and CAC by channel", "crm_deals")
    )
