"""Period totals (``ad_period``) against the daily rows (``ad_daily``) of the same campaigns and days.

A report downloaded without the Day segment over a range that is not one ISO week is kept in ``ad_period`` for
its exact period (see docs/formats.md). It never enters the weekly KPIs; it is used to check the daily data:
for each platform, account and campaign of a period report, the daily rows of the same days should add up
to the same clicks, impressions and spend. :func:`reconcile` says where they do, where they differ, and where
the daily data has no rows at all for that period.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_METRICS = ("impressions", "clicks", "spend")
_KEY = ("platform", "account_id", "campaign_name", "period_start", "period_end")


COLUMNS = [
    *_KEY,
    *(f"period_{m}" for m in _METRICS),
    *(f"daily_{m}" for m in _METRICS),
    "daily_rows",
    *(f"difference_{m}" for m in _METRICS),
    "status",
]


def reconcile(wh: Any, tolerance: float = 0.01) -> pd.DataFrame:
    """One row per period report campaign: its totals, the daily sums over the same days, the differences
    (daily minus period; null without daily rows) and their status (``match``, ``differs``, ``no daily
    rows``). ``tolerance``: relative difference still called a match. Columns: :data:`COLUMNS`."""
    tables = set(wh.tables())
    if "ad_period" not in tables or "ad_daily" not in tables:
        return pd.DataFrame(columns=COLUMNS)
    daily = ", ".join(f"sum(d.{m}) AS daily_{m}" for m in _METRICS)
    period = ", ".join(f"sum(p.{m}) AS period_{m}" for m in _METRICS)
    q = f"""
        WITH p AS (
            SELECT platform, account_id, campaign_name, period_start, period_end, {period}
            FROM ad_period p GROUP BY ALL
        )
        SELECT p.*, {daily}, count(d.date_day) AS daily_rows
        FROM p LEFT JOIN ad_daily d
          ON d.platform = p.platform AND d.campaign_name = p.campaign_name
         AND d.account_id IS NOT DISTINCT FROM p.account_id
         AND d.date_day BETWEEN p.period_start AND p.period_end
        GROUP BY ALL ORDER BY p.platform, p.account_id, p.campaign_name, p.period_start
    """
    out = wh.sql(q)
    for m in _METRICS:
        diff = out[f"daily_{m}"].astype(float) - out[f"period_{m}"].astype(float)
        out[f"difference_{m}"] = diff.where(out["daily_rows"] > 0).round(2)
    out["status"] = [_status(r, tolerance) for r in out.to_dict("records")]
    return out[COLUMNS]


def _status(r: dict[str, Any], tolerance: float) -> str:
    if not r["daily_rows"]:
        return "no daily rows"
    for m in _METRICS:
        want, got = float(r[f"period_{m}"] or 0), float(r[f"daily_{m}"] or 0)
        if abs(got - want) > max(tolerance * abs(want), 0.5 if m != "spend" else 0.01):
            return "differs"
    return "match"
