"""validation.stats against R: pROC 1.18.0, epiR 2.0.57, binom.test, prop.test, mcnemar.test,
p.adjust (R 4.2.2). Values were produced by tests/reference/stats/make_reference_stats.R and
stored in tests/reference/stats/r_reference_stats.json; the needs_r tests call R live."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from validation.stats import (
    adjust_pvalues,
    delong_test,
    delong_test_unpaired,
    diagnostic_accuracy,
    mcnemar_test,
    partial_auc,
    performance_goal_test,
    proportion_ci,
    roc_auc,
    sensitivity_at_specificity,
    specificity_at_sensitivity,
)
from validation.stats._roc_curve import _partial_auc_kernel, _se_at_sp, _sp_at_se

REF_DIR = Path(__file__).resolve().parents[1] / "reference" / "stats"
REF = json.loads((REF_DIR / "r_reference_stats.json").read_text())
TOL = 1e-10
ALT = {"two.sided": "two-sided", "less": "less", "greater": "greater"}
MAXDIFF: dict[str, float] = {}


def close(ours: float, ref: float, tol: float = TOL, key: str = "") -> bool:
    if key:
        MAXDIFF[key] = max(MAXDIFF.get(key, 0.0), abs(ours - ref))
    return abs(ours - ref) <= tol


ROC_IDS = [c["name"] for c in REF["roc"]]


@pytest.mark.verifies("SRS-STATS-003")
@pytest.mark.parametrize("case", REF["roc"], ids=ROC_IDS)
def test_auc_and_delong_ci_equal_proc(case: dict) -> None:
    """pROC 1.18 auc() and ci.auc(method="delong") with direction="<"."""
    y, a = np.array(case["y"]), np.array(case["a"], dtype=float)
    assert close(roc_auc(y, a).value, case["auc_a"], key="pROC auc")
    assert close(roc_auc(y, np.array(case["b"], dtype=float)).value, case["auc_b"], key="pROC auc")
    for cl in (95, 90):
        est = roc_auc(y, a, method="delong", confidence_level=cl / 100)
        lo, hi = case[f"ci_delong_a_{cl}"]
        assert close(est.ci_low, lo, key="pROC ci.auc") and close(est.ci_high, hi, key="pROC ci.auc")


@pytest.mark.verifies("SRS-STATS-004")
@pytest.mark.parametrize("case", REF["roc"], ids=ROC_IDS)
@pytest.mark.parametrize("alt", ["two.sided", "less", "greater"])
def test_paired_delong_equals_proc_roc_test(case: dict, alt: str) -> None:
    """pROC 1.18 roc.test(paired=TRUE, method="delong"): Z, p-value and CI of the difference."""
    ref = case[f"paired_{alt}"]
    res = delong_test(case["y"], case["a"], case["b"], alternative=ALT[alt])
    assert close(res.statistic, ref["z"], 1e-9, key="pROC roc.test paired Z")
    assert close(res.pvalue, ref["p"], key="pROC roc.test paired p")
    assert res.estimate is not None
    assert close(res.estimate.value, case["auc_a"] - case["auc_b"], key="pROC roc.test paired CI")
    assert close(res.estimate.ci_low, ref["ci"][0], key="pROC roc.test paired CI")
    assert close(res.estimate.ci_high, ref["ci"][1], key="pROC roc.test paired CI")


@pytest.mark.verifies("SRS-STATS-004")
@pytest.mark.parametrize("case", REF["unpaired"], ids=[c["name"] for c in REF["unpaired"]])
@pytest.mark.parametrize("alt", ["two.sided", "less", "greater"])
def test_unpaired_delong_equals_proc_roc_test(case: dict, alt: str) -> None:
    """pROC 1.18 roc.test(paired=FALSE, method="delong"): D, Welch-type df, p-value."""
    ref = case[alt]
    res = delong_test_unpaired(case["y1"], case["s1"], case["y2"], case["s2"], alternative=ALT[alt])
    assert close(res.statistic, ref["d"], 1e-9, key="pROC roc.test unpaired D")
    assert close(res.pvalue, ref["p"], key="pROC roc.test unpaired p")


@pytest.mark.verifies("SRS-STATS-005")
@pytest.mark.parametrize("case", REF["roc"], ids=ROC_IDS)
def test_coords_interpolation_equals_proc(case: dict) -> None:
    """pROC 1.18 coords(x=, input="specificity"/"sensitivity") interpolation rule."""
    pos = np.array(case["y"]) == 1
    s = np.array(case["a"], dtype=float)
    for t, ref in zip(case["sp_targets"], case["se_at_sp"], strict=True):
        assert close(_se_at_sp(pos, s, t), ref, key="pROC coords")
    for t, ref in zip(case["se_targets"], case["sp_at_se"], strict=True):
        assert close(_sp_at_se(pos, s, t), ref, key="pROC coords")
    # the public functions report the same value
    est = sensitivity_at_specificity(pos.astype(int), s, specificity=0.9, method="bootstrap_percentile", n_resamples=20, rng=1)
    assert est.value == _se_at_sp(pos, s, 0.9)
    est = specificity_at_sensitivity(pos.astype(int), s, sensitivity=0.8, method="bootstrap_percentile", n_resamples=20, rng=1)
    assert est.value == _sp_at_se(pos, s, 0.8)


@pytest.mark.verifies("SRS-STATS-006")
@pytest.mark.parametrize("case", REF["roc"], ids=ROC_IDS)
def test_partial_auc_equals_proc(case: dict) -> None:
    """pROC 1.18 auc(partial.auc=, partial.auc.focus=, partial.auc.correct=) (McClish)."""
    pos = np.array(case["y"]) == 1
    s = np.array(case["a"], dtype=float)
    for p in case["partial"]:
        hi, lo = max(p["bounds"]), min(p["bounds"])
        ours = _partial_auc_kernel(pos, s, hi, lo, p["focus"], p["correct"], allow_invalid=False)
        if p["value"] == "nan":
            assert math.isnan(ours)
        else:
            assert close(ours, p["value"], key="pROC partial auc")
    p = case["partial"][1]
    est = partial_auc(pos.astype(int), s, bounds=tuple(p["bounds"]), focus=p["focus"], correct=p["correct"],
                      method="bootstrap_percentile", n_resamples=20, rng=0)
    if p["value"] == "nan":
        assert math.isnan(est.value)
    else:
        assert close(est.value, p["value"])


EPI_METHOD = {"exact": "clopper_pearson", "wilson": "wilson", "jeffreys": "jeffreys"}


@pytest.mark.verifies("SRS-STATS-002")
@pytest.mark.parametrize("case", REF["epi_tests"], ids=lambda c: f"{c['tp']}-{c['fp']}-{c['fn']}-{c['tn']}-{c['method']}")
def test_diagnostic_accuracy_equals_epir(case: dict) -> None:
    """epiR 2.0.57 epi.tests(): se, sp, pv.pos, pv.neg, diag.ac (method CI), lr.pos/lr.neg
    (Simel log CI) and diag.or (Woolf)."""
    r = diagnostic_accuracy(tp=case["tp"], fp=case["fp"], fn=case["fn"], tn=case["tn"], method=EPI_METHOD[case["method"]])
    pairs = [("sensitivity", "se"), ("specificity", "sp"), ("ppv", "ppv"), ("npv", "npv"), ("accuracy", "acc"),
             ("lr_positive", "lr_pos"), ("lr_negative", "lr_neg"), ("diagnostic_odds_ratio", "dor")]
    for ours_name, ref_name in pairs:
        est = getattr(r, ours_name)
        ref = case[ref_name]
        scale = max(1.0, abs(ref[0]))  # ratios: relative tolerance
        for got, want in zip((est.value, est.ci_low, est.ci_high), ref, strict=True):
            assert close(got / scale, want / scale, key=f"epiR {ref_name}"), (ours_name, got, want)


@pytest.mark.verifies("SRS-STATS-001")
@pytest.mark.parametrize("case", REF["proportions"], ids=lambda c: f"{c['k']}/{c['n']}@{c['confidence_level']}")
def test_proportion_ci_equals_binom_and_prop_test(case: dict) -> None:
    """binom.test (Clopper-Pearson), prop.test(correct=FALSE) (Wilson), prop.test(correct=TRUE)
    with |k - n p0| >= 0.5 (Newcombe's continuity-corrected Wilson)."""
    for ours, ref in (("clopper_pearson", "clopper_pearson"), ("wilson", "wilson"), ("wilson_cc", "wilson_cc")):
        est = proportion_ci(case["k"], case["n"], method=ours, confidence_level=case["confidence_level"])
        assert close(est.ci_low, case[ref][0], key=f"R {ref}"), (ours, est, case[ref])
        assert close(est.ci_high, case[ref][1], key=f"R {ref}"), (ours, est, case[ref])


@pytest.mark.verifies("SRS-STATS-010")
@pytest.mark.parametrize("case", REF["goals"], ids=lambda c: f"{c['k']}/{c['n']}>{c['goal']}")
def test_goal_test_clopper_pearson_equals_binom_test(case: dict) -> None:
    """The exact goal test is binom.test(alternative="greater"/"less")."""
    g = performance_goal_test(case["k"], case["n"], goal=case["goal"], method="clopper_pearson")
    assert close(g.pvalue, case["p_greater"], key="R binom.test")
    ll = performance_goal_test(case["k"], case["n"], goal=case["goal"], method="clopper_pearson", alternative="less")
    assert close(ll.pvalue, case["p_less"], key="R binom.test")


@pytest.mark.verifies("SRS-STATS-008")
@pytest.mark.parametrize("case", REF["mcnemar"], ids=lambda c: "-".join(map(str, c["table"])))
def test_mcnemar_equals_r(case: dict) -> None:
    """mcnemar.test(correct=TRUE/FALSE) and binom.test on the discordant pairs (exact)."""
    t = np.array(case["table"]).reshape(2, 2)
    cc = mcnemar_test(t, method="asymptotic_cc")
    assert close(cc.statistic, case["chi2_cc"], key="R mcnemar.test") and close(cc.pvalue, case["p_cc"], key="R mcnemar.test")
    if case["table"][1] + case["table"][2] > 0:
        a = mcnemar_test(t, method="asymptotic")
        assert close(a.statistic, case["chi2"], key="R mcnemar.test") and close(a.pvalue, case["p"], key="R mcnemar.test")
    for alt, key in (("two-sided", "p_exact"), ("greater", "p_exact_greater"), ("less", "p_exact_less")):
        assert close(mcnemar_test(t, method="exact", alternative=alt).pvalue, case[key], key="R binom.test (McNemar exact)")


@pytest.mark.verifies("SRS-STATS-011")
@pytest.mark.parametrize("ours,ref", [("holm", "holm"), ("bonferroni", "bonferroni"), ("benjamini_hochberg", "BH")])
def test_adjust_pvalues_equals_p_adjust(ours: str, ref: str) -> None:
    """R p.adjust(method="holm"/"bonferroni"/"BH")."""
    got = adjust_pvalues(REF["p_adjust"]["p"], method=ours).adjusted
    for g, w in zip(got, REF["p_adjust"][ref], strict=True):
        assert close(g, w, key="R p.adjust")


def test_reference_dataset_is_asah() -> None:
    """aSAH.csv (pROC's bundled data, 113 patients, 41 poor outcomes) is what the R script used."""
    rows = (REF_DIR / "aSAH.csv").read_text().strip().splitlines()
    assert rows[0].split(",")[0].strip('"') == "outcome"
    y = [int(r.split(",")[0]) for r in rows[1:]]
    assert len(y) == 113 and sum(y) == 41
    assert REF["roc"][0]["y"] == y


def test_report_max_differences() -> None:
    """Not an assertion of its own: prints the max |ours - R| per peer (run with -s)."""
    for k, v in sorted(MAXDIFF.items()):
        print(f"max |ours - {k}| = {v:.3g}")


@pytest.mark.needs_r
@pytest.mark.verifies("SRS-STATS-003")
def test_live_proc_on_asah() -> None:
    """Calls Rscript now: pROC auc + DeLong CI of wfns (heavily tied ordinal score) on aSAH."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    code = (
        "suppressMessages(library(pROC)); data(aSAH);"
        "r <- roc(aSAH$outcome, as.integer(aSAH$wfns), levels=c('Good','Poor'), direction='<', quiet=TRUE);"
        "cat(sprintf('%.17g', c(auc(r), ci.auc(r, method='delong')[c(1,3)])), sep=' ')"
    )
    res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        pytest.skip(f"pROC unavailable: {res.stderr[-200:]}")
    auc, lo, hi = map(float, res.stdout.split())
    case = REF["roc"][1]
    est = roc_auc(case["y"], case["a"])
    assert close(est.value, auc) and close(est.ci_low, lo) and close(est.ci_high, hi)


@pytest.mark.needs_r
def test_r_script_reproduces_stored_reference(tmp_path: Path) -> None:
    """The stored JSON and aSAH.csv are exactly what make_reference_stats.R writes."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    repo = REF_DIR.parents[2]
    res = subprocess.run(
        ["Rscript", str(REF_DIR / "make_reference_stats.R"), str(tmp_path)],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )
    if res.returncode != 0:
        pytest.skip(f"R packages unavailable: {res.stderr[-300:]}")
    assert json.loads((tmp_path / "r_reference_stats.json").read_text()) == REF
    assert (tmp_path / "aSAH.csv").read_text() == (REF_DIR / "aSAH.csv").read_text()
