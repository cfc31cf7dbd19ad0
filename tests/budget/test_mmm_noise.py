"""The MMM's AR(1) observation noise (mktdash.budget.noise): its log-density against the multivariate normal it
stands for, its place in the model and the cache key, and its stationary sd in the bands."""

from __future__ import annotations

from types import SimpleNamespace

import budget_world as bw
import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest
import xarray as xr
from pymc_extras.deserialize import deserialize
from scipy import stats

from mktdash.budget import mmm, noise


def test_ar1_log_density_is_the_multivariate_normal_of_an_ar1_process() -> None:
    """Known answer: a stationary AR(1) of innovation sd s has covariance s^2 / (1 - rho^2) x rho^|i - j|."""
    rng = np.random.default_rng(3)
    n, rho, sigma = 12, 0.7, 0.4
    mu = rng.normal(0, 1, n)
    y = mu + rng.normal(0, 0.6, n)
    lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    cov = sigma**2 / (1 - rho**2) * rho**lag
    expected = stats.multivariate_normal(mean=mu, cov=cov).logpdf(y)
    ours = noise._logp(pt.as_tensor(y), pt.as_tensor(mu), pt.as_tensor(rho), pt.as_tensor(sigma)).eval()
    assert ours.shape == (n,)
    assert ours.sum() == pytest.approx(expected, rel=1e-9)
    # rho = 0: independent Normal weeks
    iid = noise._logp(pt.as_tensor(y), pt.as_tensor(mu), pt.as_tensor(0.0), pt.as_tensor(sigma)).eval()
    assert iid == pytest.approx(stats.norm(mu, sigma).logpdf(y))


def test_ar1_is_the_default_likelihood_in_the_model_and_its_cache_key() -> None:
    frame = pd.DataFrame({"date": pd.date_range("2025-01-06", periods=30, freq="W-MON"), "search": 300.0,
                          "revenue": 1000.0})  # fmt: skip
    data = mmm.MmmData(frame, ["search"], [])
    ar1 = bw.tiny_settings().mmm
    iid = ar1.model_copy(update={"residuals": "iid"})
    assert ar1.residuals == "ar1"
    assert mmm.build(data, ar1).model_config["likelihood"] == noise.Ar1Normal()
    assert mmm.build(data, iid).model_config["likelihood"].distribution == "Normal"
    assert mmm.model_key(data, ar1) != mmm.model_key(data, iid)


def test_a_saved_ar1_likelihood_is_read_back() -> None:
    """PyMC-Marketing saves model_config in the idata's attributes and rebuilds it on ``MMM.load``."""
    noise.register()
    like = noise.Ar1Normal(sigma=1.5)
    assert deserialize(like.to_dict()) == like


def test_noise_sd_is_the_stationary_sd_of_the_ar1_noise() -> None:
    """Innovation sd 0.3 and rho 0.6 (scaled units) are a weekly noise sd of 0.3 / 0.8; times the target scale."""
    post = xr.Dataset(
        {"y_sigma": (("chain", "draw"), [[0.3, 0.3]]), "y_rho": (("chain", "draw"), [[0.6, 0.0]])}
    )
    fm = SimpleNamespace(idata=SimpleNamespace(posterior=post), target_scale=1000.0)
    fm._stack = lambda name: mmm.FittedMmm._stack(fm, name)  # type: ignore[attr-defined]
    assert mmm.noise_sd(fm) == pytest.approx([375.0, 300.0])  # type: ignore[arg-type]
    del post["y_rho"]  # a cache fitted with independent noise
    assert mmm.noise_sd(fm) == pytest.approx([300.0, 300.0])  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_hidden_demand_driver_shows_as_carry_over_and_independent_noise_does_not() -> None:
    """Known answer from the worlds' construction: a synthetic world whose revenue gets an unobserved AR(1)
    demand (0.85 week to week, no proxy) leaves autocorrelated residuals, and the diagnostics name it; a world
    with independent noise does not get the caution."""
    from mktdash.budget import synthetic

    mm = bw.tiny_settings().mmm.model_copy(update={"draws": 150, "tune": 150})
    hidden, _ = synthetic.confounded(weeks=80, seed=2, proxy_noise=None)
    plain, _ = synthetic.simulate(80, seed=3)
    carry = {name: mmm.diagnostics(mmm.fit(d, mm)) for name, d in (("hidden", hidden), ("plain", plain))}
    assert carry["hidden"]["noise_carry_over"] >= mmm.RHO_CAUTION
    assert any("carries over from week to week" in w for w in carry["hidden"]["warnings"])
    assert carry["plain"]["noise_carry_over"] < mmm.RHO_CAUTION
    assert not any("carries over" in w for w in carry["plain"]["warnings"])
