"""One definition of each KPI: every view computes the same ratio from the same numbers, and one report week.

The known answers are worked out by hand from two rows of one channel in one week, chosen so that averaging
the rows' own ratios would give a different (wrong) answer than dividing the summed measures:

    row 1: 15,000 impressions, 100 clicks,   250 spend,  5 conversions, 1,000 revenue
    row 2:  5,000 impressions, 400 clicks, 1,000 spend, 20 conversions, 4,000 revenue
    sums:  20,000 impressions, 500 clicks, 1,250 spend, 25 conversions, 5,000 revenue

    CTR = 500 / 20,000 = 0.025      CVR = 25 / 500 = 0.05       CPC = 1,250 / 500 = 2.5
    CPM = 1,000 * 1,250 / 20,000 = 62.5   CPA = 1,250 / 25 = 50   ROAS = 5,000 / 1,250 = 4
    ROI = (5,000 - 1,250) / 1,250 = 3
(the mean of the rows' CTRs would be (0.00667 + 0.08) / 2 = 0.0433).
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from kpi_synth import ad_daily, warehouse

from mktdash import weeks
from mktdash.analytics import alerts, kpis, metrics
from mktdash.budget import spend
from mktdash.dashboards import executive
from mktdash.reporting import tables
from mktdash.warehouse import schema

WEEK = "2025-W46"  # Monday 2025-11-10
KNOWN = {"ctr": 0.025, "cvr": 0.05, "cpc": 2.5, "cpm": 62.5, "cpa": 50.0, "roas": 4.0, "roi": 3.0}
SUMS = {"impressions": 20000, "clicks": 500, "spend": 1250.0, "conversions": 25.0, "revenue": 5000.0}
ROWS = pd.DataFrame(
    {
        "week": WEEK,
        "channel": "search",
        "impressions": [15000, 5000],
        "clicks": [100, 400],
        "spend": [250.0, 1000.0],
        "conversions": [5.0, 20.0],
        "revenue": [1000.0, 4000.0],
    }
)


def _ad_daily() -> pd.DataFrame:
    """The two rows as warehouse ``ad_daily`` rows (two days of the same campaign)."""
    base = ad_daily(seed=1, n_weeks=1).head(1)
    df = pd.concat([base, base], ignore_index=True)
    df["date_day"] = pd.to_datetime(["2025-11-11", "2025-11-12"])
    df["channel"] = "search"
    for col, (_, wcol) in metrics.MEASURES.items():
        df[wcol] = ROWS[col].to_numpy()
    return schema.conform(df, "ad_daily")


def test_every_view_computes_the_same_ratio_from_the_same_numbers() -> None:
    names = list(KNOWN)
    frame = metrics.ratio_frame(ROWS.groupby("channel")[list(SUMS)].sum().reset_index(), names)
    ibis_t = kpis.totals(ibis.memtable(_ad_daily()), ["channel"]).to_pandas()
    cmp = kpis.compare(ROWS, WEEK, ["channel"], metrics=names).set_index("metric")["value"]
    dash = executive.kpis(ROWS)
    dash_table = executive._table_by(ROWS, "channel").iloc[0]
    wh = warehouse(_ad_daily())
    budget = spend.by_dimension(wh, WEEK, "channel", 1).iloc[0]
    for name, want in KNOWN.items():
        assert frame[name].iloc[0] == pytest.approx(want), f"pandas {name}"
        assert ibis_t[name].iloc[0] == pytest.approx(want), f"ibis {name}"
        assert cmp[name] == pytest.approx(want), f"kpis.compare {name}"
        if name in executive.RATIOS:
            assert dash[name] == pytest.approx(want), f"dashboard tile {name}"
            assert dash_table[name] == pytest.approx(want), f"dashboard table {name}"
    assert (budget["roas"], budget["cpa"]) == (pytest.approx(4.0), pytest.approx(50.0))
    # the alerts test the same numerators over the same denominators
    for name, (num, den) in {**alerts.RATE_TESTS, **alerts.RATIO_TESTS}.items():
        assert SUMS[num] / SUMS[den] == pytest.approx(KNOWN[name]), name


def test_a_zero_denominator_is_missing_in_every_view() -> None:
    rows = ROWS.assign(clicks=0, conversions=0.0)  # no clicks: no CPC, CVR or CPA
    frame = metrics.ratio_frame(rows, ["cpc", "cvr", "cpa", "ctr"])
    dash = executive.kpis(rows)
    budget = metrics.ratio_frame(rows, ["cpa"])  # what budget.spend computes
    assert frame[["cpc", "cvr", "cpa"]].isna().all().all() and (frame["ctr"] == 0).all()
    assert dash["cpc"] is None and dash["cvr"] is None and dash["cpa"] is None and dash["ctr"] == 0.0
    assert budget["cpa"].isna().all()
    expr = metrics.ratio_expr(ibis.memtable(rows), ["cpc", "ctr"]).to_pandas()
    assert expr["cpc"].isna().all() and (expr["ctr"] == 0).all()


def test_every_view_shows_a_kpi_with_its_kind_and_direction() -> None:
    m = metrics.METRICS
    assert [m[k].kind for k in ("ctr", "cvr", "cpa", "cpc", "cpm", "roas", "clicks", "roi")] == [
        "percent", "percent", "money", "money", "money", "ratio", "count", "percent",
    ]  # fmt: skip
    assert [k for k in kpis.AD_METRICS if not m[k].higher_is_better] == ["cpc", "cpm", "cpa"]
    values = pd.Series([0.5])
    for name in ("ctr", "cvr", "cpa", "cpc", "roas", "roi"):
        assert tables.column_kind(name, values) == m[name].kind, name
    assert executive.fmt(0.025, m["ctr"].kind) == "2.50%" == metrics.fmt(0.025, "ctr")
    assert executive.fmt(4.0, m["roas"].kind) == "4.00x" == metrics.fmt(4.0, "roas")
    tiles = {k for _, ks in executive.TIERS for k in ks}
    assert (
        tiles <= set(m)
        and alerts._kind("cpa", "up") == "problem"
        and alerts._kind("roas", "up") == "opportunity"
    )


def test_marketing_roi_cac_and_payback_as_crossdomain_computes_them() -> None:
    df = pd.DataFrame(
        {
            "revenue": [300.0],
            "won_amount": [900.0],
            "spend": [600.0],
            "new_customers": [4.0],
            "new_mrr": [150.0],
        }
    )
    out = metrics.ratio_frame(df, ["marketing_roi", "cac", "payback_months", "roi"]).iloc[0]
    assert out["marketing_roi"] == pytest.approx((300 + 900 - 600) / 600)  # 1.0
    assert out["roi"] == pytest.approx((300 - 600) / 600)  # -0.5: platform revenue only
    assert (out["cac"], out["payback_months"]) == (pytest.approx(150.0), pytest.approx(4.0))


def test_report_week_is_the_datas_latest_complete_week_capped_by_the_calendar() -> None:
    sunday = dt.date(2025, 11, 16)  # end of 2025-W46
    assert weeks.report_week("latest", sunday, today=dt.date(2025, 11, 17)) == "2025-W46"
    assert weeks.report_week("latest", sunday, today=dt.date(2025, 11, 16)) == "2025-W45"  # Sunday not over
    assert weeks.report_week(None, None, today=dt.date(2025, 11, 20)) == "2025-W46"
    with pytest.raises(ValueError):
        weeks.report_week("2025-46", None)
    wh = warehouse(_ad_daily())  # last day Wednesday 2025-11-12: W45 is the last complete week
    assert kpis.resolve_week(wh, today=dt.date(2026, 1, 1)) == "2025-W45"
    assert kpis.resolve_week(wh, today=dt.date(2025, 11, 4)) == "2025-W44"  # data ahead of the calendar
    assert np.isnan(metrics.divide(1.0, 0.0))
