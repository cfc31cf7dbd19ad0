"""Sections whose inputs are missing: which export would fill them, said in plain words.

A user may have any subset of sources (only ad platforms, only GA4, only a CRM ...). A view whose tables are
empty does not fail: it returns an empty table with its usual columns, carrying a notice such as
"No CRM deals loaded: export HubSpot deals or Salesforce opportunities (see docs/sources.md) to see pipeline
influence." The notice is shown above the (empty) table in notebooks and HTML, escaped; exports keep the
columns. docs/sources.md lists which section needs which export.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

# table -> (what is missing, the export that fills it)
EXPORTS: dict[str, tuple[str, str]] = {
    "ad_daily": (
        "ad-platform data",
        "a daily campaign or ad report from Google Ads, Meta, LinkedIn, Microsoft Ads or TikTok "
        "(or a Fivetran ad_reporting table)",
    ),
    "web_daily": ("GA4 data", "the GA4 Traffic acquisition report with the Date dimension"),
    "crm_deals": ("CRM deals", "HubSpot deals or Salesforce opportunities"),
    "crm_contacts": ("CRM contacts", "HubSpot contacts"),
    "product_usage": (
        "product usage",
        "product usage by customer, day and feature from your product analytics",
    ),
    "customer_health": ("customer health", "customer health snapshots from your customer-success tool"),
    "touchpoints": ("touchpoints", "journeys with one row per touch (journey, time, channel, conversion)"),
    "budget_plan": ("budget plan", "your budget plan (plans/budget_plan.csv)"),
    "spend_limits": ("spend limits", "your spend limits (plans/spend_limits.yaml)"),
    "approvals": ("budget approvals", "your approvals (plans/approvals.csv)"),
    "kpi_targets": ("KPI targets", "your KPI targets (plans/kpi_targets.yaml)"),
}
DOCS = "docs/sources.md"


def text(table: str, to_see: str) -> str:
    """The notice for one missing table: what is missing, which export fills it, what it would show."""
    what, export = EXPORTS[table]
    return f"No {what} loaded: export {export} (see {DOCS}) to see {to_see}."


def empty_tables(wh: Any, tables: Sequence[str]) -> list[str]:
    """Those of ``tables`` that are absent from the warehouse or hold no rows."""
    return [t for t in tables if not wh.exists(t) or wh.count(t) == 0]


def notice(wh: Any, to_see: str, *tables: str) -> str | None:
    """The notice for the first of ``tables`` that is empty (None when all have rows)."""
    gone = empty_tables(wh, tables)
    return text(gone[0], to_see) if gone else None


class NoticeFrame(pd.DataFrame):
    """A (usually empty) table with a notice saying which export would fill it; displayed above the table."""

    _metadata = ["notice"]
    notice: str = ""  # frames derived from one (groupby, slices) may not carry it: then shown plainly

    @property
    def _constructor(self) -> type[NoticeFrame]:
        return NoticeFrame

    def _repr_html_(self) -> str | None:  # the one table format, after the notice
        from mktdash.reporting import tables

        return tables.display_html(self)

    def __repr__(self) -> str:
        return f"{self.notice}\n{super().__repr__()}" if self.notice else super().__repr__()


def frame(message: str, columns: Sequence[str] | pd.DataFrame = ()) -> NoticeFrame:
    """An empty table with ``columns`` (or the columns and dtypes of a frame) and the notice ``message``."""
    base = columns.iloc[0:0] if isinstance(columns, pd.DataFrame) else pd.DataFrame(columns=list(columns))
    out = NoticeFrame(base)
    out.notice = message
    return out


def of(df: pd.DataFrame) -> str | None:
    """The notice a table carries (None for an ordinary table)."""
    return (getattr(df, "notice", None) or None) if isinstance(df, NoticeFrame) else None


def annotate(df: pd.DataFrame, message: str | None) -> pd.DataFrame:
    """``df`` with the notice ``message`` shown above it (``df`` itself when there is no message)."""
    if message is None:
        return df
    out = NoticeFrame(df)
    out.notice = message
    return out


# the executive summary's sections: key -> (what the section shows, the tables it needs)
EXEC_SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "performance": ("spend, revenue and ROAS by channel and campaign, and alerts", ("ad_daily",)),
    "budget": ("marketing ROI by channel and the budget recommendation", ("ad_daily", "web_daily")),
    "pipeline": ("pipeline created and closed won", ("crm_deals",)),
    "product": ("active customers", ("product_usage",)),
    "health": ("customer health and MRR", ("customer_health",)),
}


def section_notices(
    has_rows: Callable[[str], bool], sections: Mapping[str, tuple[str, tuple[str, ...]]] = EXEC_SECTIONS
) -> dict[str, str]:
    """The notice of every section one of whose tables has no rows (``has_rows(table)`` says)."""
    out = {}
    for key, (to_see, tables) in sections.items():
        gone = [t for t in tables if not has_rows(t)]
        if gone:
            out[key] = text(gone[0], to_see)
    return out
