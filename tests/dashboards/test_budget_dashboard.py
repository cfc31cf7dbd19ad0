"""The budget dashboard (notebook 20, owned by the budget area) served by `mktdash serve`: a slider recomputes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, screenshots_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BUDGET = "/voila/render/20_budget.ipynb"
NOTEBOOK = ROOT / "notebooks" / "20_budget.ipynb"
TIMEOUT = 300_000  # the first render fits the (smoke-sized) MMM
SLIDER = ".widget-slider, .widget-hslider"

# What the recommendation shows: the tables inside widget Output areas (the recommended allocation), else the
# page text minus slider readouts and timings ("computed in 12 ms" changes on every recompute by itself).
TEXT_JS = """() => {
  const tables = [...document.querySelectorAll('.widget-output table')].map(t => t.innerText).join('\\n');
  if (tables) return tables;
  const root = document.querySelector('#rendered_cells') || document.body;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('.widget-readout, .widget-slider, .widget-hslider, input, select').forEach(e => e.remove());
  return clone.innerText.replace(/computed in [0-9.]+ ?m?s/g, '');
}"""


def _budget_ready() -> str | None:
    if not NOTEBOOK.exists():
        return f"{NOTEBOOK.relative_to(ROOT)} does not exist yet (budget area)"
    if (
        "slider" not in NOTEBOOK.read_text(encoding="utf-8").lower()
        and not (ROOT / "lib" / "mktdash" / "budget" / "widgets.py").exists()
    ):
        return "20_budget has no live sliders yet (lib/mktdash/budget/widgets.py missing)"
    return None


def test_budget_slider_changes_recommendation(dash_server, browser, tmp_path: Path):
    reason = _budget_ready()
    if reason:
        pytest.xfail(f"budget dashboard not ready by the dashboards deadline: {reason}")
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(f"{dash_server['url']}{BUDGET}?token={dash_server['token']}", timeout=TIMEOUT)
        slider = page.locator(SLIDER).first
        failed = page.get_by_text("There was an error when executing cell")
        page.locator(
            f"{SLIDER}, .jp-OutputArea-output:has-text('There was an error when executing cell')"
        ).first.wait_for(timeout=TIMEOUT)
        assert not failed.count(), (
            f"20_budget raised while rendering in Voilà: {failed.first.inner_text()[:300]!r}"
        )
        before = page.evaluate(TEXT_JS)
        readout = slider.locator(".widget-readout")
        old_readout = readout.inner_text() if readout.count() else ""
        handle = slider.locator(".noUi-handle, [role=slider]").first
        handle.focus()
        for _ in range(5):
            handle.press("ArrowLeft")  # a lower total budget must change the recommendation
        if readout.count():
            page.wait_for_function(
                "(a) => document.querySelector('.widget-readout').innerText !== a",
                arg=old_readout,
                timeout=TIMEOUT,
            )
        page.wait_for_function(f"(b) => ({TEXT_JS})() !== b", arg=before, timeout=TIMEOUT)
        assert page.evaluate(TEXT_JS) != before
        page.screenshot(path=str(tmp_path / "budget-desktop.png"), full_page=True)
        if (d := screenshots_dir()) is not None:
            page.screenshot(path=str(d / "budget-desktop.png"))
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(d / "budget-phone.png"))
        assert dialogs == []
    finally:
        ctx.close()


FIN_SECTIONS = [
    "Where the month and the quarter will land",
    "The recommendation",
    "Limits and compliance",
    "Scenarios and forecast",
    "What if",
]
OVERFLOW_JS = "() => ({W: window.innerWidth, scrollW: document.documentElement.scrollWidth})"


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_budget_dashboard_opens_with_the_finance_page(dash_server, browser, size, tmp_path: Path):
    """The designed page leads, its month-to-date numbers equal raw SQL on the snapshot, the sliders sit in it,
    and the analyst tables are folded behind closed details lines."""
    import duckdb

    reason = _budget_ready()
    if reason:
        pytest.xfail(f"budget dashboard not ready: {reason}")
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(f"{dash_server['url']}{BUDGET}?token={dash_server['token']}", timeout=TIMEOUT)
        page.locator(".mk-fin").wait_for(timeout=TIMEOUT)
        assert page.locator(".mk-fin h2").all_inner_texts() == FIN_SECTIONS
        as_of = page.get_attribute(".mk-fin", "data-as-of")
        con = duckdb.connect(str(dash_server["world"]["snapshot"]), read_only=True)
        spent, plan = con.execute(
            """
            SELECT (SELECT sum(spend_reporting) FROM ad_daily
                    WHERE date_day BETWEEN date_trunc('month', CAST(? AS DATE)) AND CAST(? AS DATE)),
                   (SELECT sum(planned_spend) FROM budget_plan
                    WHERE month = date_trunc('month', CAST(? AS DATE)) AND campaign_name IS NULL)
            """,
            [as_of, as_of, as_of],
        ).fetchone()
        con.close()
        mtd = page.locator(".mk-landing[data-period='MTD']")
        got = mtd.locator("[data-metric='spent']")
        assert float(got.get_attribute("data-value")) == pytest.approx(spent, rel=1e-9)
        assert got.inner_text() == f"${spent:,.0f}"
        assert float(mtd.locator("[data-metric='plan']").get_attribute("data-value")) == pytest.approx(plan)
        assert page.locator(".mk-moves li").count() >= 1
        assert (
            page.locator(f".mk-fin ~ * {SLIDER}, .widget-vbox {SLIDER}").count() >= 1
        )  # sliders on the page
        details = page.locator("details.mk-analyst")
        assert details.count() >= 5
        assert page.evaluate("() => [...document.querySelectorAll('details.mk-analyst')].every(d => !d.open)")
        assert not details.first.locator("table").first.is_visible()  # analyst tables hidden until opened
        details.first.locator("summary").click()
        assert details.first.locator("table").first.is_visible()
        lay = page.evaluate(OVERFLOW_JS)
        assert lay["scrollW"] <= lay["W"] + 1, lay  # nothing wider than the screen (tables scroll inside)
        name = "desktop" if size[0] > 600 else "phone"
        page.screenshot(path=str(tmp_path / f"finance-{name}.png"), full_page=True)
        if (d := screenshots_dir()) is not None:
            page.screenshot(path=str(d / f"finance-{name}.png"))
        assert dialogs == []
    finally:
        ctx.close()
