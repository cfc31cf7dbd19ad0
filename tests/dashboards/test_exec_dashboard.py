"""The executive dashboard in a real browser (Playwright driving /usr/bin/chromium through `mktdash serve`).

Known answers come from raw SQL on the published snapshot (``ad_daily``), never from the dashboard code.
"""

from __future__ import annotations

import html
import io
import json
import re
import urllib.error
import urllib.request
import zipfile

import duckdb
import pytest
from conftest import screenshots_dir
from world import HOSTILE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXEC = "/voila/render/30_exec_summary.ipynb"
TIMEOUT = 120_000  # ms; a fresh kernel on a busy 2-core machine

# Elements that overflow the viewport although they live inside a horizontal scroll box are fine;
# everything else must fit (no element wider than the viewport, nothing cut off).
OVERFLOW_JS = """() => {
  const W = document.documentElement.clientWidth, out = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
    if (r.width === 0 || cs.visibility === 'hidden' || cs.display === 'none') continue;
    const box = e.parentElement && e.parentElement.closest('.mk-table-wrap');
    if (box) continue;
    if (r.width > W + 1 || r.right > W + 1 || r.left < -1) out.push(`${e.tagName}.${e.className} ${r.left}..${r.right}`);
  }
  return {W, scrollW: document.documentElement.scrollWidth, out: out.slice(0, 10)};
}"""

OVERLAP_JS = """(sel) => {
  const boxes = [...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect());
  const bad = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) bad.push([i, j]);
  }
  return {n: boxes.length, bad};
}"""


def sql(snapshot, query: str, args: list | None = None) -> float:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        return float(con.execute(query, args or []).fetchone()[0])
    finally:
        con.close()


WEEK_SPEND = "SELECT sum(spend_reporting) FROM ad_daily WHERE strftime(date_day, '%G-W%V') = ?"


def open_exec(browser, server, width: int = 1440, height: int = 900):
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server['url']}{EXEC}?token={server['token']}", timeout=TIMEOUT)
    page.wait_for_selector(
        ".mk-app .mk-tile[data-metric=spend]", timeout=TIMEOUT
    )  # the live app, not the first paint
    return ctx, page, dialogs


def tile(page, metric: str) -> float:
    return float(page.get_attribute(f".mk-tile[data-metric={metric}]", "data-value"))


def test_login_required(dash_server):
    """No token: every dashboard URL redirects to the login form and no data is sent."""
    url = dash_server["url"]

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    for path in ["/", EXEC, "/archive/index.html", "/exec", "/api/kernels"]:
        for suffix in ("", "?token=wrong-token"):
            try:
                r = opener.open(url + path + suffix, timeout=30)
                body = r.read().decode("utf-8", "replace")
                pytest.fail(f"{path}{suffix} answered {r.status} without login: {body[:200]}")
            except urllib.error.HTTPError as e:
                assert e.code in (302, 403, 404), (path, e.code)
                if e.code == 302:
                    assert "/login" in e.headers["Location"], (path, e.headers["Location"])
                assert b"mk-tile" not in e.read()
    with urllib.request.urlopen(f"{url}/login", timeout=30) as r:  # the login form itself is public
        assert b"password" in r.read().lower()


def test_first_paint_is_in_the_served_html(dash_server):
    """The page as served (before any JavaScript runs) already holds the week's tiles, with the right numbers
    and the hostile campaign name escaped; the live app replaces it once the widgets load."""
    snap, w_last = dash_server["world"]["snapshot"], dash_server["world"]["weeks"][-1]
    url = f"{dash_server['url']}{EXEC}?token={dash_server['token']}"
    with urllib.request.urlopen(url, timeout=180) as r:
        page = r.read().decode("utf-8")
    start = page.index('<div class="mk-first-paint"')
    first_paint = page[start : page.index("document.currentScript", start)]
    spend = re.search(r'data-metric="spend" data-value="([^"]+)"', first_paint)
    assert spend and float(spend.group(1)) == pytest.approx(sql(snap, WEEK_SPEND, [w_last]), rel=1e-9)
    assert f"data-week='{w_last}'" in first_paint or f'data-week="{w_last}"' in first_paint
    assert html.escape(HOSTILE) in first_paint and HOSTILE not in first_paint


def test_landing_links_and_archive(dash_server, browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{dash_server['url']}/?token={dash_server['token']}")
    hrefs = page.eval_on_selector_all("a.card", "els => els.map(e => e.getAttribute('href'))")
    assert EXEC in hrefs and "/archive/index.html" in hrefs
    week = dash_server["world"]["weeks"][-1]
    assert week in page.inner_text("body")  # the published week
    page.goto(f"{dash_server['url']}/archive/index.html")  # cookie from the token login
    assert page.locator("h1").inner_text() == "Run archive"
    csp = page.request.get(f"{dash_server['url']}/archive/index.html").headers["content-security-policy"]
    assert "sandbox" in csp and "script-src 'none'" in csp  # archived HTML can never script the dashboard
    # snapshots are not browsable; only the two dashboards are served (not e.g. 00_ingest)
    for path in ("/archive/published/latest.json", "/voila/render/00_ingest.ipynb", "/voila/tree"):
        assert page.request.get(dash_server["url"] + path).status == 404, path
    ctx.close()


def test_code_not_in_page(dash_server):
    with urllib.request.urlopen(f"{dash_server['url']}{EXEC}?token={dash_server['token']}", timeout=180) as r:
        page = r.read().decode("utf-8")
    assert (
        "Executive summary" in page and "application/vnd.jupyter.widget-view+json" in page
    )  # it rendered...
    for code in ("dashboard.show(", "import mktdash", "mktdash.params.load", "sb.glue("):
        assert code not in page, code  # ...without its source


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_exec_renders_tiles_chart_alerts(dash_server, browser, size, tmp_path):
    ctx, page, dialogs = open_exec(browser, dash_server, *size)
    try:
        assert page.locator(".mk-tile").count() >= 10
        img = page.locator("img.mk-chart.mk-trend")
        img.wait_for(timeout=TIMEOUT)
        alt = img.get_attribute("alt")
        assert alt and "spend" in alt.lower() and "USD" in alt
        assert page.evaluate("(e) => e.naturalWidth > 0", img.element_handle())
        assert page.locator(".mk-alerts li").count() >= 1
        assert page.locator(".jp-InputArea-editor, .CodeMirror, .cm-editor").count() == 0  # no code cells
        text = page.inner_text("body")
        assert "dashboard.show(" not in text and "import mktdash" not in text
        name = "desktop" if size[0] > 600 else "phone"
        page.screenshot(path=str(tmp_path / f"exec-{name}.png"), full_page=True)
        if (d := screenshots_dir()) is not None:
            page.screenshot(path=str(d / f"exec-{name}.png"), full_page=False)
        lay = page.evaluate(OVERFLOW_JS)
        assert lay["out"] == [], lay
        assert lay["scrollW"] <= lay["W"] + 1, lay
        for sel in (".mk-tile", ".mk-controls .widget-dropdown"):
            ov = page.evaluate(OVERLAP_JS, sel)
            assert ov["n"] > 0 and ov["bad"] == [], (sel, ov)
        assert dialogs == []
    finally:
        ctx.close()


def test_week_channel_and_drilldown_change_numbers(dash_server, browser):
    snap = dash_server["world"]["snapshot"]
    w_last, w_prev = dash_server["world"]["weeks"][-1], dash_server["world"]["weeks"][-2]
    ctx, page, dialogs = open_exec(browser, dash_server)
    try:
        assert page.get_attribute(".mk-dash", "data-week") == w_last
        assert tile(page, "spend") == pytest.approx(sql(snap, WEEK_SPEND, [w_last]), rel=1e-9)
        page.select_option(".mk-week select", w_prev)
        page.wait_for_selector(f".mk-dash[data-week='{w_prev}']", timeout=TIMEOUT)
        assert tile(page, "spend") == pytest.approx(sql(snap, WEEK_SPEND, [w_prev]), rel=1e-9)
        rev = sql(
            snap,
            "SELECT sum(conversions_value_reporting) FROM ad_daily WHERE strftime(date_day, '%G-W%V') = ?",
            [w_prev],
        )
        assert tile(page, "revenue") == pytest.approx(rev, rel=1e-9)

        page.select_option(".mk-channel select", "social")
        page.wait_for_selector(".mk-dash[data-channel='social']", timeout=TIMEOUT)
        q = WEEK_SPEND + " AND channel = 'social'"
        assert tile(page, "spend") == pytest.approx(sql(snap, q, [w_prev]), rel=1e-9)
        clicks = sql(
            snap,
            "SELECT sum(clicks) FROM ad_daily WHERE strftime(date_day, '%G-W%V') = ? AND channel = 'social'",
            [w_prev],
        )
        imps = sql(
            snap,
            "SELECT sum(impressions) FROM ad_daily WHERE strftime(date_day, '%G-W%V') = ? "
            "AND channel = 'social'",
            [w_prev],
        )
        assert tile(page, "ctr") == pytest.approx(clicks / imps, rel=1e-9)

        # drill-down: channel -> campaign (the hostile name must show as text, run nothing)
        con = duckdb.connect(str(snap), read_only=True)
        hch = con.execute(
            "SELECT channel FROM ad_daily WHERE campaign_name = ? AND strftime(date_day, '%G-W%V') = ? "
            "GROUP BY 1 ORDER BY sum(spend_reporting) DESC LIMIT 1",
            [HOSTILE, w_prev],
        ).fetchone()[0]
        con.close()
        page.select_option(".mk-channel select", hch)
        page.wait_for_selector(f".mk-dash[data-channel='{hch}']", timeout=TIMEOUT)
        assert HOSTILE in page.locator(".mk-campaigns").inner_text()
        before = page.inner_text(".mk-sub")
        page.select_option(".mk-campaign select", label=HOSTILE)
        page.wait_for_function(
            "(b) => document.querySelector('.mk-sub').innerText !== b", arg=before, timeout=TIMEOUT
        )
        assert HOSTILE in page.inner_text(".mk-sub")
        q = WEEK_SPEND + " AND campaign_name = ?"
        assert tile(page, "spend") == pytest.approx(sql(snap, q, [w_prev, HOSTILE]), rel=1e-9)
        assert dialogs == []
    finally:
        ctx.close()


def test_hostile_campaign_renders_as_text(dash_server, browser):
    ctx, page, dialogs = open_exec(browser, dash_server)
    try:
        alerts = page.locator(".mk-alerts")
        assert HOSTILE in alerts.inner_text()  # shown literally...
        assert page.locator(".mk-dash script").count() == 0  # ...and never parsed into an element
        page.evaluate("() => new Promise(r => setTimeout(r, 0))")  # flush the event loop once (no sleep)
        assert dialogs == []
    finally:
        ctx.close()


def test_exports_download_files(dash_server, browser):
    ctx, page, dialogs = open_exec(browser, dash_server)
    try:
        page.wait_for_selector("a.mk-download[data-type='text/csv']", timeout=TIMEOUT)

        def download(selector: str) -> tuple[str, bytes]:
            with page.expect_download(timeout=TIMEOUT) as dl:
                page.click(selector)
            d = dl.value
            return d.suggested_filename, open(d.path(), "rb").read()

        name, csv = download("a.mk-download[data-type='text/csv']")
        assert name.endswith(".csv") and csv.splitlines()[0].startswith(b"channel,impressions")
        assert len(csv.splitlines()) >= 1 + 5  # header + five channels
        page.click(".mk-png button, button.mk-png")
        page.wait_for_selector(".mk-file-link a.mk-download[data-type='image/png']", timeout=TIMEOUT)
        name, png = download(".mk-file-link a.mk-download[data-type='image/png']")
        assert name.endswith(".png") and png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000

        page.click(".mk-xlsx button, button.mk-xlsx")
        xsel = ".mk-file-link a.mk-download[data-type='application/vnd.openxmlformats-officedocument.spreadsheetml.sheet']"
        page.wait_for_selector(xsel, timeout=TIMEOUT)
        name, xlsx = download(xsel)
        assert name.endswith(".xlsx") and xlsx[:2] == b"PK"
        with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
            assert "xl/workbook.xml" in z.namelist()
            assert b"channels" in z.read("xl/workbook.xml")

        page.click(".mk-pdf button, button.mk-pdf")
        page.wait_for_selector(".mk-file-link a.mk-download[data-type='application/pdf']", timeout=TIMEOUT)
        name, pdf = download(".mk-file-link a.mk-download[data-type='application/pdf']")
        assert name.endswith(".pdf") and pdf[:5] == b"%PDF-" and len(pdf) > 10_000
        assert dialogs == []
    finally:
        ctx.close()


def test_execute_request_refused(dash_server):
    """Voilà's kernel websocket drops execute_request: code sent from a browser never runs."""
    import asyncio
    import uuid

    from tornado.websocket import websocket_connect

    url, token, home = dash_server["url"], dash_server["token"], dash_server["home"]
    with urllib.request.urlopen(f"{url}{EXEC}?token={token}", timeout=180) as r:
        page = r.read().decode("utf-8")
    kernel_id = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page).group(1)
    marker = home / "pwned.txt"

    def msg(kind: str, content: dict) -> str:
        return json.dumps(
            {
                "header": {
                    "msg_id": uuid.uuid4().hex,
                    "msg_type": kind,
                    "username": "t",
                    "session": "s",
                    "version": "5.3",
                    "date": "",
                },
                "parent_header": {},
                "metadata": {},
                "content": content,
                "channel": "shell",
                "buffers": [],
            }
        )

    async def attack() -> bool:
        ws = await websocket_connect(
            f"ws://{url.split('//')[1]}/api/kernels/{kernel_id}/channels?token={token}"
        )
        ws.write_message(
            msg(
                "execute_request",
                {
                    "code": f"open({str(marker)!r}, 'w').write('x')",
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
            )
        )
        ws.write_message(msg("kernel_info_request", {}))
        got_info = False
        while not got_info:  # kernel_info_reply arrives after the execute would have been handled
            raw = await asyncio.wait_for(ws.read_message(), timeout=60)
            if raw is None:
                break
            if isinstance(raw, str):
                got_info = (
                    json.loads(raw).get("msg_type") == "kernel_info_reply"
                    or json.loads(raw).get("header", {}).get("msg_type") == "kernel_info_reply"
                )
        ws.close()
        return got_info

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as ex:  # Playwright's sync API owns this thread's event loop
        ok = ex.submit(lambda: asyncio.run(attack())).result(timeout=120)
    assert ok, "no kernel_info_reply: the channel did not work at all"
    assert not marker.exists()


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_plain_words_first_statistics_behind_a_toggle(dash_server, browser, size):
    """The summary opens with the week in sentences (revenue as SQL says); each alert leads with a plain sentence
    and shows its statistics only once its details toggle is opened."""
    w_last = dash_server["world"]["weeks"][-1]
    ctx, page, dialogs = open_exec(browser, dash_server, *size)
    try:
        sentences = page.locator(".mk-narrative p").all_inner_texts()
        rev = sql(
            dash_server["world"]["snapshot"],
            "SELECT sum(conversions_value_reporting) FROM ad_daily WHERE strftime(date_day, '%G-W%V') = ?",
            [w_last],
        )
        assert sentences[0].startswith(f"Revenue was ${rev / 1000:.3g}k in {w_last[-3:]}, ")
        assert sentences[-1].startswith("To decide: ")
        first = page.locator(".mk-alerts li").first
        plain = first.locator(".mk-plain")
        assert plain.is_visible() and "at stake" in plain.inner_text() and "z =" not in plain.inner_text()
        stats = first.locator("details.mk-stats p")
        assert not stats.is_visible()
        first.locator("details.mk-stats summary").click()
        assert stats.is_visible() and "z = " in stats.inner_text()
        assert dialogs == []
    finally:
        ctx.close()


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_how_we_are_doing_panel(dash_server, browser, size):
    """The success panel's latest freshness and compliance and its compliance trend, read here from the run
    folders' own files (quality_freshness.csv, manifest scraps)."""
    import pandas as pd

    run_dirs = dash_server["world"]["run_dirs"]
    fresh = float(pd.read_csv(run_dirs[-1] / "exports" / "quality_freshness.csv")["hours_since"].max())
    comp = [
        json.loads((r / "manifest.json").read_text())["scraps"]["20_budget"]["compliance"] for r in run_dirs
    ]
    ctx, page, dialogs = open_exec(browser, dash_server, *size)
    try:
        panel = page.locator(".mk-how")
        panel.scroll_into_view_if_needed()
        f = panel.locator(".mk-tile[data-metric='freshness_hours']")
        assert float(f.get_attribute("data-value")) == pytest.approx(fresh)
        assert f.locator(".mk-value").inner_text() == f"{fresh:,.0f} h"
        c = panel.locator(".mk-tile[data-metric='compliance']")
        assert float(c.get_attribute("data-value")) == pytest.approx(comp[-1])
        trend = c.locator(".mk-trend-text").inner_text()
        weeks = dash_server["world"]["weeks"]
        assert trend == " · ".join(f"{w[-3:]} {100 * v:.0f} %" for w, v in zip(weeks, comp, strict=True))
        assert panel.locator(".mk-tile").count() == 5
        lay = page.evaluate(OVERFLOW_JS)
        assert lay["out"] == [] and lay["scrollW"] <= lay["W"] + 1, lay
        assert dialogs == []
    finally:
        ctx.close()
