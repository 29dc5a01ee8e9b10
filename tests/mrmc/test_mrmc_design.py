"""Study design: Roe-Metz simulation, HOB power/sample size (validated by simulation), reading time."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clinical_eval.errors import InvalidParameterError
from clinical_eval.mrmc import MrmcData, analyze
from clinical_eval.mrmc._analyze import _analyze
from clinical_eval.reading_time import reading_time_ratio
from clinical_eval.simulation import ROE_METZ_1997, expected_auc, roe_metz_config, simulate_roe_metz
from clinical_eval.sizing import power, sample_size


def _data(df: pd.DataFrame, i: int, j: int, k: int) -> MrmcData:
    return MrmcData(df.rating.to_numpy().reshape(i, j, k), df.truth.to_numpy()[:k],
                    tuple(map(str, range(1, i + 1))), tuple(map(str, range(1, j + 1))), tuple(map(str, range(1, k + 1))))


@pytest.mark.verifies("SRS-MRMC-013")
def test_mrmc_roe_metz_table_and_determinism() -> None:
    # Roe & Metz (1997) Table 1 (as in iMRMC's RMconfigurations): 4 structures x 3 separations
    assert len(ROE_METZ_1997) == 12
    assert ROE_METZ_1997[("HL", 0.75)] == {"var_r": 0.0055, "var_tr": 0.0055, "var_c": 0.3, "var_tc": 0.3, "var_rc": 0.2, "var_e": 0.2}
    assert ROE_METZ_1997[("LH", 1.5)]["var_r"] == 0.030 and ROE_METZ_1997[("LH", 1.5)]["var_e"] == 0.6
    assert ROE_METZ_1997[("HH", 2.5)]["var_tr"] == 0.056
    c = roe_metz_config("HH", 0.75, delta_mu=0.2)
    a = simulate_roe_metz(c, n_readers=4, n_nondiseased=10, n_diseased=12, rng=42)
    b = simulate_roe_metz(c, n_readers=4, n_nondiseased=10, n_diseased=12, rng=np.random.default_rng(42))
    h = lambda df: hashlib.sha256(df.to_numpy().tobytes()).hexdigest()  # noqa: E731
    assert h(a) == h(b)
    assert h(a) != h(simulate_roe_metz(c, n_readers=4, n_nondiseased=10, n_diseased=12, rng=43))
    assert len(a) == 2 * 4 * 22 and set(a.columns) == {"reader", "modality", "case", "truth", "rating"}
    analyze(a)  # valid, fully crossed
    with pytest.raises(InvalidParameterError, match="did you mean"):
        roe_metz_config("HLL", 0.75)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="n_readers"):
        simulate_roe_metz(c, n_readers=1, n_nondiseased=10, n_diseased=10, rng=0)


@pytest.mark.verifies("SRS-MRMC-013")
def test_mrmc_roe_metz_expected_auc() -> None:
    # AUC ~ 0.702 / 0.855 / 0.961 for mu = 0.75 / 1.5 / 2.5 (Roe & Metz 1997); large-sample check
    c = roe_metz_config("LL", 1.5)
    assert expected_auc(c) == pytest.approx(0.855, abs=0.003)
    df = simulate_roe_metz(c, n_readers=3, n_nondiseased=3000, n_diseased=3000, n_modalities=1, rng=5)
    x = df.rating.to_numpy().reshape(1, 3, 6000)[0]
    from sklearn.metrics import roc_auc_score

    aucs = [roc_auc_score(df.truth.to_numpy()[:6000], x[j]) for j in range(3)]
    assert np.mean(aucs) == pytest.approx(expected_auc(c), abs=0.03)


@pytest.mark.verifies("SRS-MRMC-014")
def test_mrmc_power_validated_by_simulation() -> None:
    # Hillis-Obuchowski-Berbaum (2011) power from OR components vs empirical rejection rate of
    # the RRRC OR test on 300 simulated Roe-Metz studies (HL, mu = 1.5, delta_mu = 0.5, J = 5, K = 40 + 40).
    rng = np.random.default_rng(7)
    c = roe_metz_config("HL", 1.5, delta_mu=0.5)
    J, K0, K1 = 5, 40, 40

    def one() -> object:
        df = simulate_roe_metz(c, n_readers=J, n_nondiseased=K0, n_diseased=K1, rng=rng)
        return _analyze(_data(df, 2, J, K0 + K1), "OR", "RRRC", "jackknife", 0.95, None, "auc", "iowa")

    pilots = [one() for _ in range(60)]
    vc = {k: float(np.mean([p.variance_components[k] for p in pilots])) for k in pilots[0].variance_components}  # type: ignore[attr-defined]
    effect = expected_auc(c, 1) - expected_auc(c, 0)
    predicted = power(vc, effect=effect, n_readers=J, n_cases=K0 + K1, pilot_cases=K0 + K1)
    n_sim = 300
    empirical = float(np.mean([one().pvalue < 0.05 for _ in range(n_sim)]))  # type: ignore[attr-defined]
    mc_se = np.sqrt(predicted * (1 - predicted) / n_sim)
    assert abs(empirical - predicted) <= 3 * mc_se, (empirical, predicted, mc_se)


@pytest.mark.verifies("SRS-MRMC-014")
def test_mrmc_power_closed_form_and_sample_size() -> None:
    vc = analyze(__import__("pathlib").Path(__file__).resolve().parents[1] / "reference" / "mrmc" / "vandyke_long.csv").variance_components
    # closed form (HOB 2011) recomputed by hand for J = 5, K = 114 (the pilot itself), effect 0.05
    J, s = 5, 1.0
    ed = vc["var_tr"] + s * (vc["var_error"] - vc["cov1"] + (J - 1) * max(vc["cov2"] - vc["cov3"], 0))
    ems = vc["var_tr"] + s * (vc["var_error"] - vc["cov1"] - max(vc["cov2"] - vc["cov3"], 0))
    ddf = ed**2 / (ems**2 / (J - 1))
    lam = J * 0.05**2 / (2 * ed)
    expect = stats.ncf.sf(stats.f.ppf(0.95, 1, ddf), 1, ddf, lam)
    assert power(vc, effect=0.05, n_readers=5, n_cases=114, pilot_cases=114) == pytest.approx(expect, rel=1e-12)
    # monotone in readers and cases
    p = [power(vc, effect=0.05, n_readers=j, n_cases=200, pilot_cases=114) for j in (4, 8, 12)]
    assert p[0] < p[1] < p[2]
    ss = sample_size(vc, effect=0.05, target_power=0.8, pilot_cases=114, readers=[5, 10, 15])
    for j, k, pw in ss.designs:
        if k is not None:
            assert pw >= 0.8 > power(vc, effect=0.05, n_readers=j, n_cases=k - 1, pilot_cases=114)
    assert ss.designs[0][1] is None or ss.designs[0][1] > ss.designs[-1][1]
    with pytest.raises(InvalidParameterError, match="components"):
        power({"var_tr": 0.0}, effect=0.05, n_readers=5, n_cases=100, pilot_cases=100)
    assert 0 < power(vc, effect=0.05, n_readers=5, n_cases=100, pilot_cases=114, generalization="FRRC") < 1


@pytest.mark.verifies("SRS-MRMC-015")
def test_mrmc_reading_time_ratio() -> None:
    rng = np.random.default_rng(2)
    u = rng.lognormal(4.0, 0.5, size=60)
    a = u * rng.lognormal(-0.2, 0.3, size=60)
    r = reading_time_ratio(u, a)
    t = stats.ttest_rel(np.log(a), np.log(u))  # scipy peer on the log scale
    assert r.statistic == pytest.approx(t.statistic, rel=1e-12)
    assert r.pvalue == pytest.approx(t.pvalue, rel=1e-10)
    ci = t.confidence_interval(0.95)
    assert r.estimate is not None
    assert (r.estimate.ci_low, r.estimate.ci_high) == pytest.approx((np.exp(ci.low), np.exp(ci.high)), rel=1e-12)
    assert r.estimate.value == pytest.approx(np.exp(np.mean(np.log(a / u))), rel=1e-12)
    readers = np.repeat([1, 2, 3, 4], 15)
    rr = reading_time_ratio(u, a, readers=readers)
    means = pd.Series(np.log(a / u)).groupby(readers).mean()
    t2 = stats.ttest_1samp(means, 0.0)
    assert rr.statistic == pytest.approx(t2.statistic, rel=1e-12) and rr.estimate is not None and rr.estimate.n == 4
    with pytest.raises(InvalidParameterError, match=r"finite reading times > 0 \(seconds\); got '0.0 at position 3'"):
        reading_time_ratio(np.r_[1.0, 2, 3, 0], np.r_[1.0, 2, 3, 4])
    with pytest.raises(InvalidParameterError, match="`aided` of `reading_time_ratio` must be the same length"):
        reading_time_ratio([1.0, 2.0], [1.0])


@pytest.mark.verifies("SRS-MRMC-014")
def test_mrmc_power_equals_rjafroc_van_dyke() -> None:
    # RJafroc 2.1.3 tests/testthat/test-SsSampleSizeRoc.R (commit 0b362c1), Van Dyke pilot (K* = 114),
    # OR components, effect = observed difference -0.043800322:
    #   SsPowerGivenJK(J = 10, K = 165, RRRC) = 0.80541995; (J = 10, K = 131, FRRC) = 0.80091813;
    #   SsPowerGivenJK(J = 6, K = 111, RRRC) = 0.5526116; SsSampleSizeKGivenJ(J = 6) -> K = 251 (power 0.801).
    import pathlib

    vc = analyze(pathlib.Path(__file__).resolve().parents[1] / "reference" / "mrmc" / "vandyke_long.csv").variance_components
    eff = -0.043800322
    assert power(vc, effect=eff, n_readers=10, n_cases=165, pilot_cases=114) == pytest.approx(0.80541995, abs=1e-8)
    assert power(vc, effect=eff, n_readers=10, n_cases=131, pilot_cases=114, generalization="FRRC") == pytest.approx(0.80091813, abs=1e-8)
    assert power(vc, effect=eff, n_readers=6, n_cases=111, pilot_cases=114) == pytest.approx(0.5526116, abs=5e-8)
    # (J = 10, K = 53, RRFC) = 0.80496663
    assert power(vc, effect=eff, n_readers=10, n_cases=53, pilot_cases=114, generalization="RRFC") == pytest.approx(0.80496663, abs=1e-8)
    ss = sample_size(vc, effect=eff, target_power=0.8, pilot_cases=114, readers=[6])
    assert ss.designs[0][1] == 251 and round(ss.designs[0][2], 3) == 0.801


@pytest.mark.verifies("SRS-MRMC-014")
def test_mrmc_sample_size_equals_rjafroc_franken() -> None:
    # RJafroc 2.1.3 test-SsSampleSizeRoc.R: SsSampleSizeKGivenJ(dataset03 = Franken, effect 0.05, J = 6,
    # OR) has powerRRRC = 0.8004469 (at K = 121). Cov2 < Cov3 here, so the truncation matters.
    import pathlib

    vc = analyze(pathlib.Path(__file__).resolve().parents[1] / "reference" / "mrmc" / "franken_long.csv").variance_components
    ss = sample_size(vc, effect=0.05, target_power=0.8, pilot_cases=100, readers=[6])
    assert ss.designs[0][1] == 121
    assert ss.designs[0][2] == pytest.approx(0.8004469, abs=1e-7)
