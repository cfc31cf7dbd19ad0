"""Plain words from the data: the sentence each alert leads with, and the executive summary's opening
narrative (what changed this week, the likely why, what to decide).

Everything here is templated from fields already computed (alerts, weekly KPIs, proposals): deterministic,
no statistics in the words (they stay behind a details toggle), every value from data escaped where it
goes into HTML (``templates/narrative.html.j2``, autoescaped). Light on purpose (no Ibis, no matplotlib): the live dashboard imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mktdash.reporting import templating
from mktdash.reporting.numbers import SYMBOLS

# metric -> (what the entity does, more, less); {e} is the entity
_VERBS = {
    "cvr": ("{e} converts", "more", "less"),
    "ctr": ("{e} gets", "more clicks per impression", "fewer clicks per impression"),
    "spend": ("{e} spent", "more", "less"),
    "cpa": ("Each conversion from {e} costs", "more", "less"),
    "roas": ("{e} returns", "more revenue per dollar", "less revenue per dollar"),
}
# (metric, kind) -> what to do
ACTIONS = {
    ("cvr", "problem"): "Check landing page and bids.",
    ("cvr", "opportunity"): "Consider moving budget here.",
    ("ctr", "problem"): "Refresh the creatives or check targeting.",
    ("ctr", "opportunity"): "Reuse what works in its creatives.",
    ("spend", "problem"): "Check budgets and bids are as intended.",
    ("spend", "opportunity"): "Check the campaign is not capped or paused by mistake.",
    ("cpa", "problem"): "Check bids, landing page and conversion tracking.",
    ("cpa", "opportunity"): "Consider moving budget here.",
    ("roas", "problem"): "Check bids, creatives, landing page and tracking.",
    ("roas", "opportunity"): "Consider moving budget here.",
}
PLATFORM_NAMES = {
    "google_ads": "Google Ads", "microsoft_ads": "Microsoft Ads", "meta": "Meta", "linkedin": "LinkedIn",
    "tiktok": "TikTok", "ga4": "GA4",
}  # fmt: skip


def _who(level: str, entity: str) -> str:
    if level == "platform":
        return PLATFORM_NAMES.get(entity, entity.replace("_", " ").title())
    if level == "channel":
        return f"The {entity} channel"
    if level == "total":
        return "Marketing overall"
    return entity


def short_money(v: float, currency: str) -> str:
    """$14.7k · €980 · 1.2M SEK (what a sentence needs; tables carry the exact figure)."""
    sym = SYMBOLS.get(currency)
    return f"{sym}{compact(v)}" if sym else f"{compact(v)} {currency}"


def compact(v: float) -> str:
    """12345 -> '12.3k' (as the charts' axes).

    >>> compact(14712.0), compact(-980.4), compact(1234567)
    ('14.7k', '-980', '1.23M')
    """
    a = abs(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def plain(a: Mapping[str, Any], currency: str = "USD") -> str:
    """One sentence a director can act on, from an alert's fields (deterministic; no statistics).

    >>> plain({"level": "campaign", "entity": "Search - Generic - Rain Jackets", "metric": "cvr",
    ...        "direction": "down", "kind": "problem", "size": -0.58, "week": "2026-W46", "impact": 14700})
    'Search - Generic - Rain Jackets converts 58 % less than usual since W46: about $14.7k at stake this week. Check landing page and bids.'
    """
    metric, kind = str(a.get("metric", "")), str(a.get("kind", "problem"))
    who = _who(str(a.get("level", "")), str(a.get("entity", "")))
    size, impact = a.get("size"), a.get("impact")
    if metric not in _VERBS or not isinstance(size, int | float) or math.isnan(size):
        return str(a.get("text") or who)  # an alert this module did not write: its own words
    week = str(a.get("week", ""))
    when = f" since {week.split('-')[-1]}" if "-W" in week else ""
    amount = float(impact) if isinstance(impact, int | float) and impact > 0 else None  # NaN > 0 is False
    if a.get("rule") == "target":
        base = a.get("baseline")
        target = f" of {float(base):.2f}×" if isinstance(base, int | float) else ""
        gain = f": about {short_money(amount, currency)} more revenue with 20 % more spend" if amount else ""
        return f"{who} beats its ROAS target{target} by {abs(size) * 100:.0f} % week after week{gain}. Consider more budget."
    money = ""
    if amount:
        stake = "at stake this week" if kind == "problem" else "to gain this week"
        money = f": about {short_money(amount, currency)} {stake}"
    act = ACTIONS.get((metric, kind), "")
    verb, more, less = _VERBS[metric]
    return (
        f"{verb.format(e=who)} {abs(size) * 100:.0f} % {more if size > 0 else less} than usual{when}{money}. {act}"
    ).strip()


def item_html(a: Mapping[str, Any], currency: str = "USD", cls: str = "") -> str:
    """An alert as a list item: the plain sentence first, the statistics behind a ``<details>`` toggle
    (closed until opened; Voilà shows the same HTML). Everything from data escaped."""
    stats = str(a.get("text") or "")
    extra = ", ".join(
        f"{k} = {a[k]:.2g}" for k in ("z", "p_value", "q_value") if isinstance(a.get(k), int | float)
    )
    detail = stats + (f" ({extra})" if extra and "z = " not in stats else "")
    return templating.fragment("narrative.html.j2", "item", cls, plain(a, currency), detail)


# ---- the executive summary's opening ---------------------------------------------------------------------
def _pct_change(v: float | None, p: float | None) -> float | None:
    return None if v is None or not p else (v - p) / abs(p)


def _changed(tiles: Mapping[str, Mapping[str, float | None]], week: str, currency: str) -> str:
    """What changed: revenue, spend and ROAS this week against last week."""
    rev, spend, roas = (tiles.get(k, {}) for k in ("revenue", "spend", "roas"))
    wk = week.split("-")[-1]
    if rev.get("value") is None:
        return f"No revenue recorded in {wk}."
    parts = [f"Revenue was {short_money(float(rev['value']), currency)} in {wk}"]  # type: ignore[arg-type]
    ch = _pct_change(rev.get("value"), rev.get("prev"))
    if ch is not None:
        delta = float(rev["value"]) - float(rev["prev"])  # type: ignore[arg-type]
        parts.append(
            f", {'up' if ch >= 0 else 'down'} {abs(ch) * 100:.1f} % on the week before "
            f"({'+' if delta >= 0 else '-'}{short_money(abs(delta), currency)})"
        )
    s_ch = _pct_change(spend.get("value"), spend.get("prev"))
    if spend.get("value") is not None:
        move = "" if s_ch is None else f" ({'up' if s_ch >= 0 else 'down'} {abs(s_ch) * 100:.1f} %)"
        parts.append(f"; spend {short_money(float(spend['value']), currency)}{move}")  # type: ignore[arg-type]
    if roas.get("value") is not None:
        prev = "" if roas.get("prev") is None else f" against {float(roas['prev']):.2f}×"  # type: ignore[arg-type]
        parts.append(f", ROAS {float(roas['value']):.2f}×{prev}")  # type: ignore[arg-type]
    return "".join(parts) + "."


def top_mover(movers: Any, level: str, total_delta: float) -> tuple[str, float] | None:
    """The ``level`` entity whose revenue moved most in the direction of the total (``movers``: columns
    level, entity, revenue, revenue_prev); None when none moved that way."""
    if movers is None or len(movers) == 0:
        return None
    m = movers[movers["level"] == level]
    delta = (m["revenue"].fillna(0.0) - m["revenue_prev"].fillna(0.0)).to_numpy()
    sign = 1.0 if total_delta >= 0 else -1.0
    if not len(delta) or (delta * sign).max() <= 0:
        return None
    i = int((delta * sign).argmax())
    return str(m["entity"].iloc[i]), float(delta[i])


def _why(movers: Any, tiles: Mapping[str, Mapping[str, float | None]], currency: str) -> str:
    rev = tiles.get("revenue", {})
    if rev.get("value") is None or rev.get("prev") is None:
        return ""
    total = float(rev["value"]) - float(rev["prev"])  # type: ignore[arg-type]
    ch, camp = top_mover(movers, "channel", total), top_mover(movers, "campaign", total)
    if ch is None:
        return ""
    sign = lambda v: "+" if v >= 0 else "-"  # noqa: E731
    out = f"Most of the change came from {ch[0]} ({sign(ch[1])}{short_money(abs(ch[1]), currency)})"
    if camp is not None:
        out += f"; the campaign that moved most: {camp[0]} ({sign(camp[1])}{short_money(abs(camp[1]), currency)})"
    return out + "."


def _decide(
    proposals: Sequence[Mapping[str, Any]], alerts: Sequence[Mapping[str, Any]], currency: str
) -> str:
    pending = [p for p in proposals if str(p.get("status", "")).startswith("pending")]
    parts = []
    if pending:
        gain = sum(float(p.get("expected_revenue_change") or 0.0) for p in pending)
        parts.append(
            f"{len(pending)} budget move{'s' if len(pending) != 1 else ''} await approval "
            f"(expected {'+' if gain >= 0 else '-'}{short_money(abs(gain), currency)} revenue a week)"
        )
    if alerts:
        parts.append(f"the top alert: {plain(alerts[0], currency)}")
    if not parts:
        return "Nothing waits for a decision this week."
    text = "; ".join(parts)
    return "To decide: " + text if text.endswith(".") else "To decide: " + text + "."


def week_summary(
    *,
    week: str,
    currency: str,
    tiles: Mapping[str, Mapping[str, float | None]],
    movers: Any = None,
    proposals: Sequence[Mapping[str, Any]] | None = None,
    alerts: Sequence[Mapping[str, Any]] | None = None,
) -> list[str]:
    """Up to three sentences: what changed this week, the likely why (the channel and campaign that moved the
    total most), what to decide (pending budget proposals, the top alert). Deterministic, from data only."""
    out = [_changed(tiles, week, currency), _why(movers, tiles, currency)]
    out.append(_decide(list(proposals or []), list(alerts or []), currency))
    return [s for s in out if s]


def summary_html(sentences: list[str]) -> str:
    """The sentences as an escaped paragraph block."""
    return templating.fragment("narrative.html.j2", "summary", sentences)
