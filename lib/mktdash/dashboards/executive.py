"""The executive dashboard (notebook 30): data loading, one HTML rendering, and the live widget app.

The same code serves both modes of docs/contracts.md, Notebooks:

* **static** (papermill, HTML export): :func:`show` displays the rendered HTML (tiles, tables, PNG charts);
* **live** (Voilà): :func:`show` displays an ipywidgets app (week picker, channel/platform filter, drill-down
  from channel to campaign, export links) whose body is the same HTML, re-rendered on every change.

Data comes only from *published* data (:mod:`mktdash.dashboards.publish`): the read-only warehouse snapshot (its small
``dash_ad_weekly`` aggregate for the tiles and drill-down; a few small SQL queries for the cross-domain panel
and freshness) and the run folder exports of the chosen week's latest successful run (``alerts.json``,
``budget_recommendation.csv``, ``mmm_channel_roi.csv``, ``kpi_channel_weekly.csv``). Missing exports render
as a "not available" note rather than failing, so a partial run still shows what it has. In batch mode
(papermill with ``run_dir``) the run publishes only after its last notebook, so notebook 30 reads the
warehouse that run just loaded (read-only; the snapshot when it cannot be opened).

The KPI arithmetic here (sums and ratios of the weekly aggregate) runs in pandas over an in-memory frame of a
few thousand rows, which keeps a filter change well under the 1 s target; the ratios, labels and directions
are those of :mod:`mktdash.analytics.metrics`, which ``mktdash.analytics.kpis`` computes on the warehouse for notebook 10.

The HTML comes from Jinja2 templates with autoescape on (``mktdash/reporting/templates/executive.html.j2`` and
``fragments.html.j2``, through :mod:`mktdash.reporting.templating`): all text that comes from data (campaign, channel,
platform names, alert texts) is escaped by default.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mktdash import paths, weeks
from mktdash.analytics.metrics import MEASURES, METRICS, ratio_frame, ratio_values
from mktdash.dashboards import publish as pub
from mktdash.dashboards import users
from mktdash.reporting import charts, missing, narrative, tables, templating
from mktdash.runner import archive
from mktdash.warehouse import files, rollup

ALL = "all"
OK_STATUS = {"ok", "success", "succeeded", "done", "complete", "completed"}

# metric names per tier of tiles; labels, display kind and direction come from mktdash.analytics.metrics
TIERS: list[tuple[str, list[str]]] = [
    ("Strategic", ["revenue", "spend", "roas"]),
    ("Tactical", ["conversions", "cpa", "cvr"]),
    ("Operational", ["impressions", "clicks", "ctr", "cpc"]),
]
SUMS = list(MEASURES)
RATIOS = ["ctr", "cvr", "cpc", "cpa", "roas"]


# ---- data ------------------------------------------------------------------------------------------------
def _read_json(p: Path) -> Any:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(p.read_text(encoding="utf-8"))
    return None


def archived_runs() -> dict[str, Path]:
    """The latest successful run folder of every archived ISO week (``outputs/runs/<week>/<run-id>``)."""
    out: dict[str, Path] = {}
    root = paths.runs_dir()
    if not root.is_dir():
        return out
    for wdir in sorted(root.iterdir()):
        try:
            weeks.parse(wdir.name)
        except ValueError:
            continue
        best: tuple[str, Path] | None = None
        for rdir in wdir.iterdir():
            man = archive.read_summary(rdir)
            if not isinstance(man, dict) or str(man.get("status", "")).lower() not in OK_STATUS:
                continue
            key = str(man.get("finished_at") or man.get("started_at") or "") + rdir.name
            if best is None or key > best[0]:
                best = (key, rdir)
        if best:
            out[wdir.name] = best[1]
    return out


@dataclass
class View:
    """Everything one rendering of the dashboard shows (also what the exports contain)."""

    week: str
    channel: str
    platform: str
    campaign: str
    currency: str
    tiles: dict[str, dict[str, float | None]]  # metric -> {value, prev, target}
    by_channel: pd.DataFrame
    by_campaign: pd.DataFrame
    trend: pd.DataFrame
    alerts: list[dict[str, Any]]
    roi: pd.DataFrame | None
    budget: pd.DataFrame | None
    cross: dict[str, float | None]
    badges: list[tuple[str, str, bool]]  # (label, detail, ok)
    run_dir: Path | None
    figures: dict[str, Chart] = field(default_factory=dict)  # name -> chart (see figures())
    missing: dict[str, str] = field(default_factory=dict)  # section -> which export would fill it
    movers: pd.DataFrame | None = None  # level, entity, revenue, revenue_prev (the narrative's "why")
    proposals: list[dict[str, Any]] = field(default_factory=list)  # this week's run's budget proposals
    success: str = ""  # the "How we are doing" panel (mktdash.dashboards.success), the same for every filter
    budget_hold: str = ""  # why this week's budget advice is "keep the current allocation" ('' when it moves)

    @property
    def scope(self) -> str:
        parts = [p for p in (self.channel, self.platform) if p != ALL]
        if self.campaign != ALL:
            parts.append(self.campaign)
        return " / ".join(parts) or "All channels"


def kpis(df: pd.DataFrame) -> dict[str, float | None]:
    """Sums and ratios of an aggregate frame (columns impressions, clicks, spend, conversions, revenue).

    >>> kpis(pd.DataFrame({"impressions": [1000], "clicks": [50], "spend": [100.0], "conversions": [5.0],
    ...                    "revenue": [400.0]}))["roas"]
    4.0
    """
    return ratio_values({k: float(df[k].sum()) if k in df else 0.0 for k in SUMS}, RATIOS)


def _movers(scoped: pd.DataFrame, week: str, prev: str) -> pd.DataFrame:
    """Revenue of each channel and campaign this week and the week before (who moved the total)."""
    parts = []
    for level, key in (("channel", "channel"), ("campaign", "campaign_name")):
        if key not in scoped:
            continue
        both = scoped[scoped["week"].isin([week, prev])]
        g = both.pivot_table(index=key, columns="week", values="revenue", aggfunc="sum", fill_value=0.0)
        parts.append(
            pd.DataFrame({
                "level": level,
                "entity": g.index.astype(str),
                "revenue": g[week].to_numpy() if week in g else 0.0,
                "revenue_prev": g[prev].to_numpy() if prev in g else 0.0,
            })
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _table_by(df: pd.DataFrame, key: str) -> pd.DataFrame:
    if df.empty:
        return pd.DataFrame(columns=[key, *SUMS, *RATIOS])
    g = ratio_frame(df.groupby(key, dropna=False)[SUMS].sum().reset_index(), RATIOS)
    return g.sort_values("spend", ascending=False).reset_index(drop=True)


class DashboardData:
    """Published data for the dashboard: the snapshot's weekly aggregate plus per-week run folders."""

    def __init__(self, settings: Any = None, *, run_dir: str | Path = "") -> None:
        self.settings = settings
        self.currency = getattr(settings, "reporting_currency", "USD") if settings is not None else "USD"
        self.published = pub.latest()
        self.runs = archived_runs()
        if run_dir:  # papermill: the current run's folder is the source for its own week
            rd = Path(run_dir)
            man = archive.read_summary(rd) or {}
            wk = str(man.get("week") or rd.parent.name)
            with contextlib.suppress(ValueError):
                weeks.parse(wk)
                self.runs[wk] = rd
        # live (Voilà): the published snapshot only. Batch (papermill, run_dir set): this run publishes only
        # after its last notebook, so read the warehouse it just loaded (read-only), else the snapshot.
        candidates: list[Path] = []
        if run_dir:
            wpath = getattr(getattr(settings, "warehouse", None), "path", "") or paths.warehouse_path()
            candidates.append(Path(wpath))
        if self.published:
            candidates.append(self.published.snapshot)
        # one read-only connection for the object's life: published snapshots never change, and in a run the
        # report reads the warehouse after the run's last write, as one consistent state
        self.snapshot: Path | None = None
        self._con: Any = None
        for c in candidates:
            if c.exists():
                with contextlib.suppress(files.Error):
                    self._con = files.read_only(c)
                    self.snapshot = c
                    break
        self.agg = self._load_agg()
        self.targets = self._query("SELECT metric, level, entity, period, target FROM kpi_targets")
        self.missing = missing.section_notices(self._has_rows)
        self._cross_cache: dict[str, dict[str, float | None]] = {}
        self._badge_cache: dict[str, list[tuple[str, str, bool]]] = {}

    def _query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame | None:
        if self._con is None:
            return None
        try:
            return self._con.execute(sql, params or []).df()
        except files.Error:
            return None

    def _has_rows(self, table: str) -> bool:
        r = self._query(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT 1)')
        return r is not None and int(r.iloc[0, 0]) > 0

    def _load_agg(self) -> pd.DataFrame:
        df = self._query(f"SELECT * FROM {rollup.DASHBOARD}")
        if df is None and self._con is not None:  # the warehouse in a run (or an older snapshot): compute it
            df = self._query(rollup.dashboard_sql(self._con))
        if df is None:
            df = pd.DataFrame(
                columns=["week", "channel", "platform", "campaign_id", "campaign_name", *SUMS, "days"]
            )
        for c in SUMS:
            df[c] = pd.to_numeric(df[c], errors="coerce").fillna(0.0).astype(float)
        for c in ("week", "channel", "platform", "campaign_id", "campaign_name"):
            df[c] = df[c].astype(str)
        return df

    # ---- choices ----
    def weeks(self) -> list[str]:
        """Weeks the picker offers: archived runs, else weeks with data (newest first)."""
        ws = set(self.runs) or set(self.agg["week"].unique())
        return sorted(ws, reverse=True)

    def default_week(self, week: str = "latest") -> str:
        """``week`` (validated), else the published week, else the newest week on offer; with nothing on
        offer, the calendar's latest complete week (:func:`mktdash.weeks.report_week` without data)."""
        if week and week != "latest":
            return weeks.report_week(week, None)
        if self.published and self.published.week in self.weeks():
            return self.published.week
        return self.weeks()[0] if self.weeks() else weeks.report_week(None, None)

    def channels(self) -> list[str]:
        order = {c: i for i, c in enumerate(charts.CHANNEL_ORDER)}
        return sorted(self.agg["channel"].unique(), key=lambda c: (order.get(c, 99), c))

    def platforms(self, channel: str = ALL) -> list[str]:
        d = self.agg if channel == ALL else self.agg[self.agg["channel"] == channel]
        return sorted(d["platform"].unique())

    def campaigns(self, week: str, channel: str, platform: str = ALL) -> list[tuple[str, str]]:
        """(label, campaign_id) of the campaigns with spend in ``week`` for the channel, by spend."""
        d = self._filter(self.agg[self.agg["week"] == week], channel, platform)
        g = d.groupby(["campaign_id", "campaign_name"])["spend"].sum().sort_values(ascending=False)
        return [(f"{name}", cid) for (cid, name), _ in g.items()]

    @staticmethod
    def _filter(df: pd.DataFrame, channel: str, platform: str, campaign: str = ALL) -> pd.DataFrame:
        if channel != ALL:
            df = df[df["channel"] == channel]
        if platform != ALL:
            df = df[df["platform"] == platform]
        if campaign != ALL:
            df = df[df["campaign_id"] == campaign]
        return df

    # ---- run folder exports ----
    def exports_dir(self, week: str) -> Path | None:
        rd = self.runs.get(week)
        return rd / "exports" if rd else None

    def _csv(self, week: str, name: str) -> pd.DataFrame | None:
        d = self.exports_dir(week)
        if d is None or not (d / name).exists():
            return None
        try:
            return pd.read_csv(d / name)
        except (OSError, ValueError, pd.errors.ParserError):
            return None

    def alerts(self, week: str, channel: str = ALL, campaign_name: str | None = None) -> list[dict[str, Any]]:
        d = self.exports_dir(week)
        raw = _read_json(d / "alerts.json") if d else None
        items = raw.get("alerts", []) if isinstance(raw, dict) else raw or []
        out = [a for a in items if isinstance(a, dict) and str(a.get("week", week)) == week]
        if channel != ALL:
            names = set(self.agg.loc[self.agg["channel"] == channel, "campaign_name"])
            out = [
                a
                for a in out
                if str(a.get("channel", "")) == channel
                or (a.get("level") == "channel" and str(a.get("entity")) == channel)
                or (a.get("level") == "campaign" and str(a.get("entity")) in names)
            ]
        if campaign_name is not None:
            out = [a for a in out if a.get("level") != "campaign" or str(a.get("entity")) == campaign_name]

        def money(a: dict[str, Any]) -> float:
            try:
                return abs(float(a.get("impact") or 0.0))
            except (TypeError, ValueError):
                return 0.0

        return sorted(out, key=money, reverse=True)

    # ---- cross-domain and freshness (small SQL on the snapshot, cached per week) ----
    def cross(self, week: str) -> dict[str, float | None]:
        if week in self._cross_cache:
            return self._cross_cache[week]
        mon, sun = weeks.monday(week), weeks.sunday(week)
        pm, ps = weeks.monday(weeks.shift(week, -1)), weeks.sunday(weeks.shift(week, -1))
        out: dict[str, float | None] = {}

        def one(sql: str, args: list[Any]) -> float | None:
            r = self._query(sql, args)
            if r is None or r.empty or pd.isna(r.iloc[0, 0]):
                return None
            return float(r.iloc[0, 0])

        deals = "SELECT {} FROM crm_deals WHERE {} BETWEEN ? AND ?"
        out["deals_created"] = one(deals.format("count(*)", "created_date"), [mon, sun])
        out["pipeline_created"] = one(deals.format("sum(amount_reporting)", "created_date"), [mon, sun])
        out["won_amount"] = one(
            deals.format("sum(amount_reporting)", "close_date") + " AND is_won", [mon, sun]
        )
        usage = "SELECT count(DISTINCT customer_id) FROM product_usage WHERE date_day BETWEEN ? AND ? AND events > 0"
        out["active_customers"] = one(usage, [mon, sun])
        out["active_customers_prev"] = one(usage, [pm, ps])
        snap = (
            "SELECT {} FROM customer_health WHERE snapshot_date = (SELECT max(snapshot_date) FROM customer_health "
            "WHERE snapshot_date <= ?)"
        )
        out["health_score"] = one(snap.format("avg(health_score)"), [sun])
        out["mrr"] = one(snap.format("sum(mrr)"), [sun])
        out["churned"] = one(snap.format("sum(CASE WHEN churned THEN 1 ELSE 0 END)"), [sun])
        self._cross_cache[week] = out
        return out

    def badges(self, week: str) -> list[tuple[str, str, bool]]:
        if week in self._badge_cache:
            return self._badge_cache[week]
        sun = weeks.sunday(week)
        out: list[tuple[str, str, bool]] = []
        d = self.agg[self.agg["week"] == week]
        for plat in sorted(self.agg["platform"].unique()):
            days = int(d.loc[d["platform"] == plat, "days"].max()) if (d["platform"] == plat).any() else 0
            out.append((plat, f"{days}/7 days", days >= 7))
        for table, col in (
            ("web_daily", "date_day"),
            ("crm_deals", "created_date"),
            ("product_usage", "date_day"),
            ("customer_health", "snapshot_date"),
        ):
            r = self._query(
                f'SELECT max("{col}") FROM "{table}" WHERE "{col}" <= ?', [sun + pd.Timedelta(days=7)]
            )
            if r is None or r.empty or pd.isna(r.iloc[0, 0]):
                out.append((table, "no data", False))
                continue
            last = pd.Timestamp(r.iloc[0, 0]).date()
            out.append((table, f"to {last.isoformat()}", last >= sun))
        self._badge_cache[week] = out
        return out

    # ---- the view ----
    def target(self, metric: str, channel: str) -> float | None:
        t = self.targets
        if t is None or t.empty:
            return None
        t = t[(t["metric"] == metric) & (t["period"].fillna("week") == "week")]
        t = (
            t[(t["level"] == "total") & (t["entity"].fillna("all") == "all")]
            if channel == ALL
            else t[(t["level"] == "channel") & (t["entity"] == channel)]
        )
        return float(t["target"].iloc[-1]) if len(t) else None

    def view(
        self,
        week: str,
        channel: str = ALL,
        platform: str = ALL,
        campaign: str = ALL,
        *,
        trend_weeks: int = 12,
    ) -> View:
        """Compute everything the dashboard shows for one week and filter."""
        prev = weeks.shift(week, -1)
        scoped = self._filter(self.agg, channel, platform, campaign)
        cur, old = kpis(scoped[scoped["week"] == week]), kpis(scoped[scoped["week"] == prev])
        tiles = {m: {"value": cur[m], "prev": old[m], "target": self.target(m, channel)} for m in cur}
        wk = scoped[scoped["week"] == week]
        first = weeks.shift(week, -(trend_weeks - 1))
        tr = scoped[(scoped["week"] >= first) & (scoped["week"] <= week)]
        trend = tr.groupby("week")[["spend", "revenue"]].sum().reset_index()
        campaign_name = None
        if campaign != ALL:
            names = self.agg.loc[self.agg["campaign_id"] == campaign, "campaign_name"]
            campaign_name = str(names.iloc[0]) if len(names) else campaign
        roi = self._csv(week, "mmm_channel_roi.csv")
        budget = self._csv(week, "budget_recommendation.csv")
        if channel != ALL:
            roi = roi[roi["channel"] == channel] if roi is not None and "channel" in roi else roi
            budget = (
                budget[budget["channel"] == channel] if budget is not None and "channel" in budget else budget
            )
        return View(
            week=week,
            channel=channel,
            platform=platform,
            campaign=campaign_name or ALL,
            currency=self.currency,
            tiles=tiles,
            by_channel=_table_by(wk, "channel"),
            by_campaign=_table_by(wk, "campaign_name")
            if channel != ALL or platform != ALL
            else _table_by(wk, "campaign_name").head(15),
            trend=trend,
            alerts=self.alerts(week, channel, campaign_name),
            roi=roi,
            budget=budget,
            cross=self.cross(week),
            badges=self.badges(week),
            run_dir=self.runs.get(week),
            missing=self.missing,
            movers=_movers(scoped, week, prev),
            proposals=self.proposals(week),
            success=self.success(),
            budget_hold=self.budget_hold(week),
        )

    def success(self) -> str:
        """The success metrics over the archived weeks (:mod:`mktdash.dashboards.success`) as the panel's HTML (made once:
        the archived runs and the snapshot do not change under a loaded dashboard)."""
        from mktdash.dashboards import success

        if (done := getattr(self, "_success_html", None)) is not None:
            return str(done)
        approvals = self._query("SELECT proposal_id, approved_at, decision FROM approvals")
        revenue = self.agg.groupby(["week", "channel"], as_index=False)["revenue"].sum()
        trend = success.measure(self.runs, approvals, revenue, users.access_log_file())
        last = max(self.runs) if self.runs else None
        latest = success.freshness({last: self.runs[last]}) if last else None
        self._success_html = success.panel_html(trend, latest)
        return self._success_html

    def budget_hold(self, week: str) -> str:
        """Why the week's run advised keeping the current allocation (``budget_advice.json``); '' otherwise."""
        d = self.exports_dir(week)
        raw = _read_json(d / "budget_advice.json") if d else None
        return str(raw.get("reason") or "") if isinstance(raw, dict) and raw.get("hold") else ""

    def proposals(self, week: str) -> list[dict[str, Any]]:
        """The budget proposals the week's run wrote (``proposals.json``); none when it wrote none."""
        d = self.exports_dir(week)
        raw = _read_json(d / "proposals.json") if d else None
        return [p for p in raw if isinstance(p, dict)] if isinstance(raw, list) else []


def load(week: str = "latest", run_dir: str | Path = "", settings: Any = None) -> DashboardData:
    """Open the published data (snapshot + run folders) for the executive dashboard."""
    return DashboardData(settings, run_dir=run_dir)


# ---- formatting ------------------------------------------------------------------------------------------
def fmt(v: float | None, kind: str, currency: str = "USD") -> str:
    """Human format of a KPI value.

    >>> fmt(12345.6, "money"), fmt(0.0234, "pct"), fmt(3.456, "ratio"), fmt(None, "count")
    ('$12.3k', '2.34%', '3.46x', '–')
    """
    if v is None or pd.isna(v):
        return "–"
    if kind == "money":
        sym = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
        return f"{sym}{charts.compact(v)}" if sym else f"{charts.compact(v)} {currency}"
    if kind in ("pct", "percent"):
        return f"{v * 100:.2f}%"
    if kind == "ratio":
        return f"{v:.2f}x"
    return charts.compact(v)


def fig_png(fig: Figure, dpi: int = 96) -> bytes:
    """PNG bytes; ``bbox_inches=None``: :func:`charts.finish` already laid the figure out tightly (a tight
    bounding box would draw every figure twice)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches=None)
    return buf.getvalue()


class Chart:
    """A drawn dashboard chart: shown as SVG (sharp on any screen and in the PDF, about half the drawing of a
    PNG), downloaded as PNG (for slides), each rendered once and only when asked for."""

    def __init__(self, fig: Figure) -> None:
        self.fig, self.alt = fig, str(getattr(fig, "alt_text", "chart"))

    @functools.cached_property
    def svg(self) -> bytes:
        return charts.figure_svg(self.fig)

    @functools.cached_property
    def png(self) -> bytes:
        return fig_png(self.fig)


def _chart(chart: Chart) -> dict[str, str]:
    return {"b64": base64.b64encode(chart.svg).decode(), "alt": chart.alt}


def _tile(key: str, t: dict[str, float | None], cur: str) -> dict[str, Any]:
    """One KPI tile's values, formatted (label, kind and direction from :mod:`mktdash.analytics.metrics`): week over
    week and the share of the target when there is one."""
    m = METRICS[key]
    label, kind, good_up = m.long_label, m.kind, m.higher_is_better
    v, p, target = t.get("value"), t.get("prev"), t.get("target")
    wow = None
    if v is not None and p:
        ch = (v - p) / abs(p)
        arrow = "▲" if ch > 0.0005 else "▼" if ch < -0.0005 else "▶"
        good = (ch > 0) == good_up
        cls = "mk-flat" if arrow == "▶" else "mk-good" if good else "mk-bad"
        wow = {"cls": cls, "text": f"{arrow} {ch * 100:+.1f}% WoW"}
    progress = None
    if target and v is not None:
        share = v / target if good_up else (target / v if v else 0.0)
        progress = {
            "share": f"{share * 100:.0f}",
            "width": f"{min(share, 1.0) * 100:.0f}",
            "target": fmt(target, kind, cur),
        }
    raw = "" if v is None else repr(float(v))
    return {
        "key": key,
        "label": label,
        "value": fmt(v, kind, cur),
        "raw": raw,
        "wow": wow,
        "progress": progress,
    }


def _cross_tiles(c: dict[str, float | None], cur: str) -> list[dict[str, Any]]:
    """The pipeline, product and customer-health tiles (``sub``: the line under the value, None for none)."""
    prev_act, act = c.get("active_customers_prev"), c.get("active_customers")
    act_wow = f" ({(act - prev_act) / prev_act * 100:+.1f}% WoW)" if act is not None and prev_act else ""
    hs = "–" if c.get("health_score") is None else f"{c['health_score']:.0f}"
    mrr, churned = fmt(c.get("mrr"), "money", cur), fmt(c.get("churned"), "count")
    return [
        {"key": "pipeline_created", "label": "Pipeline created", "value": fmt(c.get("pipeline_created"), "money", cur),
         "sub": f"{fmt(c.get('deals_created'), 'count')} deals"},
        {"key": "won_amount", "label": "Closed won", "value": fmt(c.get("won_amount"), "money", cur), "sub": None},
        {"key": "active_customers", "label": "Active customers (product)", "value": fmt(act, "count"),
         "sub": act_wow},
        {"key": "health_score", "label": "Customer health (0-100)", "value": hs,
         "sub": f"MRR {mrr}, churned {churned}"},
    ]  # fmt: skip


def _missing(v: View, *keys: str) -> list[str]:
    """The notices of the view's sections ``keys`` whose inputs are missing."""
    return [v.missing[k] for k in keys if k in v.missing]


def _table(
    df: pd.DataFrame | None,
    cols: list[tuple[str, str, str]],
    cur: str,
    cls: str = "",
    na: list[str] | None = None,
) -> dict[str, Any]:
    """``cols`` (column, label, kind) of ``df`` through the one table format (:func:`mktdash.reporting.tables.table_html`);
    with no rows, the notices ``na`` show instead (default: not available for this week)."""
    if df is None or df.empty:
        return {"html": None, "na": na or []}
    shown = pd.DataFrame({lbl: df[c] if c in df.columns else None for c, lbl, _ in cols}).reset_index(
        drop=True
    )
    kinds = {lbl: {"pct": "percent"}.get(kind, kind) for _, lbl, kind in cols}
    body = tables.table_html(
        shown, kinds=kinds, currency=cur, table_class=f"mk-table {cls}", wrap_class="mk-table-wrap"
    )
    return {"html": templating.trusted(body), "na": []}


PERF_COLS = [
    (m, METRICS[m].label, METRICS[m].kind)
    for m in ("spend", "revenue", "roas", "conversions", "cpa", "ctr", "cpc")
]


def _alerts(alerts: list[dict[str, Any]], cur: str, limit: int = 10) -> list[Any]:
    """Ranked alerts, each a plain sentence first with its statistics behind a details toggle."""
    from mktdash.reporting.narrative import item_html

    return [
        templating.trusted(
            item_html(a, cur, "mk-opportunity" if str(a.get("kind")) == "opportunity" else "mk-problem")
        )
        for a in alerts[:limit]
    ]


_FIG_CACHE: dict[tuple[Any, ...], Chart] = {}


def _cached(key: tuple[Any, ...], draw: Any) -> Chart:
    if key not in _FIG_CACHE:
        if len(_FIG_CACHE) > 128:
            _FIG_CACHE.clear()
        _FIG_CACHE[key] = Chart(draw())
    return _FIG_CACHE[key]


def figures(v: View) -> dict[str, Chart]:
    """The view's charts, each drawn once per distinct input (cached; a filter change redraws only the trend)
    and reused for display and export."""
    if not v.figures:
        if not v.trend.empty:
            tkey = (
                "trend",
                v.scope,
                v.currency,
                tuple(v.trend["week"]),
                tuple(v.trend["spend"].round(6)),
                tuple(v.trend["revenue"].round(6)),
            )
            v.figures["trend"] = _cached(
                tkey,
                lambda: charts.exec_trend(
                    v.trend, title=f"Spend and revenue, {v.scope}", currency=v.currency
                ),
            )
        if (
            v.roi is not None
            and not v.roi.empty
            and {"roi_mean", "roi_lower_90", "roi_upper_90"} <= set(v.roi)
        ):
            rkey = ("roi", v.roi.to_csv(index=False))
            v.figures["roi"] = _cached(
                rkey, lambda: charts.exec_roi(v.roi, title="Marketing ROI by channel (MMM)")
            )
    return v.figures


def _narrative_html(v: View) -> str:
    """The week in brief (:func:`mktdash.reporting.narrative.week_summary`)."""
    return narrative.summary_html(
        narrative.week_summary(
            week=v.week,
            currency=v.currency,
            tiles=v.tiles,
            movers=v.movers,
            proposals=v.proposals,
            alerts=v.alerts,
        )
    )


BUDGET_COLS = [
    ("channel", "Channel", "text"),
    ("current_weekly_spend", "Current", "money"),
    ("recommended_weekly_spend", "Recommended", "money"),
    ("expected_revenue_current", "Exp. revenue now", "money"),
    ("expected_revenue_recommended", "Exp. revenue rec.", "money"),
]
ROI_COLS = [
    ("channel", "Channel", "text"),
    ("roi_mean", "ROI", "ratio"),
    ("roi_lower_90", "90% low", "ratio"),
    ("roi_upper_90", "90% high", "ratio"),
]


def _context(v: View, title: str) -> dict[str, Any]:
    """What ``templates/executive.html.j2`` shows for the view, formatted (text from data stays text)."""
    cur, figs = v.currency, figures(v)
    scoped = "" if v.channel == ALL and v.platform == ALL else f" in {v.scope}"
    return {
        "title": title, "week": v.week, "channel": v.channel, "scope": v.scope, "currency": cur,
        "monday": weeks.monday(v.week).isoformat(), "sunday": weeks.sunday(v.week).isoformat(),
        "run": f"run {v.run_dir.name}" if v.run_dir else "no archived run for this week",
        "narrative": templating.trusted(_narrative_html(v)),
        "badges": [{"label": lbl, "detail": d, "ok": ok} for lbl, d, ok in v.badges],
        "notes": {"performance": _missing(v, "performance"), "cross": _missing(v, "pipeline", "product", "health")},
        "tiers": [{"name": tier, "tiles": [_tile(k, v.tiles[k], cur) for k in items]}
                  for tier, items in TIERS],
        "alerts": _alerts(v.alerts, cur),
        "charts": {name: _chart(c) for name, c in figs.items()},
        "tables": {
            "roi": _table(v.roi, ROI_COLS, cur, "mk-roi-table", _missing(v, "budget")),
            "channels": _table(v.by_channel, [("channel", "Channel", "text"), *PERF_COLS], cur, "mk-channels",
                               _missing(v, "performance")),
            "campaigns": _table(v.by_campaign, [("campaign_name", "Campaign", "text"), *PERF_COLS], cur,
                                "mk-campaigns"),
            "budget": _table(v.budget, BUDGET_COLS, cur, "mk-budget", _missing(v, "budget")),
        },
        "budget_hold": v.budget_hold,
        "drill_title": f"Campaigns{scoped} (by spend)",
        "cross": _cross_tiles(v.cross, cur),
        "success": templating.trusted(v.success),
    }  # fmt: skip


def render(v: View, *, title: str = "Executive summary") -> str:
    """The whole dashboard body as HTML (``templates/executive.html.j2``, autoescaped), used live, in the
    static export and for the PDF."""
    return templating.render("executive.html.j2", **_context(v, title))


# ---- exports -----------------------------------------------------------------------------------------------
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _slug(v: View) -> str:
    s = "".join(ch if ch.isalnum() else "-" for ch in f"{v.week}-{v.scope}".lower())
    return "-".join(p for p in s.split("-") if p)[:80]


def export_csv(v: View) -> bytes:
    """The current view's table (campaigns when drilled into a channel, else channels) as CSV."""
    df = v.by_campaign if v.channel != ALL or v.platform != ALL else v.by_channel
    return df.assign(week=v.week).to_csv(index=False).encode("utf-8")


def export_xlsx(v: View) -> bytes:
    """An Excel workbook with one sheet per section of the view (text that Excel would run as a formula,
    e.g. a campaign named ``=HYPERLINK(...)``, is prefixed with an apostrophe by ``mktdash.reporting.exports``)."""
    from mktdash.reporting.exports import write_workbook

    buf = io.BytesIO()
    sheets = {
        "about": pd.DataFrame({"week": [v.week], "scope": [v.scope], "currency": [v.currency]}),
        "kpis": pd.DataFrame([{"metric": k, **t} for k, t in v.tiles.items()]),
        "channels": v.by_channel,
        "campaigns": v.by_campaign,
        "alerts": pd.DataFrame(v.alerts),
        "roi": v.roi,
        "budget": v.budget,
    }
    write_workbook({name: df for name, df in sheets.items() if df is not None}, buf)
    return buf.getvalue()


def export_pdf(v: View, *, chromium: str = "/usr/bin/chromium", timeout: float = 90.0) -> bytes:
    """The executive summary as PDF, printed by Chromium through Playwright (:mod:`mktdash.reporting.pdf`, no network);
    raises :class:`mktdash.reporting.pdf.PdfError` with what to do when it cannot."""
    from mktdash.reporting import pdf

    return pdf.html_to_pdf(f"Executive summary {v.week}", render(v), chromium=chromium, timeout=timeout)


def data_link(content: bytes, filename: str, mime: str, label: str) -> str:
    """An ``<a download>`` link carrying ``content`` as a data: URL (works in Voilà without a file server)."""
    b64 = base64.b64encode(content).decode()
    return templating.fragment("fragments.html.j2", "download_link", b64, filename, mime, label)


def export_links(v: View) -> str:
    slug = _slug(v)
    return '<div class="mk-exports">' + data_link(export_csv(v), f"{slug}.csv", "text/csv", "CSV") + "</div>"


def png_links(v: View) -> str:
    """Download links for the view's charts (PNG)."""
    slug = _slug(v)
    return "".join(
        data_link(chart.png, f"{slug}-{name}.png", "image/png", f"Download {name} chart (PNG)")
        for name, chart in figures(v).items()
    )


# ---- display -----------------------------------------------------------------------------------------------
def resolve_mode(mode: str) -> str:
    """``auto`` -> ``live`` inside Voilà (it sets VOILA_* variables in the kernel), else ``static``."""
    if mode in ("static", "live"):
        return mode
    return "live" if any(k.startswith("VOILA_") for k in os.environ) else "static"


class App:
    """The live dashboard: controls on top, the rendered view below, export links at the bottom."""

    def __init__(
        self, data: DashboardData, week: str = "latest", *, chromium: str = "/usr/bin/chromium"
    ) -> None:
        import ipywidgets as w

        self.data, self.chromium = data, chromium
        wk = data.default_week(week)
        opts = data.weeks() or [wk]
        self.week = w.Dropdown(options=opts, value=wk if wk in opts else opts[0], description="Week")
        self.channel = w.Dropdown(
            options=[("All channels", ALL), *[(c, c) for c in data.channels()]],
            value=ALL,
            description="Channel",
        )
        self.platform = w.Dropdown(options=[("All platforms", ALL)], value=ALL, description="Platform")
        self.campaign = w.Dropdown(options=[("All campaigns", ALL)], value=ALL, description="Campaign")
        for name in ("week", "channel", "platform", "campaign"):
            dd = getattr(self, name)
            dd.add_class(f"mk-{name}")
            dd.style.description_width = "70px"
            dd.layout = w.Layout(width="auto", max_width="100%")
        self.body = w.HTML(layout=w.Layout(width="100%"))
        self.body.add_class("mk-body")
        self.links = w.HTML(layout=w.Layout(width="100%"))
        self.links.add_class("mk-links")
        self.xlsx_button = w.Button(description="Prepare Excel", tooltip="This view as an Excel workbook")
        self.xlsx_button.add_class("mk-xlsx")
        self.png_button = w.Button(
            description="Prepare PNG charts", tooltip="The charts of this view as PNG files"
        )
        self.png_button.add_class("mk-png")
        self.png_button.on_click(self._pngs)
        self.pdf_button = w.Button(description="Prepare PDF", tooltip="Executive summary as PDF")
        self.pdf_button.add_class("mk-pdf")
        self.file_link = w.HTML()
        self.file_link.add_class("mk-file-link")
        self.pdf_button.on_click(self._pdf)
        self.xlsx_button.on_click(self._xlsx)
        self.view: View | None = None
        self._busy = False
        self._refresh_platforms()
        self._refresh_campaigns()
        for dd in (self.week, self.channel, self.platform, self.campaign):
            dd.observe(self._changed, names="value")
        controls = w.HBox(
            [self.week, self.channel, self.platform, self.campaign],
            layout=w.Layout(flex_flow="row wrap", width="100%"),
        )
        controls.add_class("mk-controls")
        exports = w.VBox(
            [
                w.HTML("<h3 style='margin:.6rem 0 .2rem'>Export this view</h3>"),
                self.links,
                w.HBox(
                    [self.xlsx_button, self.png_button, self.pdf_button, self.file_link],
                    layout=w.Layout(flex_flow="row wrap", align_items="center"),
                ),
            ]
        )
        exports.add_class("mk-export-box")
        hide_first_paint = w.HTML("<style>.mk-first-paint{display:none!important}</style>")
        self.widget = w.VBox([hide_first_paint, controls, self.body, exports], layout=w.Layout(width="100%"))
        self.widget.add_class("mk-app")
        self.update()

    def _refresh_platforms(self) -> None:
        self.platform.options = [
            ("All platforms", ALL),
            *[(p, p) for p in self.data.platforms(self.channel.value)],
        ]
        self.platform.value = ALL

    def _refresh_campaigns(self) -> None:
        opts = [("All campaigns", ALL)]
        if self.channel.value != ALL or self.platform.value != ALL:  # drill-down: channel -> campaign
            opts += self.data.campaigns(self.week.value, self.channel.value, self.platform.value)
        self.campaign.options = opts
        self.campaign.value = ALL
        self.campaign.disabled = len(opts) == 1

    def _changed(self, change: dict[str, Any]) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            if change["owner"] is self.channel:
                self._refresh_platforms()
            if change["owner"] in (self.channel, self.platform, self.week):
                self._refresh_campaigns()
        finally:
            self._busy = False
        self.update()

    def update(self) -> None:
        """Recompute the view for the current controls and re-render body and export links."""
        self.view = self.data.view(
            self.week.value, self.channel.value, self.platform.value, self.campaign.value
        )
        self.body.value = render(self.view)
        self.links.value = export_links(self.view)
        self.file_link.value = ""

    def _pngs(self, _: Any = None) -> None:
        if self.view is not None:
            self.file_link.value = png_links(self.view)

    def _xlsx(self, _: Any = None) -> None:
        if self.view is not None:
            self.file_link.value = data_link(
                export_xlsx(self.view), f"{_slug(self.view)}.xlsx", XLSX, "Download Excel"
            )

    def _pdf(self, _: Any = None) -> None:
        if self.view is None:
            return
        from mktdash.reporting.pdf import PdfError

        self.file_link.value = templating.fragment("fragments.html.j2", "note", "Rendering PDF…")
        try:
            pdf = export_pdf(self.view, chromium=self.chromium)
        except PdfError as e:
            self.file_link.value = templating.fragment("fragments.html.j2", "note", f"PDF export failed: {e}")
            return
        self.file_link.value = data_link(pdf, f"{_slug(self.view)}.pdf", "application/pdf", "Download PDF")


def show(data: DashboardData, week: str = "latest", mode: str = "auto", settings: Any = None) -> View | App:
    """Display the dashboard: static HTML (``static``) or the widget app (``live``); returns what it showed."""
    from IPython.display import HTML, display

    chromium = getattr(getattr(settings, "dashboard", None), "chromium", "/usr/bin/chromium")
    if resolve_mode(mode) == "live":
        app = App(data, week, chromium=chromium)
        # the same view as plain HTML, which mktdash's Voilà template paints before the widgets load
        display(
            HTML(f'<div class="mk-first-paint">{app.body.value}</div>'), metadata={"mktdash": "first-paint"}
        )
        display(app.widget)
        return app
    v = data.view(data.default_week(week))
    display(HTML(render(v)))
    return v


def headline(shown: View | App) -> dict[str, Any]:
    """Headline figures of what :func:`show` displayed, for ``scrapbook.glue`` (week, spend, revenue, roas, alerts)."""
    v = shown.view if isinstance(shown, App) else shown
    if v is None:
        return {"week": "", "spend": 0.0, "revenue": 0.0, "roas": 0.0, "alerts": 0}
    t = v.tiles
    return {
        "week": v.week,
        "spend": float(t["spend"]["value"] or 0.0),
        "revenue": float(t["revenue"]["value"] or 0.0),
        "roas": float(t["roas"]["value"] or 0.0),
        "alerts": len(v.alerts),
    }


# ---- saved views (mktdash.dashboards.views; the page's "Saved views" panel is in the Voilà template) ------------------
def apply_view(shown: View | App, query: str | None = None) -> dict[str, str]:
    """Live only: apply ``week``/``channel``/``platform``/``campaign`` from the page's query string (a saved
    view's link) and keep the current selection in a hidden ``.mk-view-state`` element for the "Save view"
    form. Values not offered by the dropdowns are ignored. Returns the selection applied."""
    from urllib.parse import parse_qs

    import ipywidgets as w

    if not isinstance(shown, App):
        return {}
    if query is None:
        from voila.utils import get_query_string  # waits for the request when the kernel was preheated

        query = get_query_string() or ""
    asked = {k: v[-1] for k, v in parse_qs(query).items()}
    app, applied = shown, {}
    app._busy = True
    try:
        for name in ("week", "channel", "platform", "campaign"):
            dd = getattr(app, name)
            values = [o[1] if isinstance(o, tuple) else o for o in dd.options]
            if name in asked and asked[name] in values:
                dd.value = applied[name] = asked[name]
            if name == "channel":
                app._refresh_platforms()
            if name in ("channel", "platform"):
                app._refresh_campaigns()
    finally:
        app._busy = False
    if applied:
        app.update()
    state = w.HTML(layout=w.Layout(display="none"))

    def publish(_: Any = None) -> None:
        values = [getattr(app, n).value for n in ("week", "channel", "platform", "campaign")]
        state.value = templating.fragment("fragments.html.j2", "view_state", *values)

    publish()
    for name in ("week", "channel", "platform", "campaign"):
        getattr(app, name).observe(publish, names="value")
    app.widget.children = (*app.widget.children, state)
    return applied
