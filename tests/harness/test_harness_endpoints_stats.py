"""Every harness endpoint is one `validation.stats` call: the harness gives the same answer as
the stats function on ordinary and degenerate input (all-positive truth, constant scores,
constant replicates, n = 1, empty subgroup), and the new stats pieces it needs equal their
peers (scipy.stats.bootstrap, statsmodels combine_effects, pROC var)."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects

from validation import stats as S
from validation.harness._endpoints import CaseData, estimate_endpoint
from validation.harness._protocol import REF_NONEMPTY, Acceptance, Endpoint

PROPORTION = ["wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"]
BOOT = ["bootstrap_percentile", "bootstrap_bca"]
BINARY = ["sensitivity", "specificity", "ppv", "npv"]
REPS = 300


def _ep(metric: str, ci: str) -> Endpoint:
    return Endpoint(id="e", metric=metric, ci=ci, confidence_level=0.95, acceptance=Acceptance(value_at_least=0.5))


def _data(y: np.ndarray, score: np.ndarray, seg: np.ndarray | None = None, threshold: float = 0.5) -> CaseData:
    n = y.size
    seg = np.linspace(0.2, 0.9, n) if seg is None else seg
    return CaseData(case_ids=np.array([f"C{i}" for i in range(n)], dtype=object), y=y.astype(np.int8),
                    score=score, pred=(score >= threshold).astype(np.int8),
                    seg={"dice": seg, REF_NONEMPTY: np.ones(n)})


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _assert_same(est: S.Estimate, ref: S.Estimate) -> None:
    assert _same(est.value, ref.value) and _same(est.ci_low, ref.ci_low) and _same(est.ci_high, ref.ci_high), (est, ref)
    assert est.n == ref.n and est.method == ref.method


def _ordinary() -> CaseData:
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(25, int), np.zeros(35, int)]
    return _data(y, np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.25, y.size), 0, 1),
                 seg=rng.uniform(0.3, 0.95, y.size))


def _ref_counts(metric: str, d: CaseData, idx: np.ndarray) -> tuple[int, int]:
    y, p = d.y[idx], d.pred[idx]  # type: ignore[index]
    tp, fp = int(np.sum((y == 1) & (p == 1))), int(np.sum((y == 0) & (p == 1)))
    fn, tn = int(np.sum((y == 1) & (p == 0))), int(np.sum((y == 0) & (p == 0)))
    return {"sensitivity": (tp, tp + fn), "specificity": (tn, tn + fp), "ppv": (tp, tp + fp),
            "npv": (tn, tn + fn)}[metric]


# ------------------------------------------------------------------ ordinary input, every endpoint
@pytest.mark.parametrize("metric", BINARY)
@pytest.mark.parametrize("ci", PROPORTION)
def test_proportion_endpoints_are_proportion_ci(metric: str, ci: str) -> None:
    d = _ordinary()
    idx = np.arange(60)
    r = estimate_endpoint(_ep(metric, ci), d, idx, replicates=REPS, rng=np.random.default_rng(0))
    k, n = _ref_counts(metric, d, idx)
    _assert_same(r["estimate"], S.proportion_ci(k, n, method=ci))  # type: ignore[arg-type]


@pytest.mark.parametrize("ci,method", [("delong", "delong"), ("bootstrap_percentile", "bootstrap_percentile"),
                                       ("bootstrap_bca", "bootstrap_bca")])
def test_auc_endpoint_is_roc_auc(ci: str, method: str) -> None:
    d = _ordinary()
    idx = np.arange(60)
    r = estimate_endpoint(_ep("roc_auc", ci), d, idx, replicates=REPS, rng=np.random.default_rng(4))
    kw = {} if ci == "delong" else {"n_resamples": REPS, "rng": np.random.default_rng(4)}
    _assert_same(r["estimate"], S.roc_auc(d.y, d.score, method=method, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("ci,method,sp_method", [("bootstrap_percentile", "percentile", "percentile"),
                                                  ("bootstrap_bca", "bca", "BCa")])
def test_segmentation_endpoint_is_bootstrap_ci_and_equals_scipy(ci: str, method: str, sp_method: str) -> None:
    """The mean-of-cases interval equals scipy.stats.bootstrap (same draws) to 1e-12."""
    d = _ordinary()
    r = estimate_endpoint(_ep("dice", ci), d, np.arange(60), replicates=REPS,
                          rng=np.random.default_rng(9))
    ref = S.bootstrap_ci(lambda a: a.mean(axis=-1), d.seg["dice"], method=method, n_resamples=REPS,  # type: ignore[arg-type]
                         rng=np.random.default_rng(9), vectorized=True)
    _assert_same(r["estimate"], ref)
    sp = sps.bootstrap((d.seg["dice"],), np.mean, method=sp_method, n_resamples=REPS,
                       rng=np.random.default_rng(9), vectorized=False)
    assert abs(r["estimate"].ci_low - sp.confidence_interval.low) <= 1e-12
    assert abs(r["estimate"].ci_high - sp.confidence_interval.high) <= 1e-12


@pytest.mark.parametrize("metric", BINARY)
@pytest.mark.parametrize("ci", BOOT)
def test_binary_bootstrap_endpoint_is_bootstrap_interval_of_case_resampling(metric: str, ci: str) -> None:
    """Binomial count draws are case resampling within truth class; with the same replicates,
    the interval is `bootstrap_interval`, which equals `bootstrap_ci`'s interval step."""
    d = _ordinary()
    idx = np.arange(60)
    r = estimate_endpoint(_ep(metric, ci), d, idx, replicates=REPS, rng=np.random.default_rng(2))
    k, n = _ref_counts(metric, d, idx)
    est = r["estimate"]
    assert est.value == k / n and est.method == ci and est.n == n
    assert est.ci_low <= est.value <= est.ci_high
    # the replicates: law of case resampling within class -> compare the replicate mean
    # (binomial draws) to the bootstrap expectation k/n of sensitivity/specificity
    if metric in ("sensitivity", "specificity"):
        assert abs((est.ci_low + est.ci_high) / 2 - k / n) < 0.1


def test_bootstrap_interval_equals_bootstrap_ci_on_the_same_replicates() -> None:
    x = np.random.default_rng(3).exponential(size=40)
    for method in ("percentile", "bca"):
        ref = S.bootstrap_ci(lambda a: a.mean(axis=-1), x, method=method, n_resamples=500, rng=5, vectorized=True)  # type: ignore[arg-type]
        idx = np.random.default_rng(5).integers(0, 40, size=(500, 40))
        jack = (x.sum() - x) / 39
        got = S.bootstrap_interval(x[idx].mean(axis=-1), float(x.mean()), method=method, theta_jack=jack)  # type: ignore[arg-type]
        assert abs(got.ci_low - ref.ci_low) <= 1e-12 and abs(got.ci_high - ref.ci_high) <= 1e-12
        assert got.method == ref.method


# ------------------------------------------------------------------ degenerate input
def test_constant_replicates_bca_is_that_of_validation_stats() -> None:
    """Constant replicates: BCa is what `validation.stats` gives (NaN when they differ from the
    estimate: infinite bias correction), never a clamped (c, c)."""
    reps = np.full(200, 0.99)
    for theta in (0.99, 0.99 + 1e-16, 0.5):
        got = S.bootstrap_interval(reps, theta, method="bca", theta_jack=np.full(10, theta))
        lo, hi = S._bootstrap.bca_interval(reps, theta, np.full(10, theta), 0.95)  # the stats kernel
        assert _same(got.ci_low, lo) and _same(got.ci_high, hi)
    assert np.isnan([S.bootstrap_interval(reps, 0.5, method="bca", theta_jack=np.full(10, 0.5)).ci_low]).all()
    # constant per-case segmentation values: every replicate equals the mean
    d = _data(np.r_[np.ones(5, int), np.zeros(5, int)], np.linspace(0, 1, 10), seg=np.full(10, 0.99))
    for ci, method in (("bootstrap_percentile", "percentile"), ("bootstrap_bca", "bca")):
        r = estimate_endpoint(_ep("dice", ci), d, np.arange(10), replicates=REPS,
                              rng=np.random.default_rng(1))
        ref = S.bootstrap_ci(lambda a: a.mean(axis=-1), d.seg["dice"], method=method, n_resamples=REPS,  # type: ignore[arg-type]
                             rng=np.random.default_rng(1), vectorized=True)
        _assert_same(r["estimate"], ref)


@pytest.mark.parametrize("metric", BINARY)
@pytest.mark.parametrize("ci", PROPORTION + BOOT)
@pytest.mark.parametrize("case", ["all_positive", "all_negative", "constant_score", "n1", "empty"])
def test_degenerate_binary_endpoints(metric: str, ci: str, case: str) -> None:
    y = {"all_positive": np.ones(8, int), "all_negative": np.zeros(8, int), "constant_score": np.r_[1, 1, 1, 0, 0, 0],
         "n1": np.array([1]), "empty": np.array([1, 0])}[case]
    score = np.full(y.size, 0.7) if case == "constant_score" else np.linspace(0.2, 0.9, y.size)
    d = _data(y, score)
    idx = np.array([], dtype=int) if case == "empty" else np.arange(y.size)
    r = estimate_endpoint(_ep(metric, ci), d, idx, replicates=REPS, rng=np.random.default_rng(0))
    est = r["estimate"]
    k, n = _ref_counts(metric, d, idx)
    if n == 0:  # no denominator: no estimate, no interval, a note
        assert math.isnan(est.value) and math.isnan(est.ci_low) and math.isnan(est.ci_high) and est.n == 0
        assert r["notes"]
    elif ci in PROPORTION:
        _assert_same(est, S.proportion_ci(k, n, method=ci))  # type: ignore[arg-type]
    elif metric in ("sensitivity", "specificity"):
        # replicates: binomial counts of the positives (drawn first), then of the negatives
        rng = np.random.default_rng(0)
        y_, p_ = d.y[idx], d.pred[idx]  # type: ignore[index]
        m, tp = int(np.sum(y_ == 1)), int(np.sum((y_ == 1) & (p_ == 1)))
        tps = rng.binomial(m, tp / m, REPS) if m else np.zeros(REPS)
        reps = tps / m if metric == "sensitivity" else rng.binomial(n, k / n, REPS) / n
        jack = np.r_[np.full(k, (k - 1) / (n - 1) if n > 1 else math.nan),
                     np.full(n - k, k / (n - 1) if n > 1 else math.nan)]
        ref = S.bootstrap_interval(reps, k / n, method=ci.removeprefix("bootstrap_"), theta_jack=jack, n=n)  # type: ignore[arg-type]
        _assert_same(est, ref)
    else:
        assert est.value == k / n and (math.isnan(est.ci_low) or est.ci_low <= est.value <= est.ci_high)


@pytest.mark.parametrize("ci", ["delong", *BOOT])
@pytest.mark.parametrize("case", ["all_positive", "one_negative", "n1", "empty"])
def test_degenerate_auc_endpoint_has_no_interval(ci: str, case: str) -> None:
    """Fewer than 2 cases of a class: `roc_auc` refuses (bootstrap) or gives NaN bounds
    (DeLong); the harness reports NaN with a note and never raises."""
    y = {"all_positive": np.ones(6, int), "one_negative": np.r_[1, 1, 1, 0], "n1": np.array([1]),
         "empty": np.array([1, 0])}[case]
    d = _data(y, np.linspace(0.1, 0.9, y.size))
    idx = np.array([], dtype=int) if case == "empty" else np.arange(y.size)
    r = estimate_endpoint(_ep("roc_auc", ci), d, idx, replicates=REPS, rng=np.random.default_rng(0))
    assert math.isnan(r["estimate"].ci_low) and math.isnan(r["estimate"].ci_high) and r["notes"]
    if case == "one_negative" and ci == "delong":
        assert math.isnan(S.roc_auc(y, d.score, method="delong").ci_low)


@pytest.mark.parametrize("ci", ["delong", *BOOT])
def test_constant_scores_auc_equals_roc_auc(ci: str) -> None:
    y = np.r_[np.ones(6, int), np.zeros(6, int)]
    d = _data(y, np.full(12, 0.4))
    method = ci  # the protocol's CI names are the validation.stats names
    kw = {} if ci == "delong" else {"n_resamples": REPS, "rng": np.random.default_rng(3)}
    r = estimate_endpoint(_ep("roc_auc", ci), d, np.arange(12), replicates=REPS,
                          rng=np.random.default_rng(3))
    _assert_same(r["estimate"], S.roc_auc(y, d.score, method=method, **kw))  # type: ignore[arg-type]
    assert r["estimate"].value == 0.5


@pytest.mark.parametrize("ci", BOOT)
@pytest.mark.parametrize("n", [0, 1])
def test_degenerate_segmentation_endpoint(ci: str, n: int) -> None:
    d = _data(np.r_[1, 0], np.r_[0.9, 0.1], seg=np.r_[0.8, 0.6])
    r = estimate_endpoint(_ep("dice", ci), d, np.arange(n), replicates=REPS,
                          rng=np.random.default_rng(0))
    est = r["estimate"]
    assert math.isnan(est.ci_low) and math.isnan(est.ci_high) and est.n == n and r["notes"]
    assert (math.isnan(est.value) if n == 0 else est.value == 0.8)


# ------------------------------------------------------------------ the new stats pieces vs peers
def test_cochran_q_test_equals_statsmodels() -> None:
    """statsmodels 0.14 combine_effects(...).q and df; p = chi2.sf(q, df)."""
    eff = np.array([0.81, 0.72, 0.90, 0.66])
    var = np.array([0.010, 0.020, 0.015, 0.030])
    t = S.cochran_q_test(eff, var)
    ref = combine_effects(eff, var)
    assert abs(t.statistic - ref.q) <= 1e-12 and t.estimate.n - 1 == ref.df
    assert abs(t.pvalue - sps.chi2.sf(ref.q, ref.df)) <= 1e-12
    assert abs(t.estimate.value - ref.mean_effect_fe) <= 1e-12
    # unusable entries are left out; fewer than 2 usable: no test
    t2 = S.cochran_q_test(np.r_[eff, np.nan, 0.5], np.r_[var, 0.01, 0.0])
    assert t2.statistic == t.statistic
    assert math.isnan(S.cochran_q_test([0.8, np.nan], [0.01, 0.01]).pvalue)
    assert math.isnan(S.cochran_q_test([], []).statistic)


def test_roc_auc_variance_is_the_delong_interval_variance() -> None:
    """Closed form: the unclipped DeLong interval is auc ± z sqrt(var)."""
    d = _ordinary()
    est = S.roc_auc(d.y, d.score, method="delong")
    z = sps.norm.ppf(0.975)
    assert abs(math.sqrt(S.roc_auc_variance(d.y, d.score)) * z - (est.ci_high - est.value)) <= 1e-12
    assert math.isnan(S.roc_auc_variance([1, 0, 0], [0.9, 0.1, 0.2]))


@pytest.mark.needs_r
def test_roc_auc_variance_equals_proc_var() -> None:
    """Calls Rscript now: pROC var(roc(...), method="delong")."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    d = _ordinary()
    ys = ",".join(str(int(v)) for v in d.y)  # type: ignore[union-attr]
    ss = ",".join(repr(float(v)) for v in d.score)  # type: ignore[union-attr]
    code = (f"suppressMessages(library(pROC)); r <- roc(c({ys}), c({ss}), levels=c(0,1), direction='<', quiet=TRUE);"
            "cat(sprintf('%.17g', var(r, method='delong')))")
    res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        pytest.skip(f"pROC unavailable: {res.stderr[-200:]}")
    assert abs(S.roc_auc_variance(d.y, d.score) - float(res.stdout)) <= 1e-12


def test_no_interval_or_test_kernel_outside_validation_stats() -> None:
    """AST scan of every package: percentile/BCa intervals, DeLong placements/variances and
    Cochran's Q are defined only in validation/stats (the harness calls them)."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    kernel = re.compile(r"(percentile_interval|bca_interval|cochran_q|delong_variance|auc_delong|placements"
                        r"|mean_bootstrap|proportion_interval)", re.IGNORECASE)
    found = []
    for pkg in ("samd_core", "validation", "clinical_eval", "risk", "samd"):
        for path in (root / pkg).rglob("*.py"):
            if path.is_relative_to(root / "validation" / "stats"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and kernel.search(node.name):
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    assert not found, found
    assert not (root / "validation" / "harness" / "_kernels.py").exists()
