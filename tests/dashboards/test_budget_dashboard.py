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
