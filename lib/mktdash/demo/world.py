"""The synthetic demo world: two years of daily media, web, CRM and product data with a known truth.

Everything is simulated in the reporting currency (USD) and vectorised with numpy: one weekly spend path
per channel (independent budget steps, on/off bursts, pauses and seasonal pushes, then 12 stable weeks at
a "current" allocation that is deliberately off the optimum), split into days and ads; impressions, clicks and platform-claimed
conversions drawn from per-ad rates; GA4 revenue equal, per ISO week and to the cent, to

    baseline_w + sum_c beta_c * x_cw^S_c / (x_cw^S_c + K_c^S_c) + noise_w,   x_cw = spend_cw + decay_c * x_c,w-1

with ``spend_cw`` the week's ``ad_daily.spend_reporting`` of channel ``c`` (adstock starts at 0 before the
first week). Planted anomalies, data gaps, bad rows, re-exports and duplicates are listed in the truth
(``World.truth``, written as ``truth.json`` by :func:`mktdash.demo.generate`). Anomalies change what the
platforms report (CTR, CVR, conversion value); only a spend spike also changes revenue, through the formula.

Random streams are keyed by ``(seed, stream id)``, and noise is drawn with parameter-free shapes, so
``plant=False`` gives the same world without the planted anomalies (benchmarks compare the two).
Written by hand because no library simulates marketing exports with a planted ground truth.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mktdash import weeks
from mktdash.demo import catalogue as catalog
from mktdash.demo.axis import Axis
from mktdash.demo.catalogue import CHANNELS, Catalogue
from mktdash.warehouse import schema

# ---- truth: response curves (scale 1, USD per week; K and beta are multiplied by the money factor) ----------
TRUE_CURVES: dict[str, dict[str, float]] = {
    "search": {"decay": 0.25, "half_saturation": 50_000.0, "shape": 1.4, "beta": 160_000.0},
    "social": {"decay": 0.40, "half_saturation": 55_000.0, "shape": 1.3, "beta": 170_000.0},
    "display": {"decay": 0.30, "half_saturation": 22_000.0, "shape": 1.1, "beta": 34_000.0},
    "video": {"decay": 0.55, "half_saturation": 45_000.0, "shape": 1.6, "beta": 140_000.0},
    "shopping": {"decay": 0.15, "half_saturation": 30_000.0, "shape": 1.3, "beta": 150_000.0},
}
# typical weekly spend before the current regime, and the current (off-optimum) allocation
HISTORY_SPEND = {
    "search": 48_000.0,
    "social": 32_000.0,
    "display": 14_000.0,
    "video": 18_000.0,
    "shopping": 22_000.0,
}
CURRENT_SPEND = {
    "search": 82_000.0,
    "social": 25_000.0,
    "display": 24_000.0,
    "video": 12_000.0,
    "shopping": 12_000.0,
}
CURRENT_WEEKS = 12  # the last weeks run at CURRENT_SPEND (stable: no alerts in a planted-nothing world)
ALLOCATION_WEEKS = 8  # complete weeks averaged into truth["allocation"]["current_weekly_spend"]
MAX_CHANGE = 0.30  # the optimizer's default max change per channel (truth also gives the optimum within it)

# baseline revenue (weekly, USD at scale 1): intercept + trend * week index + yearly Fourier terms
BASELINE = {
    "intercept": 380_000.0,
    "trend_per_week": 350.0,
    "sin1": 18_000.0,
    "cos1": -12_000.0,
    "sin2": 6_000.0,
    "cos2": 8_000.0,
}
NOISE_SD = 18_000.0  # weekly revenue noise (~3% of revenue)

# ---- spend process ---------------------------------------------------------------------------------------
STEP_WEEKS = (8, 17)  # budget steps last 8..16 weeks
STEP_SD = 0.30  # lognormal sd of a budget step
SEASON_WEEKS = frozenset(range(45, 52))  # ISO weeks of the Black Friday .. Christmas push
SEASON_PUSH = {"search": 0.2, "social": 0.3, "display": 0.2, "video": 0.0, "shopping": 0.5}
BURSTS = {  # (on weeks, off weeks, off level)
    "video": ((5, 11), (2, 6), 0.0),
    "display": ((4, 9), (2, 5), 0.0),
}
# always-on channels still pause now and then (budget freezes, incrementality tests): without dark weeks a
# saturated channel's level is confounded with the baseline and its ROI cannot be recovered
PAUSES = {"search": 3, "social": 3, "shopping": 3}  # pauses in the history, each PAUSE_WEEKS long
PAUSE_WEEKS = (2, 4)
PAUSE_LEVEL = 0.1
WEEK_NOISE_SD, CURRENT_NOISE_SD, DAY_NOISE_SD = 0.08, 0.03, 0.04
DRIFT_SD, CURRENT_DRIFT_SD = 0.06, 0.005  # weekly random walk of an ad's share within its channel
DOW = {  # day-of-week spend profile Mon..Sun per channel
    "search": (1.08, 1.08, 1.06, 1.04, 0.98, 0.86, 0.90),
    "social": (0.94, 0.95, 0.96, 0.98, 1.02, 1.08, 1.07),
    "display": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    "video": (0.95, 0.95, 0.97, 0.99, 1.03, 1.06, 1.05),
    "shopping": (0.98, 0.99, 0.98, 0.98, 1.0, 1.03, 1.04),
}

# ---- ad metrics --------------------------------------------------------------------------------------------
RATES = {  # channel -> (CTR, CPC in USD, value per conversion in USD)
    "search": (0.045, 1.60, 95.0),
    "social": (0.011, 0.85, 80.0),
    "display": (0.0035, 0.55, 85.0),
    "video": (0.006, 0.90, 90.0),
    "shopping": (0.012, 0.65, 70.0),
}
PLATFORM_RATES = {  # platform -> (CTR multiplier, CPC multiplier)
    "google_ads": (1.0, 1.0),
    "microsoft_ads": (0.8, 0.75),
    "meta": (1.0, 1.0),
    "linkedin": (0.45, 6.0),
    "tiktok": (0.9, 0.6),
}
CLAIM = {
    "google_ads": 1.10,
    "microsoft_ads": 1.00,
    "meta": 1.35,
    "linkedin": 0.80,
    "tiktok": 1.50,
}  # over/under-claiming
CAMPAIGN_RATE_SD, AD_RATE_SD, RATE_DAY_SD, VALUE_SD = 0.25, 0.15, 0.04, 0.12
FATIGUE_DROP, FATIGUE_DAYS = 0.20, 120.0  # CTR falls up to 20% with ad age (time constant 120 days)

# ---- currencies --------------------------------------------------------------------------------------------
FX_START = {"EUR": 1.08, "GBP": 1.27}  # units of USD per unit at the start
FX_DAILY_SD = 0.003

# ---- planted anomalies: (weeks before the latest complete week, level, channel, platform, metric, size, kind, story)
PLANTS: tuple[tuple[int, str, str, str | None, str, float, str, str], ...] = (
    (0, "campaign", "social", "meta", "ctr", -0.40, "problem", "creative broken (CTR collapsed)"),
    (0, "campaign", "search", None, "spend", 0.80, "problem", "runaway bid (spend spike)"),
    (0, "campaign", "social", None, "cvr", 0.50, "opportunity", "new audience converts better"),
    (1, "channel", "display", None, "roas", -0.45, "problem", "conversion value tracking broken"),
    (2, "campaign", "search", "google_ads", "cvr", -0.50, "problem", "landing page broken (CVR halved)"),
)
# share of its channel's volume a planted campaign carries (big enough to test, small enough that the channel
# total moves less than the alerting materiality); a spend spike must stay smaller still
SHARE_BAND = {"ctr": (0.04, 0.25), "cvr": (0.04, 0.25), "spend": (0.03, 0.12)}
GA4_GROUPS = {  # GA4 session default channel group -> (our channel or None, source / medium)
    "Paid Search": ("search", "google / cpc"),
    "Paid Social": ("social", "facebook / paid"),
    "Display": ("display", "google / display"),
    "Paid Video": ("video", "youtube / cpv"),
    "Paid Shopping": ("shopping", "google / shopping"),
    "Organic Search": (None, "google / organic"),
    "Direct": (None, "(direct) / (none)"),
    "Email": (None, "newsletter / email"),
    "Referral": (None, "trailforum.example / referral"),
}
ORGANIC_SHARE = {
    "Organic Search": 0.42,
    "Direct": 0.30,
    "Email": 0.14,
    "Referral": 0.14,
}  # of baseline revenue
REVENUE_PER_SESSION = {"Organic Search": 3.2, "Direct": 4.0, "Email": 5.0, "Referral": 3.5}
GA4_PROPERTY = "312345678"


@dataclass
class World:
    """A simulated world.

    Attributes
    ----------
    tables : dict of DataFrame
        Canonical tables (``mktdash.warehouse.schema``, without ``ingest_id``), clean and complete.
    truth : dict
        The ground truth (docs/contracts.md layout, plus allocation, pacing, limits, files once generated).
    catalogue : Catalogue
        Campaigns (with ``format`` and ``campaign_type``) and ads.
    contacts_pii : DataFrame
        Raw PII of ``crm_contacts`` (``contact_id, first_name, last_name, email, phone``) for the writers.
    weekly : DataFrame
        Per simulated week: spend and true contribution per channel, baseline, noise, revenue.
    axis : Axis
        The calendar (first Monday, end, simulated and complete weeks).
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    catalogue: Catalogue
    contacts_pii: pd.DataFrame
    weekly: pd.DataFrame
    axis: Axis


# ---- public helpers ------------------------------------------------------------------------------------------
def adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """Geometric adstock ``x_t = spend_t + decay * x_{t-1}`` (``x_{-1} = 0``) along axis 0.

    >>> adstock(np.array([1.0, 0.0, 0.0]), 0.5).tolist()
    [1.0, 0.5, 0.25]
    """
    x = np.zeros_like(np.asarray(spend, dtype=float))
    carry = np.zeros(x.shape[1:]) if x.ndim > 1 else 0.0
    for t in range(len(x)):  # weeks: ~100 steps
        carry = spend[t] + decay * carry
        x[t] = carry
    return x


def hill(x: np.ndarray | float, half_saturation: float, shape: float, beta: float) -> np.ndarray:
    """Saturation ``beta * x^S / (x^S + K^S)``.

    >>> float(hill(10.0, 10.0, 2.0, 100.0))
    50.0
    """
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    return beta * x**shape / (x**shape + half_saturation**shape)


def true_contributions(weekly_spend: pd.DataFrame, truth: dict[str, Any]) -> pd.DataFrame:
    """True weekly revenue contribution per channel for a weekly spend frame (one column per channel).

    Parameters
    ----------
    weekly_spend : DataFrame
        Rows are consecutive weeks (first row = first week of the data), columns channel names.
    truth : dict
        A world's truth (``truth["channels"][c]`` has decay, half_saturation, shape, beta).

    Returns
    -------
    DataFrame
        Same index and columns, contribution in the reporting currency.
    """
    out = {}
    for c in weekly_spend.columns:
        p = truth["channels"][c]
        x = adstock(weekly_spend[c].to_numpy(dtype=float), p["decay"])
        out[c] = hill(x, p["half_saturation"], p["shape"], p["beta"])
    return pd.DataFrame(out, index=weekly_spend.index)


def steady_state_revenue(spend: dict[str, float], truth: dict[str, Any]) -> float:
    """Weekly media revenue at a constant weekly ``spend`` per channel (steady-state adstock s/(1-decay))."""
    total = 0.0
    for c, s in spend.items():
        p = truth["channels"][c]
        total += float(hill(s / (1.0 - p["decay"]), p["half_saturation"], p["shape"], p["beta"]))
    return total


def optimal_allocation(
    current: dict[str, float], truth: dict[str, Any], max_change: float | None = None
) -> dict[str, float]:
    """The weekly allocation of the same total that maximises steady-state media revenue (SLSQP).

    ``max_change`` bounds each channel to ``current * (1 ± max_change)``; None leaves only ``>= 0``.
    """
    from scipy.optimize import minimize  # scipy is heavy to import; only the truth needs it

    names = list(current)
    cur = np.array([current[c] for c in names])
    total = float(cur.sum())
    if max_change is None:
        bounds = [(0.0, total)] * len(names)
    else:
        bounds = [(v * (1 - max_change), v * (1 + max_change)) for v in cur]
    scale = total / len(names)  # optimise in units of the mean channel budget, revenue relative to now
    ref = max(steady_state_revenue(current, truth), 1e-9)

    def neg(u: np.ndarray) -> float:
        return -steady_state_revenue(dict(zip(names, u * scale, strict=True)), truth) / ref

    lo, hi = np.array([b[0] for b in bounds]) / scale, np.array([b[1] for b in bounds]) / scale
    best = None
    # several starts (current, equal split, random splits): S > 1 curves are not concave near 0
    starts = [cur / scale, np.full(len(names), 1.0)]
    starts += list(np.random.default_rng(0).dirichlet(np.ones(len(names)), 8) * len(names))
    for start in starts:
        res = minimize(
            neg,
            np.clip(start, lo, hi),
            method="SLSQP",
            bounds=list(zip(lo, hi, strict=True)),
            constraints=[{"type": "eq", "fun": lambda u: u.sum() - total / scale}],
            options={"maxiter": 500, "ftol": 1e-12},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return {c: float(v * scale) for c, v in zip(names, best.x, strict=True)}


# ---- the simulation ------------------------------------------------------------------------------------------
def make_axis(end: dt.date | str | None, n_weeks: int) -> Axis:
    """Calendar: ``n_weeks`` complete ISO weeks ending on the Sunday on/before ``end`` plus the partial week."""
    if end is None:
        end = dt.date.today() - dt.timedelta(days=1)
    elif isinstance(end, str):
        end = dt.date.fromisoformat(end)
    elif isinstance(end, dt.datetime):
        end = end.date()
    if n_weeks < CURRENT_WEEKS + 4:
        raise ValueError(f"weeks must be >= {CURRENT_WEEKS + 4}")
    last_sunday = end - dt.timedelta(days=end.isoweekday() % 7)
    first_monday = last_sunday - dt.timedelta(days=7 * n_weeks - 1)
    partial = end > last_sunday
    return Axis(first_monday=first_monday, end=end, n_weeks=n_weeks + int(partial), n_complete=n_weeks)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _fx(seed: int, axis: Axis) -> dict[str, np.ndarray]:
    """Daily rate (USD per unit) per currency over the simulated days, rounded to 6 decimals like a rate file."""
    rng = _rng(seed, 11)
    n = axis.n_weeks * 7
    out = {"USD": np.ones(n)}
    for cur, start in FX_START.items():
        walk = np.cumsum(rng.normal(0.0, FX_DAILY_SD, n))
        out[cur] = np.round(start * np.exp(walk - walk.mean() * 0.5), 6)
    return out


def _weekly_plan(seed: int, axis: Axis, money: float) -> np.ndarray:
    """Planned weekly spend per channel (weeks x channels, USD): history process, then the current allocation."""
    nw, n_hist = axis.n_weeks, axis.n_weeks - CURRENT_WEEKS
    iso_week = np.array([d.isocalendar()[1] for d in axis.mondays])
    out = np.zeros((nw, len(CHANNELS)))
    for j, c in enumerate(CHANNELS):
        rng = _rng(seed, 200 + j)
        level = _steps(rng, n_hist) * _bursts(rng, n_hist, c)
        season = 1.0 + SEASON_PUSH[c] * np.isin(iso_week[:n_hist], list(SEASON_WEEKS))
        noise = np.exp(rng.normal(0.0, WEEK_NOISE_SD, n_hist))
        out[:n_hist, j] = HISTORY_SPEND[c] * level * season * noise
        wiggle = np.clip(
            rng.normal(0.0, CURRENT_NOISE_SD, CURRENT_WEEKS), -2 * CURRENT_NOISE_SD, 2 * CURRENT_NOISE_SD
        )
        out[n_hist:, j] = CURRENT_SPEND[c] * np.exp(wiggle)
    return out * money


def _steps(rng: np.random.Generator, n: int) -> np.ndarray:
    """Piecewise-constant budget levels (lognormal steps of random length)."""
    lengths = rng.integers(*STEP_WEEKS, size=n)  # more than enough segments
    levels = np.clip(np.exp(rng.normal(0.0, STEP_SD, n)), 0.45, 1.9)
    return np.repeat(levels, lengths)[:n]


def _bursts(rng: np.random.Generator, n: int, channel: str) -> np.ndarray:
    """On/off flighting for bursty channels (1.0 on, the off level otherwise); pauses for the others."""
    if channel not in BURSTS:
        out = np.ones(n)
        for _ in range(PAUSES.get(channel, 0)):
            start = int(rng.integers(0, max(n - PAUSE_WEEKS[1], 1)))
            out[start : start + int(rng.integers(*PAUSE_WEEKS))] = PAUSE_LEVEL
        return out
    (on_lo, on_hi), (off_lo, off_hi), off_level = BURSTS[channel]
    on = rng.integers(on_lo, on_hi, size=n)
    off = rng.integers(off_lo, off_hi, size=n)
    pattern = np.concatenate(
        [np.repeat([1.0, off_level], [a, b]) for a, b in zip(on, off, strict=True)][: n // 2 + 1]
    )
    return pattern[:n]


DEMAND_REVENUE = 40_000.0  # weekly revenue per sd of the unobserved demand driver (confound > 0)
HOLDOUT_WEEKS = 4  # the planted holdout on search (lift_test=True) ...
HOLDOUT_START = 20  # ... starts this many complete weeks before the latest one
HOLDOUT_CUT = 1.0  # ... and cuts search's spend by this share (1.0: go dark, the standard design)
HOLDOUT_SE_SHARE = 0.1  # its measured lift has a standard error of 10% of the true lift
HOLDOUT_COOLDOWN = 8  # the lift is measured over the test weeks and this many weeks after (carry-over)


def demand(seed: int, n_weeks: int) -> np.ndarray:
    """The unobserved demand driver: a standardized AR(1) series (0.85 week to week)."""
    rng = _rng(seed, 30)
    z = np.zeros(n_weeks)
    for t in range(1, n_weeks):
        z[t] = 0.85 * z[t - 1] + rng.normal(0.0, 1.0)
    return (z - z.mean()) / z.std()


def _holdout_weeks(axis: Axis) -> np.ndarray:
    start = axis.n_complete - HOLDOUT_START
    return np.arange(start, start + HOLDOUT_WEEKS)


def _plant_holdout(
    seed: int, axis: Axis, truth: dict[str, Any], spend_w: np.ndarray, held: np.ndarray, planned: np.ndarray
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The holdout's ``lift_tests`` row (measured = true + noise) and its truth (true lift over the test weeks).

    Without the test, search would have spent ``planned`` (its weekly plan before the cut) in the test weeks
    (with ``HOLDOUT_CUT = 1`` it spent nothing: a go-dark holdout); the true lift is
    the true curves' revenue with the actual spend minus with that spend, over the test weeks and the
    ``HOLDOUT_COOLDOWN`` weeks after them (the carry-over)."""
    j = CHANNELS.index("search")
    cf = spend_w.copy()
    cf[held, j] = planned
    actual = true_contributions(pd.DataFrame(spend_w, columns=list(CHANNELS)), truth).to_numpy()
    counter = true_contributions(pd.DataFrame(cf, columns=list(CHANNELS)), truth).to_numpy()
    lift = float((actual - counter)[held[0] : held[-1] + 1 + HOLDOUT_COOLDOWN].sum())
    se = HOLDOUT_SE_SHARE * abs(lift)
    start = axis.mondays[held[0]].date()
    row = {
        "channel": "search",
        "start_date": pd.Timestamp(start),
        "end_date": pd.Timestamp(start + dt.timedelta(days=7 * HOLDOUT_WEEKS - 1)),
        "spend_change": float((spend_w - cf)[held, j].sum()),
        "incremental": lift + float(_rng(seed, 31).normal(0.0, se)),
        "incremental_se": se,
        "metric": "revenue",
        "source": "planted holdout (demo)",
    }
    return pd.DataFrame([row]), [{**row, "start_date": start.isoformat(),
                                  "end_date": row["end_date"].date().isoformat(), "true_incremental": lift}]  # fmt: skip


def _daily_channel(seed: int, plan: np.ndarray) -> np.ndarray:
    """Split weekly channel spend into days (days x channels) with a day-of-week profile; weekly sums kept."""
    rng = _rng(seed, 12)
    nw, nc = plan.shape
    prof = np.array([DOW[c] for c in CHANNELS]).T  # 7 x channels
    w = np.tile(prof, (nw, 1)) * np.exp(rng.normal(0.0, DAY_NOISE_SD, (nw * 7, nc)))
    w = w.reshape(nw, 7, nc)
    w /= w.sum(axis=1, keepdims=True)
    return (w * plan[:, None, :]).reshape(nw * 7, nc)


def _activity(seed: int, cat: Catalogue, axis: Axis) -> tuple[np.ndarray, np.ndarray]:
    """First and last+1 simulated day of each campaign (launches and retired campaigns before the current regime).

    The first MIN_CAMPAIGNS campaigns (one per channel and per account, and the hostile-name one) always run.
    """
    rng = _rng(seed, 13)
    camp = cat.campaigns
    n, n_days, regime = len(camp), axis.n_weeks * 7, (axis.n_weeks - CURRENT_WEEKS) * 7
    start = np.where(rng.random(n) < 0.3, rng.integers(0, int(0.6 * regime), n), 0)
    stop = np.where(rng.random(n) < 0.12, rng.integers(int(0.7 * regime), regime, n), n_days)
    keep = (camp["base_index"].to_numpy() < catalog.MIN_CAMPAIGNS) & (
        camp["copy"] == 0
    ).to_numpy()  # every account
    start = np.where(keep, 0, start)
    stop = np.where(keep | (stop <= start + 28), n_days, stop)
    return start, stop


@dataclass
class AdDays:
    """Long-format ad-day arrays (one element per row of ``ad_daily``)."""

    day: np.ndarray
    ad: np.ndarray
    camp: np.ndarray
    channel: np.ndarray  # channel index
    spend: np.ndarray  # original currency, cents-rounded
    fx: np.ndarray
    impressions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    clicks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    conversions: np.ndarray = field(default_factory=lambda: np.zeros(0))
    value: np.ndarray = field(default_factory=lambda: np.zeros(0))  # original currency

    @property
    def spend_reporting(self) -> np.ndarray:
        return self.spend * self.fx

    @property
    def week(self) -> np.ndarray:
        return self.day // 7


def _ad_days(seed: int, axis: Axis, cat: Catalogue, daily: np.ndarray, fx: dict[str, np.ndarray]) -> AdDays:
    """Spread daily channel spend over the active ads (dense days x ads, then the non-zero cells)."""
    rng = _rng(seed, 14)
    camp, ads = cat.campaigns, cat.ads
    a_camp = ads["campaign_key"].to_numpy()
    ch_index = {c: i for i, c in enumerate(CHANNELS)}
    a_ch = camp["channel"].map(ch_index).to_numpy()[a_camp]
    n_ads, nw = len(ads), axis.n_weeks
    # static weight: campaign weight (copies jittered) x ad share within its campaign
    c_w = camp["weight"].to_numpy() * np.exp(rng.normal(0.0, 0.3, len(camp)) * (camp["copy"].to_numpy() > 0))
    ad_raw = np.exp(rng.normal(0.0, 0.5, n_ads))
    ad_w = c_w[a_camp] * ad_raw / np.bincount(a_camp, ad_raw)[a_camp]
    # weekly drift of the share, nearly frozen in the current regime
    sd = np.where(np.arange(nw) < nw - CURRENT_WEEKS, DRIFT_SD, CURRENT_DRIFT_SD)
    drift = np.cumsum(rng.normal(0.0, 1.0, (nw, n_ads)) * sd[:, None], axis=0)
    start, stop = _activity(seed, cat, axis)
    days = np.arange(nw * 7)
    active = (days[:, None] >= start[a_camp][None, :]) & (days[:, None] < stop[a_camp][None, :])
    w = np.where(active, ad_w[None, :] * np.exp(drift[days // 7]), 0.0)
    onehot = np.zeros((n_ads, len(CHANNELS)))
    onehot[np.arange(n_ads), a_ch] = 1.0
    tot = w @ onehot
    share = np.divide(w, tot[:, a_ch], out=np.zeros_like(w), where=tot[:, a_ch] > 0)
    spend_usd = daily[:, a_ch] * share
    spend_usd[axis.n_days :] = 0.0  # days after `end` are not observed
    cur = camp["currency"].to_numpy()[a_camp]
    rate = np.stack([fx[c] for c in cur], axis=1)
    spend = np.round(spend_usd / rate, 2)
    d, a = np.nonzero(spend > 0)
    return AdDays(day=d, ad=a, camp=a_camp[a], channel=a_ch[a], spend=spend[d, a], fx=rate[d, a])


def _weekly_channel_spend(ad: AdDays, n_weeks: int) -> np.ndarray:
    """Weeks x channels sum of spend_reporting."""
    out = np.zeros((n_weeks, len(CHANNELS)))
    np.add.at(out, (ad.week, ad.channel), ad.spend_reporting)
    return out


def _sample_metrics(
    seed: int, ad: AdDays, cat: Catalogue, contrib: np.ndarray, start_day: np.ndarray
) -> None:
    """Impressions, clicks, conversions and conversion value of every ad-day (in place).

    Spend buys impressions at the ad's CPM (CPC / CTR); clicks are binomial at the ad's CTR (with creative
    fatigue); platform conversions share out the channel-week's true contribution / value per conversion,
    times the platform's claim factor, over the ads' expected clicks.
    """
    rng = _rng(seed, 15)
    camp, ads = cat.campaigns, cat.ads
    n = len(ad.day)
    plat = camp["platform"].to_numpy()
    c_ch = camp["channel"].map(CHANNELS.index).to_numpy()
    ctr_c = np.array([RATES[c][0] for c in CHANNELS])[c_ch]
    cpc_c = np.array([RATES[c][1] for c in CHANNELS])[c_ch]
    brand = camp["campaign_name"].str.contains("Brand").to_numpy()
    c_ctr = (
        ctr_c
        * np.array([PLATFORM_RATES[p][0] for p in plat])
        * np.exp(rng.normal(0, CAMPAIGN_RATE_SD, len(camp)))
    )
    c_ctr *= np.where(brand, 2.5, 1.0)
    c_cpc = (
        cpc_c
        * np.array([PLATFORM_RATES[p][1] for p in plat])
        * np.exp(rng.normal(0, CAMPAIGN_RATE_SD, len(camp)))
    )
    c_cvr = np.exp(rng.normal(0, CAMPAIGN_RATE_SD, len(camp))) * np.where(brand, 1.8, 1.0)
    a_camp = ads["campaign_key"].to_numpy()
    a_ctr = c_ctr[a_camp] * np.exp(rng.normal(0, AD_RATE_SD, len(ads)))
    a_cpc = c_cpc[a_camp] * np.exp(rng.normal(0, AD_RATE_SD, len(ads)))
    a_cvr = c_cvr[a_camp] * np.exp(rng.normal(0, AD_RATE_SD, len(ads)))
    claim = np.array([CLAIM[p] for p in plat])[ad.camp]

    age = ad.day - start_day[ad.camp]
    fatigue = 1.0 - FATIGUE_DROP * (1.0 - np.exp(-age / FATIGUE_DAYS))
    ctr = np.minimum(a_ctr[ad.ad] * fatigue * np.exp(rng.normal(0, RATE_DAY_SD, n)), 0.9)
    exp_clicks = ad.spend_reporting / a_cpc[ad.ad]
    exp_imp = exp_clicks / ctr * np.exp(rng.normal(0, RATE_DAY_SD, n))
    ad.impressions = rng.poisson(exp_imp).astype(np.int64)
    ad.clicks = rng.binomial(ad.impressions, ctr).astype(np.int64)
    # conversions: channel-week contribution / value per conversion, shared by expected clicks x CVR weight
    weight = exp_clicks * a_cvr[ad.ad] * np.exp(rng.normal(0, RATE_DAY_SD, n))
    nw = contrib.shape[0]
    wsum = np.zeros((nw, len(CHANNELS)))
    np.add.at(wsum, (ad.week, ad.channel), weight)
    aov = np.array([RATES[c][2] for c in CHANNELS])
    per_weight = np.divide(contrib / aov, wsum, out=np.zeros_like(wsum), where=wsum > 0)
    exp_conv = per_weight[ad.week, ad.channel] * weight * claim
    ad.conversions = np.minimum(rng.poisson(exp_conv), ad.clicks).astype(float)
    value_usd = ad.conversions * aov[ad.channel] * np.exp(rng.normal(0, VALUE_SD, n))
    ad.value = np.round(value_usd / ad.fx, 2)


# ---- planted anomalies ------------------------------------------------------------------------------------------
def _campaign_volumes(ad: AdDays, weeks_idx: list[int], n_camp: int) -> dict[str, np.ndarray]:
    sel = np.isin(ad.week, weeks_idx)
    return {
        "spend": np.bincount(ad.camp[sel], ad.spend_reporting[sel], n_camp),
        "clicks": np.bincount(ad.camp[sel], ad.clicks[sel], n_camp),
        "conversions": np.bincount(ad.camp[sel], ad.conversions[sel], n_camp),
    }


def _pick_campaign(
    cat: Catalogue,
    vol: np.ndarray,
    channel: str,
    platform: str | None,
    used: set[int],
    band: tuple[float, float],
) -> int:
    """The biggest campaign of ``channel`` (and ``platform``) whose share of the channel is in SHARE_BAND."""
    camp = cat.campaigns
    ok = (camp["channel"] == channel).to_numpy() & (camp["campaign_name"] != catalog.HOSTILE_NAME).to_numpy()
    share = vol / max(vol[ok].sum(), 1e-9)
    if platform:
        ok &= (camp["platform"] == platform).to_numpy()
    ok &= ~np.isin(np.arange(len(camp)), list(used))
    inside = ok & (share >= band[0]) & (share <= band[1])
    pool = inside if inside.any() else ok
    if not pool.any():  # tiny worlds: any other campaign of the channel
        pool = (camp["channel"] == channel).to_numpy() & ~np.isin(np.arange(len(camp)), list(used))
    return int(np.argmax(np.where(pool, vol, -1.0)))


def _plant(seed: int, ad: AdDays, cat: Catalogue, axis: Axis) -> list[dict[str, Any]]:
    """Apply PLANTS to the ad-days (in place) and return their truth records.

    Effects are single-week: CTR thins clicks (and their conversions); CVR thins or adds conversions;
    spend multiplies spend and adds the impressions/clicks/conversions it buys; ROAS scales conversion value.
    """
    rng = _rng(seed, 16)
    last = axis.n_complete - 1
    ref = [last - 4 - k for k in range(4)]  # quiet reference weeks for choosing campaigns
    vols = _campaign_volumes(ad, ref, len(cat.campaigns))
    used: set[int] = set()
    out = []
    for offset, level, channel, platform, metric, size, kind, story in PLANTS:
        w = last - offset
        if level == "campaign":
            basis = {"ctr": "clicks", "cvr": "conversions", "spend": "spend"}[metric]
            key = _pick_campaign(cat, vols[basis], channel, platform, used, SHARE_BAND[metric])
            used.add(key)
            rows = (ad.week == w) & (ad.camp == key)
            row = cat.campaigns.iloc[key]
            entity = str(row["campaign_name"])
            extra = {
                "platform": str(row["platform"]),
                "account_id": str(row["account_id"]),
                "campaign_id": str(row["campaign_id"]),
                "channel": channel,
            }
        else:
            rows = (ad.week == w) & (ad.channel == CHANNELS.index(channel))
            entity, extra = channel, {"channel": channel}
        _apply(rng, ad, rows, metric, size)
        out.append(
            {
                "week": axis.week_labels[w],
                "level": level,
                "entity": entity,
                "metric": metric,
                "direction": "up" if size > 0 else "down",
                "size": size,
                "kind": kind,
                "story": story,
                "side_effects": _side_effects(metric, size),
                **extra,
            }
        )
    return out


def _side_effects(metric: str, size: float) -> dict[str, float]:
    """Expected relative change of the entity's other metrics that week (the same root cause)."""
    if metric in ("ctr", "cvr"):  # fewer/more conversions on the same spend
        return {"conversions": size, "cpa": round(1 / (1 + size) - 1, 4), "roas": size}
    if metric == "spend":  # more money buys proportionally more of everything: rates unchanged
        return {"impressions": size, "clicks": size, "conversions": size}
    return {"conversions_value": size}  # roas: the value is wrong, counts are fine


def _apply(rng: np.random.Generator, ad: AdDays, rows: np.ndarray, metric: str, size: float) -> None:
    idx = np.flatnonzero(rows)
    if metric == "ctr":  # fewer clicks on the same impressions; conversions follow the clicks
        kept = rng.binomial(ad.clicks[idx], 1 + size)
        conv = rng.binomial(
            ad.conversions[idx].astype(np.int64),
            np.divide(kept, ad.clicks[idx], out=np.zeros(len(idx)), where=ad.clicks[idx] > 0),
        )
        ad.value[idx] = np.round(
            ad.value[idx]
            * np.divide(conv, ad.conversions[idx], out=np.zeros(len(idx)), where=ad.conversions[idx] > 0),
            2,
        )
        ad.clicks[idx], ad.conversions[idx] = kept, conv
    elif metric == "cvr":
        conv = ad.conversions[idx]
        if size < 0:
            new = rng.binomial(conv.astype(np.int64), 1 + size).astype(float)
        else:
            new = np.minimum(conv + rng.poisson(conv * size + 0.0), ad.clicks[idx]).astype(float)
        per = np.divide(ad.value[idx], conv, out=np.zeros(len(idx)), where=conv > 0)
        ad.value[idx] = np.round(per * new, 2)
        ad.conversions[idx] = new
    elif metric == "spend":  # the extra money buys impressions/clicks/conversions at the same rates
        ad.spend[idx] = np.round(ad.spend[idx] * (1 + size), 2)
        ad.impressions[idx] += rng.poisson(ad.impressions[idx] * size)
        ad.clicks[idx] += rng.poisson(ad.clicks[idx] * size)
        ad.clicks[idx] = np.minimum(ad.clicks[idx], ad.impressions[idx])
        extra = np.minimum(rng.poisson(ad.conversions[idx] * size), ad.clicks[idx] - ad.conversions[idx])
        per = np.divide(
            ad.value[idx], ad.conversions[idx], out=np.zeros(len(idx)), where=ad.conversions[idx] > 0
        )
        ad.value[idx] = np.round(ad.value[idx] + per * extra, 2)
        ad.conversions[idx] += extra
    elif metric == "roas":
        ad.value[idx] = np.round(ad.value[idx] * (1 + size), 2)
    else:  # pragma: no cover - PLANTS is a constant
        raise ValueError(metric)


# ---- revenue -------------------------------------------------------------------------------------------------
def _baseline(axis: Axis, money: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trend part, seasonality, t) per simulated week; t = fraction of the year at the week's Monday."""
    b = BASELINE
    idx = np.arange(axis.n_weeks)
    t = np.array([(d.day_of_year - 1) / 365.25 for d in axis.mondays])
    trend = (b["intercept"] + b["trend_per_week"] * idx) * money
    season = (
        b["sin1"] * np.sin(2 * np.pi * t)
        + b["cos1"] * np.cos(2 * np.pi * t)
        + b["sin2"] * np.sin(4 * np.pi * t)
        + b["cos2"] * np.cos(4 * np.pi * t)
    ) * money
    return trend, season, t


def _web_daily(
    seed: int, axis: Axis, revenue: np.ndarray, contrib: np.ndarray, clicks_day: np.ndarray
) -> pd.DataFrame:
    """GA4 rows (day x channel group) whose revenue sums per week exactly (in cents) to ``revenue``.

    Paid groups get their channel's contribution (+-3%), the rest goes to organic groups; each group's week
    is spread over its days with a day-of-week noise, then cents are allocated by largest remainder.
    """
    rng = _rng(seed, 17)
    nw, groups = axis.n_weeks, list(GA4_GROUPS)
    ng = len(groups)
    amount = np.zeros((nw, ng))
    for j, g in enumerate(groups):
        ch = GA4_GROUPS[g][0]
        if ch is not None:
            amount[:, j] = contrib[:, CHANNELS.index(ch)] * np.exp(rng.normal(0, 0.03, nw))
    organic = np.maximum(revenue - amount.sum(axis=1), 0.0)
    share = np.array([ORGANIC_SHARE.get(g, 0.0) for g in groups])[None, :] * np.exp(
        rng.normal(0, 0.05, (nw, ng))
    )
    share /= share.sum(axis=1, keepdims=True)
    amount += organic[:, None] * share
    day_w = np.exp(rng.normal(0, 0.08, (nw, 7, ng)))
    cell = amount[:, None, :] * day_w / day_w.sum(axis=1, keepdims=True)  # weeks x 7 x groups
    cents = _largest_remainder(cell.reshape(nw, 7 * ng), np.round(revenue * 100).astype(np.int64))
    rev = cents.reshape(nw * 7, ng) / 100.0
    n_days = axis.n_days
    rev = rev[:n_days]
    sessions = np.zeros((n_days, ng))
    for j, g in enumerate(groups):
        ch = GA4_GROUPS[g][0]
        if ch is not None:
            sessions[:, j] = clicks_day[:n_days, CHANNELS.index(ch)] * 0.88
        else:
            sessions[:, j] = rev[:, j] / REVENUE_PER_SESSION[g]
    sessions = np.round(sessions * np.exp(rng.normal(0, 0.03, sessions.shape))).astype(np.int64)
    dates = pd.date_range(axis.first_monday, periods=n_days, freq="D")
    df = pd.DataFrame(
        {
            "date_day": np.repeat(dates.to_numpy(), ng),
            "property_id": GA4_PROPERTY,
            "channel_group": np.tile(groups, n_days),
            "source_medium": np.tile([GA4_GROUPS[g][1] for g in groups], n_days),
            "sessions": sessions.ravel(),
            "engaged_sessions": np.round(sessions.ravel() * 0.63).astype(np.int64),
            "users": np.round(sessions.ravel() * 0.82).astype(np.int64),
            "key_events": np.round(rev.ravel() / 90.0),
            "revenue": rev.ravel(),
        }
    )
    return schema.conform(df, "web_daily").drop(columns="ingest_id")


def _largest_remainder(weights: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Integer rows proportional to ``weights`` that sum exactly to ``totals`` (row-wise largest remainder)."""
    w = np.maximum(weights, 0.0)
    exact = w / w.sum(axis=1, keepdims=True) * totals[:, None]
    base = np.floor(exact).astype(np.int64)
    short = totals - base.sum(axis=1)
    order = np.argsort(-(exact - base), axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(len(w))[:, None], order] = np.arange(w.shape[1])[None, :]
    return base + (rank < short[:, None])


# ---- assembling ------------------------------------------------------------------------------------------------
def _ad_frame(ad: AdDays, cat: Catalogue, axis: Axis) -> pd.DataFrame:
    """The canonical ``ad_daily`` frame (categorical takes, then one conform)."""
    camp, ads = cat.campaigns, cat.ads
    order = np.lexsort((ad.ad, ad.day))
    a, c, d = ad.ad[order], ad.camp[order], ad.day[order]
    dates = (np.datetime64(axis.first_monday, "D") + d).astype("datetime64[s]")

    def take(values: pd.Series, codes: np.ndarray) -> pd.Series:
        arr = pa.array(values.astype(object).where(values.notna(), None).to_numpy(), pa.string())
        return pd.Series(pd.array(arr.take(codes), dtype="string"))

    fx = ad.fx[order]
    spend, value = ad.spend[order], ad.value[order]
    df = pd.DataFrame(
        {
            "date_day": dates,
            "platform": take(camp["platform"], c),
            "source_relation": take(camp["source_relation"], c),
            "account_id": take(camp["account_id"], c),
            "account_name": take(camp["account_name"], c),
            "campaign_id": take(camp["campaign_id"], c),
            "campaign_name": take(camp["campaign_name"], c),
            "ad_group_id": take(ads["ad_group_id"], a),
            "ad_group_name": take(ads["ad_group_name"], a),
            "ad_id": take(ads["ad_id"], a),
            "ad_name": take(ads["ad_name"], a),
            "clicks": ad.clicks[order],
            "impressions": ad.impressions[order],
            "spend": spend,
            "conversions": ad.conversions[order],
            "conversions_value": value,
            "channel": take(camp["channel"], c),
            "audience": take(ads["audience"], a),
            "creative": take(ads["creative"], a),
            "currency": take(camp["currency"], c),
            "spend_reporting": spend * fx,
            "conversions_value_reporting": value * fx,
        }
    )
    dtypes = schema.TABLES["ad_daily"]
    return df.astype(
        {c: dtypes[c] for c in df.columns if str(df[c].dtype) != str(pd.Series(dtype=dtypes[c]).dtype)}
    )


def _allocation(weekly_spend: np.ndarray, axis: Axis, truth: dict[str, Any]) -> dict[str, Any]:
    last = axis.n_complete
    cur = weekly_spend[last - ALLOCATION_WEEKS : last].mean(axis=0)
    current = {c: float(v) for c, v in zip(CHANNELS, cur, strict=True)}
    best = optimal_allocation(current, truth)
    bounded = optimal_allocation(current, truth, MAX_CHANGE)
    r_cur = steady_state_revenue(current, truth)
    return {
        "weeks": [axis.week_labels[i] for i in range(last - ALLOCATION_WEEKS, last)],
        "total_weekly_spend": float(cur.sum()),
        "current_weekly_spend": current,
        "optimal_weekly_spend": best,
        "uplift": steady_state_revenue(best, truth) / r_cur - 1.0,
        "max_change": MAX_CHANGE,
        "optimal_weekly_spend_within_max_change": bounded,
        "uplift_within_max_change": steady_state_revenue(bounded, truth) / r_cur - 1.0,
        "current_media_revenue": r_cur,
        "method": "steady-state adstock x = s / (1 - decay) on the true curves, same total, SLSQP",
    }


def simulate(
    seed: int = 7,
    scale: float = 1.0,
    end: dt.date | str | None = None,
    weeks: int = 106,
    plant: bool = True,
    hostile_names: bool = False,
    confound: float = 0.0,
    lift_test: bool = False,
) -> World:
    """Simulate the demo world.

    Parameters
    ----------
    seed : int
        Random seed; the world is a pure function of (seed, scale, end, weeks, plant, hostile_names).
    scale : float
        Multiplies campaigns, ads, spend and revenue (scale 10 gives > 1M ``ad_daily`` rows).
        CRM, journeys and product tables grow with ``min(scale, 1)``.
    end : date or ISO string, optional
        Last day with data; default yesterday.
    weeks : int
        Complete ISO weeks of data before the partial current week.
    plant : bool
        Plant anomalies (and, in :func:`mktdash.demo.generate`, gaps, bad rows, re-exports, duplicates).
    hostile_names : bool
        Name one campaign ``<script>alert(1)</script>``.
    confound : float
        > 0: an unobserved demand driver (:func:`demand`) multiplies search's planned spend by
        ``exp(confound x z)`` and adds ``DEMAND_REVENUE x z`` to revenue (what fools an MMM); 0 = none.
    lift_test : bool
        Plant a holdout on search (:func:`_plant_holdout`): off (``HOLDOUT_CUT``) for ``HOLDOUT_WEEKS`` weeks, a
        ``lift_tests`` table with the measured lift, ``truth["lift_tests"]`` with the true one.

    Returns
    -------
    World
    """
    from mktdash.demo import business, plans  # the non-media tables

    axis = make_axis(end, weeks)
    cat = catalog.build(seed, scale, hostile_names)
    money = len(cat.campaigns) / len(catalog.BASE_CAMPAIGNS)
    truth: dict[str, Any] = {
        "channels": {
            c: {k: (v * money if k in ("half_saturation", "beta") else v) for k, v in p.items()}
            for c, p in TRUE_CURVES.items()
        }
    }
    fx = _fx(seed, axis)
    ad, z, holdout, anomalies = _media_days(seed, axis, cat, truth, money, fx, confound, lift_test, plant)
    spend_w = _weekly_channel_spend(ad, axis.n_weeks)
    contrib = true_contributions(pd.DataFrame(spend_w, columns=list(CHANNELS)), truth).to_numpy()
    trend, season, t = _baseline(axis, money)
    noise = _rng(seed, 18).normal(0.0, NOISE_SD * money, axis.n_weeks)
    revenue = np.round(trend + season + contrib.sum(axis=1) + noise + DEMAND_REVENUE * money * z, 2)
    clicks_day = np.zeros((axis.n_weeks * 7, len(CHANNELS)))
    np.add.at(clicks_day, (ad.day, ad.channel), ad.clicks)

    tables: dict[str, pd.DataFrame] = {"ad_daily": _ad_frame(ad, cat, axis)}
    tables["web_daily"] = _web_daily(seed, axis, revenue, contrib, clicks_day)
    weekly = _weekly_truth(axis, spend_w, contrib, (trend, season, t), noise, revenue)

    biz = business.simulate(_rng(seed, 19), axis, cat, spend_w, min(scale, 1.0), fx)  # CRM grows to scale 1
    tables.update(biz.tables)
    plan_tables, plan_truth = plans.simulate(_rng(seed, 20), axis, tables["ad_daily"], fx, anomalies)
    tables.update(plan_tables)

    truth = _truth(seed, scale, axis, truth, weekly, spend_w, contrib, anomalies, money)
    truth.update(plan_truth)
    if confound > 0:
        truth["confounding"] = {"channel": "search", "strength": confound, "demand_revenue": DEMAND_REVENUE * money,
                                "demand": [round(float(v), 6) for v in z]}  # fmt: skip
    if lift_test:
        tables["lift_tests"], truth["lift_tests"] = _plant_holdout(seed, axis, truth, spend_w, *holdout)
    truth["pii_probe"] = biz.pii_probe
    truth["hostile_campaign"] = catalog.HOSTILE_NAME if hostile_names else None
    return World(
        tables=tables, truth=truth, catalogue=cat, contacts_pii=biz.contacts_pii, weekly=weekly, axis=axis
    )


def _media_days(
    seed: int, axis: Axis, cat: Catalogue, truth: dict[str, Any], money: float, fx: Any, confound: float,
    lift_test: bool, plant: bool,
) -> tuple[Any, np.ndarray, tuple[np.ndarray, np.ndarray], list[Any]]:  # fmt: skip
    """The ad-level daily rows (sampled metrics, planted anomalies), the demand driver ``z`` (zeros without
    ``confound``), the holdout's weeks with search's planned spend in them before the cut, and the anomalies."""
    plan = _weekly_plan(seed, axis, money)
    z = demand(seed, axis.n_weeks) if confound > 0 else np.zeros(axis.n_weeks)
    plan[:, CHANNELS.index("search")] *= np.exp(confound * z)
    held = _holdout_weeks(axis) if lift_test else np.array([], dtype=int)
    planned = plan[held, CHANNELS.index("search")].copy()
    plan[held, CHANNELS.index("search")] *= 1.0 - HOLDOUT_CUT
    ad = _ad_days(seed, axis, cat, _daily_channel(seed, plan), fx)
    start_day, _ = _activity(seed, cat, axis)
    base_spend = _weekly_channel_spend(ad, axis.n_weeks)
    base_contrib = true_contributions(pd.DataFrame(base_spend, columns=list(CHANNELS)), truth).to_numpy()
    _sample_metrics(seed, ad, cat, base_contrib, start_day)
    anomalies = _plant(seed, ad, cat, axis) if plant else []
    return ad, z, (held, planned), anomalies


def _weekly_truth(
    axis: Axis, spend_w: np.ndarray, contrib: np.ndarray, base: tuple[Any, Any, Any], noise: np.ndarray,
    revenue: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    """The world's weekly truth table: spend and true contribution per channel, baseline (trend, seasonality,
    ``t``), noise and revenue."""
    trend, season, t = base
    weekly = pd.DataFrame(
        {
            "week": axis.week_labels,
            "monday": axis.mondays.date,
            "complete": np.arange(axis.n_weeks) < axis.n_complete,
        }
    )
    for j, c in enumerate(CHANNELS):
        weekly[f"spend_{c}"] = spend_w[:, j]
        weekly[f"contribution_{c}"] = contrib[:, j]
    weekly["trend"], weekly["seasonality"], weekly["t"] = trend, season, t
    weekly["baseline"], weekly["noise"], weekly["revenue"] = trend + season, noise, revenue
    return weekly


def _truth(
    seed: int,
    scale: float,
    axis: Axis,
    truth: dict[str, Any],
    weekly: pd.DataFrame,
    spend_w: np.ndarray,
    contrib: np.ndarray,
    anomalies: list[dict[str, Any]],
    money: float,
) -> dict[str, Any]:
    """The truth dict (docs/contracts.md keys first)."""
    nc = axis.n_complete
    for j, c in enumerate(CHANNELS):
        p = truth["channels"][c]
        p["roi_true"] = float(contrib[:nc, j].sum() / spend_w[:nc, j].sum())
        p["spend_total"] = float(spend_w[:nc, j].sum())
        p["contribution_total"] = float(contrib[:nc, j].sum())
        p["claim_by_platform"] = CLAIM
    period = {
        "start": axis.first_monday.isoformat(),
        "end": weeks.sunday(axis.latest_complete).isoformat(),
        "first_week": axis.week_labels[0],
        "last_week": axis.latest_complete,
        "weeks": nc,
    }
    for p in truth["channels"].values():
        p["period_start"], p["period_end"] = period["start"], period["end"]
    b = BASELINE
    out: dict[str, Any] = {
        "seed": seed,
        "scale": scale,
        "currency": "USD",
        "channels": truth["channels"],
        "baseline": {
            "intercept": b["intercept"] * money,
            "trend_per_week": b["trend_per_week"] * money,
            "seasonality": {k: b[k] * money for k in ("sin1", "cos1", "sin2", "cos2")},
            "noise_sd": NOISE_SD * money,
            "formula": "baseline_w = intercept + trend_per_week * i + sin1 sin(2 pi t) + cos1 cos(2 pi t) + "
            "sin2 sin(4 pi t) + cos2 cos(4 pi t); i = week index from 0, t = (day of year of the "
            "week's Monday - 1) / 365.25",
        },
        "revenue_formula": "web_daily.revenue per ISO week = baseline_w + sum_c beta_c x^S/(x^S + K^S) + noise_w, "
        "x_cw = spend_cw + decay_c x_c,w-1 (x = 0 before the first week), spend_cw = "
        "ad_daily.spend_reporting of channel c in week w",
        "period": period,
        "latest_complete_week": axis.latest_complete,
        "end": axis.end.isoformat(),
        "weekly": [
            {
                "week": r.week,
                "complete": bool(r.complete),
                "spend": {c: round(float(getattr(r, f"spend_{c}")), 2) for c in CHANNELS},
                "contribution": {c: round(float(getattr(r, f"contribution_{c}")), 2) for c in CHANNELS},
                "baseline": round(float(r.baseline), 2),
                "noise": round(float(r.noise), 2),
                "revenue": round(float(r.revenue), 2),
            }
            for r in weekly.itertuples(index=False)
        ],
        "anomalies": anomalies,
        "gaps": [],
        "bad_rows": [],
        "reexports": [],
        "duplicates": [],
    }
    out["allocation"] = _allocation(spend_w, axis, out)
    return out
