"""Live budget dashboard: sliders for the total budget and per-channel caps that re-run the optimizer.

Every slider move calls :func:`mktdash.budget.optimizer.recommend` on the cached posterior curve samples
(numpy + SLSQP, typically 10-100 ms): no refit, no MCMC. The result (table + allocation chart + risk line)
is drawn into an ``Output`` widget. ``static`` mode renders the same table and figure without widgets (papermill,
HTML archive); ``live`` returns the widget app (Voilà). Mode detection is :func:`mktdash.runner.context.detect_mode`
(``VOILA_*`` variables in the kernel environment).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from mktdash.budget import optimizer, risk
from mktdash.reporting import charts


def compute(
    model: Any,
    settings: Any,
    total: float,
    caps: dict[str, float] | None = None,
    risk_mode: str | None = None,
) -> dict[str, Any]:
    """One dashboard update: recommendation table, headline and figure for ``total`` and ``caps``."""
    b = settings.budget
    t0 = time.perf_counter()
    try:
        rec = optimizer.recommend(
            model.curves,
            model.current,
            total=total,
            max_change=b.max_change,
            max_share=b.max_share,
            floors=b.floors,
            caps={**b.caps, **(caps or {})},
            risk=risk_mode or b.risk,
            risk_lambda=b.risk_lambda,
            risk_quantile=b.risk_quantile,
        )
    except optimizer.InfeasibleBudget as e:
        return {"error": str(e), "seconds": time.perf_counter() - t0}
    table = rec.table()[[*optimizer.EXPORT_COLUMNS, "marginal_roas_recommended"]]
    u = rec.uplift()
    d = risk.downside(rec)
    head = {
        "total_weekly_spend": rec.total,
        "expected_revenue": u["revenue_recommended"],
        "uplift": u["uplift_mean"],
        "uplift_lower_90": u["uplift_lower_90"],
        "uplift_upper_90": u["uplift_upper_90"],
        "hhi": float(d["hhi"].iloc[1]),
        "revenue_p5": float(d["revenue_p5"].iloc[1]),
        "limits_relaxed": "; ".join(r.detail for r in rec.relaxations),
    }
    seconds = time.perf_counter() - t0
    return {"table": table, "headline": head, "recommendation": rec, "seconds": seconds}


def static(model: Any, settings: Any) -> dict[str, Any]:
    """The dashboard's default view without widgets (for papermill / HTML)."""
    total = float(settings.budget.total_budget or model.current_array.sum())
    out = compute(model, settings, total)
    if "error" in out:
        return out
    out["figure"] = charts.budget_allocation(out["recommendation"].table(), currency=model.currency)
    return out


class BudgetDashboard:
    """ipywidgets app: total budget slider, a cap slider per channel, a risk dropdown, an Output area."""

    def __init__(self, model: Any, settings: Any) -> None:
        import ipywidgets as w

        self.model, self.settings = model, settings
        cur_total = float(model.current_array.sum())
        step = max(round(cur_total / 200, -2), 1.0)
        self.total = w.FloatSlider(
            value=cur_total,
            min=round(cur_total * 0.5, -2),
            max=round(cur_total * 1.6, -2),
            step=step,
            description="Weekly total",
            continuous_update=False,
            readout_format=",.0f",
            layout=w.Layout(width="100%", max_width="520px"),
            style={"description_width": "110px"},
        )
        self.caps: dict[str, Any] = {}
        for c in model.curves.channels:
            v = float(model.current.get(c, 0.0))
            self.caps[c] = w.FloatSlider(
                value=round(max(v * 2.0, step), -2),
                min=0.0,
                max=round(max(v * 2.0, step), -2),
                step=step,
                description=f"cap {c}",
                continuous_update=False,
                readout_format=",.0f",
                layout=w.Layout(width="100%", max_width="520px"),
                style={"description_width": "110px"},
            )
        self.risk = w.Dropdown(
            options=list(optimizer.RISKS),
            value=settings.budget.risk,
            description="Utility",
            style={"description_width": "110px"},
        )
        self.out = w.Output()
        self.status = w.HTML()
        for s in [self.total, self.risk, *self.caps.values()]:
            s.observe(self._on_change, names="value")
        self.app = w.VBox(
            [
                w.HTML("<h3>Budget what-if</h3>"),
                self.total,
                self.risk,
                *self.caps.values(),
                self.status,
                self.out,
            ]
        )
        self.last: dict[str, Any] = {}
        self.refresh()

    def _on_change(self, _change: Any = None) -> None:
        self.refresh()

    def refresh(self) -> dict[str, Any]:
        """Recompute from the sliders and redraw (also callable from tests)."""
        from IPython.display import HTML, display

        from mktdash.reporting import templating

        caps = {c: s.value for c, s in self.caps.items()}
        res = compute(self.model, self.settings, float(self.total.value), caps, self.risk.value)
        self.last = res
        self.out.clear_output(wait=True)
        with self.out:
            if "error" in res:
                self.status.value = templating.fragment(
                    "fragments.html.j2", "status", res["error"], error=True
                )
                return res
            h = res["headline"]
            self.status.value = templating.fragment(
                "fragments.html.j2",
                "status",
                f"Expected weekly media revenue {h['expected_revenue']:,.0f}; uplift vs current "
                f"{h['uplift']:+,.0f} (90%: {h['uplift_lower_90']:+,.0f} .. {h['uplift_upper_90']:+,.0f}); "
                f"HHI {h['hhi']:.2f}; 5th percentile {h['revenue_p5']:,.0f}; computed in {res['seconds'] * 1000:.0f} ms",
            )
            display(HTML(charts.table_html(res["table"])))
            display(charts.budget_allocation(res["recommendation"].table(), currency=self.model.currency))
        return res

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a front end
        from IPython.display import HTML, display

        from mktdash.budget import finance

        if finance.LIVE:  # the finance page at the top shows the sliders (one place to move them)
            display(HTML("<p>The what-if sliders are at the top of the page, under the recommendation.</p>"))
        else:
            display(self.app)


def dashboard(model: Any, settings: Any, mode: str) -> Any:
    """The live app (``mode == "live"``) or the static view (tables and figure as a Section)."""
    from mktdash.budget.sections import NoModel, Section, skipped

    if isinstance(model, NoModel):
        return skipped("Budget what-if", model)
    if mode == "live":
        return BudgetDashboard(model, settings)
    res = static(model, settings)
    s = Section("Budget what-if (static view; sliders in the live dashboard)")
    if "error" in res:
        s.warnings.append(res["error"])
        return s
    s.tables["Recommendation at the current total"] = res["table"]
    s.tables["Headline"] = pd.DataFrame([res["headline"]])
    s.figures.append(res["figure"])
    s.notes.append(
        f"Recomputed in {res['seconds'] * 1000:.0f} ms from the cached posterior "
        f"({model.curves.n_samples} samples, {len(model.curves.channels)} channels)."
    )
    s.values = {"whatif_seconds": float(np.round(res["seconds"], 4))}
    return s
