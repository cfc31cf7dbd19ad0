"""Posterior response curves as plain numpy arrays: the fast layer under the optimizer, scenarios and widgets.

A fitted MMM is reduced to per-sample, per-channel parameters (adstock weights, saturation parameters, the
spend and target scales). Evaluating a curve is then a few vectorised numpy operations (microseconds), so the
optimizer and the live sliders never touch PyMC. Written by hand because pymc-marketing evaluates curves
through compiled pytensor graphs (seconds to compile, tied to a model object); this module reproduces the same
formulas (``GeometricAdstock`` + ``LogisticSaturation`` / ``HillSaturation``) and is tested against them.

Conventions
-----------
* ``spend`` is weekly spend in the reporting currency; model units are ``spend / spend_scale``.
* Steady state: a constant weekly spend ``s`` gives adstocked input ``s * sum(weights)`` (``= s`` for
  pymc-marketing's normalized adstock, ``s / (1 - decay)`` for the infinite geometric adstock of the demo truth).
* ``beta`` is in the reporting currency (already multiplied by the target scale).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ResponseCurves:
    """Posterior samples of per-channel response curves.

    Parameters
    ----------
    channels : list of str
    alpha : ndarray (S, C)
        Geometric adstock decay per sample and channel.
    lam : ndarray (S, C)
        Logistic: ``lam``; Hill: ``slope``.
    kappa : ndarray (S, C)
        Hill half-saturation in model units (unused for logistic).
    beta : ndarray (S, C)
        Contribution at full saturation, reporting currency per week.
    spend_scale : ndarray (C,)
        Reporting currency per model unit of spend.
    saturation : {"logistic", "hill"}
    l_max : int
        Adstock window in weeks.
    normalize : bool
        Adstock weights sum to one (pymc-marketing's default) or not (``alpha**k``).

    Examples
    --------
    >>> c = ResponseCurves.hill_truth({"a": {"decay": 0.5, "half_saturation": 10.0, "shape": 1.0, "beta": 2.0}})
    >>> round(float(c.response(np.array([5.0])).mean()), 6)  # x = 5 / (1 - 0.5) = 10 = K: half of beta
    1.0
    """

    channels: list[str]
    alpha: np.ndarray
    lam: np.ndarray
    kappa: np.ndarray
    beta: np.ndarray
    spend_scale: np.ndarray
    saturation: str = "logistic"
    l_max: int = 8
    normalize: bool = True
    meta: dict = field(default_factory=dict)

    # ---- construction ------------------------------------------------------------------------------------
    @classmethod
    def hill_truth(cls, channels: dict[str, dict[str, float]], l_max: int = 104) -> ResponseCurves:
        """Curves from known parameters (``decay``, ``half_saturation``, ``shape``, ``beta``), one sample.

        This is the demo world's truth (``x_t = spend_t + decay * x_{t-1}``, Hill saturation).
        """
        names = list(channels)

        def row(key: str) -> np.ndarray:
            return np.array([[float(channels[c][key]) for c in names]])

        return cls(
            channels=names,
            alpha=row("decay"),
            lam=row("shape"),
            kappa=row("half_saturation"),
            beta=row("beta"),
            spend_scale=np.ones(len(names)),
            saturation="hill",
            l_max=l_max,
            normalize=False,
        )

    def subset(self, channels: list[str]) -> ResponseCurves:
        """The curves of some channels only (same order as given)."""
        idx = [self.channels.index(c) for c in channels]
        return ResponseCurves(
            list(channels),
            self.alpha[:, idx],
            self.lam[:, idx],
            self.kappa[:, idx],
            self.beta[:, idx],
            self.spend_scale[idx],
            self.saturation,
            self.l_max,
            self.normalize,
            dict(self.meta),
        )

    @property
    def n_samples(self) -> int:
        return int(self.beta.shape[0])

    # ---- adstock -----------------------------------------------------------------------------------------
    def weights(self) -> np.ndarray:
        """Adstock weights, shape (S, L, C)."""
        k = np.arange(self.l_max)[None, :, None]
        w = self.alpha[:, None, :] ** k
        if self.normalize:
            w = w / w.sum(axis=1, keepdims=True)
        return w

    def steady_multiplier(self) -> np.ndarray:
        """Adstocked input per unit of constant weekly spend, shape (S, C)."""
        if self.normalize:
            return np.ones_like(self.alpha)
        return (1.0 - self.alpha**self.l_max) / (1.0 - self.alpha)

    # ---- saturation --------------------------------------------------------------------------------------
    def _sat(self, x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 0.0)
        if self.saturation == "hill":
            xs = x**self.lam
            return self.beta * xs / (xs + self.kappa**self.lam)
        e = np.exp(-self.lam * x)
        return self.beta * (1.0 - e) / (1.0 + e)

    def _dsat(self, x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 1e-12)
        if self.saturation == "hill":
            ks = self.kappa**self.lam
            xs = x**self.lam
            return self.beta * self.lam * xs / x * ks / (xs + ks) ** 2
        e = np.exp(-self.lam * x)
        return self.beta * self.lam * 2.0 * e / (1.0 + e) ** 2

    # ---- curves ------------------------------------------------------------------------------------------
    def _x(self, spend: np.ndarray) -> np.ndarray:
        return self.steady_multiplier() * (np.asarray(spend, dtype=float) / self.spend_scale)

    def response(self, spend: np.ndarray) -> np.ndarray:
        """Steady-state weekly contribution (S, C) of a constant weekly ``spend`` (C,)."""
        return self._sat(self._x(spend))

    def marginal(self, spend: np.ndarray) -> np.ndarray:
        """d response / d spend (S, C): marginal ROAS at ``spend``."""
        return self._dsat(self._x(spend)) * self.steady_multiplier() / self.spend_scale

    def grid(self, points: int = 60, upto: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Spend grid (P, C) from 0 to ``upto`` (default 3x the spend scale) and responses (S, P, C)."""
        top = np.asarray(upto, dtype=float) if upto is not None else 3.0 * self.spend_scale
        g = np.linspace(0.0, 1.0, points)[:, None] * top[None, :]
        resp = np.stack([self.response(g[i]) for i in range(points)], axis=1)
        return g, resp

    def series(self, spend: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        """Contribution (S, T, C) of a weekly spend path (T, C), with optional prior weeks ``history`` (H, C).

        Time-resolved adstock (carry-over from the history, ramp-up from zero without it).
        """
        spend = np.asarray(spend, dtype=float)
        hist = np.zeros((0, spend.shape[1])) if history is None else np.asarray(history, dtype=float)
        full = np.vstack([hist, spend]) / self.spend_scale  # (H+T, C)
        w = self.weights()  # (S, L, C)
        n = full.shape[0]
        x = np.zeros((self.n_samples, n, spend.shape[1]))
        for k in range(min(self.l_max, n)):
            x[:, k:, :] += w[:, k, None, :] * full[None, : n - k, :]
        return self._sat_series(x)[:, hist.shape[0] :, :]

    def _sat_series(self, x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 0.0)
        lam, beta = self.lam[:, None, :], self.beta[:, None, :]
        if self.saturation == "hill":
            xs = x**lam
            return beta * xs / (xs + self.kappa[:, None, :] ** lam)
        e = np.exp(-lam * x)
        return beta * (1.0 - e) / (1.0 + e)

    def flight_response(self, weekly: np.ndarray, periods: int, tail: bool = True) -> np.ndarray:
        """Total contribution (S,) of ``weekly`` spend held for ``periods`` weeks from zero adstock.

        With ``tail`` the carry-over weeks after the flight (``l_max``) are counted too: this is the objective
        of pymc-marketing's ``BudgetOptimizer`` (``num_periods``), used by the known-answer test.
        """
        weekly = np.asarray(weekly, dtype=float)
        path = np.vstack([np.tile(weekly, (periods, 1)), np.zeros((self.l_max if tail else 0, len(weekly)))])
        return self.series(path).sum(axis=(1, 2))

    def horizon_response(
        self, weekly: np.ndarray, periods: int, current: np.ndarray | None = None
    ) -> np.ndarray:
        """Average weekly contribution (S, C) of ``weekly`` spend held for ``periods`` weeks, carry-over included.

        The weeks before are the steady state of ``current`` (``l_max`` weeks of it; zero adstock without it);
        the ``l_max`` weeks after the horizon (no spend) are counted too, so spend late in the horizon is
        credited with its carry-over. Divided by ``periods``: comparable with :meth:`response` (which is this
        in the limit of a long horizon).
        """
        weekly = np.asarray(weekly, dtype=float)
        path = np.vstack([np.tile(weekly, (periods, 1)), np.zeros((self.l_max, len(weekly)))])
        hist = None if current is None else np.tile(np.asarray(current, dtype=float), (self.l_max, 1))
        return self.series(path, hist).sum(axis=1) / periods
