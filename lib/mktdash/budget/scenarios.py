"""Scenarios: the optimizer and the curves at other total budgets, floors/caps, and a fixed flighting plan.

Each scenario row reports weekly spend, expected media revenue (posterior mean and 90% interval), media ROAS
(media revenue / spend) and risk (sd of media revenue, 5th percentile) over the posterior samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mktdash.budget.curves import ResponseCurves
from mktdash.budget.optimizer import InfeasibleBudget, Recommendation, recommend


def _optimised(name: str, curves: ResponseCurves, rec: Recommendation) -> dict[str, Any]:
    """A scenario row of a recommendation: the move's P(uplift > 0) and interval, and any limit relaxed."""
    p = rec.proposal
    return {
        **_row(name, curves, rec.recommended, "optimised"),
        "prob_uplift_positive": p["prob_positive"],
        "uplift_lower_90": p["uplift_lower_90"],
        "uplift_upper_90": p["uplift_upper_90"],
        "note": "; ".join(r.detail for r in rec.relaxations),
    }


def _row(name: str, curves: ResponseCurves, alloc: np.ndarray, kind: str) -> dict[str, Any]:
    r = curves.response(alloc).sum(axis=1)
    spend = float(alloc.sum())
    return {
        "scenario": name,
        "kind": kind,
        "total_weekly_spend": spend,
        "expected_revenue": float(r.mean()),
        "revenue_lower_90": float(np.quantile(r, 0.05)),
        "revenue_upper_90": float(np.quantile(r, 0.95)),
        "roas": float(r.mean() / spend) if spend else np.nan,
        "revenue_sd": float(r.std()),
        "revenue_p5": float(np.quantile(r, 0.05)),
        **{f"spend_{c}": float(v) for c, v in zip(curves.channels, alloc, strict=True)},
    }


def budget_scenarios(
    curves: ResponseCurves,
    current: Mapping[str, float],
    changes: Sequence[float] = (-0.3, -0.15, 0.0, 0.15, 0.3, 0.5),
    *,
    flighting: Mapping[str, float] | None = None,
    **constraints: Any,
) -> pd.DataFrame:
    """Optimised allocations for total budgets ``current total x (1 + change)``, the current allocation scaled
    pro rata, and an optional fixed ``flighting`` plan (weekly spend per channel, not optimised).

    ``constraints`` go to :func:`mktdash.budget.optimizer.recommend` (max_change, max_share, floors, caps, risk).
    """
    cur = np.array([float(current.get(c, 0.0)) for c in curves.channels])
    rows = [_row("current", curves, cur, "current")]
    for ch in changes:
        total = float(cur.sum() * (1.0 + ch))
        rows.append(_row(f"pro rata {ch:+.0%}", curves, cur * (1.0 + ch), "pro rata"))
        try:
            rec = recommend(curves, current, total=total, **constraints)
            rows.append(_optimised(f"optimised {ch:+.0%}", curves, rec))
        except InfeasibleBudget as e:
            rows.append(
                {
                    "scenario": f"optimised {ch:+.0%}",
                    "kind": "infeasible",
                    "total_weekly_spend": total,
                    "note": str(e),
                }
            )
    if flighting:
        plan = np.array([float(flighting.get(c, 0.0)) for c in curves.channels])
        rows.append(_row("flighting plan", curves, plan, "fixed plan"))
    df = pd.DataFrame(rows)
    base = df.loc[0, "expected_revenue"]
    df["revenue_vs_current"] = df["expected_revenue"] / base - 1.0
    return df


def floors_caps_scenarios(
    curves: ResponseCurves,
    current: Mapping[str, float],
    variants: Mapping[str, Mapping[str, Any]],
    **constraints: Any,
) -> pd.DataFrame:
    """One optimised row per named variant of constraints (e.g. ``{"no cap": {"max_share": None}}``)."""
    rows = []
    for name, extra in variants.items():
        try:
            rec = recommend(curves, current, **{**constraints, **extra})
            rows.append(_optimised(name, curves, rec))
        except InfeasibleBudget as e:
            rows.append({"scenario": name, "kind": "infeasible", "note": str(e)})
    return pd.DataFrame(rows)
