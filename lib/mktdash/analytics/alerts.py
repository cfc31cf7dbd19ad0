"""Alerts that are real: a change is flagged only when it is material *and* statistically significant.

For every level (channel, platform, campaign by default), entity, metric and evaluated week (the report week
and ``settings.alerts.history_weeks`` weeks before it) the week is compared with its own trailing baseline
(the ``settings.alerts.baseline_weeks`` weeks before it):

* rates (CTR = clicks/impressions, CVR = conversions/clicks): two-proportion z-test of the week's rate vs the
  baseline (median weekly rate, summed baseline counts), with an extra-binomial variance component
  ``tau^2 p^2`` (week-to-week variation in real data is larger than binomial; without it every big campaign
  would alert): tau^2 per entity, floored by the median tau^2 of the level's entities;
* campaign CTR/CVR are tested relative to the rest of their channel (difference in differences, ``PARENT`` /
  ``ADJUSTED``): ``log(rate) - log(rate of the channel's other campaigns)`` this week vs the median of the
  baseline weeks, delta-method binomial variance of both logs plus the extra-binomial tau^2 of that adjusted
  series. A campaign's rates move with its channel's (seasonality, demand, auctions); the shared part cancels, so
  a campaign-specific change no longer hides in it, and a channel-wide move is reported once, at channel level.
  Leave-one-out: the campaign is not part of its own yardstick. ``size``/``value``/``baseline`` stay the raw
  metric's (interpretable); ``text`` names the test;
* CPA, ROAS: robust z on the log scale vs the baseline median, variance = Poisson noise of the week's
  conversions ``1/(conversions + 0.5)`` + extra week-to-week tau^2 (per entity from the median squared
  deviation, floored by the level's median), normal reference: the same quasi-likelihood form as the rate test,
  so a few-conversion campaign's wild CPA is not an alert and a big channel's clean ROAS drop is;
* spend (and CPA/ROAS weeks with a zero count): robust baseline, ``z = (x - median) / (1.4826 * MAD)`` inflated
  for the uncertainty of a median of few weeks; the scale is floored by the level's median relative MAD (and
  3%), and for CPA/ROAS by the count noise ``median / sqrt(conversions)``. p from a t distribution with k-1
  degrees of freedom when the entity's own MAD binds, from the normal when a (well-estimated) floor binds.

The p-values of one run are corrected with Benjamini-Hochberg, one family per level (channel,
platform, campaign: each is read as its own table), false discovery rate ``settings.alerts.alpha`` each. An alert needs q <= alpha, ``|size| >= min_relative_change`` and z of the sign of ``size``.
Alerts are ranked by money at stake (``impact``, reporting currency, >= 0; ``kind`` says good or bad).
Targets in ``kpi_targets`` add opportunities: campaigns whose ROAS beats the ROAS target in every recent week
(one-sided t-test), i.e. candidates for more budget.

Written by hand (:mod:`mktdash.analytics.significance` for the distributions and BH): anomaly libraries (e.g. ADTK, PyOD) score
single series and know nothing of counts, hierarchy or FDR across entities.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mktdash import weeks
from mktdash.analytics import kpis
from mktdash.analytics.metrics import METRICS, fmt
from mktdash.analytics.significance import CHI2_1_MEDIAN, bh_adjust, norm_sf, t_sf
from mktdash.reporting import missing, narrative

# metric -> (numerator, denominator) of mktdash.analytics.metrics: two-proportion rate tests and log-scale ratio tests
RATE_TESTS = {m: (METRICS[m].numerator, METRICS[m].denominator) for m in ("ctr", "cvr")}
ROBUST_TESTS = ("spend", "cpa", "roas")
RATIO_TESTS = {m: (METRICS[m].numerator, METRICS[m].denominator) for m in ("cpa", "roas")}
DEFAULT_LEVELS = ("channel", "platform", "campaign")
# parent-adjusted (difference-in-differences) tests: level -> parent column (None: all other entities)
# (rates only: campaign CTR/CVR move with their channel; the CPA/ROAS of channels and campaigns do not share
# shocks enough for a ratio to the parent to be less noisy than the metric itself (measured on the bench worlds))
PARENT: dict[str, str | None] = {"campaign": "channel", "channel": None}
ADJUSTED: dict[str, tuple[str, ...]] = {"campaign": ("ctr", "cvr")}
COLUMNS = [
    "week",
    "level",
    "entity",
    "metric",
    "direction",
    "kind",
    "size",
    "value",
    "baseline",
    "test",
    "z",
    "p_value",
    "q_value",
    "impact",
    "rule",
    "text",
]  # rule: change (vs own baseline) | target
# a planted change in one metric legitimately moves others (the bench counts them as explained)
# (fewer clicks at the same spend raise CPA; more spend on one campaign shifts its parents' CTR/CVR mix)
CONSEQUENCES = {
    "ctr": {"ctr", "spend", "cpa", "roas"},
    "cvr": {"cvr", "cpa", "roas"},
    "spend": {"spend", "cpa", "roas", "ctr", "cvr"},
    "cpa": {"cpa", "cvr", "roas"},
    "roas": {"roas", "cvr", "cpa"},
}


def _kind(metric: str, direction: str) -> str:
    d = METRICS[metric].direction
    if d == "neutral":
        return "problem"  # unexpected spend moves need a look either way (pacing, delivery)
    good = (d == "higher") == (direction == "up")
    return "opportunity" if good else "problem"


def _rate_tests(cur: pd.DataFrame, base: pd.DataFrame, k: int, metric: str) -> pd.DataFrame:
    """Quasi-binomial two-proportion z-test per entity; ``cur`` indexed by entity, ``base`` has entity+week."""
    x, n = RATE_TESTS[metric]
    cols = list(dict.fromkeys([x, n, "revenue", "conversions", "clicks", "impressions", "spend"]))
    b = base.groupby("entity")[cols].sum()
    df = cur[cols].join(b.add_suffix("_b"), how="inner")  # every column overlaps
    df = df[(df[n] > 0) & (df[f"{n}_b"] > 0)]
    p1 = df[x] / df[n]
    # robust baseline: median of the weekly rates (a past anomaly inside the baseline does not move it much)
    bb = base[base[n] > 0].copy()
    bb["rate"] = bb[x] / bb[n]
    p0 = bb.groupby("entity")["rate"].median().reindex(df.index)
    # extra-binomial week-to-week variation: var(rate_w) = p(1-p)/n_w + tau^2 p^2. tau^2 per entity from the
    # median squared deviation (robust to an outlier week), floored by the level's pooled (median) tau^2,
    # which many entities x weeks estimate well enough for a normal reference distribution.
    bb = bb.join(p0.rename("p0"), on="entity", how="inner")
    g = bb.groupby("entity")
    dev2 = ((bb["rate"] - bb["p0"]) ** 2).groupby(bb["entity"]).median() / CHI2_1_MEDIAN
    binom = (bb["p0"] * (1 - bb["p0"]) / bb[n]).groupby(bb["entity"]).median()
    tau2_e = ((dev2 - binom).clip(lower=0) / (g["p0"].first() ** 2).replace(0, np.nan)).fillna(0.0)
    tau2 = np.maximum(tau2_e, float(tau2_e.median()) if len(tau2_e) else 0.0).reindex(df.index).fillna(0.0)
    kk = g.size().reindex(df.index).fillna(1)
    se = np.sqrt(p0 * (1 - p0) * (1 / df[n] + 1 / df[f"{n}_b"]) + tau2 * p0**2 * (1 + 1 / kk))
    z = (p1 - p0) / se.replace(0, np.nan)
    p = 2 * norm_sf(np.abs(z))
    if metric == "ctr":
        per = df["revenue_b"] / df["clicks_b"].replace(0, np.nan)
        impact = (p1 - p0) * df[n] * per
    else:
        per = df["revenue_b"] / df["conversions_b"].replace(0, np.nan)
        impact = (p1 - p0) * df[n] * per
    return pd.DataFrame(
        {
            "metric": metric,
            "value": p1,
            "baseline": p0,
            "z": z,
            "p_value": p,
            "impact": impact,
            "test": [f"two-proportion z-test (+{np.sqrt(v):.0%} week-to-week sd)" for v in tau2],
        }
    )


def _robust_tests(cur: pd.DataFrame, base: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Median/MAD z per entity of a weekly metric vs its baseline weeks."""
    b = base[["entity", metric]].dropna()
    g = b.groupby("entity")[metric]
    med = g.median()
    mad = (b[metric] - b["entity"].map(med)).abs().groupby(b["entity"]).median()
    k = g.size()
    infl = np.sqrt(1 + math.pi / (2 * k))  # the median of k weeks is itself uncertain
    own = 1.4826 * mad * infl
    # floor: the level's median relative scale (many entities: precise) and 3% of the median
    rel = (1.4826 * mad / med.abs().replace(0, np.nan)).dropna()
    pooled = max(float(rel.median()) if len(rel) else 0.0, 0.03)
    floor = pooled * med.abs() * infl
    df = (
        cur[list(dict.fromkeys([metric, "spend", "conversions"]))]
        .join(pd.DataFrame({"median": med, "own": own, "floor": floor, "k": k}), how="inner")
        .dropna(subset=[metric, "median"])
    )
    df = df[df["k"] >= 3]
    if metric in RATIO_TESTS:  # a ratio over few conversions is noisy (~1/sqrt(conversions)) whatever the MAD
        count_sd = df["median"].abs() / np.sqrt(df["conversions"].clip(lower=1.0))
        df["floor"] = np.maximum(df["floor"], count_sd)
    scale = np.maximum(df["own"], df["floor"])
    z = (df[metric] - df["median"]) / scale.replace(0, np.nan)
    # the entity's own MAD (k weeks) binding: t with k-1 df; a well-estimated floor binding: normal
    own_binds = (df["own"] >= df["floor"]).to_numpy()
    p = np.where(own_binds, 2 * t_sf(np.abs(z), np.maximum(df["k"] - 1, 1)), 2 * norm_sf(np.abs(z)))
    if metric == "spend":
        impact = df[metric] - df["median"]
    elif metric == "cpa":
        impact = (df[metric] - df["median"]) * df["conversions"]
    else:  # roas
        impact = (df[metric] - df["median"]) * df["spend"]
    return pd.DataFrame(
        {
            "metric": metric,
            "value": df[metric],
            "baseline": df["median"],
            "z": z,
            "p_value": p,
            "impact": impact,
            "test": "robust z (median/MAD)",
        }
    )


def _log_z(
    cur: pd.DataFrame,
    base: pd.DataFrame,
    log_parts: Callable[[pd.DataFrame], tuple[pd.Series, pd.Series]],
    metric: str,
    test: str,
) -> pd.DataFrame:
    """z and p of each entity's log value this week (``cur``) vs the median of its baseline weeks (columns
    metric, z, p_value, test; ``test`` names the test, its ``{sd}`` the extra week-to-week sd).

    ``log_parts`` gives the log value and its count variance per row. Variance of z: the week's count
    variance + tau^2 + the baseline median's own uncertainty ``(pi/2) (var + tau^2) / k``; tau^2 per entity
    from the median squared deviation of the baseline weeks minus their median count variance, floored by the
    level's median tau^2. Entities with fewer than 3 baseline weeks or a non-finite log are left out.
    """
    b = base.copy()
    b["y"], b["v"] = log_parts(b)
    b = b[np.isfinite(b["y"])]
    g = b.groupby("entity")
    m = g["y"].median()
    dev2 = ((b["y"] - b["entity"].map(m)) ** 2).groupby(b["entity"]).median() / CHI2_1_MEDIAN
    vb = g["v"].median()
    kk = g.size()
    ok = kk[kk >= 3].index
    tau2_e = (dev2 - vb).clip(lower=0).reindex(ok)
    tau2 = np.maximum(tau2_e, float(tau2_e.median()) if len(tau2_e) else 0.0)
    c = cur[cur.index.isin(ok)]
    yc, vc = log_parts(c)
    fin = np.isfinite(yc)
    c, yc, vc = c[fin], yc[fin], vc[fin]
    t2 = tau2.reindex(c.index)
    se = np.sqrt(vc + t2 + (vb.reindex(c.index) + t2) * math.pi / (2 * kk.reindex(c.index)))
    z = (yc - m.reindex(c.index)) / se
    tests = [test.format(sd=f"{np.sqrt(v):.0%}") for v in t2]
    return pd.DataFrame({"metric": metric, "z": z, "p_value": 2 * norm_sf(np.abs(z)), "test": tests})


def _ratio_tests(cur: pd.DataFrame, base: pd.DataFrame, metric: str) -> pd.DataFrame:
    """CPA/ROAS: robust z on the log scale vs the median of the baseline weeks, with a count-noise model.

    ``var(log metric_w) = 1/(conversions_w + 0.5) + tau^2``: Poisson noise of the conversions behind the ratio
    (delta method) plus extra week-to-week variation (value per conversion, auctions). tau^2 per entity from the
    median squared deviation of the baseline weeks (robust to an outlier week) minus their median count
    variance, floored by the level's median tau^2; the baseline median's own uncertainty ``(pi/2) var / k``;
    normal reference (the count part is known, as in the rate test). Entity-weeks with a zero numerator or
    denominator are left to :func:`_robust_tests`.
    """
    num, den = RATIO_TESTS[metric]

    def log_of(d: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.log(d[num].astype(float)) - np.log(d[den].astype(float))
        return y, 1 / (d["conversions"].clip(lower=0) + 0.5)

    test = (
        f"robust z of log {metric.upper()} (median baseline, conversion-count noise +{{sd}} week-to-week sd)"
    )
    return _log_z(cur, base, log_of, metric, test)


def _with_parent(w: pd.DataFrame, parent: str | None) -> pd.DataFrame:
    """Add leave-one-out parent sums (``<measure>_par``): the parent group (``parent`` column, or all entities
    when None) minus the entity itself, per week, so a planted change in the entity does not move its yardstick."""
    cols = ["impressions", "clicks", "conversions", "spend", "revenue"]
    keys = ["week"] + ([parent] if parent else [])
    tot = w.groupby(keys)[cols].transform("sum")
    return w.assign(**{f"{c}_par": tot[c] - w[c] for c in cols})


def _adjusted_rate_tests(cur: pd.DataFrame, base: pd.DataFrame, k: int, metric: str) -> pd.DataFrame:
    """Difference-in-differences rate test: the entity's log rate minus its parent's (leave-one-out) log rate,
    this week vs the median of the baseline weeks.

    Shocks shared with the parent (seasonality, channel-wide demand) cancel. Variance: delta-method binomial
    ``(1-p)/x`` for both logs plus an extra-binomial ``tau^2`` of the adjusted series (per entity, floored by
    the level's median), the baseline median's own uncertainty ``(pi/2) var / k``; normal reference.
    """
    x, n = RATE_TESTS[metric]

    def log_parts(d: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        pe = (d[x] + 0.5) / (d[n] + 1.0)
        pp = (d[f"{x}_par"] + 0.5) / (d[f"{n}_par"] + 1.0)
        y = np.log(pe) - np.log(pp)
        v = (1 - pe) / (d[x] + 0.5) + (1 - pp) / (d[f"{x}_par"] + 0.5)
        return y, v

    c = cur[(cur[n] > 0) & (cur[f"{n}_par"] > 0)]
    b = base[(base[n] > 0) & (base[f"{n}_par"] > 0)]
    test = (
        "two-proportion z-test relative to the rest of its parent "
        "(difference in differences, +{sd} week-to-week sd)"
    )
    return _log_z(c, b, log_parts, metric, test)


def _adjust(raw: pd.DataFrame, adj: pd.DataFrame) -> pd.DataFrame:
    """Replace ``raw``'s z/p/test by ``adj``'s (a better-specified test of the same change) where ``adj`` has one;
    value, baseline, impact and hence ``size`` stay the raw metric's."""
    if adj.empty:
        return raw
    adj = adj.reindex(raw.index)
    has = adj["z"].notna()
    out = raw.copy()
    for col in ("z", "p_value", "test"):
        out.loc[has, col] = adj.loc[has, col]
    return out


def _text(r: pd.Series, currency: str, baseline_weeks: int) -> str:
    m = METRICS[r["metric"]]
    what = f"{r['level']} {r['entity']}" if r["level"] != "total" else "total"
    arrow = "up" if r["direction"] == "up" else "down"
    return (
        f"{what}: {m.label} {arrow} {abs(r['size']):.0%} in {r['week']} "
        f"({fmt(r['value'], r['metric'])} vs {fmt(r['baseline'], r['metric'])} over the "
        f"{baseline_weeks} weeks before; {r['test']}, z = {r['z']:.1f}, p = {r['p_value']:.2g}, "
        f"BH q = {r['q_value']:.2g}); {r['kind']}, about {currency} {r['impact']:,.0f} at stake"
    )


def tests(
    weekly_by_level: dict[str, pd.DataFrame],
    week: str,
    *,
    history_weeks: int = 4,
    baseline_weeks: int = 12,
    metrics: Sequence[str] = ("ctr", "cvr", "spend", "cpa", "roas"),
    adjust: bool = True,
) -> pd.DataFrame:
    """Every entity x metric x evaluated week test (before FDR), from weekly frames per level.

    Each frame needs ``week``, ``entity`` and the measure columns of :func:`mktdash.analytics.kpis.weekly`. With
    ``adjust``, the ``ADJUSTED`` rates of a level are tested relative to the rest of its ``PARENT``.
    """
    out = []
    evaluated = [weeks.shift(week, -h) for h in range(history_weeks, -1, -1)]
    for level, w in weekly_by_level.items():
        w = kpis.add_ratios_frame(w)
        w = w.assign(week=w["week"].astype(str))
        adj_metrics = ADJUSTED.get(level, ()) if adjust else ()
        if adj_metrics:
            par = PARENT[level]
            w = _with_parent(w, par if par in w.columns else None)
        # the tests of all evaluated weeks run at once, grouped, joined and aligned on an integer key of
        # entity and evaluated week (entity code * weeks + week's position): no string keys to build or split
        codes, entities = pd.factorize(w["entity"].astype(str))
        w = w.assign(entity=codes * len(evaluated))
        curs, bases = [], []
        for i, ew in enumerate(evaluated):
            bws = [weeks.shift(ew, -j) for j in range(baseline_weeks, 0, -1)]
            c, b = w[w["week"] == ew], w[w["week"].isin(bws)]
            if not (c.empty or b.empty):
                curs.append(c.assign(entity=c["entity"] + i))
                bases.append(b.assign(entity=b["entity"] + i))
        if not curs:
            continue
        cur = pd.concat(curs, ignore_index=True).set_index("entity")
        base = pd.concat(bases, ignore_index=True)
        parts = []
        for m in metrics:
            if m in RATE_TESTS:
                r = _rate_tests(cur, base, baseline_weeks, m)
                if m in adj_metrics:
                    r = _adjust(r, _adjusted_rate_tests(cur, base, baseline_weeks, m))
            elif m in ROBUST_TESTS:
                r = _robust_tests(cur, base, m)
                if m in RATIO_TESTS:
                    r = _adjust(r, _ratio_tests(cur, base, m))
            else:
                continue
            parts.append(r)
        parts = [p for p in parts if not p.empty]
        if not parts:
            continue
        res = pd.concat(parts).rename_axis("key").reset_index()
        entity, at = np.divmod(res.pop("key").to_numpy(), len(evaluated))
        res["entity"], res["week"], res["level"] = entities.take(entity), np.take(evaluated, at), level
        out.append(res)
    if not out:
        return pd.DataFrame(
            columns=[c for c in COLUMNS if c not in ("q_value", "text", "kind", "direction", "size")]
        )
    return pd.concat(out, ignore_index=True)


def detect(
    wh: Any,
    week: str,
    settings: Any = None,
    *,
    levels: Sequence[str] | None = None,
    currency: str | None = None,
    known: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Alerts for ``week`` and the ``history_weeks`` before it, ranked by money at stake (a DataFrame with
    ``COLUMNS``; ``to_records`` gives the alerts.json objects).

    ``known`` holds :func:`mktdash.analytics.kpis.level_weekly` frames the caller already has (by level, reaching
    back at least ``history_weeks + baseline_weeks`` weeks): those levels are not queried again."""
    a = settings.alerts if settings is not None else None
    hist = a.history_weeks if a else 4
    bw = a.baseline_weeks if a else 12
    levels = list(levels or (a.levels if a else DEFAULT_LEVELS))
    first = weeks.shift(week, -(hist + bw))
    wanted = set(weeks.span(first, week))
    known = known or {}
    by_level = {lv: known[lv][known[lv]["week"].isin(wanted)] if lv in known
                else kpis.level_weekly(wh, lv, first=first, last=week) for lv in levels}  # fmt: skip
    hit = changes(by_level, week, settings, currency=currency)
    tg = target_opportunities(wh, week, settings, by_level.get("campaign"))
    hit = pd.concat([hit, tg], ignore_index=True) if not tg.empty else hit
    hit = hit.sort_values("impact", ascending=False).reset_index(drop=True)
    return missing.annotate(hit, kpis.no_ads(wh, "significant changes in CTR, CVR, spend, CPA and ROAS"))


def changes(
    weekly_by_level: dict[str, pd.DataFrame], week: str, settings: Any = None, *, currency: str | None = None
) -> pd.DataFrame:
    """Change alerts (``rule == "change"``) from weekly frames per level (see :func:`tests`): BH per level,
    q <= alpha, ``|size| >= min_relative_change`` and the test's z of the same sign as ``size``."""
    a = settings.alerts if settings is not None else None
    min_rel = a.min_relative_change if a else 0.15
    alpha = a.alpha if a else 0.01
    hist = a.history_weeks if a else 4
    bw = a.baseline_weeks if a else 12
    metrics = list(a.metrics) if a else ["ctr", "cvr", "spend", "cpa", "roas"]
    currency = currency or (settings.reporting_currency if settings is not None else "USD")
    t = tests(weekly_by_level, week, history_weeks=hist, baseline_weeks=bw, metrics=metrics)
    t = t.dropna(subset=["z", "p_value"])
    if t.empty:
        return pd.DataFrame(columns=COLUMNS)
    # one false-discovery family per level (the channel table, the campaign table, ... are read separately)
    t["q_value"] = t.groupby("level")["p_value"].transform(
        lambda p: pd.Series(bh_adjust(p.to_numpy()), index=p.index)
    )
    t["size"] = t["value"] / t["baseline"].replace(0, np.nan) - 1
    hit = t[
        (t["q_value"] <= alpha) & (t["size"].abs() >= min_rel) & (np.sign(t["z"]) == np.sign(t["size"]))
    ].copy()
    hit["direction"] = np.where(hit["size"] > 0, "up", "down")
    hit["kind"] = [_kind(m, d) for m, d in zip(hit["metric"], hit["direction"], strict=True)]
    hit["impact"] = hit["impact"].abs().fillna(0.0)
    hit["rule"] = "change"
    hit["text"] = [_text(r, currency, bw) for _, r in hit.iterrows()]
    return hit[COLUMNS].reset_index(drop=True)


def target_opportunities(
    wh: Any,
    week: str,
    settings: Any = None,
    campaign_weekly: pd.DataFrame | None = None,
    *,
    recent_weeks: int = 4,
    headroom: float = 0.2,
) -> pd.DataFrame:
    """Campaigns beating the ROAS target of ``kpi_targets`` (campaign, else channel, else total level) in
    each of the last ``recent_weeks`` weeks (one-sided t-test of weekly ROAS > target, alpha of settings):
    room to grow. Impact = revenue above target if spend grew by ``headroom`` at the current ROAS."""
    alpha = settings.alerts.alpha if settings is not None else 0.01
    min_rel = settings.alerts.min_relative_change if settings is not None else 0.15
    currency = settings.reporting_currency if settings is not None else "USD"
    tg = wh.df(wh.table("kpi_targets").filter(lambda t: (t.metric == "roas") & (t.period == "week")))
    if tg.empty:
        return pd.DataFrame(columns=COLUMNS)
    if campaign_weekly is None:
        campaign_weekly = kpis.level_weekly(wh, "campaign", first=weeks.shift(week, -recent_weeks), last=week)
    recent = [weeks.shift(week, -j) for j in range(recent_weeks - 1, -1, -1)]
    w = kpis.add_ratios_frame(campaign_weekly)
    w = w[w["week"].isin(recent)].assign(roas=lambda d: d["roas"].astype(float))
    if "channel" not in w:
        w["channel"] = None
    # the target of a campaign: its own, else its channel's, else the total one (the last row of each wins)
    target_of = {(r.level, r.entity): float(r.target) for r in tg.itertuples()}
    total = target_of.get(("total", "all"), math.nan)
    g = w.assign(finite=np.isfinite(w["roas"])).groupby("entity")
    a = g.agg(
        n=("roas", "size"),
        n_weeks=("week", "nunique"),
        spend_all=("spend", "sum"),
        mean=("roas", "mean"),
        sd=("roas", "std"),
        low=("roas", "min"),
        finite=("finite", "all"),
        channel=("channel", "last"),
    )
    a = a.join(w[w["week"] == week].set_index("entity")[["roas", "spend"]], how="inner")
    a["target"] = [
        target_of.get(("campaign", e), target_of.get(("channel", c), total))
        for e, c in zip(a.index, a["channel"], strict=True)
    ]
    a = a[(a["n_weeks"] >= recent_weeks) & (a["spend_all"] > 0) & a["finite"] & (a["target"] > 0)]
    a["t"] = np.where(a["sd"] > 0, (a["mean"] - a["target"]) / (a["sd"] / np.sqrt(a["n"])), np.inf)
    a["p"] = t_sf(a["t"], a["n"] - 1)
    a["size"] = a["roas"] / a["target"] - 1
    a = a[(a["size"] >= min_rel) & (a["p"] <= alpha) & (a["low"] > a["target"])]
    rows = []
    for ent, r in a.iterrows():
        impact = headroom * r["spend"] * (r["roas"] - r["target"])
        rows.append({
            "week": week, "level": "campaign", "entity": ent, "metric": "roas", "direction": "up",
            "kind": "opportunity", "size": r["size"], "value": r["roas"], "baseline": r["target"],
            "test": f"one-sided t-test of weekly ROAS > target over {recent_weeks} weeks", "z": r["t"],
            "p_value": r["p"], "q_value": r["p"], "impact": impact, "rule": "target",
            "text": f"campaign {ent}: ROAS {r['roas']:.2f}x beats the target {r['target']:.2f}x by {r['size']:.0%} "
                    f"in every one of the last {recent_weeks} weeks (t = {r['t']:.1f}, p = {r['p']:.2g}); room to "
                    f"grow: +{headroom:.0%} spend would add about {currency} {impact:,.0f} above target",
        })  # fmt: skip
    top = settings.alerts.max_target_opportunities if settings is not None else 5
    return pd.DataFrame(rows, columns=COLUMNS).sort_values("impact", ascending=False).head(top)


def table(alerts: pd.DataFrame) -> pd.DataFrame:
    """A display table (ranked): rounded numbers, plain-text columns (pandas escapes them in HTML)."""
    if alerts.empty:
        return alerts
    out = alerts[
        [
            "week",
            "level",
            "entity",
            "metric",
            "kind",
            "direction",
            "size",
            "impact",
            "z",
            "p_value",
            "q_value",
            "rule",
            "text",
        ]
    ].copy()
    out.insert(0, "rank", range(1, len(out) + 1))
    return out.round({"size": 3, "impact": 0, "z": 2})


def records(alerts: pd.DataFrame) -> list[dict[str, Any]]:
    """Alerts as JSON-ready dicts (NaN -> None)."""
    df = alerts.astype(object).where(pd.notna(alerts), None)
    return [
        {k: (float(v) if isinstance(v, np.floating) else v) for k, v in r.items()}
        for r in df.to_dict(orient="records")
    ]


def write(alerts: pd.DataFrame | list[dict[str, Any]], run_dir: str | Path) -> tuple[Path, Path]:
    """Write ``exports/alerts.json`` and ``exports/alerts.csv`` under ``run_dir``; returns both paths."""
    df = pd.DataFrame(alerts, columns=COLUMNS) if isinstance(alerts, list) else alerts
    out = Path(run_dir) / "exports"
    out.mkdir(parents=True, exist_ok=True)
    jp, cp = out / "alerts.json", out / "alerts.csv"
    jp.write_text(json.dumps(records(df), indent=1, default=str), encoding="utf-8")
    df.to_csv(cp, index=False)
    return jp, cp


# ---- plain words (mktdash.reporting.narrative writes the sentences; the statistics stay behind a details toggle) -------
class AlertList:
    """The alerts of a run as people read them (notebook 10): ranked, plain sentence first, statistics in
    a details toggle; ``frame`` keeps the analyst's table (exported as is)."""

    def __init__(self, frame: pd.DataFrame, currency: str = "USD", limit: int = 25) -> None:
        self.frame, self.currency, self.limit = frame, currency, limit

    def _repr_html_(self) -> str:
        if self.frame.empty:
            return "<p>No alerts: nothing changed materially and significantly.</p>"
        items = "".join(
            narrative.item_html(a, self.currency, f"mk-{a.get('kind', 'problem')}")
            for a in records(self.frame.head(self.limit))
        )
        more = (
            f"<p>{len(self.frame) - self.limit} more in exports/alerts.csv.</p>"
            if len(self.frame) > self.limit
            else ""
        )
        return f'{_LIST_CSS}<ol class="mk-alerts">{items}</ol>{more}'


_LIST_CSS = (
    "<style>.mk-alerts li{margin:.4rem 0;padding:.3rem .6rem;border-left:4px solid #6b7280}"
    ".mk-alerts li.mk-problem{border-color:#c0392b}.mk-alerts li.mk-opportunity{border-color:#2e8540}"
    ".mk-alerts .mk-plain{margin:0 0 .2rem;font-weight:600}.mk-alerts details{font-size:.85em;color:#4b5563}"
    "</style>"
)


def view(alerts: pd.DataFrame, currency: str = "USD") -> AlertList:
    """What notebook 10 shows of its alerts (:class:`AlertList`)."""
    return AlertList(alerts, currency)
