"""The hand-held distribution tails and BH adjustment agree with scipy.stats and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from mktdash.analytics import significance


def test_tails_match_scipy_stats() -> None:
    x = np.array([-np.inf, -4.0, -1.3, 0.0, 0.7, 2.5, 6.0, np.inf])
    np.testing.assert_allclose(significance.norm_sf(x), stats.norm.sf(x), rtol=1e-12, atol=0)
    for df in (1, 3, 11.5, 200):
        np.testing.assert_allclose(significance.t_sf(x, df), stats.t.sf(x, df), rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(significance.t_cdf(x, df), stats.t.cdf(x, df), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(significance.CHI2_1_MEDIAN, stats.chi2.median(1), rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_bh_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 1e-3, size=5), [0.02, 0.02, 1.0]])
    rng.shuffle(p)
    np.testing.assert_allclose(significance.bh_adjust(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def test_bh_known_answer() -> None:
    # p = .01, .04, .03, .20 -> sorted .01 .03 .04 .20, x n/rank = .04 .06 .0533 .20, cumulative min from the top
    q = significance.bh_adjust([0.01, 0.04, 0.03, 0.20])
    np.testing.assert_allclose(q, [0.04, 0.05333333333333334, 0.05333333333333334, 0.20])
    assert significance.bh_adjust([]).size == 0
