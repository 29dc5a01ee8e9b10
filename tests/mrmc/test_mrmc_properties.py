"""Invariants of the MRMC analysis: O(K) jackknife = naive, determinism, JSON, >2 modalities."""

from __future__ import annotations

import hashlib
import json
import pathlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score

from clinical_eval.mrmc import MrmcResult, analyze, non_inferiority, standalone_vs_readers
from clinical_eval.mrmc._fom import auc_structural_components, fom_and_jackknife, naive_jackknife_auc

REF = pathlib.Path(__file__).resolve().parents[1] / "reference" / "mrmc"
VD = REF / "vandyke_long.csv"


def _study(rng: np.random.Generator, n_mod: int, n_read: int, k0: int, k1: int, levels: int | None = 5) -> pd.DataFrame:
    truth = np.r_[np.zeros(k0, int), np.ones(k1, int)]
    rows = []
    for m in range(n_mod):
        for r in range(n_read):
            x = rng.normal(size=k0 + k1) + truth * (1.0 + 0.2 * m)
            if levels is not None:
                x = np.digitize(x, np.linspace(-1, 2, levels - 1))
            rows.append(pd.DataFrame({"reader": r + 1, "modality": m + 1, "case": np.arange(k0 + k1) + 1, "truth": truth, "rating": x}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.verifies("SRS-MRMC-007")
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k0=st.integers(2, 15), k1=st.integers(2, 15), levels=st.sampled_from([2, 3, 6, None]))
def test_mrmc_fast_jackknife_equals_naive(seed: int, k0: int, k1: int, levels: int | None) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.permutation(np.r_[np.zeros(k0, int), np.ones(k1, int)])
    x = rng.normal(size=(4, k0 + k1)) + truth
    if levels is not None:
        x = np.digitize(x, np.linspace(-1, 2, levels - 1)).astype(float)
    v, loo = fom_and_jackknife(x, truth, "auc")
    v2, loo2 = naive_jackknife_auc(x, truth)
    np.testing.assert_allclose(v, v2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(loo, loo2, rtol=0, atol=1e-13)
    # AUC equals scikit-learn (ties 1/2)
    for c in range(4):
        assert v[c] == pytest.approx(roc_auc_score(truth, x[c]), abs=1e-14)


@pytest.mark.verifies("SRS-MRMC-004")
def test_mrmc_delong_components_match_pairwise_definition() -> None:
    rng = np.random.default_rng(3)
    truth = np.r_[np.zeros(7, int), np.ones(5, int)]
    x = np.round(rng.normal(size=(2, 12)) + truth, 0)
    _, v10, v01 = auc_structural_components(x, truth)
    s = (np.sign(x[:, truth == 1][:, :, None] - x[:, truth == 0][:, None, :]) + 1) / 2
    np.testing.assert_allclose(v10, s.mean(axis=2), atol=1e-15)
    np.testing.assert_allclose(v01, s.mean(axis=1), atol=1e-15)


@pytest.mark.verifies("SRS-MRMC-004")
def test_mrmc_unbiased_covariance_is_unbiased_by_enumeration() -> None:
    # exact check: average of the estimator over all K1 x K2 sub-designs of a finite population
    # is not cheap; instead check the closed form against a brute-force U-statistic for a tiny case.
    from itertools import permutations  # noqa: F401  (documentation of the approach)

    from clinical_eval.mrmc._fom import cell_covariance

    rng = np.random.default_rng(11)
    truth = np.r_[np.zeros(4, int), np.ones(3, int)]
    x = rng.integers(1, 4, size=(2, 7)).astype(float)
    _, _, cov = cell_covariance(x, truth, "auc", "unbiased")
    h = (np.sign(x[:, truth == 1][:, :, None] - x[:, truth == 0][:, None, :]) + 1) / 2  # (2, 3, 4)
    k2, k1 = 3, 4
    mu = {1: [], 2: [], 3: [], 4: []}  # type: ignore[var-annotated]
    for d in range(k2):
        for n in range(k1):
            for d2 in range(k2):
                for n2 in range(k1):
                    key = 1 if (d == d2 and n == n2) else 2 if d == d2 else 3 if n == n2 else 4
                    mu[key].append(h[0, d, n] * h[1, d2, n2])
    m = {k: float(np.mean(v)) for k, v in mu.items()}
    expect = (m[1] + (k1 - 1) * m[2] + (k2 - 1) * m[3] + (k1 - 1) * (k2 - 1) * m[4]) / (k1 * k2) - m[4]
    assert cov[0, 1] == pytest.approx(expect, abs=1e-15)


@pytest.mark.verifies("SRS-MRMC-008")
def test_mrmc_deterministic_and_json_roundtrip() -> None:
    a = analyze(VD, generalization="FRRC")
    b = analyze(VD, generalization="FRRC")
    ha = hashlib.sha256(a.to_json().encode()).hexdigest()
    assert ha == hashlib.sha256(b.to_json().encode()).hexdigest()
    back = MrmcResult.from_json(a.to_json())
    assert back.to_json() == a.to_json()
    assert back.difference == a.difference
    assert json.loads(a.to_json())["sign_convention"] == "modality 1 minus modality 2"


@pytest.mark.verifies("SRS-MRMC-008")
def test_mrmc_input_not_mutated_and_order_invariant() -> None:
    df = pd.read_csv(VD)
    before = df.copy()
    r1 = analyze(df)
    pd.testing.assert_frame_equal(df, before)
    r2 = analyze(df.sample(frac=1.0, random_state=1))
    assert r1.to_json() == r2.to_json()
    assert r1.reader_auc_table()["2"]["5"] == r1.reader_auc[1][4]


@pytest.mark.verifies("SRS-MRMC-009")
def test_mrmc_reference_flips_sign_and_labels() -> None:
    r = analyze(VD, reference="1")
    assert r.sign_convention == "modality 2 minus modality 1"
    assert r.difference.value == pytest.approx(0.043800322, abs=1e-9)
    base = analyze(VD)
    assert r.pvalue == base.pvalue
    assert r.comparison("1", "2").estimate.ci_low == pytest.approx(base.difference.ci_low)


@pytest.mark.verifies("SRS-MRMC-009")
def test_mrmc_three_modalities_global_and_pairwise() -> None:
    df = _study(np.random.default_rng(5), 3, 4, 30, 25)
    r = analyze(df)
    assert r.df_num == 2 and len(r.comparisons) == 3
    assert [c.label for c in r.comparisons] == ["1 - 2", "1 - 3", "2 - 3"]
    # pairwise differences of two modalities: the RRFC pairwise t equals a paired t-test of reader AUCs
    # only with I = 2; here check consistency: pairwise SE common, F = MS(T)/D
    assert r.statistic == pytest.approx(r.mean_squares["ms_t"] / r.denominator)
    ref = analyze(df, reference="2")
    assert [c.label for c in ref.comparisons] == ["1 - 2", "3 - 2"]


@pytest.mark.verifies("SRS-MRMC-001")
def test_mrmc_rrfc_equals_paired_t_on_reader_auc() -> None:
    # closed form: with two modalities RRFC is a paired t test on reader AUCs (scipy)
    r = analyze(VD, generalization="RRFC")
    a = np.array(r.reader_auc)
    t = stats.ttest_rel(a[0], a[1])
    assert r.comparisons[0].statistic == pytest.approx(t.statistic, rel=1e-12)
    assert r.pvalue == pytest.approx(t.pvalue, rel=1e-10)


@pytest.mark.verifies("SRS-MRMC-010")
def test_mrmc_binary_sensitivity_specificity() -> None:
    df = _study(np.random.default_rng(8), 2, 4, 40, 30, levels=2)
    df["rating"] = (df["rating"] > 0).astype(int)
    se = analyze(df, fom="sensitivity")
    sp = analyze(df, fom="specificity")
    dis = df[df.truth == 1].groupby(["modality", "reader"]).rating.mean().unstack()
    np.testing.assert_allclose(np.array(se.reader_auc), dis.to_numpy(), atol=1e-15)
    non = 1 - df[df.truth == 0].groupby(["modality", "reader"]).rating.mean().unstack()
    np.testing.assert_allclose(np.array(sp.reader_auc), non.to_numpy(), atol=1e-15)
    # jackknife variance of a proportion p over n cases = p(1-p)/(n-1)
    p = dis.to_numpy()[0, 0]
    assert analyze(df, fom="sensitivity").mean_squares["ms_t"] >= 0
    from clinical_eval.mrmc._fom import cell_covariance

    truth = np.r_[np.zeros(40, int), np.ones(30, int)]
    x = df[(df.modality == 1) & (df.reader == 1)].sort_values("case").rating.to_numpy(float)[None, :]
    _, _, cov = cell_covariance(x, truth, "sensitivity", "jackknife")
    assert cov[0, 0] == pytest.approx(p * (1 - p) / (30 - 1), rel=1e-12)


@pytest.mark.verifies("SRS-MRMC-011")
def test_mrmc_standalone_rrfc_equals_one_sample_t() -> None:
    df = pd.read_csv(VD)
    ai = df[(df.reader == 1) & (df.modality == 2)].set_index("case").rating + 0.5 * (df[(df.reader == 2) & (df.modality == 2)].set_index("case").rating)
    r = standalone_vs_readers(df, ai, modality="1", generalization="RRFC")
    m1 = np.array(analyze(df).reader_auc)[0]
    d = r.ai_fom - m1
    t = stats.ttest_1samp(d, 0.0)
    assert r.sign_convention == "AI minus reader average"
    assert r.difference.value == pytest.approx(d.mean(), abs=1e-15)
    assert r.statistic == pytest.approx(t.statistic, rel=1e-12)
    assert r.pvalue == pytest.approx(t.pvalue, rel=1e-10)
    rr = standalone_vs_readers(df, ai, modality="1")
    assert rr.se >= r.se  # RRRC adds the case variance J max(Cov2, 0)
    assert rr.difference.ci_low < rr.difference.value < rr.difference.ci_high


@pytest.mark.verifies("SRS-MRMC-012")
def test_mrmc_non_inferiority_matches_ci() -> None:
    r = analyze(VD)
    ni = non_inferiority(r, test="1", reference="2", margin=0.10)
    assert ni.alternative == "greater"
    assert ni.estimate is not None and ni.estimate.value == pytest.approx(-0.043800322, abs=1e-9)
    # CI lower bound -0.087959 > -0.10  <=> one-sided p < 0.025
    assert ni.estimate.ci_low > -0.10 and ni.pvalue < 0.025
    ni2 = non_inferiority(r, test="1", reference="2", margin=0.08)
    assert ni2.estimate is not None and ni2.estimate.ci_low < -0.08 and ni2.pvalue > 0.025
    c = r.comparisons[0]
    assert ni.statistic == pytest.approx((c.estimate.value + 0.10) / c.se)
    assert ni.pvalue == pytest.approx(stats.t.sf(ni.statistic, c.df))
    from clinical_eval.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="margin"):
        non_inferiority(r, test="1", reference="2", margin=-0.1)
    with pytest.raises(InvalidParameterError, match="reference"):
        non_inferiority(r, test="1", reference="9", margin=0.1)


@pytest.mark.verifies("SRS-MRMC-008")
@pytest.mark.parametrize("gen", ["RRRC", "FRRC", "RRFC"])
def test_mrmc_ci_widens_with_level_and_contains_estimate(gen: str) -> None:
    lo = analyze(VD, generalization=gen, confidence_level=0.80)
    hi = analyze(VD, generalization=gen, confidence_level=0.99)
    for a, b in zip(lo.modality_auc + tuple(c for c in ()), hi.modality_auc, strict=True):
        assert b.estimate.ci_low < a.estimate.ci_low <= a.estimate.value <= a.estimate.ci_high < b.estimate.ci_high
    assert hi.difference.ci_low < lo.difference.ci_low < lo.difference.value < lo.difference.ci_high < hi.difference.ci_high


@pytest.mark.verifies("SRS-MRMC-008")
def test_mrmc_degenerate_negative_frrc_denominator_is_nan_not_crash() -> None:
    # Identical ratings across modalities: Var - Cov1 = 0 and the FRRC denominator is 0.
    df = pd.read_csv(VD)
    m1 = df[df.modality == 1]
    same = pd.concat([m1, m1.assign(modality=2)])
    r = analyze(same, generalization="FRRC")
    assert np.isnan(r.statistic) and np.isnan(r.pvalue)
    assert any("degenerate" in n for n in r.notes)


@pytest.mark.verifies("SRS-MRMC-008")
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), gen=st.sampled_from(["RRRC", "FRRC", "RRFC"]), method=st.sampled_from(["OR", "DBM"]))
def test_mrmc_invariances(seed: int, gen: str, method: str) -> None:
    # (1) a strictly increasing transform of every rating changes nothing (rank-based AUC);
    # (2) swapping the modality labels flips the sign of the difference and keeps the test.
    rng = np.random.default_rng(seed)
    df = _study(rng, 2, 3, 12, 9)
    r = analyze(df, method=method, generalization=gen)  # type: ignore[arg-type]
    t = analyze(df.assign(rating=np.exp(df.rating) * 3 + 1), method=method, generalization=gen)  # type: ignore[arg-type]
    assert t.to_json() == r.to_json()
    s = analyze(df.assign(modality=3 - df.modality), method=method, generalization=gen)  # type: ignore[arg-type]
    assert s.difference.value == pytest.approx(-r.difference.value, abs=1e-15)
    if np.isfinite(r.pvalue):
        assert s.pvalue == pytest.approx(r.pvalue, rel=1e-9)
        assert s.difference.ci_low == pytest.approx(-r.difference.ci_high, abs=1e-12)


@pytest.mark.verifies("SRS-MRMC-008")
def test_mrmc_zero_reader_interaction_gives_infinite_ddf_not_nan() -> None:
    # every reader gives the same ratings: MS(T*R) = 0, ddf_H = inf, F(1, inf) = chi-square(1)
    df = pd.read_csv(VD)
    one = df[df.reader == 1]
    same = pd.concat([one.assign(reader=r) for r in (1, 2, 3)])
    r = analyze(same)
    assert r.df_den == float("inf")
    assert r.pvalue == pytest.approx(stats.chi2.sf(r.statistic, 1), rel=1e-12)
    assert np.isfinite(r.difference.ci_low)


@pytest.mark.verifies("SRS-MRMC-004")
def test_mrmc_unbiased_covariance_blocked_equals_direct() -> None:
    # 40 cells x 2,000 non-diseased: the kernel is processed in blocks of diseased cases
    from clinical_eval.mrmc._fom import cell_covariance

    rng = np.random.default_rng(9)
    truth = np.r_[np.zeros(2000, int), np.ones(60, int)]
    x = np.round(rng.normal(size=(40, 2060)) + truth, 1)
    _, _, cov = cell_covariance(x, truth, "auc", "unbiased")
    h = (np.sign(x[:, truth == 1][:, :, None] - x[:, truth == 0][:, None, :]) + 1) / 2
    k2, k1 = 60, 2000
    hf = h.reshape(40, -1)
    s = hf @ hf.T
    rows, cols = h.sum(axis=2), h.sum(axis=1)
    td, tn = rows @ rows.T - s, cols @ cols.T - s
    tot = hf.sum(axis=1)
    t4 = np.outer(tot, tot) - s - td - tn
    m1, m2, m3, m4 = s / (k1 * k2), td / (k2 * k1 * (k1 - 1)), tn / (k1 * k2 * (k2 - 1)), t4 / (k1 * (k1 - 1) * k2 * (k2 - 1))
    direct = (m1 + (k1 - 1) * m2 + (k2 - 1) * m3 + (k1 - 1) * (k2 - 1) * m4) / (k1 * k2) - m4
    np.testing.assert_allclose(cov, direct, rtol=1e-9, atol=1e-15)
