"""validation.stats against importable peers called live: scikit-learn (roc_auc_score,
roc_curve), statsmodels (proportion_confint, confint_proportions_2indep, mcnemar,
multipletests), SciPy (bootstrap), plus published tables (Newcombe 1998)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from validation.stats import (
    adjust_pvalues,
    bootstrap_ci,
    mcnemar_test,
    operating_point,
    paired_proportion_difference_ci,
    proportion_ci,
    proportion_difference_ci,
    roc_auc,
    roc_curve,
)

TOL = 1e-10


def _data(seed: int, n: int, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = g.integers(0, 2, n)
    y[:2] = [0, 1]
    s = np.round(g.normal(size=n) + y, decimals)
    return y, s


@pytest.mark.verifies("SRS-STATS-003")
@pytest.mark.parametrize("seed,n,dec", [(0, 10, 0), (1, 100, 1), (2, 1000, 2), (3, 5000, 6), (4, 7, 0)])
def test_auc_equals_sklearn(seed: int, n: int, dec: int) -> None:
    y, s = _data(seed, n, dec)
    assert abs(roc_auc(y, s).value - roc_auc_score(y, s)) <= TOL


@pytest.mark.verifies("SRS-STATS-005")
@pytest.mark.parametrize("seed,n,dec", [(0, 10, 0), (1, 100, 1), (2, 500, 3)])
def test_roc_curve_equals_sklearn(seed: int, n: int, dec: int) -> None:
    """scikit-learn roc_curve(drop_intermediate=False): same points, same order."""
    y, s = _data(seed, n, dec)
    fpr, tpr, thr = sk_roc_curve(y, s, drop_intermediate=False)
    c = roc_curve(y, s)
    np.testing.assert_array_equal(np.array(c.fpr), fpr)
    np.testing.assert_array_equal(np.array(c.tpr), tpr)
    np.testing.assert_array_equal(np.array(c.thresholds[1:]), thr[1:])
    assert c.thresholds[0] == np.inf


@pytest.mark.verifies("SRS-STATS-001")
@pytest.mark.parametrize("ours,sm", [("wilson", "wilson"), ("clopper_pearson", "beta"), ("agresti_coull", "agresti_coull"), ("jeffreys", "jeffreys")])
@pytest.mark.parametrize("k,n", [(1, 1), (0, 1), (1, 5), (3, 17), (50, 100), (99, 100), (1, 1000), (0, 7), (7, 7)])
@pytest.mark.parametrize("cl", [0.95, 0.9])
def test_proportion_ci_equals_statsmodels(ours: str, sm: str, k: int, n: int, cl: float) -> None:
    """statsmodels proportion_confint; Jeffreys at k = 0 / k = n differs by design (bound fixed
    at 0 / 1, Brown-Cai-DasGupta 2001), which this test checks instead."""
    est = proportion_ci(k, n, method=ours, confidence_level=cl)  # type: ignore[arg-type]
    lo, hi = proportion_confint(k, n, alpha=1 - cl, method=sm)
    if ours == "jeffreys" and k == 0:
        assert est.ci_low == 0.0
    else:
        assert abs(est.ci_low - lo) <= TOL
    if ours == "jeffreys" and k == n:
        assert est.ci_high == 1.0
    else:
        assert abs(est.ci_high - hi) <= TOL


@pytest.mark.verifies("SRS-STATS-001")
@pytest.mark.parametrize(
    "k,n,wilson,wilson_cc",
    [  # Newcombe (1998) Stat Med 17:857, Table II, methods 3 and 4 (4 decimals)
        (81, 263, (0.2553, 0.3662), (0.2535, 0.3682)),
        (15, 148, (0.0624, 0.1605), (0.0598, 0.1644)),
        (0, 20, (0.0, 0.1611), (0.0, 0.2005)),
        (1, 29, (0.0061, 0.1718), (0.0018, 0.1963)),
    ],
)
def test_proportion_ci_newcombe_published_table(k: int, n: int, wilson: tuple, wilson_cc: tuple) -> None:
    for method, ref in (("wilson", wilson), ("wilson_cc", wilson_cc)):
        est = proportion_ci(k, n, method=method)  # type: ignore[arg-type]
        assert round(est.ci_low, 4) == ref[0] and round(est.ci_high, 4) == ref[1]


@pytest.mark.verifies("SRS-STATS-009")
@pytest.mark.parametrize("k1,n1,k2,n2", [(56, 70, 48, 80), (9, 10, 3, 10), (0, 10, 0, 20), (10, 10, 0, 20), (6, 7, 2, 7), (5, 56, 0, 29)])
def test_newcombe_unpaired_equals_statsmodels(k1: int, n1: int, k2: int, n2: int) -> None:
    """statsmodels confint_proportions_2indep(method="newcomb") = Newcombe 1998 method 10."""
    est = proportion_difference_ci(k1, n1, k2, n2, method="newcombe")
    lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
    assert abs(est.ci_low - lo) <= TOL and abs(est.ci_high - hi) <= TOL


@pytest.mark.verifies("SRS-STATS-009")
def test_newcombe_unpaired_published_example() -> None:
    """Newcombe (1998) Stat Med 17:873, Table II, 56/70 vs 48/80, method 10: 0.0524 to 0.3339."""
    est = proportion_difference_ci(56, 70, 48, 80, method="newcombe")
    assert round(est.ci_low, 4) == 0.0524 and round(est.ci_high, 4) == 0.3339


def _paired_newcombe_closed_form(t: list[list[int]], z: float = 1.959963984540054) -> tuple[float, float]:
    """Independent transcription of Fagerland, Lydersen & Laake (2014) / Newcombe (1998b)
    method 10 (the square-and-add interval with corrected phi)."""
    (a, b), (c, d) = t
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n

    def wilson(k: int) -> tuple[float, float]:
        ctr = (2 * k + z * z) / (2 * (n + z * z))
        h = z * np.sqrt(z * z + 4 * k * (1 - k / n)) / (2 * (n + z * z))
        return ctr - h, ctr + h

    l1, u1 = wilson(a + b)
    l2, u2 = wilson(a + c)
    margins = [a + b, c + d, a + c, b + d]
    if min(margins) == 0:
        psi = 0.0
    else:
        big_a = a * d - b * c
        root = np.sqrt(np.prod(np.array(margins, dtype=float)))
        psi = (big_a - n / 2) / root if big_a > n / 2 else (0.0 if big_a >= 0 else big_a / root)
    low = (p1 - p2) - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * psi * (p1 - l1) * (u2 - p2))
    high = (p1 - p2) + np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * psi * (p2 - l2) * (u1 - p1))
    return float(low), float(high)


@pytest.mark.verifies("SRS-STATS-009")
@pytest.mark.parametrize("table", [[[1, 1], [7, 12]], [[59, 6], [16, 80]], [[40, 5], [9, 46]], [[10, 0], [0, 10]], [[3, 2], [2, 3]]])
def test_newcombe_paired_closed_form(table: list[list[int]]) -> None:
    est = paired_proportion_difference_ci(table, method="newcombe")
    lo, hi = _paired_newcombe_closed_form(table)
    assert abs(est.ci_low - lo) <= TOL and abs(est.ci_high - hi) <= TOL


@pytest.mark.verifies("SRS-STATS-008")
@pytest.mark.parametrize("table", [[[40, 5], [9, 46]], [[10, 12], [3, 20]], [[5, 0], [0, 5]], [[2, 9], [1, 0]]])
def test_mcnemar_equals_statsmodels(table: list[list[int]]) -> None:
    ex = sm_mcnemar(table, exact=True)
    assert abs(mcnemar_test(table, method="exact").pvalue - ex.pvalue) <= TOL
    b, c = table[0][1], table[1][0]
    if b + c:
        for corr, method in ((True, "asymptotic_cc"), (False, "asymptotic")):
            r = sm_mcnemar(table, exact=False, correction=corr)
            ours = mcnemar_test(table, method=method)  # type: ignore[arg-type]
            assert abs(ours.pvalue - r.pvalue) <= TOL and abs(ours.statistic - r.statistic) <= TOL


@pytest.mark.verifies("SRS-STATS-008")
@pytest.mark.parametrize("b,c", [(5, 9), (0, 4), (12, 3), (7, 7)])
def test_mcnemar_mid_p_closed_form(b: int, c: int) -> None:
    """Fagerland et al. (2013): mid-p = 2 P(X <= min) - P(X = min), X ~ Bin(b + c, 1/2)."""
    k, nd = min(b, c), b + c
    want = min(1.0, 2 * sps.binom.cdf(k, nd, 0.5) - sps.binom.pmf(k, nd, 0.5))
    assert abs(mcnemar_test([[3, b], [c, 4]], method="mid_p").pvalue - want) <= TOL


@pytest.mark.verifies("SRS-STATS-011")
@pytest.mark.parametrize("ours,sm", [("holm", "holm"), ("bonferroni", "bonferroni"), ("benjamini_hochberg", "fdr_bh")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adjust_pvalues_equals_statsmodels(ours: str, sm: str, seed: int) -> None:
    g = np.random.default_rng(seed)
    p = g.uniform(size=25) ** 3
    p[5] = p[7]
    got = np.array(adjust_pvalues(p, method=ours).adjusted)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, multipletests(p, method=sm)[1], rtol=0, atol=TOL)
    reject = adjust_pvalues(p, method=ours).reject(0.05)  # type: ignore[arg-type]
    assert list(reject) == list(multipletests(p, alpha=0.05, method=sm)[0])


@pytest.mark.verifies("SRS-STATS-007")
@pytest.mark.parametrize("method,sp_method", [("percentile", "percentile"), ("bca", "BCa")])
def test_bootstrap_equals_scipy(method: str, sp_method: str) -> None:
    """Without strata/clusters the draws are scipy.stats.bootstrap's: identical intervals."""
    x = np.random.default_rng(3).exponential(size=40)
    ours = bootstrap_ci(np.mean, x, method=method, n_resamples=999, rng=11)  # type: ignore[arg-type]
    ref = sps.bootstrap((x,), np.mean, method=sp_method, n_resamples=999, rng=np.random.default_rng(11), vectorized=False)
    assert abs(ours.ci_low - ref.confidence_interval.low) <= TOL
    assert abs(ours.ci_high - ref.confidence_interval.high) <= TOL
    vec = bootstrap_ci(lambda a: a.mean(axis=-1), x, method=method, n_resamples=999, rng=11, vectorized=True)  # type: ignore[arg-type]
    assert (vec.ci_low, vec.ci_high) == (ours.ci_low, ours.ci_high)


@pytest.mark.verifies("SRS-STATS-005")
def test_operating_point_counts_score_at_threshold_as_positive() -> None:
    y = [1, 1, 0, 0, 1, 0]
    s = [0.5, 0.7, 0.5, 0.1, 0.2, 0.49]
    r = operating_point(y, s, threshold=0.5, method="wilson")
    # positives at >= 0.5: indices 0, 1, 2 -> tp = 2, fp = 1, fn = 1, tn = 2
    assert r.sensitivity.value == 2 / 3 and r.specificity.value == 2 / 3
    assert r.ppv.value == 2 / 3 and r.npv.value == 2 / 3
