"""The budget charts exist in the shared charts module and render with titles, units and alt text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mktdash.budget.curves import ResponseCurves
from mktdash.budget.optimizer import recommend
from mktdash.demo import world
from mktdash.reporting import charts


def test_budget_charts_render_with_titles_and_alt_text() -> None:
    c = ResponseCurves.hill_truth(world.TRUE_CURVES)
    rec = recommend(c, world.CURRENT_SPEND)
    t = rec.table()
    weeks = [f"2026-W{i:02d}" for i in range(40, 44)]
    figs = [
        charts.budget_allocation(t),
        charts.budget_response_curves(
            c, world.CURRENT_SPEND, dict(zip(t["channel"], t["recommended_weekly_spend"], strict=True))
        ),
        charts.budget_compliance(
            pd.DataFrame(
                {
                    "week": weeks,
                    "compliance": [1.0, 0.9, 0.97, 1.0],
                    "goal": 0.95,
                    "meets_goal": [True, False, True, True],
                }
            )
        ),
        charts.budget_roi(
            pd.DataFrame(
                {
                    "channel": ["search", "social"],
                    "roi_mean": [2.0, 1.5],
                    "roi_lower_90": [1.5, 1.0],
                    "roi_upper_90": [2.5, 2.0],
                }
            )
        ),
        charts.budget_mmm_fit(
            pd.DataFrame(
                {
                    "date": pd.date_range("2026-01-05", periods=4, freq="W-MON"),
                    "actual": [1.0, 2, 3, 4],
                    "fitted": [1.1, 2, 3, 4],
                    "lower_90": [0.5, 1, 2, 3],
                    "upper_90": [2.0, 3, 4, 5],
                }
            )
        ),
        charts.budget_forecast(
            pd.DataFrame(
                {
                    "scenario": ["plan"] * 4,
                    "week": weeks,
                    "revenue_mean": np.ones(4),
                    "revenue_lower_90": np.zeros(4),
                    "revenue_upper_90": np.full(4, 2.0),
                }
            )
        ),
        charts.budget_pacing(
            pd.DataFrame(
                {
                    "channel": ["search"],
                    "campaign_name": [None],
                    "period": ["MTD"],
                    "planned_spend": [100.0],
                    "projected_spend": [130.0],
                    "spend_to_date": [60.0],
                    "status": ["over"],
                }
            )
        ),
    ]
    for f in figs:
        assert f.alt_text
        assert f.axes[0].get_title(loc="left") or f.axes[0].get_title() or f._suptitle is not None
    curves_fig = figs[1]
    assert len([a for a in curves_fig.axes if a.get_title(loc="left")]) == 5  # one panel per channel


def test_a_finished_chart_is_drawn_once_when_saved(monkeypatch) -> None:  # noqa: ANN001
    """finish() lays the figure out; saving it must not lay it out again (a second full draw per chart)."""
    from matplotlib.figure import Figure

    fig = charts.bars(pd.DataFrame({"channel": ["search", "social"], "spend": [1.0, 2.0]}), x="channel", y="spend",
                      title="Spend", ylabel="spend")  # fmt: skip
    draws = []
    real_draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: draws.append(1) or real_draw(self, renderer))
    svg = charts.figure_svg(fig)
    assert svg.startswith(b"<?xml") and b"<svg" in svg and len(draws) == 1


def test_a_chart_displays_as_an_svg_image_with_its_text_escaped() -> None:
    """Notebook charts are SVG images: labels as escaped text with a font list a browser can fall back on,
    alt text escaped, the same bytes for the same chart (audit diffs)."""
    import base64
    import re

    def chart():  # noqa: ANN202
        frame = pd.DataFrame({"campaign": ["<script>alert(1)</script>", "Brand"], "spend": [1.0, 2.0]})
        return charts.bars(frame, x="campaign", y="spend", title="Spend <b>", ylabel="spend")

    html = charts.figure_html(chart())
    assert html.startswith('<img class="mktdash-chart" alt="Spend &lt;b&gt;: spend by campaign"')
    svg = base64.b64decode(re.search(r"data:image/svg\+xml;base64,([^\"]+)", html).group(1)).decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "<script" not in svg
    assert "font-family: 'DejaVu Sans', Verdana, Arial, sans-serif" in svg and "<path" in svg
    assert charts.figure_svg(chart()) == charts.figure_svg(chart())
