"""The budget dashboard for finance: 20_budget in live mode (Voilà) opens with a designed page.

Where this month and quarter will land against the plan (pacing with the projection), the recommendation as
a short list of moves with the expected gain, its probability and what needs approval, limits breached and
compliance, the scenarios and forecast charts, then the what-if sliders. The analyst sections follow, each
behind a "details" line (:func:`section_html`); the static report keeps them open.

The page is HTML from a Jinja2 template (``mktdash/reporting/templates/finance.html.j2``, autoescaped) over a plain
dict (:func:`facts`), so the numbers can be checked without a browser. Live, the notebook shows an empty
placeholder at the top (:func:`placeholder`) and fills it once the sections are computed (:func:`fill`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from mktdash.reporting import charts, numbers, tables, templating


def _env() -> Any:
    return templating.env()  # the one loader (mktdash/reporting/templates, autoescaped)


# ---- facts (plain data the page shows) ------------------------------------------------------------------------
def _period_label(period: str, start: dt.date) -> str:
    if period == "MTD":
        return f"This month, {start:%B %Y}"
    return f"This quarter, Q{(start.month - 1) // 3 + 1} {start.year}"


def landing(pace: pd.DataFrame, as_of: dt.date, tolerance: float) -> list[dict[str, Any]]:
    """Per period (MTD, QTD): plan, spent, projected, the projection against the plan and the channels off
    pace, summed over the channel lines of :func:`mktdash.budget.pacing.pacing` (campaign lines excluded)."""
    out = []
    chan = pace[pace["campaign_name"].isna()] if "campaign_name" in pace else pace
    for period in ("MTD", "QTD"):
        rows = chan[chan["period"] == period]
        if rows.empty:
            continue
        plan, spent = float(rows["planned_spend"].sum()), float(rows["spend_to_date"].sum())
        projected = float(rows["projected_spend"].sum())
        start = pd.Timestamp(rows["period_start"].iloc[0]).date()
        end = pd.Timestamp(rows["period_end"].iloc[0]).date()
        vs = projected / plan - 1 if plan else math.nan
        status = "on track" if abs(vs) <= tolerance else "over" if vs > 0 else "under"
        off = rows[rows["status"] != "on track"]
        out.append({
            "period": period, "label": _period_label(period, start), "plan": plan, "spent": spent,
            "projected": projected, "vs_plan": vs, "status": status,
            "status_class": "ok" if status == "on track" else status,
            "spent_share": spent / plan if plan else 0.0, "projected_share": projected / plan if plan else 0.0,
            "elapsed": ((as_of - start).days + 1) / ((end - start).days + 1),
            "off": [{"channel": str(r.channel), "vs_plan": float(r.projected_vs_plan)} for r in off.itertuples()],
        })  # fmt: skip
    return out


def moves(
    rec_table: pd.DataFrame, threshold: float, proposals: pd.DataFrame | None = None
) -> list[dict[str, Any]]:
    """The recommendation as moves, largest first: channels whose weekly spend changes by at least 1 % (or
    the approval threshold), with expected gain, the optimizer's P(uplift > 0) of the whole move, and
    whether the move needs approval (the proposals of the run, else ``|change| >= threshold``)."""
    status = {}
    if proposals is not None and not proposals.empty:
        status = dict(zip(proposals["channel"].astype(str), proposals["status"].astype(str), strict=False))
    out = []
    for r in rec_table.to_dict("records"):
        cur, new = float(r["current_weekly_spend"]), float(r["recommended_weekly_spend"])
        change = new - cur
        if abs(change) < min(threshold, 0.01 * max(cur, 1.0)):
            continue
        approval = str(r["channel"]) in status if status else abs(change) >= threshold
        prob = r.get("plan_prob_uplift_positive")  # the whole reallocation's chance of a gain
        out.append({
            "channel": str(r["channel"]), "verb": "Raise" if change > 0 else "Cut", "current": cur,
            "recommended": new, "change": change,
            "gain": float(r["expected_revenue_recommended"]) - float(r["expected_revenue_current"]),
            "prob": None if prob is None or pd.isna(prob) else float(prob), "approval": approval,
            "status": status.get(str(r["channel"]), "needs approval"),
        })  # fmt: skip
    return sorted(out, key=lambda m: -abs(m["change"]))


def breaches(vio: pd.DataFrame, week: str) -> list[dict[str, Any]]:
    """The week's limit breaches without approval (:func:`mktdash.budget.controls.violations`)."""
    if vio.empty:
        return []
    v = vio[(vio["week"] == week) & vio["violation"].astype(bool)]
    out = []
    for r in v.to_dict("records"):
        camp = r.get("campaign_name")
        who = str(r["channel"]) + ("" if camp is None or pd.isna(camp) else f" / {camp}")
        out.append({"who": who, "period": f"per {r['period']}", "limit": float(r["limit_amount"]),
                    "spend": float(r["spend"]), "excess": float(r["excess"])})  # fmt: skip
    return out


def facts(wh: Any, settings: Any, week: str, rec: Any, scen: Any = None, fc: Any = None) -> dict[str, Any]:
    """Everything the page shows, as plain values (recomputed from the warehouse and the recommendation with
    the same library calls as the analyst sections; charts taken from the scenario and forecast sections)."""
    from mktdash.budget import controls, pacing, spend

    b = settings.budget
    rt = rec.table()
    excess = controls.excess_daily(wh, *spend.window(week, 13), b.approval_valid_weeks)
    comp = controls.weekly_compliance(wh, week, 13, b.compliance_goal, b.approval_valid_weeks, excess=excess)
    vio = controls.violations(wh, week, 13, b.approval_valid_weeks, excess=excess)
    props = controls.proposals(rt, week, "live", b.approval_threshold)
    last = comp[comp["week"] == week]
    compliance = None
    if not last.empty:
        r = last.iloc[0]
        compliance = {"compliance": float(r["compliance"]), "goal": float(r["goal"]),
                      "meets_goal": bool(r["meets_goal"]), "excess": float(r["unapproved_excess"])}  # fmt: skip
    mv = moves(rt, b.approval_threshold, props)
    return {
        "week": week, "currency": settings.reporting_currency, "as_of": pacing.as_of(wh, week).isoformat(),
        "landing": landing(pacing.pacing(wh, week, b.pacing_tolerance), pacing.as_of(wh, week), b.pacing_tolerance),
        "uplift": rec.uplift(), "total": float(rec.total), "risk": str(rec.risk), "moves": mv,
        "n_approval": sum(1 for m in mv if m["approval"]), "threshold": float(b.approval_threshold),
        "compliance": compliance, "compliance_trend": comp.tail(6).to_dict("records"),
        "breaches": breaches(vio, week),
        "scenarios_img": _first_figure(scen), "forecast_img": _first_figure(fc),
    }  # fmt: skip


def _first_figure(section: Any) -> str:
    figs = getattr(section, "figures", None) or []
    return charts.figure_html(figs[0]) if figs else '<p class="sub">Not computed in this run.</p>'


def page_html(f: dict[str, Any]) -> str:
    """The finance page for :func:`facts` (Jinja2, autoescaped)."""
    numbers.configure(currency=f["currency"])
    return str(_env().get_template("finance.html.j2").render(**f))


# ---- the notebook's live layout ---------------------------------------------------------------------------------
def section_html(section: Any, *, open_: bool = False, details: bool = True) -> str:
    """An analyst section (``templates/section.html.j2``, autoescaped) as one collapsible ``<details>`` block
    with its figures inside; ``details=False``: the static layout (heading, what it lacks, warnings, notes,
    tables), the figures left to display after it."""
    table = tables.table_html if details else charts.table_html
    return templating.render(
        "section.html.j2",
        details=details,
        open=open_,
        title=section.title,
        missing=getattr(section, "missing", ""),
        style=templating.trusted(tables.STYLE),
        warnings=section.warnings,
        notes=section.notes,
        tables=[(name, templating.trusted(table(t))) for name, t in section.tables.items()],
        figures=[templating.trusted(charts.figure_html(f)) for f in section.figures] if details else [],
    )


LIVE: list[Placeholder] = []  # the live page of this kernel, once made: the what-if sliders show inside it


class Placeholder:
    """The top of the live page: a widget box the last cell fills (:func:`fill`); nothing in static mode."""

    def __init__(self, mode: str) -> None:
        self.mode, self.box = mode, None
        if mode == "live":
            import ipywidgets as w

            self.box = w.VBox([w.HTML('<p class="mk-fin-loading">Preparing the budget summary…</p>')])
            LIVE[:] = [self]

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a front end
        from IPython.display import display

        if self.box is not None:
            display(self.box)


def placeholder(mode: str) -> Placeholder:
    return Placeholder(mode)


def fill(
    page: Placeholder, wh: Any, settings: Any, week: str, rec: Any, scen: Any, fc: Any, whatif: Any
) -> Any:
    """Live: the finance page and the what-if sliders into the placeholder (returns None: nothing shown here).
    Static: the page's HTML (shown where the cell is; the analyst sections stay open above)."""
    from IPython.display import HTML

    body = page_html(facts(wh, settings, week, rec, scen, fc))
    if page.box is None:
        return HTML(body)
    import ipywidgets as w

    app = getattr(whatif, "app", None)
    page.box.children = [w.HTML(body), *([app] if app is not None else [])]
    return None
