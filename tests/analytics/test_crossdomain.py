"""Cross-domain views on a hand-made CRM / product / customer / ad world with answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from kpi_synth import ad_daily

from mktdash.analytics import creative, crossdomain
from mktdash.warehouse import schema
from mktdash.warehouse.backend import Warehouse

D = pd.Timestamp


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    w = Warehouse.memory()
    w.append(
        "crm_contacts",
        schema.conform(
            pd.DataFrame(
                {
                    "contact_id": ["c1", "c2", "c3"],
                    "channel": ["search", "search", "social"],
                    "lead_score": [80.0, 30.0, 60.0],
                    "created_date": [D("2025-01-02")] * 3,
                }
            ),
            "crm_contacts",
        ),
    )
    w.append(
        "crm_deals",
        schema.conform(
            pd.DataFrame(
                {
                    "deal_id": ["d1", "d2", "d3"],
                    "contact_id": ["c1", "c3", "c2"],
                    "channel": ["search", "search", "social"],
                    "amount_reporting": [1000.0, 500.0, 200.0],
                    "is_closed": [True, False, True],
                    "is_won": [True, False, False],
                    "created_date": [D("2025-01-01"), D("2025-01-05"), D("2025-01-06")],
                    "close_date": [D("2025-01-31"), pd.NaT, D("2025-01-20")],
                    "customer_id": ["cu1", None, None],
                }
            ),
            "crm_deals",
        ),
    )
    w.append(
        "customer_health",
        schema.conform(
            pd.DataFrame(
                {
                    "snapshot_date": [D("2025-01-31"), D("2025-02-28"), D("2025-02-28")],
                    "customer_id": ["cu1", "cu1", "cu2"],
                    "acquisition_channel": ["search", "search", "social"],
                    "mrr": [100.0, 120.0, 50.0],
                    "health_score": [80.0, 70.0, 20.0],
                    "churned": [False, False, True],
                }
            ),
            "customer_health",
        ),
    )
    w.append(
        "product_usage",
        schema.conform(
            pd.DataFrame(
                {
                    "date_day": [D("2025-01-10")] * 3,
                    "customer_id": ["cu1", "cu1", "cu2"],
                    "feature": ["A", "B", "A"],
                    "events": [5, 0, 1],
                }
            ),
            "product_usage",
        ),
    )
    ads = schema.conform(
        pd.DataFrame(
            {
                "date_day": [D("2025-01-15")],
                "channel": ["search"],
                "impressions": [1000],
                "clicks": [100],
                "conversions": [10.0],
                "spend_reporting": [2000.0],
                "conversions_value_reporting": [3000.0],
            }
        ),
        "ad_daily",
    )
    w.append("ad_daily", ads)
    return w


def test_funnel_sourced_influenced_rates_and_cycle(wh: Warehouse) -> None:
    f = crossdomain.funnel(wh, dt.date(2025, 1, 1), dt.date(2025, 1, 31)).set_index("channel")
    # search sources d1 + d2 (1500); influences d1, d2 and d3 (contact c2 came from search) = 1700
    assert f.loc["search", "pipeline_sourced"] == 1500 and f.loc["search", "pipeline_influenced"] == 1700
    # social sources d3 (200) and influences d3 + d2 (contact c3 came from social) = 700
    assert f.loc["social", "pipeline_sourced"] == 200 and f.loc["social", "pipeline_influenced"] == 700
    assert f.loc["search", "opportunities"] == 2 and f.loc["search", "leads"] == 2
    assert f.loc["search", "lead_to_opp"] == 1.0 and f.loc["search", "opp_to_win"] == 1.0
    assert f.loc["social", "opp_to_win"] == 0.0 and f.loc["search", "sales_cycle_days_mean"] == 30
    assert f.loc["search", "mean_lead_score"] == 55


def test_lead_quality(wh: Warehouse) -> None:
    q = crossdomain.lead_quality(wh).set_index("channel")
    assert q.loc["search", "leads"] == 2 and q.loc["search", "high_quality_share"] == 0.5


def test_customer_health_and_adoption(wh: Warehouse) -> None:
    h = crossdomain.customer_health(wh, dt.date(2025, 3, 1)).set_index("acquisition_channel")
    assert h.loc["search", "mrr"] == 120 and h.loc["search", "mean_health_score"] == 70
    assert h.loc["social", "churn_rate"] == 1.0 and h.loc["search", "retention"] == 1.0
    a = crossdomain.feature_adoption(wh, dt.date(2025, 1, 1), dt.date(2025, 2, 28)).set_index(
        "acquisition_channel"
    )
    assert (
        a.loc["search", "A"] == 1.0 and a.loc["social", "A"] == 1.0 and "B" not in a.columns
    )  # B had 0 events


def test_finance_roi_cac_payback(wh: Warehouse) -> None:
    f = crossdomain.finance(wh, dt.date(2025, 1, 1), dt.date(2025, 1, 31)).set_index("channel")
    # ROI = (3000 platform revenue + 1000 won - 2000 spend) / 2000 ; CAC = 2000 / 1 ; payback = 2000 / 100 MRR
    assert f.loc["search", "roi"] == pytest.approx(1.0)
    assert f.loc["search", "cac"] == 2000 and f.loc["search", "payback_months"] == 20
    assert f.loc["total", "spend"] == 2000


def test_creative_fatigue_flags_the_decaying_creative() -> None:
    df = ad_daily(seed=9, n_weeks=16, end_week="2025-W46", weekly_noise=0.02)
    mondays = df["date_day"].dt.to_period("W").dt.start_time
    age_w = (mondays - mondays.min()).dt.days / 7
    tired = df["creative"] == "creative search-0"
    # CTR of one creative decays 4% a week: thin its clicks binomially
    import numpy as np

    rng = np.random.default_rng(0)
    keep = np.power(0.96, age_w[tired].to_numpy())
    df.loc[tired, "clicks"] = rng.binomial(df.loc[tired, "clicks"].to_numpy(), keep)
    w = Warehouse.memory()
    w.append("ad_daily", df)
    fat = creative.fatigue(w, "2025-W46").set_index("creative")
    assert bool(fat.loc["creative search-0", "fatigued"])
    assert fat.loc["creative search-0", "decay_30d"] == pytest.approx(0.96 ** (30 / 7) - 1, abs=0.05)
    assert fat["fatigued"].sum() == 1
    perf = creative.performance(w, "audience", "2025-W46")
    assert set(perf["audience"]) == {"prospecting", "retargeting"} and "ctr_wow" in perf.columns
