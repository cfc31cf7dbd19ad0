"""Every KPI defined once: name, labels, numerator, denominator, direction and format.

A metric is either a *measure* (an additive sum of a warehouse column, ``denominator`` empty) or a *ratio*
``scale * numerator / denominator`` of two summed measures (never an average of per-row ratios). The
definitions are data; the code that divides is one small function per engine: :func:`ratio_frame` for pandas
frames and :func:`ratio_expr` for Ibis expressions (DuckDB and Spark). Every view (KPI tables, the executive
dashboard, the budget spend tables, the cross-domain panel, alerts, tables, narrative) takes its ratios, labels,
direction and display kind from here.

>>> METRICS["roas"].numerator, METRICS["roas"].denominator, METRICS["roas"].higher_is_better
('revenue', 'spend', True)
>>> METRICS["cpa"].kind, METRICS["ctr"].kind, METRICS["roas"].kind, METRICS["clicks"].kind
('money', 'percent', 'ratio', 'count')
>>> fmt(0.0234, "ctr")
'2.34%'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Direction = Literal["higher", "lower", "neutral"]
# numerators that are not columns: the sum of the first columns minus the last, computed by each engine
DERIVED: dict[str, tuple[str, ...]] = {
    "profit": ("revenue", "spend"),  # ROI: platform-claimed revenue - spend
    "marketing_profit": ("revenue", "won_amount", "spend"),  # marketing ROI: + won CRM amount
}


@dataclass(frozen=True)
class Metric:
    """One KPI: a measure (``denominator`` empty) or ``scale * numerator / denominator``."""

    name: str
    label: str
    numerator: str
    denominator: str = ""
    unit: str = ""  # "count", "money", "ratio", "days", "months"
    direction: Direction = "higher"
    format: str = "{:,.0f}"
    scale: float = 1.0
    tier: Literal["strategic", "tactical", "operational"] = "tactical"
    source: str = "ad_daily"
    description: str = ""
    title: str = ""  # the long label of a dashboard tile (the short ``label`` when empty)

    @property
    def is_ratio(self) -> bool:
        return bool(self.denominator)

    @property
    def higher_is_better(self) -> bool:
        """False only for costs (CPA, CPC, CPM, ...); spend, being neutral, counts as higher."""
        return self.direction != "lower"

    @property
    def kind(self) -> str:
        """Display kind of :mod:`mktdash.reporting.tables` and the dashboard: percent, money, ratio or count."""
        if self.format.endswith("%}"):
            return "percent"
        if self.unit == "money":
            return "money"
        return "ratio" if self.format.endswith("x") else "count"

    @property
    def long_label(self) -> str:
        return self.title or self.label


def _m(*args: Any, **kw: Any) -> Metric:
    return Metric(*args, **kw)


# measures: name -> (table, column) summed
MEASURES: dict[str, tuple[str, str]] = {
    "impressions": ("ad_daily", "impressions"),
    "clicks": ("ad_daily", "clicks"),
    "spend": ("ad_daily", "spend_reporting"),
    "conversions": ("ad_daily", "conversions"),
    "revenue": ("ad_daily", "conversions_value_reporting"),  # what the ad platforms claim
}
METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        _m("impressions", "Impressions", "impressions", unit="count", tier="operational"),
        _m("clicks", "Clicks", "clicks", unit="count", tier="operational"),
        _m("spend", "Spend", "spend", unit="money", direction="neutral", format="{:,.0f}", tier="strategic"),
        _m("conversions", "Conversions", "conversions", unit="count", format="{:,.1f}"),
        _m(
            "revenue",
            "Revenue",
            "revenue",
            unit="money",
            tier="strategic",
            description="conversion value claimed by the ad platforms, reporting currency",
        ),
        _m("ctr", "CTR", "clicks", "impressions", unit="ratio", format="{:.2%}", title="Click-through rate"),
        _m("cvr", "CVR", "conversions", "clicks", unit="ratio", format="{:.2%}", title="Conversion rate"),
        _m(
            "cpc",
            "CPC",
            "spend",
            "clicks",
            unit="money",
            direction="lower",
            format="{:,.2f}",
            title="Cost per click",
        ),
        _m(
            "cpm",
            "CPM",
            "spend",
            "impressions",
            unit="money",
            direction="lower",
            format="{:,.2f}",
            scale=1000.0,
        ),
        _m(
            "cpa",
            "CPA",
            "spend",
            "conversions",
            unit="money",
            direction="lower",
            format="{:,.2f}",
            title="Cost per acquisition",
        ),
        _m("roas", "ROAS", "revenue", "spend", unit="ratio", format="{:,.2f}x", tier="strategic"),
        _m(
            "roi",
            "ROI",
            "profit",
            "spend",
            unit="ratio",
            format="{:.1%}",
            tier="strategic",
            description="(revenue - spend) / spend",
        ),
        _m(
            "marketing_roi",
            "Marketing ROI",
            "marketing_profit",
            "spend",
            unit="ratio",
            format="{:.1%}",
            tier="strategic",
            source="crm_deals",
            description="(platform revenue + won CRM amount - spend) / spend",
        ),
        # CRM / finance (measures built by mktdash.analytics.crossdomain)
        _m("leads", "Leads", "leads", unit="count", source="crm_contacts"),
        _m(
            "cost_per_lead",
            "Cost per lead",
            "spend",
            "leads",
            unit="money",
            direction="lower",
            format="{:,.2f}",
            source="crm_contacts",
        ),
        _m(
            "lead_to_opp",
            "Lead → opportunity",
            "opportunities",
            "leads",
            unit="ratio",
            format="{:.1%}",
            source="crm_deals",
        ),
        _m(
            "opp_to_win",
            "Opportunity → win",
            "won_deals",
            "closed_deals",
            unit="ratio",
            format="{:.1%}",
            source="crm_deals",
        ),
        _m(
            "pipeline_value",
            "Pipeline value",
            "pipeline_value",
            unit="money",
            tier="strategic",
            source="crm_deals",
            description="amount of deals created in the period (open or won)",
        ),
        _m(
            "sales_cycle_days",
            "Sales-cycle length",
            "cycle_days",
            "won_deals",
            unit="days",
            direction="lower",
            format="{:,.1f}",
            source="crm_deals",
        ),
        _m(
            "cac",
            "CAC",
            "spend",
            "new_customers",
            unit="money",
            direction="lower",
            format="{:,.0f}",
            tier="strategic",
            source="crm_deals",
        ),
        _m(
            "payback_months",
            "CAC payback",
            "spend",
            "new_mrr",
            unit="months",
            direction="lower",
            format="{:,.1f}",
            tier="strategic",
            source="customer_health",
            description="marketing spend / monthly recurring revenue it acquired",
        ),
    ]
}


def fmt(value: float | None, metric: str) -> str:
    """Display a value with its metric's format ('' for missing)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or pd.isna(value):
        return ""
    return METRICS[metric].format.format(value)


def divide(num: Any, den: Any, scale: float = 1.0) -> Any:
    """``scale * num / den`` of pandas Series or scalars; NaN where ``den`` is 0 (no clicks: no CPC)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        den = (
            pd.Series(den, dtype="float64").replace(0, np.nan)
            if isinstance(den, pd.Series)
            else (np.nan if den == 0 else den)
        )
        return scale * num / den


def _ratios(
    columns: Sequence[str], names: Sequence[str], column: Callable[[str], Any]
) -> dict[str, tuple[Metric, Any, Any]]:
    """(metric, numerator, denominator) of each ratio in ``names`` whose inputs are in ``columns`` (and that
    is not a column already); ``column(name)`` returns a column of the engine as float."""
    cols, out = set(columns), {}
    for name in names:
        m = METRICS[name]
        if not m.is_ratio or m.denominator not in cols:
            continue
        if m.numerator in DERIVED and set(DERIVED[m.numerator]) <= cols:
            *plus, minus = DERIVED[m.numerator]
            num = sum((column(c) for c in plus[1:]), column(plus[0])) - column(minus)
        elif m.numerator in cols:
            num = column(m.numerator)
        else:
            continue
        out[name] = (m, num, column(m.denominator))
    return out


def ratio_frame(df: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """A copy of ``df`` (summed measures) with the ratios ``names`` whose inputs it has (NaN when den = 0)."""
    out = df.copy()
    for name, (m, num, den) in _ratios(list(out.columns), names, lambda c: out[c].astype("float64")).items():
        out[name] = divide(num, den, m.scale)
    return out


def ratio_expr(expr: Any, names: Sequence[str]) -> Any:
    """Ibis twin of :func:`ratio_frame`: ``expr`` with the ratios ``names`` its columns allow (null when den = 0)."""
    new, todo = {}, [n for n in names if n not in expr.columns]
    for name, (m, num, den) in _ratios(expr.columns, todo, lambda c: expr[c].cast("float64")).items():
        val = num / den.nullif(0)
        new[name] = val * m.scale if m.scale != 1.0 else val
    return expr.mutate(**new) if new else expr


def ratio_values(sums: dict[str, float], names: Sequence[str]) -> dict[str, float | None]:
    """``sums`` (measure -> total) with the ratios ``names``, None where a denominator is 0 or missing."""
    row = ratio_frame(pd.DataFrame([sums], dtype="float64"), names).iloc[0]
    out: dict[str, float | None] = dict(sums)
    for name in names:
        v = row.get(name)
        out[name] = None if v is None or pd.isna(v) else float(v)
    return out
