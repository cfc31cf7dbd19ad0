"""Marketing-mix model: weekly data, a pymc-marketing fit, its cache, diagnostics, ROI and response curves.

The model is pymc-marketing's (multidimensional) ``MMM``: geometric adstock + logistic (or Hill) saturation per
channel, an intercept, a linear trend and event dummies as controls, and yearly Fourier seasonality, fitted
on weekly channel spend (reporting currency) and weekly total revenue (``web_daily.revenue``).

Fitting takes a minute or two, so the fitted posterior is cached under ``paths.cache_dir()/mmm/<model key>/``
(``idata.nc`` written by pymc-marketing's ``save``, ``data.csv`` the weekly frame it was fitted on, and
``meta.json`` with the data hash, fit time and settings). The weekly run reuses the cache per
``settings.mmm.refit``. Everything downstream (ROI, curves, optimizer, widgets) reads the posterior arrays from
the cache only, never refits and never runs MCMC.

External data (Robyn's and Meridian's public simulated sets) enter through small adapters returning the same
:class:`MmmData` as the warehouse path, so the same code fits them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr  # at import time (~0.5 s), so a preheated kernel has it before the notebook runs

from mktdash import paths
from mktdash.budget import noise
from mktdash.budget.curves import ResponseCurves

log = logging.getLogger(__name__)

# diagnostics thresholds: worse than these is a warning shown in the notebook
RHAT_MAX = 1.05
ESS_MIN = 100.0
DIVERGENCE_SHARE_MAX = 0.01
R2_MIN = 0.5
MAPE_MAX = 0.15
# AR(1) noise: a carry-over of what the model leaves unexplained at least this large is named (benchmark worlds:
# -0.14..0.10 without a hidden demand driver, 0.09..0.75 with one; docs/budget.md)
RHO_CAUTION = 0.3


LIFT_COLUMNS = (
    "channel",
    "start_date",
    "end_date",
    "spend_change",
    "incremental",
    "incremental_se",
    "metric",
    "source",
)


class MmmError(RuntimeError):
    """No usable model (no data, or no cache with refit: never)."""


# ---- data --------------------------------------------------------------------------------------------------------
@dataclass
class MmmData:
    """The weekly modelling frame: ``date`` (Monday), one column per channel spend, controls, the target."""

    frame: pd.DataFrame
    channels: list[str]
    controls: list[str]
    target: str = "revenue"
    source: str = "warehouse"
    lift_tests: pd.DataFrame | None = None  # rows of the ``lift_tests`` table (calibration), or None

    def hash(self) -> str:
        """sha256 of the frame's content (rounded to cents) and of its lift tests: identifies the data a model
        was fitted on."""
        cols = ["date", *self.channels, *self.controls, self.target]
        frame = self.frame[cols].copy()
        num = [c for c in cols if c != "date"]
        frame[num] = frame[num].astype(float).round(2)
        text = frame.to_csv(index=False, date_format="%Y-%m-%d") + self.lift_hash()
        return hashlib.sha256(text.encode()).hexdigest()

    def lift_hash(self) -> str:
        """sha256 of the lift tests ('' without any)."""
        if self.lift_tests is None or self.lift_tests.empty:
            return ""
        lt = self.lift_tests[[c for c in LIFT_COLUMNS if c in self.lift_tests.columns]]
        text = lt.to_csv(index=False, date_format="%Y-%m-%d", float_format="%.6g")
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def spend(self) -> pd.DataFrame:
        return self.frame[self.channels]

    @property
    def period(self) -> tuple[str, str]:
        """First Monday and last Sunday covered."""
        d = pd.to_datetime(self.frame["date"])
        return d.min().date().isoformat(), (d.max() + pd.Timedelta(days=6)).date().isoformat()


def _event_dummies(dates: pd.Series, events: list[str]) -> pd.DataFrame:
    """0/1 columns for weeks containing an event: ``black_friday``, ``christmas`` or an ISO date."""
    out = {}
    mondays = pd.to_datetime(dates)
    for ev in events:
        if ev == "black_friday":
            days = [
                dt.date(y, 11, 1) + dt.timedelta(days=(3 - dt.date(y, 11, 1).weekday()) % 7 + 22)
                for y in range(mondays.min().year, mondays.max().year + 1)
            ]
        elif ev == "christmas":
            days = [dt.date(y, 12, 25) for y in range(mondays.min().year, mondays.max().year + 1)]
        else:
            days = [dt.date.fromisoformat(ev)]
        hit = pd.Series(0.0, index=dates.index)
        for d in days:
            hit[(mondays.dt.date <= d) & (d <= (mondays + pd.Timedelta(days=6)).dt.date)] = 1.0
        if hit.sum() > 0:
            out[f"event_{ev.replace('-', '_')}"] = hit
    return pd.DataFrame(out, index=dates.index)


def weekly_from_warehouse(wh: Any, settings: Any, through_week: str | None = None) -> MmmData:
    """Weekly channel spend and total revenue from the warehouse (complete ISO weeks only).

    Spend: ``ad_daily.spend_reporting`` summed by ISO week and channel. Target: ``web_daily.revenue`` (or
    ``key_events`` when ``settings.budget.objective == "conversions"``) summed by ISO week. Controls: a linear
    trend, the event dummies of ``settings.mmm.events`` and the GA4 metrics of ``settings.mmm.controls``.
    """
    from mktdash import weeks

    ad = wh.table("ad_daily")
    web = wh.table("web_daily")
    ad_w = ad.group_by(week_start=ad.date_day.truncate("W"), channel=ad.channel).aggregate(
        spend=ad.spend_reporting.sum()
    )
    metric = "key_events" if settings.budget.objective == "conversions" else "revenue"
    web_w = web.group_by(week_start=web.date_day.truncate("W")).aggregate(
        target=web[metric].sum(), days=web.date_day.nunique(), last=web.date_day.max()
    )
    a = wh.df(ad_w)
    w = wh.df(web_w)
    if a.empty or w.empty:
        raise MmmError("No ad_daily / web_daily data in the warehouse: ingest data before fitting the MMM.")
    a["week_start"] = pd.to_datetime(a["week_start"])
    w["week_start"] = pd.to_datetime(w["week_start"])
    w = w[w["days"] == 7]
    if through_week:
        w = w[w["week_start"] <= pd.Timestamp(weeks.monday(through_week))]
    if w.empty:  # no complete revenue week up to the report week (merging nothing with spend would fail)
        raise MmmError("Only 0 complete weeks of spend and revenue: the MMM needs at least 20.")
    spend = a.pivot_table(index="week_start", columns="channel", values="spend", aggfunc="sum").fillna(0.0)
    spend = spend[[c for c in spend.columns if spend[c].sum() > 0]]
    frame = w[["week_start", "target"]].merge(spend, left_on="week_start", right_index=True, how="inner")
    frame = frame.sort_values("week_start").reset_index(drop=True)
    if len(frame) < 20:
        raise MmmError(f"Only {len(frame)} complete weeks of spend and revenue: the MMM needs at least 20.")
    from mktdash.reporting.charts import CHANNEL_ORDER

    channels = sorted(spend.columns, key=lambda c: (CHANNEL_ORDER.index(c) if c in CHANNEL_ORDER else 99, c))
    out = pd.DataFrame({"date": frame["week_start"]})
    for c in channels:
        out[c] = frame[c].astype(float)
    controls = ["trend"]
    out["trend"] = np.linspace(0.0, 1.0, len(out))
    ev = _event_dummies(out["date"], list(settings.mmm.events))
    ev = pd.concat([ev, _web_controls(wh, list(getattr(settings.mmm, "controls", [])), out["date"])], axis=1)
    for c in ev.columns:
        out[c] = ev[c]
        controls.append(c)
    out[metric if metric == "revenue" else "conversions"] = frame["target"].astype(float)
    target = "revenue" if metric == "revenue" else "conversions"
    return MmmData(out, channels, controls, target, "warehouse", _lift_tests(wh, out["date"].max()))


WEB_CONTROL_METRICS = ("sessions", "engaged_sessions", "users", "key_events")


def _web_controls(wh: Any, specs: list[str], mondays: pd.Series) -> pd.DataFrame:
    """The controls ``mmm.controls`` names: ``"metric:channel group"`` (or ``"metric"``: all groups) of GA4's
    ``web_daily``, summed by week and standardized over the modelled weeks (column ``ctl_<metric>_<group>``)."""
    if not specs:
        return pd.DataFrame(index=mondays.index)
    web = wh.table("web_daily")
    sums = {m: web[m].sum() for m in WEB_CONTROL_METRICS}
    t = wh.df(web.group_by(week_start=web.date_day.truncate("W"), cg=web.channel_group).aggregate(**sums))
    t["week_start"] = pd.to_datetime(t["week_start"])
    have = sorted(str(g) for g in t["cg"].dropna().unique())
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        metric, _, group = (part.strip() for part in str(spec).partition(":"))
        if metric not in WEB_CONTROL_METRICS:
            raise MmmError(
                f"mmm.controls: {spec!r} names no web_daily metric; write 'metric:channel group' with the metric one "
                f"of {', '.join(WEB_CONTROL_METRICS)} (e.g. 'sessions:Organic Search')"
            )
        rows = t[t["cg"] == group] if group else t
        if rows.empty:
            raise MmmError(
                f"mmm.controls: {spec!r}: web_daily has no channel group {group!r} (it has: {', '.join(have)}); "
                "fix the name in params or remove the control"
            )
        weekly = rows.groupby("week_start")[metric].sum().reindex(pd.to_datetime(mondays).to_numpy())
        name = "ctl_" + re.sub(r"[^a-z0-9]+", "_", f"{metric} {group}".lower()).strip("_")
        out[name] = _standardize(pd.Series(weekly.fillna(0.0).to_numpy())).to_numpy()
    return pd.DataFrame(out, index=mondays.index)


def _lift_tests(wh: Any, last_monday: pd.Timestamp) -> pd.DataFrame | None:
    """The warehouse's lift tests that ended by the last modelled week (None when there are none)."""
    lt = wh.df(wh.table("lift_tests"))  # an empty canonical table when none were loaded
    if lt.empty:
        return None
    lt = lt[pd.to_datetime(lt["end_date"]) <= last_monday + pd.Timedelta(days=6)]
    cols = [c for c in LIFT_COLUMNS if c in lt.columns]
    return (
        lt[cols].sort_values(["channel", "start_date", "end_date"]).reset_index(drop=True)
        if len(lt)
        else None
    )


def _standardize(s: pd.Series) -> pd.Series:
    s = pd.to_numeric(s, errors="coerce").fillna(0.0).astype(float)
    sd = s.std()
    return (s - s.mean()) / sd if sd > 0 else s * 0.0


def from_robyn(path: Path | str) -> MmmData:
    """Robyn's ``dt_simulated_weekly``: spends ``*_S``, target ``revenue``; controls competitor sales,
    newsletter (standardized), event dummies and a trend. Exposure columns (``*_I``, ``*_P``) are not spend."""
    raw = pd.read_csv(path)
    out = pd.DataFrame({"date": pd.to_datetime(raw["DATE"])})
    channels = []
    for col in raw.columns:
        if col.endswith("_S") and col != "competitor_sales_B":
            name = col[:-2].lower()
            out[name] = raw[col].astype(float)
            channels.append(name)
    controls = []
    for col, name in (("competitor_sales_B", "competitor_sales"), ("newsletter", "newsletter")):
        out[name] = _standardize(raw[col])
        controls.append(name)
    events = raw["events"].astype(str).str.strip()
    for ev in sorted(set(events) - {"na", "nan", ""}):
        out[f"event_{ev}"] = (events == ev).astype(float)
        controls.append(f"event_{ev}")
    out["trend"] = np.linspace(0.0, 1.0, len(out))
    controls.append("trend")
    out["revenue"] = raw["revenue"].astype(float)
    return MmmData(out, channels, controls, "revenue", "robyn_dt_simulated_weekly")


def from_meridian(path: Path | str) -> MmmData:
    """Meridian's national simulated set: spends ``Channel*_spend``; target revenue = conversions x
    revenue_per_conversion; controls competitor sales, sentiment, promo (standardized) and a trend."""
    raw = pd.read_csv(path)
    out = pd.DataFrame({"date": pd.to_datetime(raw["time"])})
    channels = []
    for col in raw.columns:
        if col.endswith("_spend"):
            name = col[: -len("_spend")].lower()
            out[name] = raw[col].astype(float)
            channels.append(name)
    controls = []
    for col in ("competitor_sales_control", "sentiment_score_control", "Promo"):
        if col in raw.columns:
            name = col.replace("_control", "").lower()
            out[name] = _standardize(raw[col])
            controls.append(name)
    out["trend"] = np.linspace(0.0, 1.0, len(out))
    controls.append("trend")
    out["revenue"] = raw["conversions"].astype(float) * raw["revenue_per_conversion"].astype(float)
    return MmmData(out, channels, controls, "revenue", "meridian_national_all_channels")


def from_pymc_marketing_roas(path: Path | str) -> MmmData:
    """PyMC-Marketing's ``data/mmm_roas_data.csv`` as a user would see it: spends ``x1``, ``x2`` and the target
    ``y`` (revenue), with our linear trend as the only control; the file's truth columns (``z``, effects,
    seasonality) stay out of the model."""
    raw = pd.read_csv(path)
    out = pd.DataFrame({"date": pd.to_datetime(raw["date"])})
    for c in ("x1", "x2"):
        out[c] = raw[c].astype(float)
    out["trend"] = np.linspace(0.0, 1.0, len(out))
    out["revenue"] = raw["y"].astype(float)
    return MmmData(out, ["x1", "x2"], ["trend"], "revenue", "pymc_marketing_mmm_roas_data")


# ---- the fitted model ----------------------------------------------------------------------------------------------
@dataclass
class FittedMmm:
    """A fitted (or cached) model: the posterior, the data it saw and its metadata."""

    idata: Any  # arviz.InferenceData
    data: MmmData
    meta: dict[str, Any]
    path: Path | None = None
    status: str = "fitted"  # fitted | cached | refitted
    freshness: dict[str, Any] = field(default_factory=lambda: {"current": True, "banner": ""})
    _curves: ResponseCurves | None = field(default=None, repr=False)

    @property
    def channels(self) -> list[str]:
        return self.data.channels

    @property
    def target_scale(self) -> float:
        return float(self.idata.constant_data["target_scale"].values)

    @property
    def channel_scale(self) -> np.ndarray:
        return np.asarray(
            self.idata.constant_data["channel_scale"].sel(channel=self.channels).values, dtype=float
        )

    def _stack(self, name: str) -> np.ndarray:
        """Posterior variable stacked over chains and draws: sample axis first."""
        v = self.idata.posterior[name]
        v = v.stack(sample=("chain", "draw")).transpose("sample", ...)
        return np.asarray(v.values, dtype=float)

    def curves(self, n_samples: int = 300, seed: int = 0) -> ResponseCurves:
        """Posterior response curves (at most ``n_samples`` draws) in the reporting currency."""
        if self._curves is not None and self._curves.n_samples == min(n_samples, self.n_draws):
            return self._curves
        sat = self.meta["settings"]["saturation"]
        alpha = self._stack("adstock_alpha")
        if sat == "hill":
            lam, kappa = self._stack("saturation_slope"), self._stack("saturation_kappa")
        else:
            lam = self._stack("saturation_lam")
            kappa = np.ones_like(lam)
        beta = self._stack("saturation_beta") * self.target_scale
        idx = np.arange(alpha.shape[0])
        if len(idx) > n_samples:
            idx = np.sort(np.random.default_rng(seed).choice(idx, n_samples, replace=False))
        self._curves = ResponseCurves(
            channels=list(self.channels),
            alpha=alpha[idx],
            lam=lam[idx],
            kappa=kappa[idx],
            beta=beta[idx],
            spend_scale=self.channel_scale,
            saturation=sat,
            l_max=int(self.meta["settings"]["l_max"]),
            normalize=True,
            meta={"data_hash": self.meta.get("data_hash")},
        )
        return self._curves

    @property
    def n_draws(self) -> int:
        p = self.idata.posterior
        return int(p.sizes["chain"] * p.sizes["draw"])

    def contributions(self) -> np.ndarray:
        """Channel contributions (S, T, C) in the reporting currency."""
        return self._stack("channel_contribution") * self.target_scale

    def fitted(self) -> np.ndarray:
        """Posterior of the expected target (S, T), reporting currency."""
        post = self.idata.posterior
        mu = self._stack("channel_contribution").sum(axis=2)
        mu = mu + self._stack("intercept_contribution").reshape(-1, *([1] * (mu.ndim - 1)))
        if "control_contribution" in post:
            mu = mu + self._stack("control_contribution").sum(axis=2)
        if "yearly_seasonality_contribution" in post:
            mu = mu + self._stack("yearly_seasonality_contribution")
        return mu * self.target_scale

    def model(self) -> Any:
        """The pymc-marketing ``MMM`` object rebuilt from the cache (for its own plots or ``optimize_budget``)."""
        from pymc_marketing.mmm.multidimensional import MMM

        if self.path is None:
            raise MmmError("This model was not saved; fit it through load_or_fit to get a cache.")
        noise.register()
        return MMM.load(str(self.path / "idata.nc"))


# ---- fitting ---------------------------------------------------------------------------------------------------
def _model_settings(mm: Any) -> dict[str, Any]:
    return {
        "saturation": mm.saturation,
        "beta_prior": getattr(mm, "beta_prior", "equal"),
        "residuals": getattr(mm, "residuals", "iid"),
        "l_max": mm.l_max,
        "yearly_seasonality": mm.yearly_seasonality,
        "chains": mm.chains,
        "draws": mm.draws,
        "tune": mm.tune,
        "target_accept": mm.target_accept,
        "max_treedepth": mm.max_treedepth,
        "random_seed": mm.random_seed,
    }


def build(data: MmmData, mm: Any) -> Any:
    """The (unfitted) pymc-marketing MMM for ``data`` with the settings ``mm`` (a ``MmmParams``)."""
    from pymc_marketing.mmm import GeometricAdstock
    from pymc_marketing.mmm.multidimensional import MMM

    saturation = _saturation(data, mm.saturation, getattr(mm, "beta_prior", "equal"))
    ar1 = getattr(mm, "residuals", "iid") == "ar1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MMM(
            date_column="date",
            channel_columns=list(data.channels),
            target_column=data.target,
            adstock=GeometricAdstock(l_max=int(mm.l_max)),
            saturation=saturation,
            control_columns=list(data.controls) or None,
            yearly_seasonality=int(mm.yearly_seasonality) or None,
            model_config={"likelihood": noise.Ar1Normal()} if ar1 else None,
        )


def _saturation(data: MmmData, kind: str, beta_prior: str) -> Any:
    """The saturation function with its priors. ``beta_prior="spend_share"``: the ceiling's prior scaled by
    spend share (``HalfNormal(sigma = n_channels x share)``, the PyMC-Marketing guide's heuristic): a priori
    each channel returns about the same per unit of spend, instead of every channel, however small its
    spend, the same contribution (which credits small channels with large ROI when the data say little)."""
    from pymc_extras.prior import Prior
    from pymc_marketing.mmm import HillSaturation, LogisticSaturation

    priors = {}
    if beta_prior == "spend_share":
        spend = data.frame[data.channels].clip(lower=0).sum()
        share = spend.to_numpy() / spend.sum() if spend.sum() > 0 else np.full(len(spend), 1 / len(spend))
        priors["beta"] = Prior("HalfNormal", sigma=np.maximum(len(spend) * share, 0.05), dims="channel")
    return HillSaturation(priors=priors) if kind == "hill" else LogisticSaturation(priors=priors)


# ---- calibration -------------------------------------------------------------------------------------------------
def lift_measurements(data: MmmData, roas_priors: dict[str, Any] | None = None) -> pd.DataFrame:
    """PyMC-Marketing's lift-test frame (``channel, x, delta_x, delta_y, sigma``: weekly spend and target) from
    the data's lift tests and the ROAS priors, with a ``label`` per row.

    A test of ``spend_change`` and ``incremental`` (± ``incremental_se``) over ``d`` days is ``7/d`` of them per
    week; ``x`` is the channel's weekly spend without the test: its mean weekly spend over the test's weeks in
    the data minus ``delta_x`` (the mean over all weeks when the test's weeks are not all in the data: the data
    then do not hold its spend change; a test touching only the last week is not read as one). A ROAS prior
    ``{roas: r, sd: s}`` is the pseudo-measurement "the channel's steady-state contribution at its mean weekly
    spend m is r x m ± s x m" (``x = 0, delta_x = m``). Tests on channels the model does not have, or of another
    metric than the model's target, are left out.
    """
    rows: list[dict[str, Any]] = []
    spend = data.frame.set_index(pd.to_datetime(data.frame["date"]))[data.channels]
    metric = "revenue" if data.target == "revenue" else "conversions"
    tests = data.lift_tests if data.lift_tests is not None else pd.DataFrame(columns=list(LIFT_COLUMNS))
    for t in tests.itertuples():
        if t.channel not in data.channels or (str(t.metric or "revenue")) != metric:
            continue
        start, end = pd.Timestamp(t.start_date), pd.Timestamp(t.end_date)
        per_week = 7.0 / ((end - start).days + 1)
        dx = float(t.spend_change) * per_week
        inside = spend[(spend.index >= start - pd.Timedelta(days=6)) & (spend.index <= end)][t.channel]
        covered = len(inside) >= round(((end - start).days + 1) / 7.0)  # all the test's weeks are in the data
        seen = float(inside.mean()) if covered else float(spend[t.channel].mean())
        x = max(seen - dx, 0.0) if covered else seen
        dx = max(dx, -x)
        rows.append(
            {
                "channel": t.channel,
                "x": x,
                "delta_x": dx,
                "delta_y": float(t.incremental) * per_week,
                "sigma": float(t.incremental_se) * per_week,
                "label": f"lift test {start.date()}..{end.date()} ({t.source or 'no source'})",
            }
        )
    for ch, p in sorted((roas_priors or {}).items()):
        if ch not in data.channels:
            raise MmmError(
                f"mmm.roas_priors names {ch!r}, not a channel of the model ({', '.join(data.channels)})"
            )
        if float(p["sd"]) <= 0 or float(p["roas"]) <= 0:
            raise MmmError(
                f"mmm.roas_priors.{ch}: roas and sd must be > 0 (revenue per unit of spend), got {p}"
            )
        m = float(spend[ch].mean())
        rows.append({"channel": ch, "x": 0.0, "delta_x": m, "delta_y": float(p["roas"]) * m,
                     "sigma": float(p["sd"]) * m, "label": f"ROAS prior {p['roas']} ± {p['sd']}"})  # fmt: skip
    return pd.DataFrame(rows, columns=["channel", "x", "delta_x", "delta_y", "sigma", "label"])


def uncalibrated(data: MmmData, mm: Any) -> tuple[MmmData, Any]:
    """The same data and settings without lift tests and ROAS priors (the "before calibration" model)."""
    # a source of its own: its cache folder is not the calibrated model's (each would evict the other)
    plain = MmmData(
        data.frame, data.channels, data.controls, data.target, f"{data.source}:uncalibrated", None
    )
    return plain, mm.model_copy(update={"roas_priors": {}}) if hasattr(mm, "model_copy") else mm


def truncated(data: MmmData, weeks: int) -> MmmData:
    """``data`` without its last ``weeks`` weeks (and lift tests ending in them): the backtest's model."""
    keep = data.frame.iloc[: len(data.frame) - weeks].reset_index(drop=True)
    lt = data.lift_tests
    if lt is not None:
        lt = lt[pd.to_datetime(lt["end_date"]) <= pd.to_datetime(keep["date"]).max() + pd.Timedelta(days=6)]
        lt = lt.reset_index(drop=True) if len(lt) else None
    return MmmData(keep, data.channels, data.controls, data.target, f"{data.source}:backtest-{weeks}", lt)


def fit(data: MmmData, mm: Any) -> FittedMmm:
    """Fit the MMM by NUTS (``mm.chains`` x ``mm.draws`` after ``mm.tune``); returns the posterior."""
    model = build(data, mm)
    X = data.frame[["date", *data.channels, *data.controls]]
    y = data.frame[data.target].rename(data.target)
    lift = lift_measurements(data, getattr(mm, "roas_priors", None))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("pymc").setLevel(logging.ERROR)
        if not lift.empty:
            model.build_model(X, y)
            model.add_lift_test_measurements(lift.drop(columns="label"))
        model.fit(
            X,
            y,
            chains=int(mm.chains),
            draws=int(mm.draws),
            tune=int(mm.tune),
            cores=min(int(mm.chains), 2),
            target_accept=float(mm.target_accept),
            random_seed=int(mm.random_seed),
            progressbar=False,
            nuts={"max_treedepth": int(mm.max_treedepth)},
            compute_convergence_checks=False,
        )
    seconds = time.perf_counter() - t0
    meta = {
        "data_hash": data.hash(),
        "source": data.source,
        "fitted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "fit_seconds": round(seconds, 2),
        "settings": _model_settings(mm),
        "spec": model_spec(data, mm),
        "channels": list(data.channels),
        "controls": list(data.controls),
        "target": data.target,
        "weeks": len(data.frame),
        "period": list(data.period),
        "calibration": lift.to_dict(orient="records"),
        "lift_hash": data.lift_hash(),
    }
    out = FittedMmm(model.idata, data, meta, None, "fitted")
    out.meta["sampling"] = sampling_diagnostics(out.idata)
    out._model = model  # type: ignore[attr-defined]
    return out


def model_spec(data: MmmData, mm: Any) -> dict[str, Any]:
    """Everything the posterior depends on besides the data's values: structure, priors, calibration, sampler."""
    return {
        "channels": data.channels,
        "controls": data.controls,
        "target": data.target,
        "source": data.source,
        **_model_settings(mm),
        **{k: v for k, v in model_inputs(mm).items() if v},
    }


def model_inputs(mm: Any) -> dict[str, Any]:
    """The calibration settings of the spec (empty when none): ROAS priors per channel. (Lift tests are data:
    they are in :meth:`MmmData.hash`.)"""
    return {
        "roas_priors": {k: dict(v) for k, v in sorted(dict(getattr(mm, "roas_priors", {}) or {}).items())}
    }


def model_key(data: MmmData, mm: Any) -> str:
    """Cache folder key: the model spec (:func:`model_spec`). The data's content is the other half of the cache
    key: ``meta.json`` records the hash of the weekly frame the model was fitted on, and a cache is current only
    for that hash (:func:`refit_decision`)."""
    return hashlib.sha256(json.dumps(model_spec(data, mm), sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


@dataclass
class DataChange:
    """How this week's modelling frame differs from the one a cached model was fitted on."""

    weeks_added: int
    weeks_dropped: int
    weeks_revised: int
    target_revision: float  # sum |new - old| of the target over the common weeks / sum |old|
    spend_revision: float  # the same over all channel spend
    columns_changed: bool = False  # channels or controls differ
    calibration_changed: bool = False  # lift tests added, removed or revised

    def within(self, mm: Any) -> bool:
        """Small enough to reuse the model (``mm.refit_tolerance``, ``mm.max_new_weeks``; docs/budget.md)."""
        tol = float(getattr(mm, "refit_tolerance", 0.01))
        return (
            not self.columns_changed
            and not self.calibration_changed
            and self.weeks_dropped == 0
            and self.weeks_added <= int(getattr(mm, "max_new_weeks", 4))
            and self.target_revision <= tol
            and self.spend_revision <= tol
        )

    def describe(self) -> str:
        if self.columns_changed:
            return "the channels or controls changed"
        if self.calibration_changed:
            return "the lift tests changed"
        return (
            f"{self.weeks_added} week(s) added, {self.weeks_dropped} dropped, {self.weeks_revised} revised "
            f"(target revised by {self.target_revision:.2%}, spend by {self.spend_revision:.2%} of the old totals)"
        )


def data_change(old: pd.DataFrame, data: MmmData) -> DataChange:
    """Compare the cached frame ``old`` with ``data`` week by week (cents)."""
    new = data.frame
    cols = [*data.channels, data.target]
    if any(c not in old.columns for c in cols) or len(old.columns) != len(new.columns):
        return DataChange(0, 0, 0, float("inf"), float("inf"), True)
    a = old.assign(date=pd.to_datetime(old["date"])).set_index("date")
    b = new.assign(date=pd.to_datetime(new["date"])).set_index("date")
    common = a.index.intersection(b.index)
    da = (b.loc[common, cols].astype(float) - a.loc[common, cols].astype(float)).abs().round(2)
    t_old = float(a.loc[common, data.target].abs().sum())
    s_old = float(a.loc[common, data.channels].abs().to_numpy().sum())
    return DataChange(
        weeks_added=int(len(b.index.difference(a.index))),
        weeks_dropped=int(len(a.index.difference(b.index))),
        weeks_revised=int((da.sum(axis=1) > 0).sum()),
        target_revision=float(da[data.target].sum()) / t_old if t_old > 0 else 0.0,
        spend_revision=float(da[data.channels].to_numpy().sum()) / s_old if s_old > 0 else 0.0,
    )


def save(fitted: FittedMmm, folder: Path) -> Path:
    """Write ``idata.nc`` (pymc-marketing format), ``data.csv`` and ``meta.json`` into ``folder``, atomically.

    Several kernels may fit the same data at once (a preheated dashboard kernel and a viewer's): each writes
    a private temp folder and renames it into place, so a reader never sees half a cache.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    model = getattr(fitted, "_model", None)
    if model is not None:
        model.save(str(tmp / "idata.nc"))
    else:
        fitted.idata.to_netcdf(str(tmp / "idata.nc"))
    PosteriorFile.write_copies(fitted.idata, tmp)
    fitted.data.frame.to_csv(tmp / "data.csv", index=False, date_format="%Y-%m-%d")
    meta = dict(
        fitted.meta,
        channels=fitted.data.channels,
        controls=fitted.data.controls,
        target=fitted.data.target,
        source=fitted.data.source,
    )
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    old = folder.parent / f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}.old"
    with contextlib.suppress(FileNotFoundError):
        folder.rename(old)  # a refit replaces the previous cache
    try:
        tmp.rename(folder)
    except OSError:  # another process put its (equivalent) fit there in between: keep that one
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    fitted.path = folder
    return folder


def load(folder: Path) -> FittedMmm:
    """Read a cached model: the posterior arrays only (no model rebuild, no compilation, no arviz)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    frame = pd.read_csv(folder / "data.csv", parse_dates=["date"])
    data = MmmData(frame, meta["channels"], meta["controls"], meta["target"], meta["source"])
    return FittedMmm(PosteriorFile(folder / "idata.nc"), data, meta, folder, "cached")


class PosteriorFile:
    """The groups of an ArviZ ``InferenceData`` netCDF file that the views read, as xarray Datasets with the
    same attribute access (``.posterior``, ``.constant_data``, ``.sample_stats``, ``.groups()``).

    Read with xarray alone: ``import arviz`` costs ~3.5 s (its plotting stack, numba compilation) in every
    weekly-run and dashboard kernel. The cache also keeps those groups as netCDF-3 copies (``groups/``, one file
    each, written with the model): SciPy reads them in ~0.03 s, where the HDF5 file takes ~0.8 s through
    h5netcdf (its dimension lookups). A cache without copies is read from ``idata.nc`` and given them.
    """

    GROUPS = ("posterior", "constant_data", "sample_stats")

    def __init__(self, path: Path) -> None:
        self._groups: dict[str, Any] = {}
        copies = path.parent / "groups"
        for group in self.GROUPS:
            if copies.is_dir():
                if (copies / f"{group}.nc").exists():
                    with xr.open_dataset(copies / f"{group}.nc", engine="scipy") as ds:
                        self._groups[group] = ds.load()
                continue
            try:
                with xr.open_dataset(path, group=group, engine="h5netcdf") as ds:
                    self._groups[group] = ds.load()
            except OSError:  # the file has no such group
                continue
        if not copies.is_dir():
            with contextlib.suppress(OSError, ValueError):  # a read-only cache is still read, slowly
                self.write_copies(self, path.parent)

    @classmethod
    def write_copies(cls, idata: Any, folder: Path) -> None:
        """``folder/groups/<group>.nc`` for each of the views' groups that ``idata`` has, atomically."""
        tmp = folder / f".groups.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        tmp.mkdir()
        try:
            for group in cls.GROUPS:
                if group in idata.groups():
                    getattr(idata, group).to_netcdf(tmp / f"{group}.nc", engine="scipy")
            tmp.rename(folder / "groups")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_groups"][name]
        except KeyError:
            raise AttributeError(name) from None

    def groups(self) -> list[str]:
        return list(self._groups)


def cache_folder(data: MmmData, mm: Any, cache_dir: Path | None = None) -> Path:
    return (cache_dir or paths.cache_dir()) / "mmm" / model_key(data, mm)


def refit_decision(
    meta: dict[str, Any] | None,
    data_hash: str,
    mm: Any,
    now: dt.datetime | None = None,
    change: DataChange | None = None,
) -> str:
    """``fit`` (no cache), ``refit`` or ``reuse`` per ``mm.refit``.

    ``auto`` reuses the cache for the same data (same hash), or for a change within the tolerance
    (:meth:`DataChange.within`) while the cache is at most ``mm.max_age_days`` old; anything else refits
    (an unknown change too). ``never`` always reuses (a banner says when the data differ).

    >>> from types import SimpleNamespace as NS
    >>> mm = NS(refit="auto", max_age_days=28, refit_tolerance=0.01, max_new_weeks=4)
    >>> old = {"data_hash": "a", "fitted_at": "2025-01-01T00:00:00+00:00"}
    >>> now = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
    >>> small, big = DataChange(1, 0, 0, 0.0, 0.0), DataChange(0, 0, 60, 0.4, 0.0)
    >>> refit_decision(old, "b", mm, now, small), refit_decision(old, "b", mm, now, big)
    ('reuse', 'refit')
    >>> refit_decision(old, "b", mm, now + dt.timedelta(days=30), small), refit_decision(old, "a", mm, now)
    ('refit', 'reuse')
    """
    if meta is None:
        if mm.refit == "never":
            raise MmmError(
                "mmm.refit is 'never' but there is no cached model: fit once (refit: auto or always)."
            )
        return "fit"
    if mm.refit == "always":
        return "refit"
    if mm.refit == "never" or meta.get("data_hash") == data_hash:
        return "reuse"
    now = now or dt.datetime.now(dt.UTC)
    age = now - dt.datetime.fromisoformat(meta["fitted_at"])
    small = change is not None and change.within(mm)
    return "reuse" if small and age <= dt.timedelta(days=mm.max_age_days) else "refit"


def freshness(fm: FittedMmm, data: MmmData, change: DataChange | None) -> dict[str, Any]:
    """Is the model on record the model of this week's data? ``current`` (bool) and a banner when not."""
    current = fm.meta.get("data_hash") == data.hash()
    out: dict[str, Any] = {
        "current": current,
        "fitted_at": fm.meta.get("fitted_at"),
        "fitted_period": list(fm.data.period),
        "data_period": list(data.period),
        "data_hash": data.hash(),
        "fitted_data_hash": fm.meta.get("data_hash"),
        "change": "" if current else (change.describe() if change else "unknown"),
        "banner": "",
    }
    if not current:
        out["banner"] = (
            f"Stale model: fitted {out['fitted_at']} on data {fm.data.period[0]} .. {fm.data.period[1]}; this "
            f"week's data ({data.period[0]} .. {data.period[1]}) differ: {out['change']}. Reused per mmm.refit "
            f"= {fm.meta.get('refit_policy', 'auto')} (ROI, curves and the recommendation are that model's)."
        )
    return out


def load_or_fit(
    data: MmmData, mm: Any, cache_dir: Path | None = None, now: dt.datetime | None = None
) -> FittedMmm:
    """The model for ``data``: the cache when the refit policy allows, else a new fit (then cached).

    The result's ``freshness`` says whether it was fitted on exactly this data, and what changed when not.
    """
    folder = cache_folder(data, mm, cache_dir)
    meta = None
    if (folder / "meta.json").exists() and (folder / "idata.nc").exists():
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    change = None
    if meta is not None and meta.get("data_hash") != data.hash() and (folder / "data.csv").exists():
        change = data_change(pd.read_csv(folder / "data.csv", parse_dates=["date"]), data)
        change.calibration_changed = meta.get("lift_hash", "") != data.lift_hash()
    decision = refit_decision(meta, data.hash(), mm, now, change)
    if decision == "reuse":
        out = load(folder)
        out.status = "cached"
        out.meta["refit_policy"] = mm.refit
        out.freshness = freshness(out, data, change)
        return out
    fitted = fit(data, mm)
    save(fitted, folder)
    fitted.status = "refitted" if decision == "refit" else "fitted"
    fitted.freshness = freshness(fitted, data, None)
    return fitted


# ---- diagnostics, ROI, fit ------------------------------------------------------------------------------------------
def sampling_diagnostics(idata: Any) -> dict[str, float]:
    """Largest r-hat and smallest bulk ESS over the model's parameters (ArviZ), computed once per fit and kept
    in the cache's ``meta.json``."""
    import arviz as az

    names = [
        v
        for v in (
            "adstock_alpha",
            "saturation_lam",
            "saturation_slope",
            "saturation_kappa",
            "saturation_beta",
            "intercept_contribution",
            "y_sigma",
            "y_rho",
            "gamma_control",
            "gamma_fourier",
        )
        if v in idata.posterior
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summ = az.summary(idata.posterior, var_names=names, kind="diagnostics")
    chains = int(idata.posterior.sizes["chain"])
    return {
        "rhat_max": float(summ["r_hat"].max()) if chains > 1 else float("nan"),
        "ess_bulk_min": float(summ["ess_bulk"].min()),
    }


def diagnostics(fm: FittedMmm) -> dict[str, Any]:
    """r-hat, ESS, divergences and posterior predictive fit (R², MAPE), with warnings when bad."""
    chains = int(fm.idata.posterior.sizes["chain"])
    if "sampling" not in fm.meta:  # a cache written before fits kept them: compute once, keep them
        fm.meta["sampling"] = sampling_diagnostics(fm.idata)
        if fm.path is not None:
            tmp = fm.path / f".meta.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(fm.meta, indent=2), encoding="utf-8")
            tmp.replace(fm.path / "meta.json")
    rhat, ess = fm.meta["sampling"]["rhat_max"], fm.meta["sampling"]["ess_bulk_min"]
    div = int(fm.idata.sample_stats["diverging"].sum()) if "sample_stats" in fm.idata.groups() else 0
    y = fm.data.frame[fm.data.target].to_numpy(dtype=float)
    mu = fm.fitted().mean(axis=0)
    r2 = 1.0 - float(((y - mu) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    mape = float(np.mean(np.abs(y - mu) / np.abs(y)))
    rho = float(fm.idata.posterior["y_rho"].mean()) if "y_rho" in fm.idata.posterior else float("nan")
    warn, caution = [], []  # a caution is shown but leaves the fit "ok"
    if rho >= RHO_CAUTION:
        caution.append(
            f"what the model does not explain carries over from week to week (AR(1) {rho:.2f}), as demand does: a "
            "channel whose budget follows demand may be over-credited; a go-dark holdout on it settles this"
        )
    if chains > 1 and rhat > RHAT_MAX:
        warn.append(f"r-hat {rhat:.3f} > {RHAT_MAX}: chains disagree, do not trust the curves (fit longer)")
    if chains == 1:
        caution.append("one chain: r-hat cannot be computed (test/smoke fit)")
    if ess < ESS_MIN:
        warn.append(f"smallest bulk ESS {ess:.0f} < {ESS_MIN:.0f}: too few effective draws")
    if div > DIVERGENCE_SHARE_MAX * fm.n_draws:
        warn.append(f"{div} divergent transitions ({div / fm.n_draws:.1%} of draws): posterior may be biased")
    if r2 < R2_MIN:
        warn.append(f"posterior predictive R² {r2:.2f} < {R2_MIN}: the model explains revenue poorly")
    if mape > MAPE_MAX:
        warn.append(f"MAPE {mape:.1%} > {MAPE_MAX:.0%}: large weekly errors")
    return {
        "rhat_max": rhat,
        "ess_bulk_min": ess,
        "divergences": div,
        "r2": r2,
        "mape": mape,
        "noise_carry_over": rho,
        "chains": chains,
        "draws": int(fm.idata.posterior.sizes["draw"]),
        "status": fm.status,
        "fit_seconds": fm.meta.get("fit_seconds"),
        "fitted_at": fm.meta.get("fitted_at"),
        "ok": not warn,
        "warnings": warn + caution,
    }


def diagnostics_table(diag: dict[str, Any]) -> pd.DataFrame:
    """The diagnostics as a two-column table for display."""
    keys = [
        "status",
        "fitted_at",
        "fit_seconds",
        "chains",
        "draws",
        "rhat_max",
        "ess_bulk_min",
        "divergences",
        "r2",
        "mape",
        "noise_carry_over",
        "ok",
    ]
    return pd.DataFrame({"metric": keys, "value": [diag[k] for k in keys]})


def channel_roi(fm: FittedMmm, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """ROI per channel (attributed revenue / spend) over the fitted period or [start, end] (dates)."""
    dates = pd.to_datetime(fm.data.frame["date"])
    mask = np.ones(len(dates), dtype=bool)
    if start:
        mask &= dates >= pd.Timestamp(start)
    if end:
        mask &= dates <= pd.Timestamp(end)
    contrib = fm.contributions()[:, mask, :].sum(axis=1)  # (S, C)
    spend = fm.data.spend[mask].sum(axis=0).to_numpy(dtype=float)
    roi = contrib / np.where(spend > 0, spend, np.nan)
    d = dates[mask]
    return pd.DataFrame(
        {
            "channel": fm.channels,
            "roi_mean": roi.mean(axis=0),
            "roi_lower_90": np.quantile(roi, 0.05, axis=0),
            "roi_upper_90": np.quantile(roi, 0.95, axis=0),
            "period_start": d.min().date().isoformat(),
            "period_end": (d.max() + pd.Timedelta(days=6)).date().isoformat(),
            "spend": spend,
            "attributed_revenue": contrib.mean(axis=0),
        }
    )


def _prior_sd(dist: str, params: dict[str, Any]) -> Any:
    """Standard deviation of the saturation/adstock priors (an array when the prior is per channel)."""
    if dist == "HalfNormal":
        return np.asarray(params["sigma"], dtype=float) * float(np.sqrt(1.0 - 2.0 / np.pi))
    if dist == "Gamma":
        return float(np.sqrt(params["alpha"]) / params["beta"])
    if dist == "Beta":
        a, b = float(params["alpha"]), float(params["beta"])
        return float(np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))
    return float("nan")


PRIOR_DOMINATED = 0.5  # posterior contraction below this: the data moved the parameter less than half-way


def prior_vs_posterior(fm: FittedMmm) -> pd.DataFrame:
    """Per channel and curve parameter: prior sd, posterior sd and the contraction ``1 - var_post / var_prior``
    (1 = the data decided, 0 = the prior did); the priors the model was fitted with (model units)."""
    from pymc_marketing.mmm import GeometricAdstock

    st = fm.meta["settings"]
    sat = _saturation(fm.data, st["saturation"], st.get("beta_prior", "equal"))
    priors = {
        **{f"saturation_{k}": v for k, v in sat.function_priors.items()},
        **{f"adstock_{k}": v for k, v in GeometricAdstock(l_max=1).function_priors.items()},
    }
    rows = []
    for name, prior in priors.items():
        if name not in fm.idata.posterior:
            continue
        post_sd = fm._stack(name).std(axis=0)
        psd = np.broadcast_to(_prior_sd(prior.distribution, dict(prior.parameters)), post_sd.shape)
        for c, sd, p_sd in zip(fm.channels, post_sd, psd, strict=True):
            rows.append({"channel": c, "parameter": name, "prior_sd": float(p_sd), "posterior_sd": float(sd),
                         "contraction": 1.0 - float(sd) ** 2 / p_sd**2 if p_sd > 0 else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def channel_flags(fm: FittedMmm) -> pd.DataFrame:
    """Per channel: ROI, its 90% interval width relative to the ROI, the least posterior contraction of its
    curve parameters, and flags: ``mostly prior`` (contraction < ``PRIOR_DOMINATED``) and ``interval wider than
    ROI`` (do not act on this channel's ROI alone)."""
    roi = channel_roi(fm)
    pp = prior_vs_posterior(fm)
    least = pp.groupby("channel")["contraction"].min() if not pp.empty else pd.Series(dtype=float)
    out = roi[["channel", "roi_mean", "roi_lower_90", "roi_upper_90"]].copy()
    out["interval_to_roi"] = (out["roi_upper_90"] - out["roi_lower_90"]) / out["roi_mean"].abs()
    out["least_contraction"] = out["channel"].map(least)
    flags = []
    for r in out.itertuples():
        f = []
        if r.least_contraction < PRIOR_DOMINATED:
            f.append(f"mostly prior (contraction {r.least_contraction:.2f} < {PRIOR_DOMINATED})")
        if r.interval_to_roi > 1.0:
            f.append(f"interval wider than ROI ({r.interval_to_roi:.1f}x)")
        flags.append("; ".join(f))
    out["flags"] = flags
    return out


def fit_table(fm: FittedMmm) -> pd.DataFrame:
    """Actual vs posterior-predictive weekly target with a 90% band (noise included)."""
    mu = fm.fitted()
    sigma = noise_sd(fm).reshape(-1, 1)
    rng = np.random.default_rng(0)
    pred = mu + rng.normal(size=mu.shape) * sigma
    return pd.DataFrame(
        {
            "date": pd.to_datetime(fm.data.frame["date"]),
            "actual": fm.data.frame[fm.data.target].to_numpy(dtype=float),
            "fitted": mu.mean(axis=0),
            "lower_90": np.quantile(pred, 0.05, axis=0),
            "upper_90": np.quantile(pred, 0.95, axis=0),
        }
    )


def baseline(fm: FittedMmm) -> np.ndarray:
    """Posterior mean of the non-media part of the target per week (T,): intercept, trend, events, season."""
    return fm.fitted().mean(axis=0) - fm.contributions().sum(axis=2).mean(axis=0)


def noise_sd(fm: FittedMmm) -> np.ndarray:
    """Each draw's sd of one week's observation noise, reporting currency: ``y_sigma``, or with AR(1) noise
    (:mod:`mktdash.budget.noise`) its stationary sd ``y_sigma / sqrt(1 - y_rho^2)``."""
    sigma = fm._stack("y_sigma")
    if "y_rho" in fm.idata.posterior:
        sigma = sigma / np.sqrt(1.0 - fm._stack("y_rho") ** 2)
    return sigma * fm.target_scale


def residual_sd(fm: FittedMmm) -> float:
    """Posterior mean of the observation noise sd, reporting currency."""
    return float(noise_sd(fm).mean())
