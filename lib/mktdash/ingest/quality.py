"""Data quality of each file before it is loaded: hard checks (pandera) and soft findings.

- :func:`validate` runs on a parsed file before it is loaded (called by :mod:`mktdash.ingest.engine`). Hard checks
  (types, required keys, no negative money/counts, clicks <= impressions, conversions <= clicks on platforms
  that guarantee it, dates not in the future, duplicate keys within the file) raise a
  :class:`~mktdash.ingest.sources.base.SourceError` naming the file, the line (from the reader's ``_line`` column) and
  the column of the first failure, how many more there are and what to do. Soft findings are returned.
- the whole warehouse is looked at afterwards by :mod:`mktdash.ingest.scorecard`.

Schemas are pandera ``DataFrameSchema`` objects built from :data:`mktdash.warehouse.schema.TABLES` plus the rules below,
so a new table gets type and null checks for free.

>>> import pandas as pd
>>> from mktdash.warehouse.schema import conform
>>> f = conform(pd.DataFrame({"metric": ["roas"], "level": ["total"], "entity": ["all"],
...                           "period": ["week"], "target": [3.0]}), "kpi_targets")
>>> validate(f, "kpi_targets", file="targets.csv")
[]
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

with warnings.catch_warnings():  # pandera imports pyspark.pandas when present, which warns about pandas 3
    warnings.simplefilter("ignore")
    import pandera.pandas as pa

from mktdash.ingest.sources.base import SourceError
from mktdash.warehouse.schema import KEYS, TABLES

# ---- rules per table -----------------------------------------------------------------------------------------
REQUIRED: dict[str, list[str]] = {
    "ad_daily": ["date_day", "platform", "clicks", "impressions", "spend"],
    "web_daily": ["date_day", "channel_group", "sessions"],
    "crm_deals": ["deal_id", "crm", "stage"],
    "crm_contacts": ["contact_id", "crm", "created_date"],
    "touchpoints": ["journey_id", "touch_ts", "channel", "converted"],
    "product_usage": ["date_day", "customer_id", "feature", "events"],
    "customer_health": ["snapshot_date", "customer_id", "health_score"],
    "budget_plan": ["month", "channel", "planned_spend"],
    "spend_limits": ["channel", "period", "limit_amount"],
    "approvals": ["proposal_id", "approved_by", "decision"],
    "kpi_targets": ["metric", "level", "entity", "period", "target"],
    "fx_rates": ["date_day", "currency", "rate_to_reporting"],
}
NON_NEGATIVE: dict[str, list[str]] = {
    "ad_daily": ["clicks", "impressions", "spend", "conversions", "conversions_value"],
    "web_daily": ["sessions", "engaged_sessions", "users", "key_events", "revenue"],
    "crm_deals": ["amount"],
    "crm_contacts": [],
    "touchpoints": ["conversion_value"],
    "product_usage": ["events", "active_users"],
    "customer_health": ["mrr"],
    "budget_plan": ["planned_spend"],
    "spend_limits": ["limit_amount"],
}
ALLOWED: dict[str, dict[str, list[str]]] = {
    "spend_limits": {"period": ["week", "month"]},
    "approvals": {"decision": ["approved", "rejected"]},
    "kpi_targets": {
        "level": ["total", "channel", "platform", "campaign"],
        "period": ["week", "month", "quarter"],
    },
}
# dates that describe something that already happened (not plans, not expected close dates of open deals)
PAST_DATES: dict[str, list[str]] = {
    "ad_daily": ["date_day"],
    "web_daily": ["date_day"],
    "crm_deals": ["created_date"],
    "crm_contacts": ["created_date"],
    "touchpoints": ["touch_ts"],
    "product_usage": ["date_day"],
    "customer_health": ["snapshot_date"],
    "approvals": ["approved_at"],
    "fx_rates": ["date_day"],
}
HINTS = {
    "not_nullable": "Every row needs this value: check the export's columns and filters, then export again",
    "greater_than_or_equal_to": "Negative values are not possible here: fix the row at the source and export again",
    "in_range": "The value is out of its range: fix it at the source and export again",
    "isin": "Use one of the allowed values (see the README's format reference)",
    "not_in_future": "Dates after today are not possible: check the report's date range and time zone",
    "duplicate_key": "The same row appears twice: remove the duplicate or export again without overlapping segments",
    "clicks_le_impressions": "Clicks cannot exceed impressions: check the column mapping or export again",
    "conversions_le_clicks": "This platform counts conversions per click: check the conversion columns",
    "engaged_le_sessions": "Engaged sessions cannot exceed sessions: check the GA4 export",
    "positive": "Rates must be greater than zero",
    "dtype": "The column has the wrong type: check the export's format",
}
DESCRIBE = {
    "not_nullable": "missing required value",
    "greater_than_or_equal_to": "negative value",
    "in_range": "value out of range",
    "isin": "unexpected value",
    "not_in_future": "date in the future",
    "duplicate_key": "duplicate row (same key as an earlier line)",
    "clicks_le_impressions": "clicks greater than impressions",
    "conversions_le_clicks": "conversions greater than clicks",
    "engaged_le_sessions": "engaged sessions greater than sessions",
    "positive": "rate not greater than zero",
}
FRAME_CHECK_COLUMN = {  # the column to name for frame-wide checks
    "clicks_le_impressions": "clicks",
    "conversions_le_clicks": "conversions",
    "engaged_le_sessions": "engaged_sessions",
}
DEFAULT_STRICT_PLATFORMS = ("google_ads", "microsoft_ads")


def _setting(settings: Any, name: str, default: Any) -> Any:
    return getattr(getattr(settings, "ingest", None), name, default) if settings is not None else default


def build_schema(
    table: str,
    *,
    today: dt.date,
    max_future_days: int = 0,
    strict_platforms: Sequence[str] = DEFAULT_STRICT_PLATFORMS,
) -> pa.DataFrameSchema:
    """The pandera schema of the hard checks for ``table`` (dates checked against ``today``)."""
    limit = pd.Timestamp(today + dt.timedelta(days=max_future_days + 1))  # strictly before the next day
    cols: dict[str, pa.Column] = {}
    for c, dtype in TABLES[table].items():
        if c == "ingest_id":
            continue
        checks: list[pa.Check] = []
        if c in NON_NEGATIVE.get(table, []):
            checks.append(pa.Check.ge(0))
        if c in ALLOWED.get(table, {}):
            checks.append(pa.Check.isin(ALLOWED[table][c]))
        if c in PAST_DATES.get(table, []):
            checks.append(pa.Check(lambda s, lim=limit: s < lim, name="not_in_future"))
        if table == "customer_health" and c == "health_score":
            checks.append(pa.Check.in_range(0, 100))
        if table == "fx_rates" and c == "rate_to_reporting":
            checks.append(pa.Check(lambda s: s > 0, name="positive"))
        # pandera's "string" dtype check walks every value (~0.9 s per 1M rows): strings are checked by
        # :func:`_check_dtypes` instead; other dtypes by pandera
        pa_dtype = None if dtype == "string" else dtype
        cols[c] = pa.Column(pa_dtype, checks=checks, nullable=c not in REQUIRED.get(table, []), required=True)
    frame_checks: list[pa.Check] = []
    if table == "ad_daily":
        frame_checks.append(
            pa.Check(lambda d: ~(d["clicks"] > d["impressions"]).fillna(False), name="clicks_le_impressions")
        )
        strict = list(strict_platforms)
        frame_checks.append(
            pa.Check(
                lambda d: ~((d["conversions"] > d["clicks"]) & d["platform"].isin(strict)).fillna(False),
                name="conversions_le_clicks",
            )
        )
    if table == "web_daily":
        frame_checks.append(
            pa.Check(
                lambda d: ~(d["engaged_sessions"] > d["sessions"]).fillna(False), name="engaged_le_sessions"
            )
        )
    keys = [k for k in KEYS.get(table, []) if k in TABLES[table]]
    if keys:
        frame_checks.append(pa.Check(lambda d, k=keys: ~duplicated(d, k), name="duplicate_key"))
    return pa.DataFrameSchema(cols, checks=frame_checks, strict=False, name=table)


@functools.lru_cache(maxsize=64)
def _schema(table: str, today: dt.date, max_future_days: int, strict: tuple[str, ...]) -> pa.DataFrameSchema:
    """:func:`build_schema`, built once per table and settings in a batch (~20 ms each otherwise, per file)."""
    return build_schema(table, today=today, max_future_days=max_future_days, strict_platforms=strict)


def duplicated(df: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    """Rows whose ``keys`` repeat an earlier row (nulls compare equal). All-null key columns are skipped,
    which halves the time on campaign-level exports (no ad group / ad columns)."""
    used = [k for k in keys if df[k].notna().any()]
    if not used:
        return pd.Series(np.arange(len(df)) > 0, index=df.index)
    return df.duplicated(used, keep="first")


def _check_name(check: Any) -> str:
    s = str(check)
    return s.split("(")[0] if "(" in s else s


def validate(
    frame: pd.DataFrame,
    table: str,
    *,
    file: str | Path,
    today: dt.date | None = None,
    settings: Any = None,
) -> list[str]:
    """Hard-check a parsed file; raise :class:`SourceError` on the first failures, return soft warnings.

    ``frame`` holds canonical columns plus ``_line`` (1-based line in the file of each row; without it the
    error names the row number instead). ``settings`` (a :class:`mktdash.params.Settings`) gives
    ``ingest.max_future_days`` and ``ingest.strict_conversion_platforms``; defaults apply without it.
    """
    today = today or dt.date.today()
    schema = _schema(
        table,
        today,
        int(_setting(settings, "max_future_days", 0)),
        tuple(_setting(settings, "strict_conversion_platforms", DEFAULT_STRICT_PLATFORMS)),
    )
    data = frame.reset_index(drop=True)
    lines = data["_line"].to_numpy() if "_line" in data else np.arange(1, len(data) + 1)
    _check_dtypes(data, table, file)
    if _fast_ok(
        data,
        table,
        today,
        int(_setting(settings, "max_future_days", 0)),
        tuple(_setting(settings, "strict_conversion_platforms", DEFAULT_STRICT_PLATFORMS)),
    ):
        return _soft_checks(data, table, settings)
    try:  # inplace: ``data`` is already our own copy (pandera would copy it again)
        schema.validate(data.drop(columns=["_line"], errors="ignore"), lazy=True, inplace=True)
    except pa.errors.SchemaErrors as err:
        raise _to_source_error(err.failure_cases, data, lines, file, table) from None
    return _soft_checks(data, table, settings)


def _fast_ok(
    data: pd.DataFrame, table: str, today: dt.date, max_future_days: int, strict: tuple[str, ...]
) -> bool:
    """The rules of :func:`build_schema` as plain vectorised pandas: True when the frame certainly passes.

    Pandera's per-column/per-check machinery costs ~0.1 s per file whatever its size (the demo inbox has 177
    files); clean files (nearly all) take this path, and anything it flags (or any dtype it does not expect) goes
    through the pandera schema, which builds the error. It only ever says "passes" for a frame the pandera
    schema accepts (tests/ingest/test_quality.py checks the agreement on every rule).
    """
    cols = TABLES[table]
    limit = pd.Timestamp(today + dt.timedelta(days=max_future_days + 1))
    for c, dtype in cols.items():
        if c == "ingest_id" or c not in data.columns:
            continue
        s = data[c]
        if dtype != "string" and str(s.dtype) != _pandas_dtype(dtype):
            return False
        if c in REQUIRED.get(table, ()) and s.isna().any():
            return False
        if c in NON_NEGATIVE.get(table, ()) and (s < 0).fillna(False).any():
            return False
        if c in ALLOWED.get(table, {}) and (s.notna() & ~s.isin(ALLOWED[table][c])).any():
            return False
        if c in PAST_DATES.get(table, ()) and (s.notna() & ~(s < limit)).any():
            return False
        if table == "customer_health" and c == "health_score" and (s.notna() & ~s.between(0, 100)).any():
            return False
        if table == "fx_rates" and c == "rate_to_reporting" and (s.notna() & ~(s > 0)).any():
            return False
    if table == "ad_daily":
        if (data["clicks"] > data["impressions"]).fillna(False).any():
            return False
        if ((data["conversions"] > data["clicks"]) & data["platform"].isin(list(strict))).fillna(False).any():
            return False
    if table == "web_daily" and (data["engaged_sessions"] > data["sessions"]).fillna(False).any():
        return False
    keys = [k for k in KEYS.get(table, []) if k in cols]
    return not (keys and duplicated(data, keys).any())


@functools.lru_cache(maxsize=32)
def _pandas_dtype(dtype: str) -> str:
    return str(pd.Series(dtype=dtype).dtype)


def _check_dtypes(data: pd.DataFrame, table: str, file: str | Path) -> None:
    for c, dtype in TABLES[table].items():
        if c == "ingest_id":
            continue
        if c not in data.columns:
            raise SourceError(f"column missing after parsing (table {table})", file=file, column=c,
                              hint="The reader must return canonical columns (mktdash.warehouse.schema.conform)")  # fmt: skip
        if dtype == "string" and data[c].dtype != "string" and not data[c].isna().all():
            raise SourceError(f"wrong type (expected string, got {data[c].dtype})", file=file, column=c,
                              hint=HINTS["dtype"])  # fmt: skip


def _to_source_error(
    fc: pd.DataFrame, data: pd.DataFrame, lines: np.ndarray, file: str | Path, table: str
) -> SourceError:
    fc = fc.copy()
    fc["check_name"] = fc["check"].map(_check_name)
    frame_level = fc["schema_context"] == "DataFrameSchema"
    # frame-wide checks report every column of a failing row: keep one row per (check, index)
    fc.loc[frame_level, "column"] = (
        fc.loc[frame_level, "check_name"].map(FRAME_CHECK_COLUMN).fillna(fc.loc[frame_level, "column"])
    )
    if frame_level.any():
        first_key = {"duplicate_key": KEYS.get(table, [None])[0]}
        dup = frame_level & fc["check_name"].eq("duplicate_key")
        fc.loc[dup, "column"] = first_key["duplicate_key"]
        fc = fc.drop_duplicates(["check_name", "index", "column"])
        # show the value of the named column, not whichever column pandera listed
        for i in fc.index[fc["schema_context"] == "DataFrameSchema"]:
            r, c = fc.at[i, "index"], fc.at[i, "column"]
            if pd.notna(r) and c in data.columns:
                fc.at[i, "failure_case"] = data.at[int(r), c]
    idx = pd.to_numeric(fc["index"], errors="coerce")
    fc["line"] = [int(lines[int(i)]) if pd.notna(i) and int(i) < len(lines) else None for i in idx]
    fc = fc.sort_values("line", na_position="first", kind="stable")
    first = fc.iloc[0]
    name = first["check_name"]
    if name.startswith("dtype") or "dtype" in str(first["check"]):
        what = f"wrong type (expected {first['check']}, got {first['failure_case']})"
        hint = HINTS["dtype"]
    else:
        what = f"{DESCRIBE.get(name, name)}: {first['failure_case']!s:.60}"
        hint = HINTS.get(name, "Fix the row at the source and export again")
    n_more = len(fc) - 1
    if n_more:
        by = fc.iloc[1:].groupby(["column", "check_name"], dropna=False).size().sort_values(ascending=False)
        parts = [f"{c or '-'}: {DESCRIBE.get(k, k)} x{n}" for (c, k), n in by.head(4).items()]
        what += f" ({n_more} more failure{'s' if n_more > 1 else ''}: {'; '.join(parts)})"
    if name == "duplicate_key" and pd.notna(first["index"]):
        what = _describe_duplicate(data, int(first["index"]), table, lines) + what[what.index(":") :]
    col = first["column"] if isinstance(first["column"], str) else None
    line = first["line"] if first["line"] is not None and pd.notna(first["line"]) else None
    return SourceError(what, file=file, line=int(line) if line else None, column=col, hint=hint)


def _describe_duplicate(data: pd.DataFrame, i: int, table: str, lines: np.ndarray) -> str:
    """'duplicate row: same key as line N' for the duplicate at position ``i``."""
    keys = [k for k in KEYS[table] if data[k].notna().any()]
    row = data.loc[i, keys]
    same = np.ones(i, dtype=bool)
    for k in keys:
        col = data[k].iloc[:i]
        same &= (col.isna() & pd.isna(row[k])).to_numpy() | (col == row[k]).fillna(False).to_numpy(dtype=bool)
    earlier = np.flatnonzero(same)
    where = f"line {int(lines[earlier[0]])}" if len(earlier) else "an earlier line"
    return f"duplicate row: same {', '.join(keys)} as {where}"


def _soft_checks(d: pd.DataFrame, table: str, settings: Any) -> list[str]:
    out: list[str] = []
    if table == "ad_daily" and len(d):
        strict = set(_setting(settings, "strict_conversion_platforms", DEFAULT_STRICT_PLATFORMS))
        m = (d["conversions"] > d["clicks"]).fillna(False) & ~d["platform"].isin(strict)
        if m.any():
            out.append(
                f"{int(m.sum())} rows with conversions > clicks (first at line {int(d.loc[m, '_line'].iloc[0]) if '_line' in d else '?'}); "
                "possible with view-through conversions on "
                + ", ".join(sorted(d.loc[m, "platform"].dropna().unique()))
            )
        z = ((d["spend"] > 0) & (d["impressions"] == 0)).fillna(False)
        if z.any():
            out.append(f"{int(z.sum())} rows with spend but no impressions")
    if table == "web_daily" and len(d):
        m = (d["key_events"] > d["sessions"]).fillna(False)
        if m.any():
            out.append(f"{int(m.sum())} rows with more key events than sessions")
    if table == "crm_deals" and len(d):
        m = d["is_won"].fillna(False) & d["amount"].isna()
        if m.any():
            out.append(f"{int(m.sum())} won deals without an amount")
    return out
