"""The 20_budget notebook's sections: one call per cell, each returning a displayable :class:`Section`.

A section bundles a heading, tables (displayed through pandas, which escapes text), figures and headline
values (collected by :func:`headline` and glued with scrapbook). All computation lives in the sibling modules;
this module only wires them to settings, the warehouse and the run folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the sections query the warehouse through Ibis: loaded with the notebook's imports, so a preheated kernel has it
import ibis.backends.duckdb  # noqa: F401
import numpy as np
import pandas as pd

from mktdash import weeks
from mktdash.budget import backtest, controls, forecast, mmm, optimizer, pacing, risk, scenarios, spend
from mktdash.budget.curves import ResponseCurves
from mktdash.reporting import charts, missing


@dataclass
class Section:
    """A notebook section: heading, notes (plain text), tables, figures and headline values."""

    title: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    missing: str = ""  # what the section lacks and which export would fill it (mktdash.reporting.missing)

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in notebooks
        from IPython.display import HTML, display

        from mktdash.budget import finance

        if finance.LIVE:  # the live finance page leads; the analyst sections fold behind "details"
            display(HTML(finance.section_html(self)))
            return
        display(HTML(finance.section_html(self, details=False)))  # templates/section.html.j2
        for f in self.figures:
            display(f)


# ---- model -----------------------------------------------------------------------------------------------------
@dataclass
class BudgetModel:
    """The fitted (or cached) MMM, its posterior curves and the current weekly allocation."""

    fm: mmm.FittedMmm
    curves: ResponseCurves
    current: dict[str, float]
    week: str
    currency: str = "USD"
    before: mmm.FittedMmm | None = None  # the model without lift tests / ROAS priors (when there are any)
    forecast_backtest: pd.DataFrame | None = None  # MASE per method and horizon (mmm.backtest_weeks)

    @property
    def current_array(self) -> np.ndarray:
        return np.array([self.current.get(c, 0.0) for c in self.curves.channels])


@dataclass
class NoModel:
    """No MMM for this run: ``reason`` says which data is missing and which export would fill it. Every
    section given one shows that reason instead of its tables; the exports keep their columns."""

    week: str
    reason: str
    currency: str = "USD"


MMM_NEEDS = "the marketing-mix model, channel ROI and the budget recommendation"
ROI_COLUMNS = ["channel", "roi_mean", "roi_lower_90", "roi_upper_90", "period_start", "period_end"]


def load_model(
    wh: Any, settings: Any, week: str, cache_dir: Path | None = None, *, backtest_fit: bool = True
) -> BudgetModel | NoModel:
    """Weekly data through ``week`` -> cached or fitted MMM (per ``settings.mmm.refit``) -> curves; a
    :class:`NoModel` when ad spend or GA4 revenue is missing or covers too few weeks. ``backtest_fit=False``
    (the live dashboard: it must answer at once) skips the forecast backtest's second fit."""
    if notice := missing.notice(wh, MMM_NEEDS, "ad_daily", "web_daily"):
        return NoModel(week, notice, settings.reporting_currency)
    try:
        data = mmm.weekly_from_warehouse(wh, settings, through_week=week)
    except mmm.MmmError as e:  # too few complete weeks with both spend and revenue
        reason = (
            f"{e} Export daily ad reports and GA4 revenue covering the same 20 weeks or more "
            f"(see {missing.DOCS}) to see {MMM_NEEDS}."
        )
        return NoModel(week, reason, settings.reporting_currency)
    fm = mmm.load_or_fit(data, settings.mmm, cache_dir)
    before = None
    if not mmm.lift_measurements(data, settings.mmm.roas_priors).empty:  # calibrated: fit "before" too
        before = mmm.load_or_fit(*mmm.uncalibrated(data, settings.mmm), cache_dir)
    curves = fm.curves(settings.mmm.curve_samples, seed=settings.mmm.random_seed)
    cur = spend.current_allocation(wh, week, settings.budget.current_weeks)
    current = {c: float(cur.get(c, 0.0)) for c in curves.channels}
    bt = None
    k = int(settings.mmm.backtest_weeks)
    if backtest_fit and k >= max(backtest.HORIZONS) + 1 and len(data.frame) - k >= 20:  # needs 20 weeks
        fm_bt = mmm.load_or_fit(mmm.truncated(data, k), settings.mmm, cache_dir)
        bt = backtest.backtest(fm_bt, data)
    return BudgetModel(fm, curves, current, week, settings.reporting_currency, before, bt)


def skipped(title: str, model: NoModel) -> Section:
    """A section that cannot be computed without the model: its title and why."""
    return Section(title, missing=model.reason)


def mmm_section(model: BudgetModel | NoModel) -> Section:
    """Fit diagnostics (with a warning when bad) and the posterior predictive fit."""
    if isinstance(model, NoModel):
        return skipped("Marketing-mix model: fit and diagnostics", model)
    d = mmm.diagnostics(model.fm)
    s = Section("Marketing-mix model: fit and diagnostics")
    s.notes.append(
        f"Model {d['status']} (fitted {d['fitted_at']}, {d['fit_seconds']} s); {len(model.curves.channels)} "
        f"channels, {len(model.fm.data.frame)} weeks {model.fm.data.period[0]} .. {model.fm.data.period[1]}."
    )
    s.warnings = list(d["warnings"]) if not d["ok"] or d["warnings"] else []
    fresh = model.fm.freshness
    if not fresh["current"]:
        s.warnings.insert(0, fresh["banner"])
    s.tables["Diagnostics"] = mmm.diagnostics_table(d)
    s.figures.append(charts.budget_mmm_fit(mmm.fit_table(model.fm), currency=model.currency))
    s.values = {
        "mmm_rhat_max": d["rhat_max"],
        "mmm_r2": d["r2"],
        "mmm_mape": d["mape"],
        "mmm_divergences": d["divergences"],
        "mmm_status": d["status"],
        "mmm_ok": d["ok"],
        "mmm_current": bool(fresh["current"]),
        "mmm_stale_banner": fresh["banner"],
        "mmm_fitted_at": d["fitted_at"],
    }
    return s


def roi_section(model: BudgetModel | NoModel) -> Section:
    if isinstance(model, NoModel):
        return skipped("Channel ROI from the model", model)
    roi = mmm.channel_roi(model.fm)
    s = Section("Channel ROI from the model", tables={"ROI (90% credible interval)": roi})
    flags = mmm.channel_flags(model.fm)
    s.tables["Channels to read with care (prior vs posterior, interval width)"] = flags
    s.tables["Prior vs posterior (curve parameters, model units)"] = mmm.prior_vs_posterior(model.fm)
    s.warnings = [f"{r.channel}: {r.flags}" for r in flags.itertuples() if r.flags]
    s.figures.append(charts.budget_roi(roi))
    return s


def calibration_section(model: BudgetModel | NoModel) -> Section:
    """Each channel's ROI before and after calibration, and the experiments / priors that moved it."""
    if isinstance(model, NoModel):
        return skipped("Calibration by experiments", model)
    s = Section("Calibration by experiments")
    if model.before is None:
        s.notes.append(
            "No lift tests or ROAS priors: the model is not calibrated. An MMM credits a channel with demand "
            "that also moves its spend; a lift test on that channel corrects it (docs/budget.md)."
        )
        return s
    a, b = mmm.channel_roi(model.before), mmm.channel_roi(model.fm)
    cal = pd.DataFrame(model.fm.meta.get("calibration", []))
    t = a[["channel", "roi_mean", "roi_lower_90", "roi_upper_90"]].merge(
        b[["channel", "roi_mean", "roi_lower_90", "roi_upper_90"]],
        on="channel",
        suffixes=("_before", "_after"),
    )
    t["change"] = t["roi_mean_after"] / t["roi_mean_before"] - 1.0
    by = cal.groupby("channel")["label"].agg("; ".join) if not cal.empty else pd.Series(dtype=str)
    t["moved_by"] = t["channel"].map(by).fillna("")
    s.tables["ROI before and after calibration (90% intervals)"] = t
    if not cal.empty:
        s.tables[
            "Experiments and priors (weekly: spend change, measured lift ± se, model before / after)"
        ] = _experiments(model, cal)
    s.values = {"calibrated_channels": ", ".join(sorted(by.index))}
    return s


def _experiments(model: BudgetModel, cal: pd.DataFrame) -> pd.DataFrame:
    """Each calibration row with the lift the model predicts for it, before and after calibration."""
    assert model.before is not None
    out = cal.copy()
    for name, fm in (("before", model.before), ("after", model.fm)):
        c = fm.curves(300)
        lifts = []
        for r in cal.itertuples():
            j = c.channels.index(r.channel)
            x0, x1 = np.zeros(len(c.channels)), np.zeros(len(c.channels))
            x0[j], x1[j] = r.x, r.x + r.delta_x
            lifts.append(float((c.response(x1)[:, j] - c.response(x0)[:, j]).mean()))
        out[f"model_lift_{name}"] = lifts
    return out


# ---- pacing, spend, controls -----------------------------------------------------------------------------------
def pacing_section(wh: Any, settings: Any, week: str) -> Section:
    if notice := missing.notice(wh, "plan vs actual and pacing", "ad_daily", "budget_plan"):
        return Section("Plan vs actual and pacing", missing=notice)
    p = pacing.pacing(wh, week, settings.budget.pacing_tolerance)
    pva = pacing.plan_vs_actual(wh, week)
    s = Section("Plan vs actual and pacing")
    s.notes.append(
        f"As of {pacing.as_of(wh, week)}; off pace when the projection misses the plan by more than "
        f"{settings.budget.pacing_tolerance:.0%}."
    )
    s.tables["Pacing (MTD / QTD)"] = p
    s.tables["Plan vs actual by month"] = pva
    if not p.empty:
        s.figures.append(charts.budget_pacing(p, currency=settings.reporting_currency))
        s.values = pacing.headline(p)
    return s


def spend_section(wh: Any, settings: Any, week: str, model: BudgetModel | NoModel | None = None) -> Section:
    if notice := missing.notice(wh, "spend by channel, platform and campaign", "ad_daily"):
        return Section("Spend analytics", missing=notice)
    model = model if isinstance(model, BudgetModel) else None
    s = Section("Spend analytics")
    for dim in ("channel", "platform", "campaign_name"):
        t = spend.by_dimension(wh, week, dim, 13)
        s.tables[f"Last 13 weeks by {dim}"] = t.head(25) if dim == "campaign_name" else t
    s.tables["Spend by weekday (mean per day)"] = spend.over_time(wh, week, "weekday", 8)
    s.tables["Efficiency"] = spend.efficiency(
        wh, week, model.curves if model else None, model.current if model else None
    )
    for grain, n_weeks, title in (("week", 26, "Weekly"), ("month", 52, "Monthly")):
        s.figures.append(
            charts.weekly_lines(
                spend.over_time(wh, week, grain, n_weeks),
                x="period",
                y="spend",
                hue="channel",
                title=f"{title} spend by channel",
                ylabel=f"Spend ({settings.reporting_currency})",
                money=True,
            )
        )
    return s


def controls_section(
    wh: Any, settings: Any, week: str, rec_table: pd.DataFrame | None, exports: Path, run_id: str
) -> Section:
    """Limits, violations, weekly compliance, approvals and this run's proposals (written to exports)."""
    b = settings.budget
    excess = controls.excess_daily(wh, *spend.window(week, 13), b.approval_valid_weeks)
    comp = controls.weekly_compliance(wh, week, 13, b.compliance_goal, b.approval_valid_weeks, excess=excess)
    vio = controls.violations(wh, week, 13, b.approval_valid_weeks, excess=excess)
    s = Section("Controls: limits, approvals and compliance")
    s.missing = missing.notice(wh, "limits, breaches and compliance", "ad_daily", "spend_limits") or ""
    s.tables["Weekly compliance"] = comp
    s.tables["Limit breaches (violation = not approved)"] = vio
    s.tables["Approvals on record"] = controls.approvals_table(wh)
    if rec_table is not None:
        props = controls.proposals(rec_table, week, run_id, b.approval_threshold)
        controls.write_proposals(props, exports)
        s.tables[f"Proposals for approval (changes ≥ {b.approval_threshold:,.0f}/week)"] = props
        s.values["proposals"] = len(props)
    if not comp.empty:
        s.figures.append(charts.budget_compliance(comp))
        last = comp[comp["week"] == week]
        value = float(last["compliance"].iloc[0]) if not last.empty else float(comp["compliance"].iloc[-1])
        s.values["compliance"] = value
        if value < b.compliance_goal:
            s.warnings.append(
                f"Compliance {value:.1%} in {week} is below the goal of {b.compliance_goal:.0%}."
            )
    s.values["violations"] = int(vio["violation"].sum()) if not vio.empty else 0
    return s


# ---- optimizer, scenarios, forecast, risk ------------------------------------------------------------------------
def recommend(
    model: BudgetModel | NoModel, settings: Any, wh: Any = None, **overrides: Any
) -> optimizer.Recommendation:
    """The optimizer with the budget settings (overrides: total, caps, max_share, risk, ...) and the channel
    limits of ``spend_limits`` (with ``wh``). Limits that cannot all hold are relaxed in ``budget.relax_order``
    (listed on the result), and the move is held when the model does not back it (``budget.min_confidence``)
    or when it leaves the spend range seen in the data (extrapolation):
    the weekly run always gets a recommendation. Without a model, a recommendation of no channels (its table
    has the usual columns and no rows)."""
    if isinstance(model, NoModel):
        none, samples = np.zeros(0), np.zeros((1, 0))
        return optimizer.Recommendation([], none, none, none, none, samples, samples, samples, samples)
    b = settings.budget
    kw = {
        "total": b.total_budget,
        **_constraints(settings),
        "spend_limits": controls.weekly_channel_limits(wh) if wh is not None else None,
        "min_confidence": b.min_confidence,
        "horizon_weeks": b.horizon_weeks,
        "relax_order": tuple(b.relax_order),
        "observed": optimizer.observed_range(model.fm.data.spend),
        **overrides,
    }
    return optimizer.recommend(model.curves, model.current, **kw)


def _constraints(settings: Any) -> dict[str, Any]:
    """The optimizer's constraints and risk preference from the ``budget`` params."""
    b = settings.budget
    return {
        "max_change": b.max_change,
        "max_share": b.max_share,
        "floors": b.floors,
        "caps": b.caps,
        "risk": b.risk,
        "risk_lambda": b.risk_lambda,
        "risk_quantile": b.risk_quantile,
    }


def objective_note(rec: optimizer.Recommendation) -> str:
    """What the optimizer maximised, in words."""
    h = rec.settings.get("horizon_weeks")
    what = (
        f"revenue of the next {h} weeks (carry-over from the current allocation in, and after the horizon, included)"
        if h
        else "steady-state weekly media revenue (each week's spend credited with its full carry-over)"
    )
    return f"Objective: {what}; utility {rec.risk}."


def recommendation_section(
    model: BudgetModel | NoModel, rec: optimizer.Recommendation, wh: Any = None
) -> Section:
    if isinstance(model, NoModel):
        return skipped("Recommended allocation", model)
    t = rec.table()
    u = rec.uplift()
    p = rec.proposal
    s = Section("Recommended allocation")
    if not model.fm.freshness["current"]:
        s.warnings.append(model.fm.freshness["banner"])
    if rec.hold:
        s.warnings.append(f"Hold: {rec.hold_reason}.")
    for r in rec.relaxations:
        s.warnings.append(f"Limit relaxed to make the budget feasible: {r.detail}.")
    s.notes.append(objective_note(rec))
    s.notes.append(
        f"The optimizer's move: uplift {p['uplift_mean']:+,.0f} per week, 90% interval "
        f"[{p['uplift_lower_90']:+,.0f}, {p['uplift_upper_90']:+,.0f}], P(uplift > 0) = {p['prob_positive']:.0%} "
        f"(moves are made at P >= {rec.settings.get('min_confidence') or 0:.0%} and uplift above its sd)."
    )
    s.notes.append(
        f"Expected weekly media revenue {u['revenue_current']:,.0f} -> {u['revenue_recommended']:,.0f} "
        f"({u['uplift_pct']:+.1%}); uplift {u['uplift_mean']:+,.0f} per week, 90% interval "
        f"[{u['uplift_lower_90']:+,.0f}, {u['uplift_upper_90']:+,.0f}], P(uplift > 0) = {u['prob_positive']:.0%}."
    )
    if rec.relaxations:
        s.tables["Limits relaxed"] = pd.DataFrame([r.as_dict() for r in rec.relaxations])
    s.tables["Current vs recommended (weekly)"] = t
    if wh is not None:
        camp = spend.campaign_efficiency(wh, model.week)
        split = optimizer.split_campaigns(
            dict(zip(t["channel"], t["recommended_weekly_spend"], strict=True)), camp
        )
        s.tables["Campaign split (pro rata to efficiency)"] = split.sort_values(
            ["channel", "recommended_weekly_spend"], ascending=[True, False]
        ).reset_index(drop=True)
    s.figures.append(charts.budget_allocation(t, currency=model.currency))
    s.figures.append(
        charts.budget_response_curves(
            model.curves,
            model.current,
            dict(zip(t["channel"], t["recommended_weekly_spend"], strict=True)),
            currency=model.currency,
        )
    )
    s.values = {
        "expected_uplift": u["uplift_mean"],
        "expected_uplift_pct": u["uplift_pct"],
        "expected_uplift_lower_90": u["uplift_lower_90"],
        "expected_uplift_upper_90": u["uplift_upper_90"],
        "recommended_total_weekly": rec.total,
        "budget_hold": rec.hold,
        "proposal_prob_uplift_positive": p["prob_positive"],
        "limits_relaxed": ", ".join(r.constraint for r in rec.relaxations),
    }
    return s


def scenarios_section(model: BudgetModel | NoModel, settings: Any, wh: Any = None) -> Section:
    if isinstance(model, NoModel):
        return skipped("Scenarios", model)
    b = settings.budget
    cons = _constraints(settings)
    flight = None
    if wh is not None:
        fp = forecast.plan_weekly(
            wh.df(wh.table("budget_plan")),
            model.curves.channels,
            weeks.shift(model.week, 1),
            4,
            model.current,
        )
        flight = fp[model.curves.channels].mean().to_dict()
    sc = scenarios.budget_scenarios(model.curves, model.current, b.scenarios, flighting=flight, **cons)
    variants = {
        "no max share": {"max_share": None},
        "no max change": {"max_change": None, "max_share": b.max_share},
        "floors at 50% of current": {"floors": {c: 0.5 * v for c, v in model.current.items()}},
    }
    fc = scenarios.floors_caps_scenarios(
        model.curves, model.current, variants, **{k: v for k, v in cons.items() if k not in ("floors",)}
    )
    s = Section("Scenarios")
    s.notes.append(
        "Total budget changes vs the current weekly total; 'fixed plan' is next month's plan "
        "spread per week (not optimised)."
    )
    s.tables["Total budget scenarios"] = sc
    s.tables["Constraint variants (current total)"] = fc
    s.figures.append(charts.budget_scenarios(sc, currency=model.currency))
    return s


def forecast_section(
    wh: Any, model: BudgetModel | NoModel, rec: optimizer.Recommendation, settings: Any
) -> Section:
    if isinstance(model, NoModel):
        return skipped("Forecast", model)
    h = int(min(max(settings.budget.forecast_weeks, 4), 13))
    start = weeks.shift(model.week, 1)
    plan = forecast.plan_weekly(
        wh.df(wh.table("budget_plan")), model.curves.channels, start, h, model.current
    )
    recp = plan.copy()
    for c, v in zip(rec.channels, rec.recommended, strict=True):
        recp[c] = v
    fc = forecast.forecast(model.fm, model.curves, {"plan": plan, "recommended": recp})
    s = Section(f"Forecast: next {h} weeks")
    s.notes.append(backtest_note(model.forecast_backtest))
    if model.forecast_backtest is not None:
        ours = model.forecast_backtest[model.forecast_backtest["method"] == "ours (MMM)"]
        s.values = {f"forecast_mase_{int(r.horizon)}w": float(r.mase) for r in ours.itertuples()}
        s.tables["Backtest: MASE per horizon (rolling origin; below 1 beats 'next week = this week')"] = (
            model.forecast_backtest
        )
    s.tables["Summary"] = forecast.summary(fc)
    s.tables["Weekly forecast"] = fc
    s.figures.append(charts.budget_forecast(fc, currency=model.currency))
    return s


def backtest_note(bt: pd.DataFrame | None) -> str:
    """How the forecast did in backtests, in one sentence."""
    if bt is None or bt.empty:
        return "Not backtested (mmm.backtest_weeks is 0, or too few weeks)."
    parts = []
    for h, g in bt.groupby("horizon"):
        m = dict(zip(g["method"], g["mase"], strict=True))
        others = ", ".join(f"{k} {v:.2f}" for k, v in m.items() if not k.startswith("ours"))
        parts.append(f"{h} weeks ahead MASE {m.get('ours (MMM)', float('nan')):.2f} (vs {others})")
    return f"In backtests over the last weeks (model fitted without them): {'; '.join(parts)}."


def risk_section(wh: Any, model: BudgetModel | NoModel, rec: optimizer.Recommendation) -> Section:
    if isinstance(model, NoModel):
        return skipped("Risk", model)
    s = Section("Risk")
    d = risk.downside(rec)
    s.tables["Concentration and downside"] = d
    s.tables["ROAS volatility"] = risk.roas_volatility(
        spend.over_time(wh, model.week, "week", 26), model.curves, model.current
    )
    s.values = {
        "hhi_current": float(d["hhi"].iloc[0]),
        "hhi_recommended": float(d["hhi"].iloc[1]),
        "revenue_p5_current": float(d["revenue_p5"].iloc[0]),
        "revenue_p5_recommended": float(d["revenue_p5"].iloc[1]),
    }
    return s


# ---- exports and headline ----------------------------------------------------------------------------------------
def export(exports: Path, model: BudgetModel | NoModel, rec: optimizer.Recommendation) -> list[Path]:
    """``budget_recommendation.csv`` and ``mmm_channel_roi.csv`` (docs/contracts.md, Exports) into the run's
    exports (without a model: their columns and no rows)."""
    exports.mkdir(parents=True, exist_ok=True)
    a = exports / "budget_recommendation.csv"
    rec.table()[optimizer.EXPORT_COLUMNS].to_csv(a, index=False)
    b = exports / "mmm_channel_roi.csv"
    roi = mmm.channel_roi(model.fm) if isinstance(model, BudgetModel) else pd.DataFrame(columns=ROI_COLUMNS)
    roi[ROI_COLUMNS].to_csv(b, index=False)
    c = exports / "mmm_model_status.json"
    c.write_text(json.dumps(model_status(model), indent=2), encoding="utf-8")
    d = exports / "budget_advice.json"
    d.write_text(json.dumps(advice(rec), indent=2), encoding="utf-8")
    return [a, b, c, d]


def advice(rec: optimizer.Recommendation) -> dict[str, Any]:
    """Whether this week's advice is "hold" and why (the executive summary says so beside the budget table)."""
    return {"hold": rec.hold, "reason": rec.hold_reason,
            "prob_uplift_positive": rec.proposal.get("prob_positive")}  # fmt: skip


def model_status(model: BudgetModel | NoModel) -> dict[str, Any]:
    """The flag the dashboards and the manifest read: is the model on record fitted on this week's data?"""
    if isinstance(model, NoModel):
        return {
            "week": model.week,
            "current": False,
            "banner": "",
            "status": "no model",
            "reason": model.reason,
        }
    f = model.fm.freshness
    return {
        "week": model.week,
        "current": bool(f["current"]),
        "banner": f["banner"],
        "status": model.fm.status,
        "fitted_at": model.fm.meta.get("fitted_at"),
        "fitted_period": list(model.fm.data.period),
        "data_period": f.get("data_period"),
        "change": f.get("change", ""),
        "data_hash": f.get("data_hash"),
        "fitted_data_hash": model.fm.meta.get("data_hash"),
    }


def headline(*sections: Section) -> dict[str, Any]:
    """Headline figures of all sections (numbers/strings) for scrapbook; undefined ones (NaN, None) left out."""
    out: dict[str, Any] = {}
    for s in sections:
        for k, v in s.values.items():
            v = v.item() if hasattr(v, "item") else v
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                continue
            out[k] = v
    return out
