"""Agreement statistics (validation.stats._agreement) against R vcd/psych and statsmodels.

R values: tests/reference/agreement/agreement_reference.json, produced by
agreement_reference.R (R 4.2.2, vcd 1.4.11, psych 2.2.9) from the CSVs made by make_data.py.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats import inter_rater

from validation.errors import InvalidParameterError
from validation.stats._agreement import bland_altman, cohen_kappa, fleiss_kappa, icc

REF = pathlib.Path(__file__).resolve().parents[1] / "reference" / "agreement"
R = json.loads((REF / "agreement_reference.json").read_text())
ORD = pd.read_csv(REF / "kappa_ordinal.csv")
UNEQ = pd.read_csv(REF / "kappa_unequal.csv")
ICC_X = pd.read_csv(REF / "icc.csv").to_numpy()


@pytest.mark.verifies("SRS-MRMC-020")
@pytest.mark.parametrize(("weights", "key"), [(None, "unweighted"), ("linear", "linear"), ("quadratic", "quadratic")])
def test_mrmc_kappa_equals_vcd(weights: str | None, key: str) -> None:
    # vcd::Kappa value and ASE (Fleiss-Cohen-Everitt 1969), equally spaced 1..5
    e = cohen_kappa(ORD.a, ORD.b, weights=weights, categories=[1, 2, 3, 4, 5])  # type: ignore[arg-type]
    value, ase = R["ordinal"][key]
    assert e.value == pytest.approx(value, abs=1e-12)
    assert (e.ci_high - e.ci_low) / 2 / 1.959963984540054 == pytest.approx(ase, abs=1e-12)
    assert e.method == "fleiss-cohen-everitt"


@pytest.mark.verifies("SRS-MRMC-020")
def test_mrmc_kappa_ci_equals_vcd_confint() -> None:
    e = cohen_kappa(ORD.a, ORD.b)
    assert (e.ci_low, e.ci_high) == pytest.approx(tuple(R["ordinal"]["ci_unweighted"]), abs=1e-12)
    e = cohen_kappa(ORD.a, ORD.b, weights="linear")
    assert (e.ci_low, e.ci_high) == pytest.approx(tuple(R["ordinal"]["ci_linear"]), abs=1e-12)
    e = cohen_kappa(ORD.a, ORD.b, weights="quadratic", confidence_level=0.90)
    assert (e.ci_low, e.ci_high) == pytest.approx(tuple(R["ordinal"]["ci_quadratic_90"]), abs=1e-12)


@pytest.mark.verifies("SRS-MRMC-020")
def test_mrmc_kappa_equals_psych() -> None:
    # psych::cohen.kappa: unweighted kappa, its variance and CI; weighted (quadratic) value.
    # (psych 2.2.9 reports var.weighted = 0 for this table, so its weighted CI is not used.)
    e = cohen_kappa(ORD.a, ORD.b)
    p = R["psych_ordinal"]
    assert e.value == pytest.approx(p["kappa"], abs=1e-12)
    assert ((e.ci_high - e.ci_low) / 2 / 1.959963984540054) ** 2 == pytest.approx(p["var_kappa"], abs=1e-14)
    assert (e.ci_low, e.ci_high) == pytest.approx((p["confid"][0], p["confid"][2]), abs=1e-12)
    assert cohen_kappa(ORD.a, ORD.b, weights="quadratic").value == pytest.approx(p["weighted_kappa"], abs=1e-12)


@pytest.mark.verifies("SRS-MRMC-020")
@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_mrmc_kappa_weights_by_value_unequal_scale(weights: str) -> None:
    # scale {0,1,2,4,8}: weights from the values (vcd given the value-based matrix)
    e = cohen_kappa(UNEQ.a, UNEQ.b, weights=weights, categories=[0, 1, 2, 4, 8])  # type: ignore[arg-type]
    value, ase = R["unequal"][weights]
    assert e.value == pytest.approx(value, abs=1e-12)
    assert (e.ci_high - e.ci_low) / 2 / 1.959963984540054 == pytest.approx(ase, abs=1e-12)
    # index-based weights would differ: the value scale matters
    idx = cohen_kappa(ORD.a, ORD.b, weights=weights)  # type: ignore[arg-type]
    assert abs(idx.value - e.value) > 1e-3


@pytest.mark.verifies("SRS-MRMC-020")
@pytest.mark.parametrize("wt", [None, "linear", "quadratic"])
def test_mrmc_kappa_equals_statsmodels(wt: str | None) -> None:
    table = pd.crosstab(ORD.a, ORD.b).reindex(index=range(1, 6), columns=range(1, 6), fill_value=0).to_numpy()
    ref = inter_rater.cohens_kappa(table, wt=wt)
    e = cohen_kappa(ORD.a, ORD.b, weights=wt)  # type: ignore[arg-type]
    assert e.value == pytest.approx(ref.kappa, abs=1e-12)
    assert (e.ci_low, e.ci_high) == pytest.approx((ref.kappa_low, ref.kappa_upp), abs=1e-12)


@pytest.mark.verifies("SRS-MRMC-020")
def test_mrmc_kappa_edge_and_bad_input() -> None:
    perfect = cohen_kappa([1, 2, 3, 1], [1, 2, 3, 1])
    assert perfect.value == 1.0
    same = cohen_kappa([2, 2, 2], [2, 2, 2])
    assert np.isnan(same.value)
    with pytest.raises(InvalidParameterError, match="`b` of `cohen_kappa` must be the same length"):
        cohen_kappa([1, 2], [1, 2, 3])
    with pytest.raises(InvalidParameterError, match="did you mean 'linear'"):
        cohen_kappa([1, 2], [1, 2], weights="lineer")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="missing"):
        cohen_kappa([1, 2, 7], [1, 2, 3], categories=[1, 2, 3])
    with pytest.raises(InvalidParameterError, match="numeric"):
        cohen_kappa(["a", "b"], ["a", "b"], weights="linear")
    with pytest.raises(InvalidParameterError, match="NaN"):
        cohen_kappa([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(InvalidParameterError, match="confidence_level"):
        cohen_kappa([1, 2], [1, 2], confidence_level=1.5)


@pytest.mark.verifies("SRS-MRMC-021")
def test_mrmc_fleiss_kappa_equals_statsmodels() -> None:
    rng = np.random.default_rng(4)
    r = rng.integers(0, 4, size=(40, 5))
    r[:20] = r[:20, :1]  # add agreement
    e = fleiss_kappa(r)
    counts, _ = inter_rater.aggregate_raters(r)
    assert e.value == pytest.approx(inter_rater.fleiss_kappa(counts, method="fleiss"), abs=1e-12)
    assert e.method == "jackknife" and e.ci_low < e.value < e.ci_high
    # two raters: Fleiss' kappa equals Scott's pi, not Cohen's kappa (closed-form check)
    a, b = ORD.a.to_numpy(), ORD.b.to_numpy()
    pooled = np.bincount(np.r_[a, b], minlength=6)[1:] / (2 * len(a))
    po = np.mean(a == b)
    pi = (po - np.sum(pooled**2)) / (1 - np.sum(pooled**2))
    assert fleiss_kappa(np.c_[a, b]).value == pytest.approx(pi, abs=1e-12)
    with pytest.raises(InvalidParameterError, match="subjects x raters"):
        fleiss_kappa([1, 2, 3])


@pytest.mark.verifies("SRS-MRMC-022")
@pytest.mark.parametrize(("form", "key"), [("ICC(2,1)", "icc2"), ("ICC(3,1)", "icc3")])
@pytest.mark.parametrize("level", [0.95, 0.90])
def test_mrmc_icc_equals_psych(form: str, key: str, level: float) -> None:
    e = icc(ICC_X, form=form, confidence_level=level)  # type: ignore[arg-type]
    ref = R["icc"][key if level == 0.95 else key + "_90"]
    assert (e.value, e.ci_low, e.ci_high) == pytest.approx(tuple(ref), abs=1e-12)


@pytest.mark.verifies("SRS-MRMC-022")
def test_mrmc_icc_bad_input() -> None:
    with pytest.raises(InvalidParameterError, match="did you mean"):
        icc(ICC_X, form="ICC(2,2)")  # type: ignore[arg-type]
    bad = ICC_X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidParameterError, match="NaN"):
        icc(bad)
    with pytest.raises(InvalidParameterError, match="2-D"):
        icc(ICC_X[:, 0])


@pytest.mark.verifies("SRS-MRMC-023")
def test_mrmc_bland_altman_exact_equals_r_noncentral_t() -> None:
    ba = bland_altman(ICC_X[:, 0], ICC_X[:, 1], method="exact")
    r = R["bland_altman"]
    assert ba.bias.value == pytest.approx(r["mean"], abs=1e-12)
    assert ba.sd == pytest.approx(r["sd"], abs=1e-12)
    assert (ba.bias.ci_low, ba.bias.ci_high) == pytest.approx(tuple(r["bias_ci"]), abs=1e-12)
    # scipy's noncentral-t quantile agrees with R's qt(ncp=) to ~1e-11
    assert (ba.upper.ci_low, ba.upper.ci_high) == pytest.approx(tuple(r["upper_ci"]), abs=1e-9)
    assert (ba.lower.ci_low, ba.lower.ci_high) == pytest.approx(tuple(r["lower_ci"]), abs=1e-9)
    assert ba.sign_convention == "a minus b"


@pytest.mark.verifies("SRS-MRMC-023")
def test_mrmc_bland_altman_approximate_closed_form() -> None:
    a, b = ICC_X[:, 0], ICC_X[:, 1]
    ba = bland_altman(a, b, method="approximate")
    d = a - b
    n, s = len(d), d.std(ddof=1)
    from scipy import stats

    z, t = stats.norm.ppf(0.975), stats.t.ppf(0.975, n - 1)
    se = s * np.sqrt(1 / n + z**2 / (2 * (n - 1)))  # Bland & Altman (1999) sec. 5.3
    up = d.mean() + z * s
    assert (ba.upper.value, ba.upper.ci_low, ba.upper.ci_high) == pytest.approx((up, up - t * se, up + t * se), abs=1e-12)
    with pytest.raises(InvalidParameterError, match="did you mean 'exact'"):
        bland_altman(a, b, method="exakt")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="`b` of `bland_altman`"):
        bland_altman(a, b[:-1])


@pytest.mark.verifies("SRS-MRMC-023")
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(3, 40), lo=st.floats(0.5, 0.9), hi=st.floats(0.91, 0.99))
def test_mrmc_agreement_conformance(seed: int, n: int, lo: float, hi: float) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = a + rng.normal(scale=0.5, size=n)
    a0 = a.copy()
    for m in ("exact", "approximate"):
        r1 = bland_altman(a, b, method=m, confidence_level=lo)  # type: ignore[arg-type]
        r2 = bland_altman(a, b, method=m, confidence_level=hi)  # type: ignore[arg-type]
        for e1, e2 in ((r1.bias, r2.bias), (r1.lower, r2.lower), (r1.upper, r2.upper)):
            assert e2.ci_low <= e1.ci_low <= e1.value <= e1.ci_high <= e2.ci_high
    np.testing.assert_array_equal(a, a0)
    x = np.c_[a, b, a + rng.normal(size=n)]
    for form in ("ICC(2,1)", "ICC(3,1)"):
        e1, e2 = icc(x, form=form, confidence_level=lo), icc(x, form=form, confidence_level=hi)  # type: ignore[arg-type]
        assert e2.ci_low <= e1.ci_low <= e1.ci_high <= e2.ci_high
        if form == "ICC(3,1)" or e1.value >= 0:
            # ICC(3,1)'s exact F interval always holds the estimate; McGraw & Wong's Satterthwaite
            # interval for ICC(2,1) need not when the estimate is negative (small n, v -> 0):
            # e.g. n = 3, value -0.698 with a 50% interval collapsed near -0.731 (same formula as
            # psych::ICC).
            assert e1.ci_low <= e1.value <= e1.ci_high
        assert type(e1).from_json(e1.to_json()) == e1
    ka = rng.integers(1, 4, size=n)
    kb = np.where(rng.random(n) < 0.5, ka, rng.integers(1, 4, size=n))
    k1 = cohen_kappa(ka, kb, weights="linear", categories=[1, 2, 3], confidence_level=lo)
    k2 = cohen_kappa(ka, kb, weights="linear", categories=[1, 2, 3], confidence_level=hi)
    if np.isfinite(k1.value):
        assert k2.ci_low <= k1.ci_low <= k1.value <= k1.ci_high <= k2.ci_high


@pytest.mark.needs_r
@pytest.mark.verifies("SRS-MRMC-020")
def test_mrmc_agreement_r_script_reproduces_stored_values(tmp_path: pathlib.Path) -> None:
    # rerun the stored R script live; its output must equal the committed reference values
    from tests.conftest import r_has_package

    if not (r_has_package("vcd") and r_has_package("psych") and r_has_package("jsonlite")):
        pytest.skip("R packages vcd/psych/jsonlite not installed")
    for f in ("agreement_reference.R", "kappa_ordinal.csv", "kappa_unequal.csv", "icc.csv"):
        shutil.copy(REF / f, tmp_path / f)
    subprocess.run(["Rscript", "agreement_reference.R"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    live = json.loads((tmp_path / "agreement_reference.json").read_text())
    for k in ("ordinal", "unequal", "icc", "bland_altman"):
        assert live[k] == pytest.approx(R[k]) if not isinstance(R[k], dict) else all(
            np.allclose(live[k][j], R[k][j], rtol=0, atol=1e-14) for j in R[k]
        )
