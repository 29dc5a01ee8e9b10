"""Properties, boundaries and closed forms of validation.stats (hypothesis where it helps)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import validation.stats as vs
from validation.stats._auc import _auc_bootstrap
from validation.stats._ranks import auc_from_labels
from validation.stats._roc_curve import _partial_auc_kernel


def _data(seed: int, n: int, dec: int = 1) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = g.integers(0, 2, n)
    y[:4] = [0, 1, 0, 1]
    return y, np.round(g.normal(size=n) + y, dec)


@st.composite
def scored(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(4, 60))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[:4] = [0, 1, 0, 1]
    s = np.array(draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n)), dtype=float)
    return y, s


@pytest.mark.verifies("SRS-STATS-003")
@settings(max_examples=40, deadline=None)
@given(scored())
def test_auc_is_mann_whitney_with_half_ties(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Closed form: mean over all positive-negative pairs of 1{x>y} + ½ 1{x=y}; monotone
    transforms leave it unchanged; flipping the score gives 1 - AUC (direction never inferred)."""
    y, s = data
    x, z = s[y == 1], s[y == 0]
    pairs = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    auc = vs.roc_auc(y, s).value
    assert abs(auc - pairs.mean()) <= 1e-12
    assert vs.roc_auc(y, np.exp(s / 3)).value == auc
    assert abs(vs.roc_auc(y, -s).value - (1 - auc)) <= 1e-12


@pytest.mark.verifies("SRS-STATS-003")
@settings(max_examples=30, deadline=None)
@given(scored())
def test_delong_variance_equals_quadratic_definition(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Fast midrank placements (Sun & Xu 2014) equal DeLong's O(mn) structural components."""
    y, s = data
    x, z = s[y == 1], s[y == 0]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = v10.var(ddof=1) / len(x) + v01.var(ddof=1) / len(z)
    est = vs.roc_auc(y, s, confidence_level=0.9)
    zq = special.ndtri(0.95)
    assert abs(est.ci_low - max(0.0, psi.mean() - zq * math.sqrt(var))) <= 1e-12
    assert abs(est.ci_high - min(1.0, psi.mean() + zq * math.sqrt(var))) <= 1e-12


@pytest.mark.verifies("SRS-STATS-003")
def test_delong_edge_cases() -> None:
    y = np.array([0, 0, 1, 1])
    assert vs.roc_auc(y, [0.1, 0.2, 0.3, 0.4]).to_dict()["ci_low"] == 1.0  # perfect separation: [1, 1]
    one_pos = vs.roc_auc([0, 0, 1], [0.1, 0.5, 0.3])
    assert one_pos.value == 0.5 and math.isnan(one_pos.ci_low) and math.isnan(one_pos.ci_high)


@pytest.mark.verifies("SRS-STATS-004")
def test_delong_test_identical_scores_and_antisymmetry() -> None:
    y, s = _data(1, 80)
    same = vs.delong_test(y, s, s)
    assert same.statistic == 0.0 and same.pvalue == 1.0
    s2 = s + np.random.default_rng(2).normal(size=s.size)
    ab, ba = vs.delong_test(y, s, s2), vs.delong_test(y, s2, s)
    assert abs(ab.statistic + ba.statistic) <= 1e-12 and abs(ab.pvalue - ba.pvalue) <= 1e-12
    g, le = vs.delong_test(y, s, s2, alternative="greater"), vs.delong_test(y, s, s2, alternative="less")
    assert abs(g.pvalue + le.pvalue - 1) <= 1e-12
    un = vs.delong_test_unpaired(y, s, y, s)
    assert un.statistic == 0.0 and un.pvalue == 1.0


@pytest.mark.verifies("SRS-STATS-007", "SRS-STATS-014")
@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize("clustered", [False, True])
def test_fast_auc_bootstrap_equals_generic_bootstrap(method: str, clustered: bool) -> None:
    """The vectorised AUC path draws exactly what bootstrap_ci draws (strata = class, or
    clusters) and gives bit-identical intervals."""
    y, s = _data(5, 150)
    clusters = np.random.default_rng(9).integers(0, 40, y.size) if clustered else None
    fast = vs.roc_auc(y, s, method=f"bootstrap-{method}", n_resamples=400, rng=21, clusters=clusters)  # type: ignore[arg-type]
    kw = {"clusters": clusters} if clustered else {"strata": y}
    slow = vs.bootstrap_ci(lambda a, b: auc_from_labels(a.astype(bool), b), y, s, method=method,  # type: ignore[arg-type]
                           n_resamples=400, rng=21, **kw)
    assert (fast.value, fast.ci_low, fast.ci_high, fast.n) == (slow.value, slow.ci_low, slow.ci_high, slow.n)


@pytest.mark.verifies("SRS-STATS-007")
def test_bootstrap_determinism_and_seed_sensitivity() -> None:
    y, s = _data(3, 200)
    digests = {
        hashlib.sha256(vs.roc_auc(y, s, method="bootstrap_bca", rng=seed, n_resamples=300).to_json().encode()).hexdigest()
        for seed in (7, 7, 8)
    }
    assert len(digests) == 2
    gen_a = vs.roc_auc(y, s, method="bootstrap_percentile", rng=np.random.default_rng(4), n_resamples=200)
    int_a = vs.roc_auc(y, s, method="bootstrap_percentile", rng=4, n_resamples=200)
    assert gen_a == int_a


@pytest.mark.verifies("SRS-STATS-007")
def test_cluster_bootstrap_of_singletons_equals_plain_bootstrap() -> None:
    x = np.random.default_rng(0).normal(size=30)
    plain = vs.bootstrap_ci(np.mean, x, method="bca", rng=3, n_resamples=200)
    single = vs.bootstrap_ci(np.mean, x, method="bca", rng=3, n_resamples=200, clusters=np.arange(30))
    assert abs(plain.ci_low - single.ci_low) <= 1e-12 and abs(plain.ci_high - single.ci_high) <= 1e-12


@pytest.mark.verifies("SRS-STATS-007")
def test_cluster_bootstrap_keeps_patients_whole() -> None:
    """Each resample only contains whole clusters: with a statistic that checks this, no error."""
    patient = np.repeat(np.arange(10), 3)
    values = patient * 10.0

    def stat(v: np.ndarray) -> float:
        counts = np.unique(v, return_counts=True)[1]
        assert np.all(counts % 3 == 0)
        return float(v.mean())

    est = vs.bootstrap_ci(stat, values, method="percentile", rng=1, n_resamples=50, clusters=patient)
    assert est.n == 10 and est.method == "bootstrap_percentile"


@pytest.mark.verifies("SRS-STATS-007")
def test_stratified_bootstrap_keeps_stratum_sizes() -> None:
    y = np.array([0] * 7 + [1] * 3)

    def stat(v: np.ndarray) -> float:
        assert int(v.sum()) == 3
        return float(v.mean())

    vs.bootstrap_ci(stat, y, method="percentile", rng=2, n_resamples=50, strata=y)


@pytest.mark.verifies("SRS-STATS-001")
@pytest.mark.parametrize("method", ["wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"])
def test_proportion_edges(method: str) -> None:
    for k, n in ((0, 1), (1, 1), (0, 25), (25, 25)):
        est = vs.proportion_ci(k, n, method=method)  # type: ignore[arg-type]
        assert 0.0 <= est.ci_low <= est.value <= est.ci_high <= 1.0
        if k == 0:
            assert est.ci_low == 0.0
        if k == n:
            assert est.ci_high == 1.0
    # symmetry k -> n - k
    a, b = vs.proportion_ci(3, 11, method=method), vs.proportion_ci(8, 11, method=method)  # type: ignore[arg-type]
    assert abs(a.ci_low - (1 - b.ci_high)) <= 1e-12 and abs(a.ci_high - (1 - b.ci_low)) <= 1e-12


@pytest.mark.verifies("SRS-STATS-002")
def test_diagnostic_zero_cells_documented_bounds() -> None:
    r = vs.diagnostic_accuracy(tp=10, fp=0, fn=2, tn=20, method="wilson")
    assert r.lr_positive.value == math.inf and (r.lr_positive.ci_low, r.lr_positive.ci_high) == (0.0, math.inf)
    assert r.diagnostic_odds_ratio.value == math.inf and r.diagnostic_odds_ratio.ci_high == math.inf
    r = vs.diagnostic_accuracy(tp=0, fp=0, fn=0, tn=20, method="wilson")
    assert math.isnan(r.sensitivity.value) and math.isnan(r.sensitivity.ci_low) and r.sensitivity.n == 0
    assert math.isnan(r.ppv.value) and math.isnan(r.lr_positive.value)
    assert vs.DiagnosticAccuracyResult.from_json(r.to_json()).to_json() == r.to_json()


@pytest.mark.verifies("SRS-STATS-002")
def test_predictive_values_at_prevalence_bayes_and_logit_ci() -> None:
    """Bayes' theorem for the value; Mercaldo et al. (2007) logit interval (closed form)."""
    tp, fp, fn, tn, p = 45, 10, 5, 90, 0.02
    r = vs.diagnostic_accuracy(tp=tp, fp=fp, fn=fn, tn=tn, method="wilson", prevalence=p)
    se, sp = tp / 50, tn / 100
    ppv = se * p / (se * p + (1 - sp) * (1 - p))
    assert abs(r.ppv.value - ppv) <= 1e-15 and r.prevalence == p
    var = (1 - se) / se / 50 + sp / (1 - sp) / 100
    z = special.ndtri(0.975)
    lo = special.expit(special.logit(ppv) - z * math.sqrt(var))
    assert abs(r.ppv.ci_low - lo) <= 1e-12 and r.ppv.method == "logit"
    npv = sp * (1 - p) / (sp * (1 - p) + (1 - se) * p)
    assert abs(r.npv.value - npv) <= 1e-15


@pytest.mark.verifies("SRS-STATS-006")
def test_partial_auc_full_range_is_auc() -> None:
    y, s = _data(2, 120)
    pos = y == 1
    auc = vs.roc_auc(y, s).value
    assert abs(_partial_auc_kernel(pos, s, 1.0, 0.0, "specificity", False, False) - auc) <= 1e-12
    assert abs(_partial_auc_kernel(pos, s, 1.0, 0.0, "sensitivity", False, False) - auc) <= 1e-12
    # McClish on the full range is the identity
    assert abs(_partial_auc_kernel(pos, s, 1.0, 0.0, "specificity", True, False) - auc) <= 1e-12
    est = vs.partial_auc(y, s, bounds=(0.9, 1.0), correct=True, method="bootstrap_bca", n_resamples=100, rng=0)
    assert 0.0 <= est.ci_low <= est.ci_high <= 1.0


@pytest.mark.verifies("SRS-STATS-010")
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), frac=st.floats(0, 1), goal=st.floats(0.05, 0.95),
       method=st.sampled_from(["wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"]))
def test_goal_test_pvalue_is_dual_of_ci(n: int, frac: float, goal: float, method: str) -> None:
    """Goal met (CI lower bound > goal) exactly when p < (1 - confidence_level)/2."""
    k = int(round(frac * n))
    for cl in (0.9, 0.95):
        r = vs.performance_goal_test(k, n, goal=goal, method=method, confidence_level=cl)  # type: ignore[arg-type]
        assert r.estimate is not None
        if abs(r.estimate.ci_low - goal) > 1e-9:
            assert (r.estimate.ci_low > goal) == (r.pvalue < (1 - cl) / 2)
        ll = vs.performance_goal_test(k, n, goal=goal, method=method, confidence_level=cl, alternative="less")  # type: ignore[arg-type]
        if abs(ll.estimate.ci_high - goal) > 1e-9:  # type: ignore[union-attr]
            assert (ll.estimate.ci_high < goal) == (ll.pvalue < (1 - cl) / 2)  # type: ignore[union-attr]


@pytest.mark.verifies("SRS-STATS-010")
@settings(max_examples=30, deadline=None)
@given(k1=st.integers(0, 60), k2=st.integers(0, 60), margin=st.floats(0.0, 0.3))
def test_non_inferiority_pvalue_is_dual_of_newcombe_bound(k1: int, k2: int, margin: float) -> None:
    r = vs.non_inferiority_test(k1, 60, k2, 60, margin=margin, method="newcombe")
    assert r.estimate is not None
    if abs(r.estimate.ci_low + margin) > 1e-9:
        assert (r.estimate.ci_low > -margin) == (r.pvalue < 0.025)
    t = [[k1, 60 - k1], [k2, 60 - k2]]
    rp = vs.non_inferiority_test_paired(t, margin=margin, method="newcombe")
    assert rp.estimate is not None
    if abs(rp.estimate.ci_low + margin) > 1e-9:
        assert (rp.estimate.ci_low > -margin) == (rp.pvalue < 0.025)


@pytest.mark.verifies("SRS-STATS-008")
def test_mcnemar_no_discordant_pairs() -> None:
    for m in ("exact", "mid_p", "asymptotic", "asymptotic_cc"):
        r = vs.mcnemar_test([[5, 0], [0, 7]], method=m)  # type: ignore[arg-type]
        assert r.pvalue == 1.0 and r.estimate is not None and r.estimate.value == 0.0


@pytest.mark.verifies("SRS-STATS-011")
def test_adjust_pvalues_order_and_bounds() -> None:
    p = [0.04, 0.001, 0.03, 0.5]
    r = vs.adjust_pvalues(p, method="holm")
    assert r.adjusted == (0.09, 0.004, 0.09, 0.5)
    assert r.reject(0.05) == (False, True, False, False)
    assert vs.AdjustedPValuesResult.from_json(r.to_json()) == r


@pytest.mark.verifies("SRS-STATS-014")
def test_fast_auc_bootstrap_handles_large_n_quickly() -> None:
    """Smoke test of the memory-chunked path (no timing assertion)."""
    y, s = _data(0, 20000, 3)
    est = _auc_bootstrap(y == 1, s, "bootstrap_percentile", 0.95, 50, np.random.default_rng(0), None)
    assert est.ci_low < est.value < est.ci_high


@pytest.mark.verifies("SRS-STATS-007")
def test_cluster_bootstrap_within_strata_keeps_cluster_counts_per_stratum() -> None:
    """With strata and clusters, clusters are resampled within their stratum (site, say)."""
    patient = np.repeat(np.arange(8), 2)
    site = (patient >= 5).astype(int)  # 5 patients at site 0, 3 at site 1
    rows = np.arange(16)

    def stat(r: np.ndarray) -> float:
        assert int(np.count_nonzero(site[r] == 1)) == 6  # 3 patients x 2 rows, always
        return float(r.mean())

    est = vs.bootstrap_ci(stat, rows, method="percentile", rng=4, n_resamples=40, strata=site, clusters=patient)
    assert est.n == 8
