"""Controls and pacing: hand-made warehouses with known answers, and the demo world's planted misses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import budget_world as bw
import numpy as np
import pandas as pd
import pytest

from mktdash.budget import controls, pacing, spend
from mktdash.warehouse import schema
from mktdash.warehouse.backend import Warehouse


def _wh(
    ad_rows: list[dict], limits: list[dict], approvals: list[dict], plan: list[dict] | None = None
) -> Warehouse:
    wh = Warehouse.memory()
    wh.ensure_tables()
    wh.replace_table("ad_daily", schema.conform(pd.DataFrame(ad_rows), "ad_daily"))
    wh.replace_table("spend_limits", schema.conform(pd.DataFrame(limits), "spend_limits"))
    if approvals:
        wh.replace_table("approvals", schema.conform(pd.DataFrame(approvals), "approvals"))
    if plan:
        wh.replace_table("budget_plan", schema.conform(pd.DataFrame(plan), "budget_plan"))
    return wh


def _days(start: dt.date, n: int, channel: str, amount: float, campaign: str = "c1") -> list[dict]:
    return [
        {
            "date_day": start + dt.timedelta(days=i),
            "channel": channel,
            "campaign_name": campaign,
            "platform": "google_ads",
            "spend_reporting": amount,
            "conversions": 1.0,
            "conversions_value_reporting": 3 * amount,
        }
        for i in range(n)
    ]


MON = dt.date(2026, 1, 5)  # 2026-W02


def test_weekly_compliance_hand_math() -> None:
    # a: 100/day against a weekly limit of 600 -> 100 excess a week; b: 100/day, no limit
    rows = _days(MON, 14, "a", 100.0) + _days(MON, 14, "b", 100.0)
    limits = [{"channel": "a", "period": "week", "limit_amount": 600.0}]
    # approved on the Tuesday of the second week: covers week 3 (2026-W03) but not W02
    approvals = [
        {
            "proposal_id": "P-2026-W02-a-run1",
            "approved_by": "cfo",
            "approved_at": dt.datetime(2026, 1, 13, 9),
            "decision": "approved",
            "note": "ok",
        },
        {
            "proposal_id": "P-2026-W02-b-run1",
            "approved_by": "cfo",
            "approved_at": dt.datetime(2026, 1, 6),
            "decision": "rejected",
            "note": "no",
        },
    ]
    wh = _wh(rows, limits, approvals)
    comp = controls.weekly_compliance(wh, "2026-W03", n_weeks=2, goal=0.95).set_index("week")
    assert comp.loc["2026-W02", "spend"] == pytest.approx(1400.0)
    assert comp.loc["2026-W02", "unapproved_excess"] == pytest.approx(100.0)
    assert comp.loc["2026-W02", "compliance"] == pytest.approx(1 - 100 / 1400)
    assert comp.loc["2026-W03", "compliance"] == pytest.approx(1.0)
    assert bool(comp.loc["2026-W02", "meets_goal"]) is False  # 1 - 1/14 = 92.9% < 95%
    vio = controls.violations(wh, "2026-W03", n_weeks=2)
    assert vio[["week", "excess", "violation"]].values.tolist() == [
        ["2026-W02", pytest.approx(100.0), True],
        ["2026-W03", pytest.approx(100.0), False],
    ]
    # the budget notebook computes the daily excess once and hands it to both
    excess = controls.excess_daily(wh, *spend.window("2026-W03", 2))
    assert spend.window("2026-W03", 2) == (MON, dt.date(2026, 1, 18))
    pd.testing.assert_frame_equal(
        controls.weekly_compliance(wh, "2026-W03", n_weeks=2, excess=excess), comp.reset_index()
    )
    pd.testing.assert_frame_equal(controls.violations(wh, "2026-W03", n_weeks=2, excess=excess), vio)


def test_meets_goal_flag_and_monthly_limit() -> None:
    rows = _days(dt.date(2026, 1, 1), 31, "a", 100.0)
    limits = [{"channel": "a", "period": "month", "limit_amount": 2500.0}]  # crossed on Jan 25
    wh = _wh(rows, limits, [])
    comp = controls.weekly_compliance(wh, "2026-W05", n_weeks=5, goal=0.95).set_index("week")
    # Jan 25 (Sunday of W04): cumulative 2500 -> no excess yet; W05 (Jan 26..31): 600 excess of 600 spend
    assert comp.loc["2026-W04", "unapproved_excess"] == pytest.approx(0.0)
    assert comp.loc["2026-W05", "unapproved_excess"] == pytest.approx(600.0)
    assert comp.loc["2026-W05", "compliance"] == pytest.approx(0.0)
    assert not bool(comp.loc["2026-W05", "meets_goal"])


def test_proposals_threshold_ids_and_files(tmp_path: Path) -> None:
    rec = pd.DataFrame(
        {
            "channel": ["a", "b"],
            "current_weekly_spend": [1000.0, 5000.0],
            "recommended_weekly_spend": [1300.0, 3500.0],
            "expected_revenue_current": [10.0, 20.0],
            "expected_revenue_recommended": [12.0, 19.0],
            "marginal_roas_current": [2.0, 0.5],
            "marginal_roas_recommended": [1.5, 0.7],
        }
    )
    props = controls.proposals(rec, "2026-W47", "20261123-abc", threshold=1000.0)
    assert props["proposal_id"].tolist() == ["P-2026-W47-b-20261123-abc"]
    assert props["amount"].tolist() == [-1500.0]
    assert "decrease b" in props["reason"].iloc[0]
    files = controls.write_proposals(props, tmp_path)
    assert [f.name for f in files] == ["proposals.csv", "proposals.json"]
    assert controls.proposal_channel(props["proposal_id"].iloc[0], ["a", "b"]) == "b"


def test_proposals_carry_the_moves_evidence() -> None:
    rec = pd.DataFrame(
        {
            "channel": ["a"],
            "current_weekly_spend": [5000.0],
            "recommended_weekly_spend": [6500.0],
            "expected_revenue_current": [10.0],
            "expected_revenue_recommended": [12.0],
            "marginal_roas_current": [2.0],
            "marginal_roas_recommended": [1.5],
            "plan_prob_uplift_positive": [0.97],
            "plan_uplift_lower_90": [1.5],
            "plan_uplift_upper_90": [9.0],
        }
    )
    props = controls.proposals(rec, "2026-W47", "r1", threshold=1000.0)
    assert props[["plan_prob_uplift_positive", "plan_uplift_lower_90", "plan_uplift_upper_90"]].iloc[
        0
    ].tolist() == [
        0.97,
        1.5,
        9.0,
    ]


def test_weekly_channel_limits_for_the_optimizer() -> None:
    limits = [
        {"channel": "a", "period": "week", "limit_amount": 600.0},
        {"channel": "a", "period": "month", "limit_amount": 2000.0},  # 2000 x 12 / 52.1775 = 459.96 per week
        {
            "channel": "b",
            "period": "week",
            "limit_amount": 900.0,
            "campaign_name": "c1",
        },  # a campaign's limit
    ]
    wh = _wh(_days(dt.date(2026, 1, 1), 3, "a", 10.0), limits, [])
    got = controls.weekly_channel_limits(wh)
    assert list(got) == ["a"] and got["a"] == pytest.approx(2000.0 * 12 / 52.1775, rel=1e-12)


def test_pacing_projection_hand_math() -> None:
    # flat 100/day in January 2026 up to Jan 20; plan 4000 for the month; run rate 100/day, 11 days left
    rows = _days(dt.date(2025, 12, 1), 51, "a", 100.0)
    plan = [
        {"month": dt.date(2026, 1, 1), "channel": "a", "planned_spend": 4000.0},
        {"month": dt.date(2025, 12, 1), "channel": "a", "planned_spend": 3000.0},
    ]
    wh = _wh(rows, [], [], plan)
    p = pacing.pacing(wh, "2026-W04", tolerance=0.15)  # W04 ends Jan 25; data ends Jan 20
    m = p[p["period"] == "MTD"].iloc[0]
    assert m["spend_to_date"] == pytest.approx(2000.0)
    assert m["projected_spend"] == pytest.approx(3100.0)
    assert m["status"] == "under"  # 3100 / 4000 - 1 = -22.5%
    assert m["daily_to_land"] == pytest.approx(2000.0 / 11)
    pva = pacing.plan_vs_actual(wh, "2026-W04").set_index("month")
    assert pva.loc["2025-12", "actual_spend"] == pytest.approx(3100.0)
    assert pva.loc["2025-12", "utilisation"] == pytest.approx(3100.0 / 3000.0)


@pytest.fixture(scope="module")
def demo_wh(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    world = bw.demo_world(60)
    path = bw.load_world(tmp_path_factory.mktemp("budget") / "wh.duckdb", world)
    wh = Warehouse.open(path, read_only=True)
    yield wh, world
    wh.close()


def test_demo_pacing_flags_the_planted_misses(demo_wh) -> None:  # noqa: ANN001
    wh, world = demo_wh
    p = pacing.pacing(wh, bw.WEEK, 0.15)
    mtd = p[(p["period"] == "MTD") & p["campaign_name"].isna()].set_index("channel")
    assert sorted(mtd.index[mtd["status"] == "over"]) == world.truth["pacing"]["over"]
    assert sorted(mtd.index[mtd["status"] == "under"]) == world.truth["pacing"]["under"]
    ad = world.tables["ad_daily"]
    nov = ad[(ad["date_day"] >= "2026-11-01") & (ad["date_day"] <= "2026-11-22")]
    expect = nov.groupby("channel")["spend_reporting"].sum()
    assert np.allclose(mtd["spend_to_date"].sort_index(), expect.sort_index())


def test_demo_search_limit_breach_is_a_violation(demo_wh) -> None:  # noqa: ANN001
    wh, world = demo_wh
    vio = controls.violations(wh, bw.WEEK, n_weeks=1)
    search = vio[(vio["channel"] == "search") & vio["campaign_name"].isna() & (vio["period"] == "week")]
    assert len(search) == 1 and bool(search["violation"].iloc[0])
    ad = world.tables["ad_daily"]
    wk = ad[(ad["date_day"] >= "2026-11-16") & (ad["date_day"] <= "2026-11-22") & (ad["channel"] == "search")]
    limit = world.tables["spend_limits"].query("channel == 'search' and period == 'week'")["limit_amount"]
    limit = limit[world.tables["spend_limits"]["campaign_name"].isna()].iloc[0]
    assert search["excess"].iloc[0] == pytest.approx(wk["spend_reporting"].sum() - limit)


def test_demo_spend_by_dimension_matches_pandas(demo_wh) -> None:  # noqa: ANN001
    wh, world = demo_wh
    got = spend.by_dimension(wh, bw.WEEK, "platform", 13)
    ad = world.tables["ad_daily"]
    win = ad[(ad["date_day"] >= "2026-08-24") & (ad["date_day"] <= "2026-11-22")]
    expect = win.groupby(["channel", "platform"])["spend_reporting"].sum()
    g = got.set_index(["channel", "platform"])["spend"]
    assert np.allclose(g.sort_index().to_numpy(), expect.sort_index().to_numpy())
    assert got["share"].sum() == pytest.approx(1.0)
    wd = spend.over_time(wh, bw.WEEK, "weekday", 8)
    assert wd["period"].unique().tolist() == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
