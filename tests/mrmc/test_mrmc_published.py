"""Van Dyke (1993) and Franken (1992): published OR / DBM results of the peers.

Sources (values as printed; collected in shared MRMC.md section 3):
- IOWA  = University of Iowa OR-DBM MRMC 2.51 (build 20181028) printed report;
- RJ    = RJafroc 2.1.3 (``St()``; tests/testthat/goodValues361 expected values);
- AOV   = MRMCaov 0.3.0 live run (``mrmc()`` + ``summary``);
- JAF   = Windows JAFROC 4.2.1 printed DBM report.
Printed precision is respected: each value is compared at half a unit of its last printed digit
(and never looser than 1e-6 relative where 7+ digits are printed).
"""

from __future__ import annotations

import pathlib

import pytest

from clinical_eval.mrmc import analyze

REF = pathlib.Path(__file__).resolve().parents[1] / "reference" / "mrmc"
VD = REF / "vandyke_long.csv"
FR = REF / "franken_long.csv"


def _close(x: float, printed: float, decimals: int) -> None:
    assert abs(x - printed) <= 0.5 * 10.0 ** (-decimals) + 1e-15, (x, printed, decimals)


@pytest.mark.verifies("SRS-MRMC-001")
def test_mrmc_vandyke_auc_and_anova() -> None:
    # IOWA / RJ / AOV: AUCs, MS(T), MS(R), MS(T*R), OR covariances
    r = analyze(VD)
    _close(r.modality_auc[0].estimate.value, 0.897037037, 9)
    _close(r.modality_auc[1].estimate.value, 0.940837359, 9)
    _close(r.difference.value, -0.043800322, 9)
    assert r.sign_convention == "modality 1 minus modality 2"
    _close(r.mean_squares["ms_t"], 0.0047961705, 10)
    _close(r.mean_squares["ms_r"], 0.0038362000, 10)
    _close(r.mean_squares["ms_tr"], 0.00055103062, 11)
    vc = r.variance_components
    _close(vc["var_error"], 8.02288e-4, 9)
    _close(vc["cov1"], 3.46614e-4, 9)
    _close(vc["cov2"], 3.44075e-4, 9)
    _close(vc["cov3"], 2.39028e-4, 9)
    _close(vc["var_r"], 1.535e-3, 6)
    _close(vc["var_tr"], 2.004e-4, 7)


@pytest.mark.verifies("SRS-MRMC-001", "SRS-MRMC-002")
@pytest.mark.parametrize("method", ["OR", "DBM"])
def test_mrmc_vandyke_rrrc(method: str) -> None:
    # IOWA / RJ / AOV RRRC: F = 4.456319, ddf = 15.259675, p = 0.051666 (Hillis 2007 ddf);
    # DBM with jackknife pseudovalues equals OR (Hillis et al. 2005).
    r = analyze(VD, method=method, generalization="RRRC")
    _close(r.statistic, 4.456319, 6)
    _close(r.df_den, 15.259675, 6)
    assert r.df_num == 1
    _close(r.pvalue, 0.051666, 6)
    assert r.test == "F"
    c = r.comparisons[0]
    _close(c.se, 0.020749, 6)
    _close(c.estimate.ci_low, -0.087959, 6)
    _close(c.estimate.ci_high, 0.000359, 6)
    m1, m2 = r.modality_auc
    _close(m1.se, 0.033174, 6)
    _close(m1.df, 12.745, 3)
    _close(m1.estimate.ci_low, 0.825224, 6)
    _close(m1.estimate.ci_high, 0.968850, 6)
    _close(m2.se, 0.021566, 6)
    _close(m2.df, 12.710, 3)
    _close(m2.estimate.ci_low, 0.894138, 6)
    _close(m2.estimate.ci_high, 0.987537, 6)


@pytest.mark.verifies("SRS-MRMC-001", "SRS-MRMC-003")
def test_mrmc_vandyke_frrc_or_chisquare() -> None:
    # IOWA / RJ (OR FRRC): X2 = 5.475953, df 1, p = 0.019280; SE 0.018717; CI (-0.080486, -0.007115)
    r = analyze(VD, generalization="FRRC")
    assert r.test == "chi-square" and r.df_den is None
    _close(r.statistic, 5.475953, 6)
    _close(r.pvalue, 0.019280, 6)
    c = r.comparisons[0]
    _close(c.se, 0.018717, 6)
    _close(c.estimate.ci_low, -0.080486, 6)
    _close(c.estimate.ci_high, -0.007115, 6)
    _close(r.modality_auc[0].estimate.ci_low, 0.849430, 6)
    _close(r.modality_auc[0].estimate.ci_high, 0.944644, 6)
    _close(r.modality_auc[1].estimate.ci_low, 0.907956, 6)
    _close(r.modality_auc[1].estimate.ci_high, 0.973718, 6)
    assert len(r.reader_differences) == 5


@pytest.mark.verifies("SRS-MRMC-001", "SRS-MRMC-003")
def test_mrmc_vandyke_frrc_dbm_f() -> None:
    # RJ / JAF (DBM FRRC): F = 5.475953, df (1, 113), p = 0.021035; CI (-0.080883, -0.006718)
    r = analyze(VD, method="DBM", generalization="FRRC")
    _close(r.statistic, 5.475953, 6)
    assert r.df_den == 113
    _close(r.pvalue, 0.021035, 6)
    _close(r.difference.ci_low, -0.080883, 6)
    _close(r.difference.ci_high, -0.006718, 6)


@pytest.mark.verifies("SRS-MRMC-001")
@pytest.mark.parametrize("method", ["OR", "DBM"])
def test_mrmc_vandyke_rrfc(method: str) -> None:
    # IOWA / RJ (RRFC): F = 8.704, df (1, 4), p = 0.041959; SE 0.014846; CI (-0.085020, -0.002580)
    r = analyze(VD, method=method, generalization="RRFC")
    _close(r.statistic, 8.704, 3)
    assert r.df_den == 4
    _close(r.pvalue, 0.041959, 6)
    c = r.comparisons[0]
    _close(c.se, 0.014846, 6)
    _close(c.estimate.ci_low, -0.085020, 6)
    _close(c.estimate.ci_high, -0.002580, 6)
    _close(r.modality_auc[0].estimate.ci_low, 0.828098, 6)
    _close(r.modality_auc[0].estimate.ci_high, 0.965976, 6)
    _close(r.modality_auc[1].estimate.ci_low, 0.895989, 6)
    _close(r.modality_auc[1].estimate.ci_high, 0.985685, 6)
    assert r.modality_auc[0].df == 4


@pytest.mark.verifies("SRS-MRMC-004")
@pytest.mark.parametrize(
    ("covariance", "f", "ddf", "p"),
    [("delong", 4.48485, 15.0661, 0.051233), ("unbiased", 4.48961, 15.0342, 0.051162)],
)
def test_mrmc_vandyke_other_covariances(covariance: str, f: float, ddf: float, p: float) -> None:
    # AOV RRRC with DeLong and unbiased (Gallas) covariances
    r = analyze(VD, covariance=covariance)
    _close(r.statistic, f, 5)
    _close(r.df_den, ddf, 4)
    _close(r.pvalue, p, 6)


@pytest.mark.verifies("SRS-MRMC-004")
def test_mrmc_vandyke_unbiased_equals_imrmc_variance() -> None:
    # iMRMC 2.1.2 (U-statistics): var(difference) = 4.27313e-4, which equals the squared SE of the
    # OR RRRC difference with the unbiased covariance, 2 (MS(T*R) + J max(Cov2 - Cov3, 0)) / J.
    r = analyze(VD, covariance="unbiased")
    _close(r.comparisons[0].se ** 2, 4.27313e-4, 9)


@pytest.mark.verifies("SRS-MRMC-001")
def test_mrmc_franken_auc_and_components() -> None:
    # IOWA / AOV plain components; RJ truncated components
    r = analyze(FR)
    _close(r.modality_auc[0].estimate.value, 0.847749887, 9)
    _close(r.modality_auc[1].estimate.value, 0.836895070, 9)
    _close(r.difference.value, 0.010854817, 9)
    vc = r.variance_components
    _close(vc["var_error"], 1.525776e-3, 9)
    _close(vc["cov1"], 7.91682e-4, 9)
    _close(vc["cov2"], 4.83638e-4, 9)
    _close(vc["cov3"], 5.12509e-4, 9)
    _close(vc["var_r"], 3.77557e-5, 10)
    _close(vc["var_tr"], -7.12763e-4, 9)
    rj = analyze(FR, convention="rjafroc").variance_components
    _close(rj["var_r"], 2.33199e-5, 10)
    _close(rj["var_tr"], -6.83891e-4, 9)


@pytest.mark.verifies("SRS-MRMC-001", "SRS-MRMC-002")
@pytest.mark.parametrize(("method", "gen"), [("OR", "RRRC"), ("DBM", "RRRC"), ("OR", "RRFC"), ("DBM", "RRFC")])
def test_mrmc_franken_rrrc_rrfc(method: str, gen: str) -> None:
    # IOWA / RJ / AOV: F = 4.694058, df (1, 3), p = 0.118838 (Cov2 < Cov3: ddf_H = (I-1)(J-1))
    r = analyze(FR, method=method, generalization=gen)
    _close(r.statistic, 4.694058, 6)
    assert r.df_den == pytest.approx(3.0, abs=1e-9)
    _close(r.pvalue, 0.118838, 6)
    if gen == "RRRC":
        _close(r.difference.ci_low, -0.005090, 6)
        _close(r.difference.ci_high, 0.026799, 6)
        _close(r.modality_auc[0].df, 70.12, 2)
        _close(r.modality_auc[1].df, 253.64, 2)


@pytest.mark.verifies("SRS-MRMC-003")
def test_mrmc_franken_frrc_conventions() -> None:
    # IOWA / RJ (truncated): X2 = 0.321013, p = 0.570999, CI (-0.026695, 0.048405)
    r = analyze(FR, generalization="FRRC", convention="iowa")
    _close(r.statistic, 0.321013, 6)
    _close(r.pvalue, 0.570999, 6)
    _close(r.difference.ci_low, -0.026695, 6)
    _close(r.difference.ci_high, 0.048405, 6)
    assert any("iowa" in n for n in r.notes)
    # AOV (untruncated): X2 = 0.363956, p = 0.546317
    r = analyze(FR, generalization="FRRC", convention="mrmcaov")
    _close(r.statistic, 0.363956, 6)
    _close(r.pvalue, 0.546317, 6)
    # RJ DBM FRRC: F = 0.363956, df (1, 99), p = 0.547697
    r = analyze(FR, method="DBM", generalization="FRRC")
    _close(r.statistic, 0.363956, 6)
    assert r.df_den == 99
    _close(r.pvalue, 0.547697, 6)


@pytest.mark.verifies("SRS-MRMC-002")
@pytest.mark.parametrize("path", [VD, FR])
def test_mrmc_dbm_or_link(path: pathlib.Path) -> None:
    # Hillis et al. (2005): DBM MS are K times OR MS; OR covariances from DBM components.
    o = analyze(path, method="OR")
    d = analyze(path, method="DBM")
    K = o.n_cases
    assert d.dbm_mean_squares is not None and d.dbm_variance_components is not None
    assert d.dbm_mean_squares["ms_t"] == pytest.approx(K * o.mean_squares["ms_t"], rel=1e-10)
    assert d.dbm_mean_squares["ms_tr"] == pytest.approx(K * o.mean_squares["ms_tr"], rel=1e-10)
    dv, vc = d.dbm_variance_components, o.variance_components
    assert dv["var_c"] / K == pytest.approx(vc["cov3"], rel=1e-9)
    assert (dv["var_c"] + dv["var_tc"]) / K == pytest.approx(vc["cov2"], rel=1e-9)
    assert (dv["var_c"] + dv["var_rc"]) / K == pytest.approx(vc["cov1"], rel=1e-9)
    tot = dv["var_c"] + dv["var_tc"] + dv["var_rc"] + dv["var_trc_error"]
    assert tot / K == pytest.approx(vc["var_error"], rel=1e-9)


# IOWA-VD: OR-DBM MRMC 2.51 (build 20181028) report "VanDyke trap area jackknife anova.txt",
# as kept in RJafroc (GitHub dpc10ster/RJafroc, inst/IowaResults/VanDyke.txt, commit 6c96b92).
IOWA_VD_READER_AUC = [
    [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066],
    [0.94782609, 0.90531401, 0.92173913, 0.99935588, 0.92995169],
]
# FRRC part (d): reader, difference, StdErr, p, CI low, CI high, Var(Error)_j, Cov1_j
IOWA_VD_FRRC_READERS = [
    ("1", -0.02818, 0.02551, 0.2693, -0.07818, 0.02182, 0.00069890, 0.00037347),
    ("2", -0.04654, 0.02630, 0.0768, -0.09809, 0.00501, 0.00110605, 0.00076016),
    ("3", -0.01787, 0.03121, 0.5668, -0.07904, 0.04330, 0.00084234, 0.00035532),
    ("4", -0.02625, 0.01729, 0.1290, -0.06014, 0.00764, 0.00015058, 0.00000108),
    ("5", -0.10016, 0.04406, 0.0230, -0.18651, -0.01381, 0.00121357, 0.00024304),
]


@pytest.mark.verifies("SRS-MRMC-001", "SRS-MRMC-003")
def test_mrmc_vandyke_iowa_report_details() -> None:
    r = analyze(VD, generalization="FRRC")
    for i in range(2):
        for j in range(5):
            _close(r.reader_auc[i][j], IOWA_VD_READER_AUC[i][j], 8)
    # single-modality FRRC SEs and the per-modality Var(Error), Cov2 printed in part (c)
    _close(r.modality_auc[0].se, 0.02428971, 8)
    _close(r.modality_auc[1].se, 0.01677632, 8)
    assert len(r.reader_differences) == 5
    for rd, (reader, diff, se, p, lo, hi, _v, _c1) in zip(r.reader_differences, IOWA_VD_FRRC_READERS, strict=True):
        assert rd.reader == reader and rd.df is None
        _close(rd.estimate.value, diff, 5)
        _close(rd.se, se, 5)
        _close(rd.pvalue, p, 4)
        _close(rd.estimate.ci_low, lo, 5)
        _close(rd.estimate.ci_high, hi, 5)
    # the DBM components printed in the same report
    d = analyze(VD, method="DBM").dbm_variance_components
    assert d is not None
    for key, printed in (("var_r", 0.00153500), ("var_c", 0.02724923), ("var_tr", 0.00020040),
                         ("var_tc", 0.01197530), ("var_rc", 0.01226473), ("var_trc_error", 0.03997160)):
        _close(d[key], printed, 8)


@pytest.mark.verifies("SRS-MRMC-001")
def test_mrmc_vandyke_iowa_per_modality_and_reader_covariances() -> None:
    import numpy as np

    from clinical_eval.mrmc import as_mrmc_data
    from clinical_eval.mrmc._anova import or_covariances
    from clinical_eval.mrmc._fom import cell_covariance

    d = as_mrmc_data(VD)
    _, _, cov = cell_covariance(d.ratings.reshape(10, -1), d.truth, "auc", "jackknife")
    cv = or_covariances(cov, 2, 5)
    np.testing.assert_allclose(cv["var_i"], [0.00101410, 0.00059047], atol=5e-9)
    np.testing.assert_allclose(cv["cov2_i"], [0.00048396, 0.00020419], atol=5e-9)
    np.testing.assert_allclose(cv["var_j"], [x[6] for x in IOWA_VD_FRRC_READERS], atol=5e-9)
    np.testing.assert_allclose(cv["cov1_j"], [x[7] for x in IOWA_VD_FRRC_READERS], atol=5e-9)
