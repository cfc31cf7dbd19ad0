"""The warehouse data-quality scorecard: freshness, completeness (exact gap ranges and pauses), duplicate keys,
quarantined files, reconciliation with the exports' own totals, platform conversions vs CRM deals, row counts.

Per-file checks at load time live in :mod:`mktdash.ingest.quality`; this module only reads the warehouse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mktdash import weeks
from mktdash.ingest import channels, periods
from mktdash.ingest import guard as ingest_guard
from mktdash.warehouse.schema import KEYS, TABLES


def _ingest_setting(settings: Any, name: str, default: Any) -> Any:
    return getattr(getattr(settings, "ingest", None), name, default) if settings is not None else default


# ---- scorecard -----------------------------------------------------------------------------------------------
# (table, date column, grouping columns, label) of every dated source the scorecard follows
DATED_SOURCES: list[tuple[str, str, list[str]]] = [
    ("ad_daily", "date_day", ["platform", "account_id"]),
    ("web_daily", "date_day", ["property_id"]),
    ("crm_deals", "created_date", ["crm"]),
    ("crm_contacts", "created_date", ["crm"]),
    ("touchpoints", "touch_ts", []),
    ("product_usage", "date_day", []),
    ("customer_health", "snapshot_date", []),
]
# sources whose data is not daily: no completeness gaps by day, and their own freshness targets
NOT_DAILY = {"crm_deals", "crm_contacts", "touchpoints"}


PERIOD_REPORTS_TITLE = "Period reports (totals for their exact period) vs the daily rows of the same days"


@dataclass
class Scorecard:
    """The data-quality scorecard: one tidy frame per section and headline counts in ``summary``."""

    freshness: pd.DataFrame
    completeness: pd.DataFrame
    gaps: pd.DataFrame
    duplicates: pd.DataFrame
    quarantine: pd.DataFrame
    reconciliation: pd.DataFrame
    conversions_vs_deals: pd.DataFrame
    row_counts: pd.DataFrame
    days: pd.DataFrame  # long frame (source, day, state present|missing|paused) behind the completeness chart
    pauses: pd.DataFrame = field(default_factory=pd.DataFrame)  # missing runs >= ingest.pause_days
    unmapped_sources: pd.DataFrame = field(default_factory=pd.DataFrame)  # CRM labels no channel rule maps
    # period reports (ad_period: totals of reports without a Day segment) vs the daily rows of their days
    period_reports: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=periods.COLUMNS))
    summary: dict[str, Any] = field(default_factory=dict)

    def sections(self) -> dict[str, pd.DataFrame]:
        """The frames by section title, in display order."""
        return {
            "Freshness": self.freshness,
            "Completeness": self.completeness,
            "Missing days": self.gaps,
            "Pauses (no data for a long run: campaigns off?)": self.pauses,
            "Duplicates": self.duplicates,
            "Quarantined files": self.quarantine,
            "Reconciliation": self.reconciliation,
            PERIOD_REPORTS_TITLE: self.period_reports,
            "Platform conversions vs CRM deals": self.conversions_vs_deals,
            "Row counts": self.row_counts,
            "Unmapped CRM sources (add them to channels.crm_sources)": self.unmapped_sources,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The sections under file-friendly names (for ``exports/quality_<name>.csv``)."""
        return {
            "summary": self.summary_frame(),
            "freshness": self.freshness,
            "completeness": self.completeness,
            "gaps": self.gaps,
            "pauses": self.pauses,
            "duplicates": self.duplicates,
            "quarantine": self.quarantine,
            "reconciliation": self.reconciliation,
            "period_reports": self.period_reports,
            "conversions_vs_crm": self.conversions_vs_deals,
            "row_counts": self.row_counts,
            "unmapped_sources": self.unmapped_sources,
        }

    @property
    def quarantined(self) -> pd.DataFrame:
        return self.quarantine

    @property
    def conversions_vs_crm(self) -> pd.DataFrame:
        return self.conversions_vs_deals

    def completeness_chart(self):  # noqa: ANN201 - matplotlib Figure
        return self.chart()

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"check": list(self.summary), "value": list(self.summary.values())})

    def chart(self):  # noqa: ANN201 - matplotlib Figure
        """Completeness heat strip (days x source) in the house style."""
        # matplotlib (~0.6 s) is imported here, not with the module: 00_ingest's kernel starts without it, and
        # its ingest (what the next stage waits for) runs sooner
        from mktdash.reporting import charts

        return charts.quality_completeness(self.days, title="Data completeness by source and day")

    def _repr_html_(self) -> str:  # the one table format (mktdash.reporting.tables) escapes cell text
        from mktdash.reporting.tables import STYLE, table_html

        parts = [f"{STYLE}<h4>Summary</h4>{table_html(self.summary_frame())}"]
        for title, f in self.sections().items():
            parts.append(f"<h4>{title}</h4>{table_html(f, max_rows=50)}")
        return "\n".join(parts)


def _source_label(table: str, keys: dict[str, Any]) -> str:
    vals = [str(v) for v in keys.values() if v is not None and not (isinstance(v, float) and np.isnan(v))]
    base = {"ad_daily": "", "web_daily": "ga4", "crm_deals": "deals", "crm_contacts": "contacts"}.get(
        table, table
    )
    return "/".join([*([base] if base else []), *vals]) or table


def _cadence(days: list[dt.date]) -> int:
    """The usual spacing in days between consecutive data days (1 daily, 7 weekly, ...)."""
    if len(days) < 3:
        return 1
    diffs = np.diff(np.array(days, dtype="datetime64[D]")).astype(int)
    return int(pd.Series(diffs).mode().iloc[0])


def _ranges(days: list[dt.date], step: int = 1) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive grid points (``step`` days apart) as (first, last) pairs."""
    out: list[tuple[dt.date, dt.date]] = []
    for d in sorted(days):
        if out and (d - out[-1][1]).days == step:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def _distinct_days(wh: Any) -> dict[str, pd.DataFrame]:
    """The distinct (group..., day) rows of every dated source that has rows, by table: one query for all."""
    import ibis

    width = max(len(group) for _, _, group in DATED_SOURCES)
    parts = []
    for table, date_col, group in DATED_SOURCES:
        if wh.exists(table):
            t = wh.table(table)
            cols = [t[g].cast("string") for g in group] + [ibis.null("string")] * (width - len(group))
            parts.append(t.select(table=ibis.literal(table), day=t[date_col].cast("date"),
                                  **{f"g{i}": c for i, c in enumerate(cols)}).distinct())  # fmt: skip
    if not parts:
        return {}
    df = wh.df(ibis.union(*parts))
    df["day"] = pd.to_datetime(df["day"]).dt.date
    out = {}
    for table, _, group in DATED_SOURCES:
        rows = df[df["table"] == table]
        if len(rows):
            out[table] = rows.rename(columns={f"g{i}": g for i, g in enumerate(group)})[[*group, "day"]]
    return out


def scorecard(
    wh: Any, settings: Any = None, *, today: dt.date | None = None, now: dt.datetime | None = None
) -> Scorecard:
    """Build the data-quality scorecard of the warehouse ``wh`` (a :class:`mktdash.warehouse.backend.Warehouse`).

    ``now`` (naive UTC) defaults to the start of ``today`` when ``today`` is given, else the current time.
    Freshness: hours from the end of the latest data day to ``now`` (target ``settings.ingest.freshness_hours``;
    per-source overrides in ``settings.ingest.freshness_hours_by_source``, keys like ``ad_daily``, ``meta``,
    ``crm_deals``; the default target grows with the source's cadence: +24 h per extra day between data
    points). Completeness: every source/account is expected to have data on every point of its cadence
    (daily, or weekly when its data days are usually 7 apart) from its first day to the latest day of its
    table; missing points are listed as exact day ranges. Runs of at least ``settings.ingest.pause_days``
    (default 14) are listed apart as pauses (an account switched off between flights), not as gaps.
    """
    freshness, completeness, gaps, pauses, days_long = _coverage(wh, settings, today=today, now=now)
    duplicates = _duplicates(wh)
    quarantine = _quarantine(wh)
    reconciliation, ledger_counts = _reconciliation(wh)
    conv = _conversions_vs_deals(wh)
    period_reports = periods.reconcile(wh)
    row_counts = pd.DataFrame(
        [{"table": t, "rows": wh.count(t)} for t in TABLES if t not in ("ingest_ledger", "quarantine")]
    )
    summary = {
        "files_loaded": ledger_counts.get("files_loaded", 0),
        "files_quarantined": int(quarantine["file_name"].nunique()) if len(quarantine) else 0,
        "files_replaced": ledger_counts.get("files_replaced", 0),
        "files_duplicate": ledger_counts.get("files_duplicate", 0),
        "rows_loaded": int(row_counts.loc[~row_counts["table"].isin(["fx_rates"]), "rows"].sum()),
        "stale_sources": int(freshness["stale"].sum()) if len(freshness) else 0,
        "sources": len(freshness),
        "gap_days": int(gaps["days"].sum()) if len(gaps) else 0,
        "gap_ranges": len(gaps),
        "paused_days": int(pauses["days"].sum()) if len(pauses) else 0,
        "duplicate_rows": int(duplicates["duplicate_rows"].sum()) if len(duplicates) else 0,
        "period_reports": len(period_reports),
        "period_reports_differing": int((period_reports["status"] == "differs").sum()),
        "unreconciled_files": int((~reconciliation["reconciled"].astype(bool)).sum())
        if len(reconciliation)
        else 0,
    }
    return Scorecard(
        freshness=freshness,
        completeness=completeness,
        gaps=gaps,
        pauses=pauses,
        duplicates=duplicates,
        quarantine=quarantine,
        reconciliation=reconciliation,
        conversions_vs_deals=conv,
        row_counts=row_counts,
        days=days_long,
        summary=summary,
        unmapped_sources=channels.unmapped_crm_sources(wh, settings),
        period_reports=period_reports,
    )


def coverage(wh: Any, settings: Any = None, *, today: dt.date | None = None) -> pd.DataFrame:
    """Freshness and completeness per source (one row each): the part of :func:`scorecard` that the KPI and
    executive views show next to their numbers, without the scorecard's full-table checks."""
    freshness, completeness, *_ = _coverage(wh, settings, today=today)
    comp = completeness.drop(columns=["last_day"], errors="ignore")
    return freshness.merge(comp, on=["source", "table"], how="left") if len(comp) else freshness


def _coverage(
    wh: Any, settings: Any, *, today: dt.date | None = None, now: dt.datetime | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(freshness, completeness, gaps, pauses, days): see :func:`scorecard`."""
    if now is None:
        now = dt.datetime.combine(today, dt.time()) if today else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    pause_days = int(_ingest_setting(settings, "pause_days", 14))
    fresh_rows, comp_rows, gap_rows, day_rows = [], [], [], []
    for table, keys, days, table_last in _dated_groups(wh):
        label = _source_label(table, keys)
        step = 1 if table in NOT_DAILY else _cadence(days)
        fresh_rows.append(_freshness_row(settings, table, label, keys, days[-1], step, now))
        if table in NOT_DAILY or step not in (1, 7):
            continue  # event data or irregular cadence: no expected grid
        comp, gaps, states = _completeness(table, label, keys, days, table_last, step, pause_days)
        comp_rows.append(comp)
        gap_rows.extend(gaps)
        day_rows.append(states)
    return _coverage_frames(fresh_rows, comp_rows, gap_rows, day_rows)


def _dated_groups(wh: Any) -> Iterator[tuple[str, dict[str, Any], list[dt.date], dt.date]]:
    """(table, source keys, sorted days with rows, the table's last day) per source of each dated table."""
    distinct_days = _distinct_days(wh)
    for table, _, group in DATED_SOURCES:
        if table not in distinct_days:
            continue
        dd = distinct_days[table]
        dd = dd[dd["day"].notna()]
        if dd.empty:
            continue
        table_last = max(dd["day"])
        for key, g in dd.groupby(group, dropna=False) if group else [((), dd)]:
            key = key if isinstance(key, tuple) else (key,)
            yield table, dict(zip(group, key, strict=False)), sorted(set(g["day"])), table_last


def _freshness_row(
    settings: Any, table: str, label: str, keys: dict[str, Any], last: dt.date, step: int, now: dt.datetime
) -> dict[str, Any]:
    """Hours since the source's last day ended, against its target (params ``ingest.freshness_hours``, per
    source in ``freshness_hours_by_source``; a weekly source gets a week more, a period table 7x)."""
    target = float(_ingest_setting(settings, "freshness_hours", 24.0))
    overrides = dict(_ingest_setting(settings, "freshness_hours_by_source", {}) or {})
    hours = (now - dt.datetime.combine(last + dt.timedelta(days=1), dt.time())).total_seconds() / 3600
    default = target * 7 if table in NOT_DAILY else target + 24 * (step - 1)
    names = [label, str(keys.get("platform", "")), table]
    tgt = float(next((overrides[k] for k in names if k in overrides), default))
    return {"source": label, "table": table, "last_day": last, "hours_since": round(hours, 1),
            "target_hours": tgt, "stale": bool(hours > tgt)}  # fmt: skip


def _completeness(
    table: str,
    label: str,
    keys: dict[str, Any],
    days: list[dt.date],
    table_last: dt.date,
    step: int,
    pause_days: int,
) -> tuple[dict[str, Any], list[dict[str, Any]], pd.DataFrame]:
    """(completeness row, gap and pause rows, state of every day) of one source on its expected grid."""
    grid = list(pd.date_range(days[0], table_last, freq=f"{step}D").date)
    present = set(days)
    gaps, texts = [], []
    for a, b in _ranges([d for d in grid if d not in present], step):
        b_end = min(b + dt.timedelta(days=step - 1), table_last)
        n = (b_end - a).days + 1
        texts.append(f"{a}..{b_end}" if a != b_end else f"{a}")
        gaps.append({"source": label, "table": table, **keys, "gap_start": a, "gap_end": b_end, "days": n,
                     "kind": "pause" if n >= pause_days else "gap"})  # fmt: skip
    row = {"source": label, "table": table, **keys, "cadence_days": step, "first_day": days[0],
           "last_day": table_last, "expected_days": (table_last - days[0]).days + 1,
           "missing_days": sum(g["days"] for g in gaps if g["kind"] == "gap"),
           "paused_days": sum(g["days"] for g in gaps if g["kind"] == "pause"), "gaps": "; ".join(texts)}  # fmt: skip
    state = {d: "present" for d in present}
    for g in gaps:
        for d in pd.date_range(g["gap_start"], g["gap_end"]).date:
            state[d] = "missing" if g["kind"] == "gap" else "paused"
    full = pd.date_range(days[0], table_last).date
    st = [state.get(d, "present") for d in full]  # days between weekly points belong to their week
    return row, gaps, pd.DataFrame({"source": label, "day": full, "state": st})


def _coverage_frames(
    fresh_rows: list[dict[str, Any]],
    comp_rows: list[dict[str, Any]],
    gap_rows: list[dict[str, Any]],
    day_rows: list[pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    freshness = pd.DataFrame(
        fresh_rows, columns=["source", "table", "last_day", "hours_since", "target_hours", "stale"]
    )
    completeness = pd.DataFrame(comp_rows)
    if completeness.empty:
        completeness = pd.DataFrame(columns=["source", "table", "cadence_days", "first_day", "last_day",
                                             "expected_days", "missing_days", "paused_days", "gaps"])  # fmt: skip
    all_gaps = pd.DataFrame(gap_rows)
    if all_gaps.empty:
        all_gaps = pd.DataFrame(columns=["source", "table", "gap_start", "gap_end", "days", "kind"])
    gaps = all_gaps[all_gaps["kind"] == "gap"].reset_index(drop=True)
    pauses = all_gaps[all_gaps["kind"] == "pause"].reset_index(drop=True)
    days_long = (
        pd.concat(day_rows, ignore_index=True)
        if day_rows
        else pd.DataFrame(columns=["source", "day", "state"])
    )
    days_long["present"] = days_long["state"] == "present"
    return freshness, completeness, gaps, pauses, days_long


def _duplicates(wh: Any) -> pd.DataFrame:
    """Rows beyond the first per key, per table (should be zero after idempotent ingest).

    One query over every table counts its rows and the distinct 64-bit hashes of its key (~4x faster than
    grouping by the key's columns, and one round trip instead of one per table); only a table whose count
    exceeds its distinct hashes is grouped by the key itself, so a hash collision never counts as a duplicate.
    """
    import ibis

    columns = ["table", "key", "duplicated_keys", "duplicate_rows"]
    present = [(table, keys) for table, keys in KEYS.items() if wh.exists(table)]
    if not present:
        return pd.DataFrame(columns=columns)
    counts = []
    for table, keys in present:
        t = wh.table(table)
        key = ibis.struct({k: t[k] for k in keys}).hash()
        counts.append(t.aggregate(table=ibis.literal(table), rows=t.count(), hashes=key.nunique()))
    found = wh.df(ibis.union(*counts))
    suspect = set(found.loc[found["rows"] > found["hashes"], "table"])
    rows = []
    for table, keys in present:
        dup_keys = extra = 0
        if table in suspect:
            t = wh.table(table)
            g = t.group_by(keys).aggregate(n=t.count())
            dup = g.filter(g.n > 1)
            res = wh.df(dup.aggregate(keys_duplicated=dup.count(), extra=(dup.n - 1).sum()))
            dup_keys = int(res["keys_duplicated"].iloc[0])
            extra = 0 if pd.isna(res["extra"].iloc[0]) else int(res["extra"].iloc[0])
        rows.append(
            {"table": table, "key": ", ".join(keys), "duplicated_keys": dup_keys, "duplicate_rows": extra}
        )
    return pd.DataFrame(rows, columns=columns)


def _quarantine(wh: Any) -> pd.DataFrame:
    cols = ["file_name", "source", "line", "column_name", "error", "hint", "quarantined_at"]
    if not wh.exists("quarantine"):
        return pd.DataFrame(columns=cols)
    q = wh.df("quarantine")
    q = ingest_guard.redact_stored(q[cols], ["error", "hint", "column_name"])  # rows from before redaction
    return q.sort_values("quarantined_at", kind="stable").reset_index(drop=True)


def _reconciliation(wh: Any) -> tuple[pd.DataFrame, dict[str, int]]:
    """Files whose totals rows were checked (``reconciled`` not null) and ledger status counts."""
    cols = ["file_name", "source", "table_name", "rows", "reconciled", "message"]
    if not wh.exists("ingest_ledger"):
        return pd.DataFrame(columns=cols), {}
    led = wh.df("ingest_ledger")
    counts = led["status"].value_counts()
    stats = {
        "files_loaded": int(counts.get("loaded", 0) + counts.get("replaced", 0)),
        "files_replaced": int(counts.get("replaced", 0)),
        "files_duplicate": int(counts.get("duplicate", 0)),
    }
    rec = led[led["reconciled"].notna()][cols].reset_index(drop=True)
    rec["reconciled"] = rec["reconciled"].astype(bool)
    return ingest_guard.redact_stored(rec, ["message"]), stats


def _conversions_vs_deals(wh: Any) -> pd.DataFrame:
    """Per ISO week: conversions the ad platforms claim vs CRM deals created (and won) that week."""
    cols = ["week", "platform_conversions", "crm_deals_created", "crm_deals_won", "ratio"]
    ad = wh.table("ad_daily")
    a = wh.df(ad.group_by(day=ad.date_day.cast("date")).aggregate(conv=ad.conversions.sum()))
    de = wh.table("crm_deals")
    d = wh.df(
        de.group_by(day=de.created_date.cast("date")).aggregate(
            created=de.count(), won=de.is_won.cast("int64").sum()
        )
    )
    if a.empty and d.empty:
        return pd.DataFrame(columns=cols)
    for f in (a, d):
        f["week"] = [weeks.of(pd.Timestamp(x).date()) for x in f["day"]] if len(f) else []
    aw = a.groupby("week")["conv"].sum() if len(a) else pd.Series(dtype=float)
    dw = d.groupby("week")[["created", "won"]].sum() if len(d) else pd.DataFrame(columns=["created", "won"])
    out = pd.DataFrame({"platform_conversions": aw}).join(dw, how="outer").fillna(0).sort_index()
    out = out.rename(columns={"created": "crm_deals_created", "won": "crm_deals_won"})
    out["ratio"] = np.where(
        out["crm_deals_created"] > 0,
        out["platform_conversions"] / out["crm_deals_created"].replace(0, np.nan),
        np.nan,
    )
    out.index.name = "week"
    return out.reset_index()[cols]
