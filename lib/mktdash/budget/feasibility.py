"""Feasible by construction: the optimizer's limits checked together and relaxed, in a documented order, when
they cannot all hold.

The limits on a weekly allocation of a fixed ``total`` (docs/budget.md, "Limits and relaxation"):

* ``max_change``: each channel within ±``max_change`` of its current spend scaled pro rata to the total;
* ``max_share``: no channel above ``max_share x total``;
* ``floors`` / ``caps``: absolute weekly amounts per channel (``budget.floors`` / ``budget.caps``);
* ``spend_limits``: the channel-level limits of the ``spend_limits`` table, as weekly amounts.

Explicit floors and caps win over ``max_change`` (a floor lifts both bounds of its channel, a cap lowers them).
When the limits cannot all hold, they are relaxed one kind at a time in ``RELAX_ORDER`` (first = given up
first): the smallest prefix of that order whose removal makes the budget feasible is found; then the last kind
of that prefix is relaxed only as far as needed, and the earlier kinds are tightened back one by one, each as
far as the later ones allow. The total budget is never relaxed. Every relaxation is reported with the value
before and after (real numbers, not rounded to integers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RELAX_ORDER = ("max_share", "max_change", "caps", "floors", "spend_limits")
WEEKS_PER_MONTH = 52.1775 / 12.0  # a monthly spend limit as a weekly amount: limit / (weeks per month)
_TOL = 1e-9


class InfeasibleBudget(ValueError):
    """The limits cannot hold together for the total budget (names the binding limit and its numbers)."""


def num(x: float) -> str:
    """A number as a user reads it: thousands separators, up to 12 significant digits (no rounding to integers).

    >>> num(0.6), num(33750.0), num(11556.25), num(1 / 3)
    ('0.6', '33,750', '11,556.25', '0.333333333333')
    """
    return f"{float(x):,.12g}"


@dataclass(frozen=True)
class Limits:
    """The limits on a weekly allocation; ``None`` or empty = no such limit."""

    max_change: float | None = 0.30
    max_share: float | None = None
    floors: Mapping[str, float] = field(default_factory=dict)
    caps: Mapping[str, float] = field(default_factory=dict)
    spend_limits: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("max_change", "max_share"):
            v = getattr(self, name)
            if v is not None and (not np.isfinite(v) or v < 0):
                raise InfeasibleBudget(f"budget.{name} is {v!r}: set a number >= 0 (or null for no limit)")
        for name in ("floors", "caps", "spend_limits"):
            for ch, v in getattr(self, name).items():
                if not np.isfinite(float(v)) or float(v) < 0:
                    raise InfeasibleBudget(f"{name} of {ch} is {v!r}: set a weekly amount >= 0")


@dataclass(frozen=True)
class Relaxation:
    """One kind of limit given up partly (or entirely) to make the budget feasible."""

    constraint: str  # max_share | max_change | caps | floors | spend_limits
    before: str
    after: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def bounds(
    channels: Sequence[str], current: np.ndarray, total: float, lim: Limits, tol: float = _TOL
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-channel (lower, upper) weekly spend and the limits that cannot hold (empty when feasible)."""
    n = len(channels)
    current = np.asarray(current, dtype=float)
    cur_total = float(current.sum())
    base = current * (total / cur_total) if cur_total > 0 else np.full(n, total / max(n, 1))
    if lim.max_change is None:
        lower, upper = np.zeros(n), np.full(n, float(total))
    else:
        lower, upper = np.maximum(base * (1.0 - lim.max_change), 0.0), base * (1.0 + lim.max_change)
    problems: list[str] = []
    for i, c in enumerate(channels):
        fl = float(lim.floors[c]) if c in lim.floors else None
        cp = float(lim.caps[c]) if c in lim.caps else None
        sl = float(lim.spend_limits[c]) if c in lim.spend_limits else None
        if fl is not None:
            lower[i], upper[i] = max(lower[i], fl), max(upper[i], fl)
        for kind, top in (("cap", cp), ("spend limit", sl)):
            if top is None:
                continue
            if fl is not None and fl > top * (1 + tol) + tol:
                problems.append(f"the floor of {c} ({num(fl)}) is above its {kind} ({num(top)})")
            lower[i], upper[i] = min(lower[i], top), min(upper[i], top)
        if lim.max_share is not None and fl is not None and fl > lim.max_share * total * (1 + tol) + tol:
            problems.append(
                f"the floor of {c} ({num(fl)}) is above max_share {num(lim.max_share)} x total {num(total)} "
                f"= {num(lim.max_share * total)}"
            )
    if lim.max_share is not None:
        upper = np.minimum(upper, lim.max_share * total)
    lower = np.minimum(lower, upper)
    problems += sum_problems(lower, upper, total, tol)
    return lower, upper, problems


def sum_problems(lower: np.ndarray, upper: np.ndarray, total: float, tol: float = _TOL) -> list[str]:
    """Why bounds cannot add up to ``total`` (real numbers), or nothing."""
    lo, hi = float(np.sum(lower)), float(np.sum(upper))
    out = []
    if lo > total * (1 + tol) + tol:
        out.append(f"the lower bounds sum to {num(lo)}, above the total budget {num(total)}")
    if hi < total * (1 - tol) - tol:
        out.append(f"the upper bounds sum to {num(hi)}, below the total budget {num(total)}")
    return out


# ---- relaxation ------------------------------------------------------------------------------------------------
def _grow(t: float) -> float:
    """Level t in [0, 1) -> a factor from 1 to infinity (t = 1 is handled as 'removed')."""
    return 1.0 + t / (1.0 - t)


def relaxed(lim: Limits, kind: str, t: float) -> Limits:
    """``lim`` with one kind of limit relaxed to level ``t`` (0 = as set, 1 = removed)."""
    if t <= 0:
        return lim
    gone = t >= 1
    if kind == "max_share":
        v = None if gone or lim.max_share is None else lim.max_share + t * (1.0 - lim.max_share)
        return dataclasses.replace(lim, max_share=v)
    if kind == "max_change":
        v = None if gone or lim.max_change is None else lim.max_change + t / (1.0 - t)
        return dataclasses.replace(lim, max_change=v)
    if kind in ("caps", "spend_limits"):
        new: dict[str, float] = {} if gone else {c: v * _grow(t) for c, v in getattr(lim, kind).items()}
        return (
            dataclasses.replace(lim, spend_limits=new)
            if kind == "spend_limits"
            else dataclasses.replace(lim, caps=new)
        )
    if kind == "floors":
        return dataclasses.replace(
            lim, floors={} if gone else {c: v * (1.0 - t) for c, v in lim.floors.items()}
        )
    raise ValueError(f"unknown limit {kind!r}: budget.relax_order takes {', '.join(RELAX_ORDER)}")


def _minimal_level(ok: Callable[[float], bool]) -> float:
    """Smallest t in [0, 1] with ``ok(t)`` (``ok`` monotone, ``ok(1)`` true), by bisection."""
    if ok(0.0):
        return 0.0
    a, b = 0.0, 1.0
    if ok(1.0 - 1e-12):
        b = 1.0 - 1e-12
        for _ in range(200):
            m = 0.5 * (a + b)
            a, b = (a, m) if ok(m) else (m, b)
            if b - a < 1e-15:
                break
    return b


def _clean(v: float) -> float:
    """``v`` with the fewest significant digits within 1e-9 of it (bisection noise removed: 0.8, not 0.8000000001)."""
    for digits in range(1, 17):
        r = float(f"{v:.{digits}g}")
        if abs(r - v) <= 1e-9 * abs(v):
            return r
    return v


def _snap(lim: Limits, kind: str, feasible: Callable[[Limits], bool]) -> Limits:
    """``lim`` with the relaxed values of ``kind`` cleaned by :func:`_clean` when they still hold."""
    v = getattr(lim, kind)
    if v is None:
        return lim
    new: Any = _clean(v) if isinstance(v, float) else {c: _clean(x) for c, x in v.items()}
    cand = dataclasses.replace(lim, **{kind: new})
    return cand if feasible(cand) else lim


def relax(
    channels: Sequence[str],
    current: np.ndarray,
    total: float,
    lim: Limits,
    order: Sequence[str] = RELAX_ORDER,
) -> tuple[Limits, list[Relaxation]]:
    """The limits to optimise under (``lim`` itself when feasible) and the relaxations made, in ``order``."""
    unknown = [k for k in order if k not in RELAX_ORDER]
    if unknown:
        raise ValueError(f"budget.relax_order names {unknown}: use some of {', '.join(RELAX_ORDER)}")
    if not np.isfinite(total) or total < 0:
        raise InfeasibleBudget(
            f"the total weekly budget is {total!r}: set budget.total_budget >= 0 (or null)"
        )

    def feasible(x: Limits) -> bool:
        return not bounds(channels, current, total, x, tol=1e-13)[2]

    if feasible(lim):
        return lim, []
    gone, k = lim, -1
    for k, kind in enumerate(order):  # noqa: B007 - k is used after the loop
        gone = relaxed(gone, kind, 1.0)
        if feasible(gone):
            break
    else:  # only a negative total can get here: every kind removed leaves 0 <= x <= total
        raise InfeasibleBudget("; ".join(bounds(channels, current, total, gone)[2]))
    levels = {kind: 1.0 for kind in order[: k + 1]}

    def build(levels: Mapping[str, float]) -> Limits:
        out = lim
        for kind in order[: k + 1]:
            out = relaxed(out, kind, levels[kind])
        return out

    for j in range(k, -1, -1):
        kind = order[j]
        levels[kind] = _minimal_level(lambda t, kind=kind: feasible(build({**levels, kind: t})))  # type: ignore[misc]
    final = build(levels)
    for kind in order[: k + 1]:
        if 0.0 < levels[kind] < 1.0:
            final = _snap(final, kind, feasible)
    why = "; ".join(bounds(channels, current, total, lim)[2])
    notes = [_describe(kind, lim, final, total, why) for kind in order[: k + 1] if levels[kind] > 0.0]
    return final, notes


def _describe(kind: str, old: Limits, new: Limits, total: float, why: str) -> Relaxation:
    a, b = getattr(old, kind), getattr(new, kind)
    if kind in ("max_share", "max_change"):
        before, after = num(a), "removed" if b is None else num(b)
        if kind == "max_share" and b is not None:
            after += f" (largest channel up to {num(b * total)} of {num(total)} per week)"
    else:
        before = ", ".join(f"{c} {num(v)}" for c, v in a.items())
        after = "removed" if not b else ", ".join(f"{c} {num(v)}" for c, v in b.items() if v != a[c])
    return Relaxation(kind, before, after, f"{kind} relaxed from {before} to {after}: as set, {why}")
