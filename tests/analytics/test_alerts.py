"""Alerts: planted changes are found with the right direction and size; a quiet world gives none; files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from kpi_synth import ad_daily, warehouse
from scipy import stats

from mktdash import params
from mktdash.analytics import alerts
from mktdash.reporting import exports
from mktdash.warehouse import schema

PLANT = [
    {"week": "2025-W44", "entity": "Search campaign 2", "metric": "ctr", "size": -0.4},
    {"week": "2025-W46", "entity": "Search campaign 1", "metric": "cvr", "size": -0.5},
    {"week": "2025-W45", "entity": "Display campaign 3", "metric": "spend", "size": 0.9},
]


@pytest.fixture(scope="module")
def settings() -> params.Settings:
    return params.load({})


@pytest.fixture(scope="module")
def planted(settings: params.Settings) -> pd.DataFrame:
    return alerts.detect(warehouse(ad_daily(seed=3, n_weeks=20, plant=PLANT)), "2025-W46", settings)


def test_every_planted_change_is_found(planted: pd.DataFrame) -> None:
    for p in PLANT:
        hit = planted[
            (planted.entity == p["entity"]) & (planted.metric == p["metric"]) & (planted.week == p["week"])
        ]
        assert len(hit) == 1, p
        r = hit.iloc[0]
        assert r["direction"] == ("up" if p["size"] > 0 else "down")
        assert r["size"] == pytest.approx(p["size"], abs=0.2)
        assert r["q_value"] <= 0.01 and r["p_value"] < 0.01
    assert planted.loc[planted.metric == "ctr", "kind"].eq("problem").all()


def test_alerts_are_explained_by_the_plants(planted: pd.DataFrame) -> None:
    for _, r in planted.iterrows():
        assert any(
            r["week"] == p["week"]
            and r["metric"] in alerts.CONSEQUENCES[p["metric"]]
            and (r["entity"] == p["entity"] or r["level"] != "campaign")
            for p in PLANT
        ), r["text"]
    assert planted["impact"].is_monotonic_decreasing and (planted["impact"] >= 0).all()
    assert set(alerts.COLUMNS) <= set(planted.columns)


@pytest.mark.parametrize("seed", [4, 5])
def test_quiet_world_gives_no_alerts(settings: params.Settings, seed: int) -> None:
    got = alerts.detect(warehouse(ad_daily(seed=seed, n_weeks=20)), "2025-W46", settings)
    assert got.empty, got[["entity", "metric", "week", "size", "q_value"]]


def test_immaterial_changes_do_not_alert(settings: params.Settings) -> None:
    small = [{"week": "2025-W46", "entity": "Search campaign 3", "metric": "ctr", "size": -0.1}]
    got = alerts.detect(warehouse(ad_daily(seed=3, n_weeks=20, plant=small)), "2025-W46", settings)
    assert not ((got.entity == "Search campaign 3") & (got.metric == "ctr")).any()


def test_rate_test_statistic_by_hand() -> None:
    """Two-proportion z with no over-dispersion: 12 baseline weeks of 1000/100000, week 700/100000."""
    base = pd.DataFrame(
        {
            "entity": "x",
            "week": [f"w{i}" for i in range(12)],
            "clicks": 1000,
            "impressions": 100_000,
            "conversions": 10.0,
            "revenue": 100.0,
            "spend": 10.0,
        }
    )
    cur = pd.DataFrame(
        {"clicks": [700], "impressions": [100_000], "conversions": [7.0], "revenue": [70.0], "spend": [7.0]},
        index=pd.Index(["x"], name="entity"),
    )
    r = alerts._rate_tests(cur, base, 12, "ctr").iloc[0]
    p0, p1 = 0.01, 0.007
    z = (p1 - p0) / np.sqrt(p0 * (1 - p0) * (1 / 100_000 + 1 / 1_200_000))
    assert r["z"] == pytest.approx(z) and r["baseline"] == pytest.approx(p0)
    assert r["impact"] == pytest.approx(-300 * 0.1)  # 300 clicks lost x 0.10 revenue per click


def test_parent_adjusted_rate_test_by_hand() -> None:
    """Difference in differences on the log rate vs the rest of the parent, binomial delta-method variance."""
    k = 12
    base = pd.DataFrame(
        {
            "entity": "x",
            "week": [f"w{i}" for i in range(k)],
            "conversions": 100.0,
            "clicks": 1000,
            "conversions_par": 1000.0,
            "clicks_par": 10000,
        }
    )
    cur = pd.DataFrame(
        {"conversions": [50.0], "clicks": [1000], "conversions_par": [1200.0], "clicks_par": [10000]},
        index=pd.Index(["x"], name="entity"),
    )
    r = alerts._adjusted_rate_tests(cur, base, k, "cvr").iloc[0]
    pe, pp = 100.5 / 1001, 1000.5 / 10001
    y0 = np.log(pe) - np.log(pp)
    v0 = (1 - pe) / 100.5 + (1 - pp) / 1000.5  # no week-to-week variation: tau^2 = 0
    pe1, pp1 = 50.5 / 1001, 1200.5 / 10001
    y1, v1 = np.log(pe1) - np.log(pp1), (1 - pe1) / 50.5 + (1 - pp1) / 1200.5
    z = (y1 - y0) / np.sqrt(v1 + v0 * np.pi / (2 * k))
    assert r["z"] == pytest.approx(z) and r["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_ratio_test_statistic_by_hand() -> None:
    """ROAS on the log scale with Poisson conversion noise; no week-to-week variation in the baseline."""
    k = 12
    base = pd.DataFrame(
        {
            "entity": "x",
            "week": [f"w{i}" for i in range(k)],
            "revenue": 2000.0,
            "spend": 1000.0,
            "conversions": 99.5,
        }
    )
    cur = pd.DataFrame(
        {"revenue": [1100.0], "spend": [1000.0], "conversions": [199.5]}, index=pd.Index(["x"], name="entity")
    )
    r = alerts._ratio_tests(cur, base, "roas").iloc[0]
    z = (np.log(1.1) - np.log(2.0)) / np.sqrt(1 / 200 + (1 / 100) * np.pi / (2 * k))
    assert r["z"] == pytest.approx(z) and r["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_channel_wide_shock_is_not_a_campaign_alert_but_a_hidden_drop_is() -> None:
    """Campaign CVR moving with its channel (shared weekly shocks of +-30%) hides a -40% drop from the campaign's
    own baseline; relative to the rest of the channel it stands out, and the shared shock itself gives nothing."""
    rng = np.random.default_rng(0)
    wk = [f"2025-W{i:02d}" for i in range(30, 47)]
    shock = np.exp(rng.normal(0, 0.3, len(wk)))
    shock[-1] = 1.35  # the report week: a channel-wide rise
    rows = []
    for c in range(6):
        for i, w in enumerate(wk):
            clicks = 20_000
            cvr = 0.02 * shock[i] * (0.6 if (c == 0 and i == len(wk) - 1) else 1.0)
            rows.append(
                {
                    "week": w,
                    "entity": f"c{c}",
                    "channel": "search",
                    "impressions": 10 * clicks,
                    "clicks": clicks,
                    "conversions": float(rng.binomial(clicks, min(cvr, 1))),
                    "spend": 1000.0,
                    "revenue": 5000.0,
                }
            )
    frame = {"campaign": pd.DataFrame(rows)}
    adj = alerts.tests(frame, wk[-1], history_weeks=0, metrics=["cvr"])
    raw = alerts.tests(frame, wk[-1], history_weeks=0, metrics=["cvr"], adjust=False)
    a, r = adj.set_index("entity"), raw.set_index("entity")
    assert a.loc["c0", "p_value"] < 1e-6 < r.loc["c0", "p_value"]  # found only relative to the channel
    assert (a.drop("c0")["p_value"] > 1e-3).all()  # the shared +35% is not a campaign change
    assert "difference in differences" in a.loc["c0", "test"]


def test_target_opportunity(settings: params.Settings) -> None:
    wh = warehouse(ad_daily(seed=3, n_weeks=20))
    wh.append(
        "kpi_targets",
        schema.conform(
            pd.DataFrame(
                {
                    "metric": ["roas"],
                    "level": ["total"],
                    "entity": ["all"],
                    "period": ["week"],
                    "target": [1.0],
                }
            ),
            "kpi_targets",
        ),
    )
    opp = alerts.target_opportunities(wh, "2025-W46", settings)
    roas = wh.sql("""SELECT campaign_name, SUM(conversions_value_reporting)/SUM(spend_reporting) r FROM ad_daily
                     WHERE date_day BETWEEN '2025-11-10' AND '2025-11-16' GROUP BY 1""").set_index(
        "campaign_name"
    )
    assert len(opp) > 0 and (opp.kind == "opportunity").all()
    for _, r in opp.iterrows():
        assert r["value"] == pytest.approx(roas.loc[r["entity"], "r"]) and r["value"] > 1.15


def test_write_json_csv_and_escaping(tmp_path, planted: pd.DataFrame) -> None:
    jp, cp = alerts.write(planted, tmp_path)
    data = json.loads(jp.read_text())
    assert len(data) == len(planted) and {
        "week",
        "level",
        "entity",
        "metric",
        "direction",
        "kind",
        "size",
        "p_value",
        "z",
        "impact",
        "text",
    } <= set(data[0])
    assert pd.read_csv(cp).shape[0] == len(planted)
    evil = planted.head(1).assign(entity="<script>alert(1)</script>")
    html = alerts.table(evil).to_html()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_exports_write_views_csv_and_one_workbook(tmp_path) -> None:
    views = {
        "Channel weekly": pd.DataFrame({"a": [1, 2]}),
        "Alerts: ranked / all": pd.DataFrame({"t": ["=1+1"]}),
    }
    out = exports.write_views(views, tmp_path)
    assert (tmp_path / "exports" / "channel_weekly.csv").exists()
    assert (tmp_path / "exports" / "alerts_ranked_all.csv").exists()
    book = pd.read_excel(out["_workbook"], sheet_name=None)
    assert list(book) == ["Channel weekly", "Alerts ranked all"]
    assert book["Alerts ranked all"]["t"].iloc[0] == "'=1+1"


def test_exports_workbook_keeps_text_as_text(tmp_path) -> None:
    """A campaign name that looks like a link or a formula is a plain text cell: no hyperlink, no formula."""
    import openpyxl

    names = ["https://evil.example/x", "=SUM(1,2)", "Brand <b>search</b>"]
    out = exports.write_views({"campaigns": pd.DataFrame({"campaign": names})}, tmp_path, csv=False)
    sheet = openpyxl.load_workbook(out["_workbook"])["campaigns"]
    cells = [sheet.cell(row=i + 2, column=1) for i in range(len(names))]
    assert [c.value for c in cells] == ["https://evil.example/x", "'=SUM(1,2)", "Brand <b>search</b>"]
    assert all(c.data_type == "s" and c.hyperlink is None for c in cells)


def test_exports_neutralise_formulas_in_text_and_mixed_columns_only(tmp_path) -> None:
    text = pd.Series(["-3", None, "ok", "@x"], dtype="str")
    mixed = pd.Series(["=A1", -3, None, 1.5], dtype=object)  # numbers stay numbers, even negative ones
    out = exports.write_views({"v": pd.DataFrame({"text": text, "mixed": mixed, "n": [-1, 2, 3, 4]})}, tmp_path,
                              csv=False)  # fmt: skip
    book = pd.read_excel(out["_workbook"], sheet_name="v")
    assert book["text"].tolist()[0::2] == ["'-3", "ok"] and book["text"].tolist()[3] == "'@x"
    assert book["text"].isna().tolist() == [False, True, False, False]
    assert book["mixed"].tolist()[:2] == ["'=A1", -3] and book["n"].tolist() == [-1, 2, 3, 4]


def test_exports_workbook_keeps_types_and_blanks(tmp_path) -> None:
    """Numbers stay numbers, dates dates, missing values blank; the header row is frozen, with filters."""
    import datetime as dt

    import openpyxl

    df = pd.DataFrame({"n": [1.5, None, 3.0], "d": pd.to_datetime(["2025-11-10", None, "2025-11-12"]),
                       "ok": [True, False, True], "t": ["a", None, "c"]})  # fmt: skip
    out = exports.write_views({"v": df}, tmp_path, csv=False)
    ws = openpyxl.load_workbook(out["_workbook"])["v"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=1, max_row=4)]
    assert rows[0] == ["n", "d", "ok", "t"]
    assert rows[1] == [1.5, dt.datetime(2025, 11, 10), True, "a"]
    assert rows[2] == [None, None, False, None]
    assert ws.cell(row=2, column=2).number_format == "yyyy-mm-dd"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:D4"
