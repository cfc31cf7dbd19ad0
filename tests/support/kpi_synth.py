"""A small synthetic ad_daily world for the KPI/alert tests (independent of mktdash.demo).

Campaigns with stable true CTR/CVR/value per conversion and daily Poisson/binomial noise; anomalies can be
planted in chosen weeks (multiplying a campaign's CTR, CVR or spend). Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from mktdash import weeks
from mktdash.warehouse import schema

CHANNELS = {
    "search": "google_ads",
    "social": "meta",
    "display": "google_ads",
    "video": "tiktok",
    "shopping": "microsoft_ads",
}


def ad_daily(
    seed: int = 1,
    n_weeks: int = 30,
    end_week: str = "2025-W46",
    campaigns_per_channel: int = 3,
    plant: list[dict] | None = None,
    weekly_noise: float = 0.05,
) -> pd.DataFrame:
    """Canonical ad_daily rows for ``n_weeks`` complete weeks ending ``end_week``.

    ``plant``: [{"week", "entity" (campaign name), "metric" (ctr|cvr|spend), "size"}] multiplies that metric
    by (1 + size) for the whole week. ``weekly_noise``: lognormal sd of a per-campaign-week rate multiplier
    (extra-binomial variation, like real data).
    """
    rng = np.random.default_rng(seed)
    first = weeks.shift(end_week, -(n_weeks - 1))
    days = pd.date_range(weeks.monday(first), weeks.sunday(end_week), freq="D")
    wk = np.array([weeks.of(d.date()) for d in days])
    rows = []
    plant = plant or []
    for ch, platform in CHANNELS.items():
        for k in range(campaigns_per_channel):
            name = f"{ch.title()} campaign {k + 1}"
            imps0 = rng.uniform(40000, 150000)
            ctr0 = {"search": 0.04, "shopping": 0.02}.get(ch, 0.008) * rng.uniform(0.7, 1.3)
            cvr0 = rng.uniform(0.02, 0.06)
            cpc0 = rng.uniform(0.4, 2.0)
            aov = rng.uniform(40, 120)
            wmult = {w: rng.lognormal(0, weekly_noise, 3) for w in np.unique(wk)}
            for i, d in enumerate(days):
                m_ctr, m_cvr, m_spend = wmult[wk[i]]
                for p in plant:
                    if p["entity"] == name and p["week"] == wk[i]:
                        f = 1 + p["size"]
                        m_ctr *= f if p["metric"] == "ctr" else 1
                        m_cvr *= f if p["metric"] == "cvr" else 1
                        m_spend *= f if p["metric"] == "spend" else 1
                for a, aud in enumerate(["prospecting", "retargeting"]):
                    share = 0.65 if a == 0 else 0.35
                    imps = rng.poisson(imps0 * share * m_spend)
                    clicks = rng.binomial(imps, min(ctr0 * m_ctr * (1.3 if a else 1.0), 0.9))
                    conv = rng.binomial(clicks, min(cvr0 * m_cvr * (1.5 if a else 1.0), 0.9))
                    spend = clicks * cpc0 * rng.uniform(0.95, 1.05)
                    rows.append(
                        {
                            "date_day": d,
                            "platform": platform,
                            "source_relation": "synthetic",
                            "account_id": f"acc-{platform}",
                            "account_name": f"{platform} account",
                            "campaign_id": f"{ch}-{k}",
                            "campaign_name": name,
                            "ad_group_id": f"{ch}-{k}-{a}",
                            "ad_group_name": f"{name} / {aud}",
                            "ad_id": f"{ch}-{k}-{a}-ad",
                            "ad_name": f"{name} ad {a}",
                            "clicks": clicks,
                            "impressions": imps,
                            "spend": spend / 0.9 if ch == "social" else spend,
                            "conversions": float(conv),
                            "conversions_value": conv * aov,
                            "channel": ch,
                            "audience": aud,
                            "creative": f"creative {ch}-{k % 2}",
                            "currency": "EUR" if ch == "social" else "USD",
                            "spend_reporting": spend,
                            "conversions_value_reporting": conv * aov,
                            "ingest_id": "synthetic",
                        }
                    )
    return schema.conform(pd.DataFrame(rows), "ad_daily")


def warehouse(df: pd.DataFrame | None = None, **kw: object):  # noqa: ANN201
    """An in-memory Warehouse holding ``df`` (or ``ad_daily(**kw)``) as ad_daily."""
    from mktdash.warehouse.backend import Warehouse

    wh = Warehouse.memory()
    wh.append("ad_daily", df if df is not None else ad_daily(**kw))
    return wh


def today_after(week: str) -> dt.date:
    return weeks.sunday(week) + dt.timedelta(days=1)
