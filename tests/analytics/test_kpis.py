"""KPI library: registry, ISO weeks in Ibis, weekly values equal to independent raw SQL, comparisons."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from kpi_synth import ad_daily, warehouse

from mktdash import weeks
from mktdash.analytics import kpis
from mktdash.warehouse import schema
from mktdash.warehouse.backend import Warehouse

REQUIRED = [
    "impressions",
    "clicks",
    "spend",
    "conversions",
    "revenue",
    "ctr",
    "cvr",
    "cpc",
    "cpm",
    "cpa",
    "roas",
    "roi",
    "cost_per_lead",
    "lead_to_opp",
    "opp_to_win",
    "pipeline_value",
    "sales_cycle_days",
    "cac",
    "payback_months",
]


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    return warehouse(ad_daily(seed=2, n_weeks=10))


def test_registry_defines_every_metric_once_with_unit_and_direction() -> None:
    for name in REQUIRED:
        m = kpis.METRICS[name]
        assert m.unit and m.direction in ("higher", "lower", "neutral") and m.format
    assert kpis.METRICS["cpa"].direction == "lower" and kpis.METRICS["roas"].direction == "higher"
    assert (kpis.METRICS["ctr"].numerator, kpis.METRICS["ctr"].denominator) == ("clicks", "impressions")
    assert kpis.fmt(0.0234, "ctr") == "2.34%" and kpis.fmt(3.456, "roas") == "3.46x"


def test_iso_week_expression_matches_python_around_year_ends() -> None:
    days = pd.date_range("2019-12-20", "2027-01-10", freq="D")
    t = ibis.memtable(pd.DataFrame({"date_day": days.astype("datetime64[s]")}))
    got = t.mutate(week=kpis.iso_week(t.date_day)).to_pandas()
    expected = [weeks.of(d.date()) for d in got["date_day"]]
    assert got["week"].tolist() == expected
    assert "2020-W53" in set(expected) and "2026-W53" in set(expected)


def test_channel_weekly_equals_independent_sql(wh: Warehouse) -> None:
    got = kpis.channel_weekly(wh)
    assert list(got.columns) == kpis.CHANNEL_WEEKLY_COLUMNS
    sql = wh.sql("""
        SELECT strftime(date_day, '%G-W%V') AS week, channel,
               SUM(impressions) AS impressions, SUM(clicks) AS clicks, SUM(spend_reporting) AS spend,
               SUM(conversions) AS conversions, SUM(conversions_value_reporting) AS revenue,
               SUM(clicks) / SUM(impressions) AS ctr, SUM(conversions) / SUM(clicks) AS cvr,
               SUM(spend_reporting) / SUM(clicks) AS cpc, SUM(spend_reporting) / SUM(conversions) AS cpa,
               SUM(conversions_value_reporting) / SUM(spend_reporting) AS roas
        FROM ad_daily GROUP BY 1, 2 ORDER BY 1, 2""")
    assert len(got) == len(sql) == 10 * 5
    assert got["week"].tolist() == sql["week"].tolist()
    for c in kpis.CHANNEL_WEEKLY_COLUMNS[2:]:
        np.testing.assert_allclose(got[c].to_numpy(float), sql[c].to_numpy(float), rtol=1e-9, err_msg=c)
    # spend is the reporting currency, not the original (social rows are in EUR)
    raw = wh.sql("SELECT SUM(spend) s FROM ad_daily WHERE channel = 'social'")["s"].iloc[0]
    assert not np.isclose(got.loc[got.channel == "social", "spend"].sum(), raw)


def test_ratios_null_when_denominator_is_zero() -> None:
    df = ad_daily(seed=1, n_weeks=2).head(2).copy()
    df["clicks"], df["conversions"] = 0, 0.0
    got = kpis.channel_weekly(warehouse(schema.conform(df, "ad_daily")))
    assert got["cvr"].isna().all() and got["cpa"].isna().all() and got["ctr"].eq(0).all()


def test_first_last_weeks_filter_and_campaign_level(wh: Warehouse) -> None:
    got = kpis.level_weekly(wh, "campaign", first="2025-W45", last="2025-W46")
    assert sorted(got["week"].unique()) == ["2025-W45", "2025-W46"]
    sql = wh.sql("""SELECT campaign_name, SUM(clicks) c FROM ad_daily
                    WHERE date_day BETWEEN '2025-11-03' AND '2025-11-16' GROUP BY 1 ORDER BY 1""")
    mine = got.groupby("entity")["clicks"].sum().sort_index()
    assert mine.tolist() == sql["c"].tolist()


def test_resolve_week_latest_is_latest_complete_week() -> None:
    df = ad_daily(seed=1, n_weeks=3)
    wh = warehouse(df[df["date_day"] <= pd.Timestamp("2025-11-15")])  # Saturday: W46 incomplete
    assert kpis.resolve_week(wh, "latest") == "2025-W45"
    assert kpis.resolve_week(wh, "2025-W40") == "2025-W40"
    with pytest.raises(ValueError):
        kpis.resolve_week(wh, "2025-46")


def test_compare_wow_trailing_and_last_year_by_hand() -> None:
    rows = []
    for i, w in enumerate(
        ["2024-W46", "2025-W41", "2025-W42", "2025-W43", "2025-W44", "2025-W45", "2025-W46"]
    ):
        rows.append(
            {
                "week": w,
                "channel": "search",
                "impressions": 1000 * (i + 1),
                "clicks": 10 * (i + 1),
                "spend": 100.0 * (i + 1),
                "conversions": float(i + 1),
                "revenue": 300.0 * (i + 1),
            }
        )
    w = pd.DataFrame(rows)
    c = kpis.compare(w, "2025-W46", ["channel"], trailing_weeks=4).set_index("metric")
    # spend: this week 700, previous 600, trailing mean of W42..W45 = (300+400+500+600)/4 = 450, last year 100
    assert c.loc["spend", "value"] == 700 and c.loc["spend", "prev_week"] == 600
    assert c.loc["spend", "trailing_avg"] == pytest.approx(450)
    assert c.loc["spend", "wow"] == pytest.approx(700 / 600 - 1)
    assert c.loc["spend", "yoy"] == pytest.approx(6.0)
    # cpa over the trailing weeks from summed numerators: 1800 / 18 = 100 (every week is 100)
    assert c.loc["cpa", "trailing_avg"] == pytest.approx(100)
    assert c.loc["roi", "value"] == pytest.approx((2100 - 700) / 700)


def test_strategic_progress_vs_targets(wh: Warehouse) -> None:
    wh.append(
        "kpi_targets",
        schema.conform(
            pd.DataFrame(
                {
                    "metric": ["roas", "cpa"],
                    "level": "total",
                    "entity": "all",
                    "period": "week",
                    "target": [2.0, 10.0],
                }
            ),
            "kpi_targets",
        ),
    )
    s = kpis.strategic(wh, "2025-W46").set_index("metric")
    tot = wh.sql("""SELECT SUM(conversions_value_reporting)/SUM(spend_reporting) r, SUM(spend_reporting)/
                    SUM(conversions) cpa FROM ad_daily WHERE date_day BETWEEN '2025-11-10' AND '2025-11-16'""")
    assert s.loc["roas", "value"] == pytest.approx(tot["r"].iloc[0])
    assert s.loc["roas", "progress"] == pytest.approx(tot["r"].iloc[0] / 2.0)
    assert s.loc["cpa", "progress"] == pytest.approx(10.0 / tot["cpa"].iloc[0])  # lower is better


def test_freshness_reports_every_platform(wh: Warehouse) -> None:
    f = kpis.freshness(wh, today=dt.date(2025, 11, 20))
    assert len(f) >= 1
