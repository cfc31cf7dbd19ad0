"""Charts right by construction: time on a real date axis, each series one point per period in time order,
carrying exactly the values of the table it comes from."""

from __future__ import annotations

import datetime as dt

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

from mktdash.reporting import charts


def _lines(fig) -> dict[str, tuple[list[dt.date], list[float]]]:  # noqa: ANN001
    out = {}
    for line in fig.axes[0].get_lines():
        xs = [
            mdates.num2date(v).date() if isinstance(v, float) else pd.Timestamp(v).date()
            for v in line.get_xdata()
        ]
        out[line.get_label()] = (xs, [float(v) for v in line.get_ydata()])
    return out


def test_a_series_with_weeks_the_first_lacks_still_runs_left_to_right() -> None:
    """The bug of issue 24: the first series (display) starts in W40, the second (search) in W38; on a
    categorical axis built from the first series' weeks, search's W38 and W39 landed after W43."""
    df = pd.DataFrame(
        {
            "period": ["2026-W43", "2026-W40", "2026-W41", "2026-W42"]
            + ["2026-W39", "2026-W43", "2026-W38", "2026-W40", "2026-W41", "2026-W42"],
            "channel": ["display"] * 4 + ["search"] * 6,
            "spend": [4.0, 1.0, 2.0, 3.0, 20.0, 50.0, 10.0, 30.0, 35.0, 40.0],
        }
    )
    fig = charts.weekly_lines(df, x="period", y="spend", hue="channel", title="Weekly spend", ylabel="Spend")
    got = _lines(fig)
    monday = dt.date(2026, 9, 14)  # Monday of 2026-W38, worked out by hand from the calendar
    assert got["search"][0] == [monday + dt.timedelta(weeks=i) for i in range(6)]
    assert got["search"][1] == [10.0, 20.0, 30.0, 35.0, 40.0, 50.0]
    assert got["display"][0] == [monday + dt.timedelta(weeks=i) for i in range(2, 6)]
    assert got["display"][1] == [1.0, 2.0, 3.0, 4.0]
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "2026-W38" in labels and all(lbl.startswith("2026-W") for lbl in labels if lbl)


def test_months_and_days_sit_on_dates_too() -> None:
    months = pd.DataFrame(
        {"period": ["2026-11", "2026-09", "2026-10"], "channel": "search", "spend": [3.0, 1, 2]}
    )
    got = _lines(charts.weekly_lines(months, x="period", y="spend", hue="channel", title="M", ylabel="s"))
    assert got["search"] == (
        [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)],
        [1.0, 2.0, 3.0],
    )
    days = pd.DataFrame(
        {"date_day": pd.to_datetime(["2026-11-03", "2026-11-01"]), "channel": "social", "spend": [2.0, 1.0]}
    )
    got = _lines(charts.weekly_lines(days, x="date_day", y="spend", hue="channel", title="D", ylabel="s"))
    assert got["social"] == ([dt.date(2026, 11, 1), dt.date(2026, 11, 3)], [1.0, 2.0])


def test_two_rows_for_one_period_is_refused_with_what_to_do() -> None:
    df = pd.DataFrame(
        {"week": ["2026-W40", "2026-W40"], "channel": ["search", "search"], "spend": [1.0, 2.0]}
    )
    with pytest.raises(ValueError, match=r"channel search has 2 rows for week 2026-W40.*aggregate"):
        charts.weekly_lines(df, x="week", y="spend", hue="channel", title="T", ylabel="s")
    with pytest.raises(ValueError, match="not a period a time axis can place"):
        charts.period_dates(["W40"])


def test_forecast_trend_and_compliance_use_dates_in_order() -> None:
    fc = pd.DataFrame(
        {
            "scenario": ["plan", "plan", "recommended", "recommended"],
            "week": ["2026-W49", "2026-W48", "2026-W48", "2026-W49"],
            "revenue_mean": [2.0, 1.0, 3.0, 4.0],
            "revenue_lower_90": np.zeros(4),
            "revenue_upper_90": np.full(4, 5.0),
        }
    )
    got = _lines(charts.budget_forecast(fc))
    assert got["plan"] == ([dt.date(2026, 11, 23), dt.date(2026, 11, 30)], [1.0, 2.0])
    assert got["recommended"][1] == [3.0, 4.0]
    trend = pd.DataFrame(
        {"week": ["2026-W02", "2025-W52", "2026-W01"], "spend": [3.0, 1, 2], "revenue": [6.0, 2, 4]}
    )
    got = _lines(charts.exec_trend(trend, title="Trend"))
    # 2025-W52 starts Monday 22 Dec 2025; 2026-W01 on 29 Dec 2025 (ISO week 1 holds the year's first Thursday)
    assert got["Spend"] == (
        [dt.date(2025, 12, 22), dt.date(2025, 12, 29), dt.date(2026, 1, 5)],
        [1.0, 2.0, 3.0],
    )
    comp = pd.DataFrame(
        {
            "week": ["2026-W41", "2026-W40"],
            "compliance": [0.9, 1.0],
            "goal": 0.95,
            "meets_goal": [False, True],
        }
    )
    bars = charts.budget_compliance(comp).axes[0].patches
    centres = [mdates.num2date(b.get_x() + b.get_width() / 2).date() for b in bars]
    assert centres == [dt.date(2026, 10, 5), dt.date(2026, 9, 28)]  # each bar on its week's Monday


def test_a_partial_week_is_marked_on_the_chart() -> None:
    import datetime as dt

    from mktdash.reporting import numbers

    saved = numbers.CONTEXT.last_day
    numbers.configure(last_day=dt.date(2026, 11, 25))  # a Wednesday of 2026-W48
    try:
        df = pd.DataFrame({"week": ["2026-W47", "2026-W48"], "channel": "search", "spend": [100.0, 40.0]})
        fig = charts.weekly_lines(df, x="week", y="spend", hue="channel", title="Weekly spend", ylabel="s")
        hollow = [ln for ln in fig.axes[0].get_lines() if ln.get_markerfacecolor() == "white"]
        assert len(hollow) == 1 and list(hollow[0].get_ydata()) == [40.0]
        assert fig.alt_text.endswith("hollow points: partial week 2026-W48")
        fig.canvas.draw()
        assert "2026-W48 (partial)" in [t.get_text() for t in fig.axes[0].get_xticklabels()]
    finally:
        numbers.CONTEXT.last_day = saved
