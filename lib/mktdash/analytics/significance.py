"""The distribution tails and the Benjamini-Hochberg adjustment the alert and fatigue tests use.

On ``scipy.special`` rather than ``scipy.stats`` and statsmodels' ``multipletests``: importing those two costs
~1.3 s in every kernel that reports (measured with ``python -X importtime``), ``scipy.special`` ~0.25 s.
``tests/analytics/test_significance.py`` checks each function against scipy.stats and statsmodels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

CHI2_1_MEDIAN = float(special.chdtri(1, 0.5))  # median of chi-squared with 1 df (~0.455)


def norm_sf(z: Any) -> Any:
    """P(Z > z) for a standard normal."""
    return special.ndtr(-np.asarray(z, dtype=float))


def t_sf(t: Any, df: Any) -> Any:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    return special.stdtr(df, -np.asarray(t, dtype=float))


def t_cdf(t: Any, df: Any) -> Any:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    return special.stdtr(df, np.asarray(t, dtype=float))


def bh_adjust(p: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given."""
    p = np.asarray(p, dtype=float)
    n = p.size
    order = np.argsort(p)
    stepped = p[order] * n / np.arange(1, n + 1)
    q = np.minimum(np.minimum.accumulate(stepped[::-1])[::-1], 1.0)
    out = np.empty(n)
    out[order] = q
    return out
