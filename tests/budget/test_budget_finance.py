"""The finance page of the budget dashboard: its facts against raw SQL on a demo warehouse and hand math on
the recommendation; its HTML escaped and carrying the same numbers."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import budget_world as bw
import duckdb
import numpy as np
import pandas as pd
import pytest

from mktdash.budget import finance
from mktdash.budget.curves import ResponseCurves
from mktdash.budget.optimizer import recommend
from mktdash.demo import world as demo
from mktdash.warehouse.backend import Warehouse


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    world = bw.demo_world(60)
    path = bw.load_world(tmp_path_factory.mktemp("finance") / "wh.duckdb", world)
    settings = bw.tiny_settings()
    rec = recommend(ResponseCurves.hill_truth(demo.TRUE_CURVES), demo.CURRENT_SPEND)
    with Warehouse.open(path, read_only=True) as wh:
        f = finance.facts(wh, settings, bw.WEEK, rec)
    with duckdb.connect(str(path), read_only=True) as con:  # raw SQL on the same file
        sql = con.sql
        spent = sql(
            "SELECT sum(spend_reporting) FROM ad_daily WHERE date_day BETWEEN DATE '2026-11-01' AND DATE '2026-11-22'"
        ).fetchone()[0]
        spent_q = sql(
            "SELECT sum(spend_reporting) FROM ad_daily WHERE date_day BETWEEN DATE '2026-10-01' AND DATE '2026-11-22'"
        ).fetchone()[0]
        plan = sql(
            "SELECT sum(planned_spend) FROM budget_plan WHERE month = DATE '2026-11-01' AND campaign_name IS NULL"
        ).fetchone()[0]
    yield SimpleNamespace(facts=f, rec=rec, settings=settings, spent=spent, spent_q=spent_q, plan=plan)


def test_the_month_and_quarter_land_against_the_plan_as_sql_says(page) -> None:  # noqa: ANN001
    mtd, qtd = page.facts["landing"]
    assert (mtd["period"], qtd["period"]) == ("MTD", "QTD")
    assert mtd["spent"] == pytest.approx(page.spent, rel=1e-9) and mtd["plan"] == pytest.approx(page.plan)
    assert qtd["spent"] == pytest.approx(page.spent_q, rel=1e-9)
    assert mtd["vs_plan"] == pytest.approx(mtd["projected"] / mtd["plan"] - 1)
    assert mtd["elapsed"] == pytest.approx(22 / 30) and mtd["label"] == "This month, November 2026"
    assert qtd["elapsed"] == pytest.approx(53 / 92) and qtd["label"] == "This quarter, Q4 2026"


def test_moves_are_the_recommendation_largest_first(page) -> None:  # noqa: ANN001
    t = page.rec.table()
    change = dict(zip(t["channel"], t["recommended_weekly_spend"] - t["current_weekly_spend"], strict=True))
    moves = page.facts["moves"]
    assert [m["channel"] for m in moves] == sorted(
        [c for c, v in change.items() if abs(v) >= min(1000.0, 0.01 * demo.CURRENT_SPEND[c])],
        key=lambda c: -abs(change[c]),
    )
    for m in moves:
        assert m["change"] == pytest.approx(change[m["channel"]])
        assert m["approval"] == (abs(m["change"]) >= page.settings.budget.approval_threshold)
    assert page.facts["n_approval"] == sum(m["approval"] for m in moves)
    u = page.rec.uplift()
    assert (
        page.facts["uplift"]["prob_positive"] == pytest.approx(u["prob_positive"])
        and 0 <= u["prob_positive"] <= 1
    )


def test_an_optimizer_probability_per_move_is_shown_when_given() -> None:
    t = pd.DataFrame({"channel": ["search", "social"], "current_weekly_spend": [100.0, 50.0],
                      "recommended_weekly_spend": [80.0, 70.0], "expected_revenue_current": [300.0, 100.0],
                      "expected_revenue_recommended": [280.0, 150.0], "plan_prob_uplift_positive": [np.nan, 0.93]})  # fmt: skip
    moves = finance.moves(t, threshold=15.0)
    assert [(m["channel"], m["verb"], m["gain"], m["prob"], m["approval"]) for m in moves] == [
        ("search", "Cut", -20.0, None, True),
        ("social", "Raise", 50.0, 0.93, True),
    ]


def test_the_page_shows_the_same_numbers_escaped(page) -> None:  # noqa: ANN001
    f = dict(page.facts)
    f["moves"] = [*f["moves"], {**f["moves"][0], "channel": "<script>x</script>"}]
    out = finance.page_html(f)
    assert "<script>x</script>" not in out and "&lt;script&gt;x&lt;/script&gt;" in out
    mtd = page.facts["landing"][0]
    spent = re.search(r'data-period="MTD".*?data-metric="spent" data-value="([^"]+)">([^<]+)<', out, re.S)
    assert float(spent.group(1)) == pytest.approx(page.spent) and spent.group(2) == f"${page.spent:,.0f}"
    assert f"${mtd['plan']:,.0f}" in out
    for name in ("Where the month and the quarter will land", "The recommendation", "Limits and compliance",
                 "Scenarios and forecast", "What if"):  # fmt: skip
        assert f"<h2>{name}</h2>" in out


def test_an_analyst_section_folds_behind_details() -> None:
    from mktdash.budget.sections import Section

    s = Section("Spend <analytics>", tables={"t": pd.DataFrame({"spend": [1234.5678]})}, notes=["n"])
    out = finance.section_html(s)
    assert out.startswith('<details class="mk-analyst"><summary>Details: Spend &lt;analytics&gt;</summary>')
    assert "$1,235" in out and "1234.5678" not in out
    assert finance.section_html(s, open_=True).startswith('<details class="mk-analyst" open>')
    assert dt.date(2026, 11, 22).isoformat() not in out
