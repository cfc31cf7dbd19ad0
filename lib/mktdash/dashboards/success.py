"""How we are doing: the success metrics mktdash is judged by, measured from its own records.

* **Decision cycle time**: hours from a budget proposal's creation (the start of the run that wrote it, as
  its run id says) to its decision in the ``approvals`` table (approved or rejected); target under 48 h.
* **Data freshness per source**: hours since each source's last data, as the run's data-quality export
  ``quality_freshness.csv`` recorded it; target under 24 h.
* **Weekly active users**: distinct logins that opened a dashboard in the week, over the logins seen in the
  access log in the last 8 weeks; target 70 %. Read from the dashboard server's access log
  (:func:`mktdash.dashboards.users.read_access`: JSON lines with ``at`` and ``login``; failed logins are not users);
  absent, the metric says so.
* **Budget-control compliance**: the share of spend within approved limits in the run's week (20_budget's
  headline ``compliance``); target 85 % (MVP), 95 % in the end.
* **Realized vs predicted uplift** of approved proposals: the channel's platform-attributed weekly revenue over
  the (up to 4) complete weeks after the decision minus its mean over the 4 weeks before the proposal's week,
  against the proposal's ``expected_revenue_change``; 100 % means the model's promise was kept.

Each metric is computed per archived week (the latest successful run of each week), so the panel shows the
latest value beside its trend.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mktdash import weeks
from mktdash.reporting import tables, templating


@dataclass(frozen=True)
class Target:
    label: str
    target: float
    kind: str  # hours | percent
    lower_is_better: bool = False


TARGETS = {
    "decision_cycle_hours": Target("Decision cycle time (median)", 48.0, "hours", lower_is_better=True),
    "freshness_hours": Target("Data freshness (stalest source)", 24.0, "hours", lower_is_better=True),
    "weekly_active_share": Target("Weekly active users", 0.70, "percent"),
    "compliance": Target("Budget-control compliance", 0.85, "percent"),
    "realized_vs_predicted": Target("Realized vs predicted uplift", 1.0, "percent"),
}


def _read_json(p: Path) -> Any:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_started(run_id: str) -> dt.datetime | None:
    """``20261123T010000Z-r1`` -> 2026-11-23 01:00 UTC (a run id starts with its start time).

    >>> run_started("20261206T093020Z-3589")
    datetime.datetime(2026, 12, 6, 9, 30, 20, tzinfo=datetime.timezone.utc)
    """
    try:
        return dt.datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def proposals(runs: Mapping[str, Path]) -> pd.DataFrame:
    """Every proposal the archived runs wrote, with the time it was made (its run's start)."""
    rows = []
    for week, rd in runs.items():
        for p in _read_json(rd / "exports" / "proposals.json") or []:
            if isinstance(p, dict) and p.get("proposal_id"):
                created = run_started(str(p.get("run_id") or rd.name)) or run_started(rd.name)
                rows.append({**p, "week": str(p.get("week") or week), "created_at": created})
    cols = ["proposal_id", "week", "channel", "created_at", "expected_revenue_change"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)


def cycle_times(props: pd.DataFrame, approvals: pd.DataFrame | None) -> pd.DataFrame:
    """Per proposal: its decision, decision time and hours from creation to decision (NaN while pending)."""
    out = props.copy()
    decision: list[str | None] = [None] * len(out)
    decided: list[pd.Timestamp | None] = [None] * len(out)
    hours = [math.nan] * len(out)
    if approvals is not None and not approvals.empty and not out.empty:
        a = approvals.dropna(subset=["proposal_id", "approved_at"]).sort_values("approved_at")
        first = a.groupby("proposal_id").first()  # the first decision on a proposal closes its cycle
        for i, (pid, made) in enumerate(zip(out["proposal_id"], out["created_at"], strict=True)):
            if pid in first.index and made is not None:
                at = pd.Timestamp(first.loc[pid, "approved_at"])
                at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
                decision[i], decided[i] = str(first.loc[pid, "decision"]), at
                hours[i] = (at - pd.Timestamp(made)).total_seconds() / 3600
    return out.assign(decision=decision, decided_at=decided, hours=hours)


def freshness(runs: Mapping[str, Path]) -> pd.DataFrame:
    """Hours since each source's last data at each archived run (``quality_freshness.csv``)."""
    parts = []
    for week, rd in runs.items():
        f = rd / "exports" / "quality_freshness.csv"
        if f.exists():
            d = pd.read_csv(f)
            parts.append(d.assign(week=week)[["week", "source", "hours_since", "target_hours"]])
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["week", "source", "hours_since"])
    )


def weekly_active(log: Path | None, wks: list[str], window: int = 8) -> pd.DataFrame:
    """Per week: distinct users active that week, users seen in the ``window`` weeks up to it, their share."""
    if log is None or not log.exists():
        return pd.DataFrame(columns=["week", "active", "known", "share"])
    seen = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
            if e.get("login", "unknown") != "unknown" and not str(e.get("event", "")).startswith("login_"):
                seen.append((weeks.of(dt.datetime.fromisoformat(str(e["at"])).date()), str(e["login"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a line of another format: not counted
    df = pd.DataFrame(seen, columns=["week", "user"])
    rows = []
    for w in wks:
        recent = {weeks.shift(w, -k) for k in range(window)}
        known = df[df["week"].isin(recent)]["user"].nunique()
        active = df[df["week"] == w]["user"].nunique()
        rows.append(
            {"week": w, "active": active, "known": known, "share": active / known if known else math.nan}
        )
    return pd.DataFrame(rows)


def realized_uplift(decided: pd.DataFrame, weekly_revenue: pd.DataFrame, n: int = 4) -> pd.DataFrame:
    """Approved proposals: predicted weekly revenue change against the realized one (mean channel revenue in
    the up to ``n`` complete weeks after the decision minus the mean of the ``n`` weeks before the proposal's
    week); ``weekly_revenue`` has week, channel, revenue. Proposals with no complete week after are left out."""
    rows = []
    last = weekly_revenue["week"].max() if len(weekly_revenue) else None
    for r in decided[decided["decision"] == "approved"].itertuples():
        rev = weekly_revenue[weekly_revenue["channel"] == r.channel].set_index("week")["revenue"]
        first_after = weeks.shift(weeks.of(pd.Timestamp(r.decided_at).date()), 1)
        after = [weeks.shift(first_after, k) for k in range(n)]
        after = [w for w in after if last is not None and w <= last]
        before = [weeks.shift(r.week, -k) for k in range(1, n + 1)]
        if not after:
            continue
        realized = float(rev.reindex(after).fillna(0.0).mean() - rev.reindex(before).fillna(0.0).mean())
        rows.append({"proposal_id": r.proposal_id, "week": r.week, "channel": r.channel,
                     "predicted": float(r.expected_revenue_change), "realized": realized,
                     "weeks_after": len(after)})  # fmt: skip
    return pd.DataFrame(
        rows, columns=["proposal_id", "week", "channel", "predicted", "realized", "weeks_after"]
    )


def compliance(runs: Mapping[str, Path]) -> pd.Series:
    """Week -> the run's budget-control compliance (20_budget's headline)."""
    out = {}
    for week, rd in runs.items():
        man = _read_json(rd / "manifest.json") or {}
        v = (man.get("scraps") or {}).get("20_budget", {}).get("compliance")
        if isinstance(v, int | float):
            out[week] = float(v)
    return pd.Series(out, dtype=float)


def measure(
    runs: Mapping[str, Path],
    approvals: pd.DataFrame | None,
    weekly_revenue: pd.DataFrame,
    access_log: Path | None = None,
) -> pd.DataFrame:
    """One row per archived week and metric (week, metric, value): the panel's trends."""
    wks = sorted(runs)
    ct = cycle_times(proposals(runs), approvals)
    fr = freshness(runs)
    wau = weekly_active(access_log, wks)
    up = realized_uplift(ct, weekly_revenue)
    comp = compliance(runs)
    rows = []
    for w in wks:
        hrs = ct.loc[ct["week"] == w, "hours"].dropna()
        f = fr.loc[fr["week"] == w, "hours_since"]
        a = wau.loc[wau["week"] == w, "share"].dropna()
        u = up[up["week"] == w]
        values = {
            "decision_cycle_hours": float(hrs.median()) if len(hrs) else math.nan,
            "freshness_hours": float(f.max()) if len(f) else math.nan,
            "weekly_active_share": float(a.iloc[0]) if len(a) else math.nan,
            "compliance": float(comp.get(w, math.nan)),
            "realized_vs_predicted": float(u["realized"].sum() / u["predicted"].sum())
            if len(u) and u["predicted"].sum()
            else math.nan,
        }
        rows += [{"week": w, "metric": k, "value": v} for k, v in values.items()]
    return pd.DataFrame(rows, columns=["week", "metric", "value"])


def _fmt(v: float, kind: str) -> str:
    if v is None or math.isnan(v):
        return "–"
    return f"{v:,.0f} h" if kind == "hours" else f"{100 * v:.0f} %"


def panel_html(trend: pd.DataFrame, latest_freshness: pd.DataFrame | None = None) -> str:
    """The "How we are doing" panel: per metric the latest value against its target and its weekly trend;
    the latest run's freshness per source below (one table format)."""
    tiles: list[dict[str, Any]] = []
    for key, t in TARGETS.items():
        d = trend[(trend["metric"] == key)].dropna(subset=["value"])
        v = float(d["value"].iloc[-1]) if len(d) else math.nan
        ok = not math.isnan(v) and (v < t.target if t.lower_is_better else v >= t.target)
        cls = "mk-good" if ok else "mk-bad" if not math.isnan(v) else "mk-flat"
        spark = " · ".join(f"{w[-3:]} {_fmt(x, t.kind)}" for w, x in zip(d["week"], d["value"], strict=True))
        target = f"target {'under' if t.lower_is_better else 'at least'} {_fmt(t.target, t.kind)}"
        tiles.append({
            "key": key, "raw": "" if math.isnan(v) else repr(v), "label": t.label, "value": _fmt(v, t.kind),
            "cls": cls, "target": target, "trend": spark or "no data yet",
        })  # fmt: skip
    fresh = None
    if latest_freshness is not None and len(latest_freshness):
        f = latest_freshness.sort_values("hours_since", ascending=False)
        limit = f["target_hours"] if "target_hours" in f else TARGETS["freshness_hours"].target
        shown = pd.DataFrame({
            "Source": f["source"],
            "Hours since last data": [f"{h:,.0f} h" for h in f["hours_since"]],
            "Within target": f["hours_since"] < limit,
        })  # fmt: skip
        fresh = templating.trusted(tables.table_html(shown))
    return templating.render("success.html.j2", tiles=tiles, fresh=fresh)
