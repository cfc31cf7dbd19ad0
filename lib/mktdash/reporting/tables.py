"""One helper for every table a person reads (HTML reports and dashboards).

Money in the reporting currency ($65,586), percentages (93.5 %), ratios (2.24×), counts with separators
(12,345), dates as dates, human headers (``weekly_roas_cv`` -> "Weekly ROAS CV"), no index, empty cells
empty (never ``None``/``NaN``), a week that is not over marked "(partial)", and a box that scrolls
sideways when the table is wider than the page. The kind of a column comes from its name (see
:func:`column_kind`); a caller can name it (``kinds={"impact": "money"}``).

Only what is *shown* is formatted: CSV/Excel exports keep the exact values (:mod:`mktdash.reporting.exports`). In a
kernel, every displayed DataFrame goes through :func:`table_html` (registered on import, as charts are).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

import pandas as pd

from mktdash import weeks
from mktdash.analytics.metrics import METRICS
from mktdash.reporting import templating
from mktdash.reporting.numbers import (
    CONTEXT,
    count,
    money,
    number,
    percent,
    ratio,
)

KINDS = ("money", "percent", "ratio", "count", "number", "stat", "date", "week", "text")
_UPPER = {
    "roas", "roi", "cpa", "cpc", "cpm", "ctr", "cvr", "cac", "cv", "mtd", "qtd", "ytd", "hhi", "kpi", "id",
    "ga4", "crm", "mmm", "ltv", "mrr", "arr", "url", "utm", "bh", "sd", "fx", "csv", "r2", "mape", "nps",
}  # fmt: skip
_WORDS = {
    "wow": "WoW",
    "yoy": "YoY",
    "mom": "MoM",
    "pct": "%",
    "num": "number of",
    "n": "number of",
    "avg": "average",
    "qty": "quantity",
}
# name fragments -> kind, first match wins (a ratio named like money, e.g. "roas", is tested before "revenue")
_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|_)(p|q)(_value)?$|(^|_)z$|_t$|(^|_)(z|t)_", "stat"),
    (r"(^|_)(wow|yoy|mom)$|(^|_)vs_|_(change|growth|pct|delta_rel)$", "percent"),
    (r"run_rate|_to_land$|spend_to_date|variance", "money"),
    (r"(^|_)(week|period)$", "week"),
    (r"(^|_)(date|day|at|time|since|until|from|to)$|_(date|day|at|start|end)$", "date"),
    (r"(roas|roi|ratio|multiple|hhi)", "ratio"),
    (r"(pct|percent|share|ctr|cvr|rate|compliance|utili[sz]ation|_cv$|^cv$|prob|margin|change|growth|progress|"
     r"mape|r2|uplift_rel|_vs_)", "percent"),
    (r"(spend|revenue|cost|budget|cpa|cpc|cpm|cac|value|impact|uplift|gain|amount|price|plan|projected|"
     r"bound|floor|cap$|limit|ltv|mrr|arr|pipeline|at_stake)", "money"),
    (r"(impressions|clicks|conversions|sessions|users|rows|files|deals|leads|contacts|count|days|weeks|"
     r"^n_|_n$|violations|proposals|alerts|orders|signups)", "count"),
)  # fmt: skip


def header(name: object) -> str:
    """A column name as people write it.

    >>> header("weekly_roas_cv"), header("expected_revenue_recommended"), header("roi_lower_90")
    ('Weekly ROAS CV', 'Expected revenue recommended', 'ROI lower 90')
    """
    text = str(name)
    if not re.fullmatch(r"[A-Za-z0-9_]+", text) or "_" not in text and not text.islower():
        return text  # already written for people ("Spend", "Revenue (USD)")
    words = []
    for w in text.split("_"):
        if not w:
            continue
        words.append(w.upper() if w.lower() in _UPPER else _WORDS.get(w.lower(), w.lower()))
    out = " ".join(words)
    return out[:1].upper() + out[1:]


def column_kind(name: object, values: pd.Series) -> str:
    """The display kind of a column: from its dtype first (text, dates, booleans), then from its name (a KPI of
    :mod:`mktdash.analytics.metrics` by its definition, others by name fragments)."""
    if pd.api.types.is_bool_dtype(values):
        return "text"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    low = str(name).lower()
    numeric = pd.api.types.is_numeric_dtype(values)
    if numeric and low in METRICS and METRICS[low].kind != "count":
        return METRICS[
            low
        ].kind  # a KPI shows as mktdash.analytics.metrics defines it (ROI as a percent, ROAS as x)
    for pattern, kind in _RULES:
        if re.search(pattern, low) and (kind in ("week", "date")) != numeric:
            return kind  # week and date name text columns; the others numeric ones
    if not numeric:
        return "text"
    finite = values.dropna()
    if len(finite) and pd.api.types.is_integer_dtype(values):
        return "count"
    return "number"


def date(v: object) -> str:
    """A day as 2026-11-22; a time of day only when there is one (UTC as stored)."""
    try:
        t = pd.Timestamp(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)  # a column named like a date that holds text
    return t.strftime("%Y-%m-%d") if t == t.normalize() else t.strftime("%Y-%m-%d %H:%M")


def week(v: object) -> str:
    """An ISO week, with "(partial)" when the last day with data falls inside it before its Sunday (a later
    week is a forecast, not a partial one)."""
    text = str(v)
    last = CONTEXT.last_day
    if (
        last is not None
        and re.fullmatch(r"\d{4}-W\d{2}", text)
        and weeks.monday(text) <= last < weeks.sunday(text)
    ):
        return f"{text} (partial)"
    return text


def relative(v: object) -> str:
    """A path (or text holding one) under the home folder, relative to it: people see
    ``data/inbox/meta/x.csv``, not where the machine keeps it (the home set by :func:`configure`)."""
    text = str(v)
    home = CONTEXT.home.rstrip("/")
    return text.replace(home + "/", "").replace(home, ".") if home else text


_FORMAT = {
    "money": money,
    "percent": percent,
    "ratio": ratio,
    "count": count,
    "number": number,
    "stat": number,
}


def cell(v: object, kind: str, currency: str | None = None) -> str:
    """One value as shown: empty for missing, the kind's format otherwise."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if kind == "money" and isinstance(v, int | float):
        return money(float(v), currency)
    if kind in _FORMAT and isinstance(v, int | float) and not isinstance(v, bool):
        return _FORMAT[kind](float(v))
    if kind == "date":
        return date(v)
    if kind == "week":
        return week(v)
    if isinstance(v, float):
        return number(v)
    if isinstance(v, dt.date):
        return date(v)
    return relative(v)


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    """A meaningful index becomes columns; a repeated column name is shown once."""
    named = any(n is not None for n in df.index.names)
    d = df.reset_index() if named else df.reset_index(drop=True)  # a row subset's numbers are no column
    return d.loc[:, ~d.columns.duplicated()]


def _kinds(d: pd.DataFrame, given: Mapping[str, str] | None) -> dict[str, list[str]]:
    """Each column's kind per row: a long table with a ``metric`` column (metric, value, previous, ...) takes
    the kind of each row's metric for its value columns (ROAS as a ratio, spend as money)."""
    out = {}
    metric = d["metric"].astype(str).tolist() if "metric" in d.columns else None
    for col in d.columns:
        kind = (given or {}).get(str(col)) or column_kind(col, d[col])
        if metric is not None and kind in ("money", "number", "count") and col != "metric":
            numeric = d[col]
            out[str(col)] = [column_kind(m, numeric) for m in metric]
        else:
            out[str(col)] = [kind] * len(d)
    return out


def formatted(
    df: pd.DataFrame, *, kinds: Mapping[str, str] | None = None, currency: str | None = None
) -> pd.DataFrame:
    """The frame as display strings with human headers; no index (a meaningful one becomes columns)."""
    d = _frame(df)
    per_row = _kinds(d, kinds)
    out = {}
    for col in d.columns:
        vals = d[col].astype(object).tolist()
        out[header(col)] = [
            cell(v.item() if hasattr(v, "item") else v, k, currency)
            for v, k in zip(vals, per_row[str(col)], strict=True)
        ]
    return pd.DataFrame(out, columns=list(out))


def _numeric(d: pd.DataFrame) -> set[int]:
    return {
        i
        for i, c in enumerate(d.columns)
        if pd.api.types.is_numeric_dtype(d[c]) and not pd.api.types.is_bool_dtype(d[c])
    }


def table_html(
    df: pd.DataFrame,
    *,
    kinds: Mapping[str, str] | None = None,
    currency: str | None = None,
    caption: str | None = None,
    max_rows: int = 200,
    table_class: str = "",
    wrap_class: str = "",
) -> str:
    """A frame as an escaped HTML table, formatted for people, in a box that scrolls sideways when wide.

    Numbers are right-aligned; more than ``max_rows`` rows show the first ones and say how many there are."""
    shown = formatted(df.head(max_rows), kinds=kinds, currency=currency)
    first = _frame(df.head(1))
    num = _numeric(first)
    kind_of = _kinds(first, kinds)
    keep = {i for i, c in enumerate(first.columns) if kind_of[str(c)][:1] in (["date"], ["week"])}

    cls = ["num" if i in num else "nw" if i in keep else "" for i in range(len(shown.columns))]
    return templating.render(
        "table.html.j2",
        head=[str(c) for c in shown.columns],
        rows=list(shown.itertuples(index=False)),
        cls=cls,
        caption=caption,
        more=len(df) > max_rows,
        max_rows=max_rows,
        total=len(df),
        table_class=table_class,
        wrap_class=wrap_class,
    )


STYLE = """<style>
.mktdash-table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
.mktdash-table th{border-bottom:2px solid #d0d5dd;padding:4px 10px;white-space:nowrap}
.mktdash-table td{border-bottom:1px solid #eaecf0;padding:3px 10px}
.mktdash-table td,.mktdash-table th{text-align:left}
.mktdash-table td.num,.mktdash-table th.num{text-align:right;white-space:nowrap}
.mktdash-table td.nw{white-space:nowrap}
.mktdash-table caption{text-align:left;font-weight:600;padding:4px 0}
</style>"""


def display_html(df: pd.DataFrame) -> str:
    """A displayed frame in the one table format, after its missing-source notice when it carries one
    (:class:`mktdash.reporting.missing.NoticeFrame`)."""
    notice = getattr(df, "notice", None)
    lead = templating.fragment("fragments.html.j2", "missing_notice", notice) if notice else ""
    return STYLE + lead + table_html(df)


def load_ipython_extension(ip) -> None:  # noqa: ANN001 - IPython's extension hook
    """Every displayed DataFrame shows as :func:`table_html` (the one table format of the reports)."""
    ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame, display_html)
    ip.display_formatter.formatters["text/plain"].for_type(
        PurePath, lambda p, printer, cycle: printer.text(relative(p))
    )


def register_in_kernel(hook: Callable[[Any], None]) -> None:
    """Run a module's IPython extension hook now when imported inside a kernel (else nothing)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if (ip := get_ipython()) is not None:
        hook(ip)


register_in_kernel(load_ipython_extension)
