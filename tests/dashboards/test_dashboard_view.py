"""Executive dashboard data and rendering (no browser): numbers against raw SQL, escaping, exports."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import world  # noqa: E402

from mktdash.dashboards import executive  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    home = tmp_path_factory.mktemp("dash_view")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MKTDASH_HOME", str(home))
        info = world.build(home, minimal=True, n_weeks=4, runs=2)
        d = executive.DashboardData()
        yield d, info


def sql1(snap, query, args):
    con = duckdb.connect(str(snap), read_only=True)
    try:
        return con.execute(query, args).fetchone()[0]
    finally:
        con.close()


BASE = "FROM ad_daily WHERE strftime(date_day, '%G-W%V') = ?"


@pytest.mark.parametrize("channel", ["all", "social", "search"])
def test_tiles_match_raw_sql(data, channel):
    d, info = data
    snap = info["snapshot"]
    week = info["weeks"][0]
    where, args = (BASE, [week]) if channel == "all" else (BASE + " AND channel = ?", [week, channel])
    v = d.view(week, channel)
    spend = sql1(snap, f"SELECT sum(spend_reporting) {where}", args)
    clicks = sql1(snap, f"SELECT sum(clicks) {where}", args)
    conv = sql1(snap, f"SELECT sum(conversions) {where}", args)
    rev = sql1(snap, f"SELECT sum(conversions_value_reporting) {where}", args)
    assert v.tiles["spend"]["value"] == pytest.approx(spend, rel=1e-12)
    assert v.tiles["cpc"]["value"] == pytest.approx(spend / clicks, rel=1e-12)
    assert v.tiles["cpa"]["value"] == pytest.approx(spend / conv, rel=1e-12)
    assert v.tiles["roas"]["value"] == pytest.approx(rev / spend, rel=1e-12)


def test_wow_uses_previous_week(data):
    d, info = data
    w0, w1 = info["weeks"]
    v = d.view(w1)
    assert v.tiles["spend"]["prev"] == pytest.approx(
        sql1(info["snapshot"], f"SELECT sum(spend_reporting) {BASE}", [w0])
    )


def test_targets_and_alert_ranking(data):
    d, info = data
    v = d.view(info["weeks"][-1])
    assert v.tiles["roas"]["target"] == 4.0  # kpi_targets: total/all/week
    impacts = [a["impact"] for a in v.alerts]
    assert impacts == sorted(impacts, reverse=True) and impacts[0] == 99999.0
    social = d.view(info["weeks"][-1], "social")
    assert social.alerts and all(a.get("channel") == "social" for a in social.alerts)


def test_render_escapes_campaign_names_and_has_alt_text(data):
    d, info = data
    v = d.view(info["weeks"][-1], "search")
    html = executive.render(v)
    assert world.HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<img class="mk-chart mk-trend"' in html and 'alt="Spend and revenue' in html
    assert html.count('class="mk-tile"') >= 14
    # charts show as SVG images, drawn once; the PNG for slides is rendered only when downloaded
    assert html.count('src="data:image/svg+xml;base64,') == 2 and "data:image/png" not in html
    assert all("png" not in vars(c) for c in v.figures.values())
    svg = base64.b64decode(re.search(r'mk-trend" src="data:image/svg\+xml;base64,([^"]+)', html).group(1))
    assert b"<svg" in svg and b"Spend and revenue, search" in svg


def test_exports(data):
    d, info = data
    v = d.view(info["weeks"][-1], "search")
    csv = pd.read_csv(io.BytesIO(executive.export_csv(v)))
    assert world.HOSTILE in set(csv["campaign_name"])  # the data itself is kept verbatim
    assert csv["spend"].sum() == pytest.approx(v.tiles["spend"]["value"], rel=1e-9)
    xl = pd.read_excel(io.BytesIO(executive.export_xlsx(v)), sheet_name=None)
    assert {"kpis", "channels", "campaigns", "alerts"} <= set(xl)
    links = executive.export_links(v)
    assert 'download="' in links and "data:text/csv;base64," in links
    pngs = executive.png_links(v)
    assert pngs.count("data:image/png;base64,") == 2 and 'download="' in pngs


def test_missing_exports_render_not_available(data, tmp_path):
    d, info = data
    (info["run_dirs"][0] / "exports" / "budget_recommendation.csv").rename(tmp_path / "b.csv")
    try:
        html = executive.render(d.view(info["weeks"][0]))
        assert "Not available for this week." in html
    finally:
        (tmp_path / "b.csv").rename(info["run_dirs"][0] / "exports" / "budget_recommendation.csv")


def test_a_held_budget_says_why_beside_the_table(data):
    d, info = data
    advice = info["run_dirs"][0] / "exports" / "budget_advice.json"
    week = info["weeks"][0]
    try:
        advice.write_text(json.dumps({"hold": False, "reason": "", "prob_uplift_positive": 0.97}))
        assert d.view(week).budget_hold == "" and "Keep the current allocation" not in executive.render(
            d.view(week)
        )
        why = "P(uplift > 0) = 0.86 is below 0.90. Most of the doubt is in display"
        advice.write_text(json.dumps({"hold": True, "reason": why, "prob_uplift_positive": 0.86}))
        html = executive.render(d.view(week))
        assert f"<b>Keep the current allocation this week.</b> {why.replace('>', '&gt;')}</p>" in html
    finally:
        advice.unlink(missing_ok=True)


@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium for the PDF export"
)
def test_pdf_export(data):
    d, info = data
    pdf = executive.export_pdf(d.view(info["weeks"][-1]))
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000


def test_mode_detection(monkeypatch):
    monkeypatch.delenv("VOILA_BASE_URL", raising=False)
    for k in [k for k in __import__("os").environ if k.startswith("VOILA_")]:
        monkeypatch.delenv(k)
    assert executive.resolve_mode("auto") == "static"
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    assert executive.resolve_mode("auto") == "live"
    assert executive.resolve_mode("static") == "static"


def test_live_app_controls_drive_the_view(data):
    d, info = data
    app = executive.App(d, "latest")
    assert app.view.week == info["weeks"][-1] and app.view.channel == "all"
    assert app.campaign.disabled  # drill-down opens once a channel is chosen
    app.week.value = info["weeks"][0]
    assert app.view.week == info["weeks"][0]
    app.channel.value = "search"
    labels = [lbl for lbl, _ in app.campaign.options]
    assert world.HOSTILE in labels and not app.campaign.disabled
    cid = dict(app.campaign.options)[world.HOSTILE]
    app.campaign.value = cid
    assert app.view.campaign == world.HOSTILE
    assert "&lt;script&gt;" in app.body.value and world.HOSTILE not in app.body.value
    app._xlsx()
    assert "spreadsheetml" in app.file_link.value
