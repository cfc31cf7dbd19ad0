"""ISO weeks as strings ("2025-W46", Monday..Sunday): parsing, ranges, and "latest complete week"."""

from __future__ import annotations

import datetime as dt
import re

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# dated tables and their date column: the report week is the latest complete week of the first with rows (ad
# data first; a user without ad data still gets a week, docs/sources.md)
REPORT_WEEK_SOURCES: dict[str, str] = {
    "ad_daily": "date_day",
    "web_daily": "date_day",
    "touchpoints": "touch_ts",
    "crm_deals": "created_date",
    "crm_contacts": "created_date",
    "product_usage": "date_day",
    "customer_health": "snapshot_date",
}


def parse(week: str) -> tuple[int, int]:
    """``"2025-W46"`` -> ``(2025, 46)``; ValueError with the expected form otherwise.

    >>> parse("2025-W46")
    (2025, 46)
    """
    m = _WEEK.match(week.strip())
    if not m:
        raise ValueError(f"{week!r} is not an ISO week; expected the form 2025-W46")
    year, num = int(m.group(1)), int(m.group(2))
    dt.date.fromisocalendar(year, num, 1)  # raises for W53 in a 52-week year
    return year, num


def monday(week: str) -> dt.date:
    """First day (Monday) of an ISO week.

    >>> monday("2025-W01")
    datetime.date(2024, 12, 30)
    """
    year, num = parse(week)
    return dt.date.fromisocalendar(year, num, 1)


def sunday(week: str) -> dt.date:
    """Last day (Sunday) of an ISO week."""
    return monday(week) + dt.timedelta(days=6)


def of(day: dt.date) -> str:
    """The ISO week a day falls in.

    >>> of(dt.date(2025, 11, 16))
    '2025-W46'
    """
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def shift(week: str, n: int) -> str:
    """The week ``n`` weeks after (negative: before) ``week``.

    >>> shift("2025-W01", -1)
    '2024-W52'
    """
    return of(monday(week) + dt.timedelta(weeks=n))


def latest_complete(last_day: dt.date) -> str:
    """The latest ISO week whose Sunday is on or before ``last_day`` (the last day with data).

    >>> latest_complete(dt.date(2026, 11, 22))  # a Sunday: its own week is complete
    '2026-W47'
    >>> latest_complete(dt.date(2026, 11, 21))
    '2026-W46'
    """
    return of(last_day - dt.timedelta(days=(last_day.isoweekday() % 7)))


def report_week(week: str | None, last_day: dt.date | None, today: dt.date | None = None) -> str:
    """The week a report is about: ``week`` as given (validated), else (``None`` or ``"latest"``) the latest
    complete ISO week of the data (``last_day``: the last day with rows), never later than the calendar's
    latest complete week (the day before ``today``); without data, the calendar's. The one rule of
    :func:`mktdash.analytics.kpis.resolve_week` (notebooks) and the weekly run.

    >>> report_week("latest", dt.date(2026, 11, 22), today=dt.date(2026, 12, 6))
    '2026-W47'
    >>> report_week(None, dt.date(2027, 1, 31), today=dt.date(2026, 11, 22))  # data dated ahead: the calendar
    '2026-W46'
    >>> report_week("2025-W02", None)
    '2025-W02'
    """
    if week and week != "latest":
        parse(week)
        return week
    calendar = latest_complete((today or dt.date.today()) - dt.timedelta(days=1))
    if last_day is None:
        return calendar
    return min(latest_complete(last_day), calendar, key=monday)


def span(first: str, last: str) -> list[str]:
    """All weeks from ``first`` to ``last`` inclusive."""
    out, w = [], first
    while monday(w) <= monday(last):
        out.append(w)
        w = shift(w, 1)
    return out
