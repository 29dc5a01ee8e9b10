"""Claim builders (pure): the (b)(3) conclusion, reader-study benefit, benefit–risk; SE rules."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk.errors import InvalidParameterError
from risk.report import (
    benefit_risk_sentences,
    compare_with_predicate,
    conclusion_sentences,
    criteria_summary,
    reader_study_claim,
)
from validation.stats import Estimate, difference_from_published

Z95 = 1.959963984540054  # qnorm(0.975) in R 4.x


def _ep(i: str, passed: bool | None, value: float = 0.69, lo: float = 0.61, hi: float = 0.76) -> dict[str, Any]:
    return {"id": i, "metric": "sensitivity", "value": value, "ci_low": lo, "ci_high": hi, "confidence_level": 0.95,
            "n": 133, "criterion": "ci_low >= 0.8", "passed": passed, "run_id": "r1"}


def _mrmc(value: float, lo: float, hi: float, p: float) -> dict[str, Any]:
    return {"run_id": "m1", "figure_of_merit": "wilcoxon_auc", "confidence_level": 0.95,
            "difference": {"label": "aided − unaided", "value": value, "ci_low": lo, "ci_high": hi, "pvalue": p}}


def test_all_met_is_the_only_case_that_says_met() -> None:
    crit = criteria_summary([{"run_id": "r1", "verdict": "pass", "endpoints": [_ep("a", True), _ep("b", True)]}])
    assert crit.verdict == "pass"
    assert conclusion_sentences(crit, provenance="clinical") == (
        "All 2 pre-specified acceptance criteria of the standalone performance study were met on clinical data.",)


def test_failed_criteria_are_each_named_with_value_ci_and_criterion() -> None:
    eps = [_ep("sens", False), _ep("spec", True, 0.9, 0.85, 0.94), _ep("hd95", False, 3.2, 2.9, 3.6)]
    crit = criteria_summary([{"run_id": "r1", "verdict": "fail", "endpoints": eps}])
    assert (crit.verdict, crit.n_met, crit.n_total) == ("fail", 1, 3)
    text = conclusion_sentences(crit, provenance="synthetic")
    assert text[0] == ("The standalone performance study on synthetic data (not clinical performance data) did not "
                       "meet its pre-specified acceptance criteria: 2 of 3 criteria were not met.")
    assert text[1] == ("Criterion not met: sens (sensitivity) 0.690 (95% CI 0.610 to 0.760), n = 133; acceptance "
                       "criterion ci_low >= 0.8: not met.")
    assert "hd95 (sensitivity) 3.200 (95% CI 2.900 to 3.600)" in text[2]
    assert text[-1].startswith("These performance data do not show")


def test_a_run_verdict_fail_without_failed_endpoint_is_still_a_fail() -> None:
    crit = criteria_summary([{"run_id": "r9", "verdict": "fail", "endpoints": [_ep("a", True)]}])
    assert crit.verdict == "fail"
    assert "Overall verdict of validation run(s) r9: fail." in conclusion_sentences(crit, provenance=None)


def test_unevaluated_criterion_is_not_a_pass() -> None:
    crit = criteria_summary([{"run_id": "r1", "verdict": None, "endpoints": [_ep("a", None)]}])
    assert crit.verdict == "not evaluated" and crit.n_met == 0


def test_reader_benefit_only_when_the_hypothesis_is_met() -> None:
    # the issue's example: 0.022 (-0.034 to 0.079), p = 0.43
    c = reader_study_claim(_mrmc(0.022, -0.034, 0.079, 0.43), {"superiority": {}})
    assert c.met is False and c.declared
    assert c.sentence == ("The pre-specified reader-study hypothesis (superiority of aided over unaided reading) was "
                          "not met: observed wilcoxon_auc difference aided − unaided 0.022 (95% CI -0.034 to 0.079), "
                          "p = 0.4300; a benefit of aided reading was not shown.")
    ok = reader_study_claim(_mrmc(0.053, 0.021, 0.085, 0.0034), None)
    assert ok.met is True and not ok.declared and "default (not declared" in ok.sentence
    ni = reader_study_claim(_mrmc(0.022, -0.034, 0.079, 0.43), {"non_inferior": {"margin": 0.05}})
    assert ni.met is True and "non-inferiority with margin 0.050" in ni.sentence
    with pytest.raises(InvalidParameterError, match="hypothesis"):
        reader_study_claim(_mrmc(0.0, -1, 1, 1), {"superior": {}})


def test_benefit_risk_is_computed() -> None:
    fail = criteria_summary([{"run_id": "r1", "verdict": "fail", "endpoints": [_ep("a", False), _ep("b", True)]}])
    s = benefit_risk_sentences(fail, [], n_hazards=3, n_residual_acceptable=3)
    assert s[0].startswith("Benefit: not established; 1 of 2")
    assert s[-1].startswith("The evidence does not support a favourable benefit–risk determination")
    ok = criteria_summary([{"run_id": "r1", "verdict": "pass", "endpoints": [_ep("a", True)]}])
    reader_fail = reader_study_claim(_mrmc(0.022, -0.034, 0.079, 0.43), {"superiority": {}})
    assert benefit_risk_sentences(ok, [reader_fail], n_hazards=1, n_residual_acceptable=1)[-1].startswith(
        "The evidence does not support")
    assert "consistent with a favourable" in benefit_risk_sentences(ok, [], n_hazards=1, n_residual_acceptable=1)[-1]


# --- substantial equivalence ----------------------------------------------------------------------------------


def test_difference_from_published_closed_form() -> None:
    """Altman & Bland, BMJ 2003;326:219: SE from each CI's half width, SEs added in quadrature.

    Hand computation: subject 0.69 (0.61, 0.76), predicate 0.90 (0.85, 0.94), both 95%:
    SE1 = 0.15 / (2 z), SE2 = 0.09 / (2 z), SE = 0.0446254519 (R 4: z <- qnorm(0.975);
    sqrt((0.15/(2*z))^2 + (0.09/(2*z))^2)), CI = -0.21 -/+ z * SE = (-0.2974642784, -0.1225357216).
    """
    d = difference_from_published(Estimate(0.69, 0.61, 0.76, 0.95, "wilson", 133), 0.90, 0.85, 0.94,
                                  reference_confidence_level=0.95)
    se = math.sqrt((0.15 / (2 * Z95)) ** 2 + (0.09 / (2 * Z95)) ** 2)
    assert d.value == pytest.approx(-0.21, abs=1e-15)
    assert (d.ci_low, d.ci_high) == pytest.approx((-0.21 - Z95 * se, -0.21 + Z95 * se), abs=1e-12)
    assert (d.ci_low, d.ci_high) == pytest.approx((-0.2974642784, -0.1225357216), abs=1e-10)
    assert d.n == 133 and d.confidence_level == 0.95
    with pytest.raises(InvalidParameterError, match="`reference_value` of `difference_from_published`"):
        difference_from_published(Estimate(0.69, 0.61, 0.76, 0.95, "w", 1), 0.99, 0.85, 0.94,
                                  reference_confidence_level=0.95)


@pytest.mark.parametrize(("rule", "shown", "name"), [
    ({"non_inferior": {"margin": 0.05}}, False, "Non-inferiority not shown"),
    ({"non_inferior": {"margin": 0.30}}, True, "Non-inferiority shown"),
    ({"equivalent": {"margin": 0.30}}, True, "Equivalence shown"),
    ({"equivalent": {"margin": 0.25}}, False, "Equivalence not shown"),
    ({"superior": {}}, False, "Superiority not shown"),
    ({"superior": {}, "lower_is_better": True}, True, "Superiority shown"),
])
def test_every_rule_decides_the_issue_example(rule: dict[str, Any], shown: bool, name: str) -> None:
    """Sensitivity 0.69 (0.61-0.76) against the predicate's 0.90 (0.85-0.94): CI of the difference
    (-0.2975, -0.1225) from the closed form above."""
    subject = {"value": 0.69, "ci_low": 0.61, "ci_high": 0.76, "confidence_level": 0.95, "n": 133}
    res = compare_with_predicate(subject, {"value": 0.90, "ci_low": 0.85, "ci_high": 0.94}, rule)
    assert res.shown is shown and res.result.startswith(name)
    assert "similar" not in res.result


@given(v=st.floats(0.2, 0.8), w=st.floats(0.001, 0.1), m=st.floats(0.0, 0.2))
def test_non_inferiority_never_shown_when_the_subject_ci_is_below_the_margin(v: float, w: float, m: float) -> None:
    subject = {"value": v, "ci_low": v - w, "ci_high": v + w, "confidence_level": 0.95, "n": 10}
    pred = {"value": v + w + m + 0.01, "ci_low": v + w + m, "ci_high": v + w + m + 0.02}
    assert not compare_with_predicate(subject, pred, {"non_inferior": {"margin": m}}).shown


def test_subgroup_findings_flag_interactions_and_subgroups_below_the_criterion() -> None:
    from risk.report import subgroup_findings

    eps = [{"id": "spec", "criterion": "ci_low >= 0.80"}]
    sgs = [{"attribute": "sex", "level": "F", "endpoint": "spec", "value": 0.573, "ci_low": 0.48, "ci_high": 0.66,
            "n": 96},
           {"attribute": "sex", "level": "M", "endpoint": "spec", "value": 0.871, "ci_low": 0.81, "ci_high": 0.92,
            "n": 124}]
    tests = [{"variable": "sex", "endpoint": "spec", "pvalue": 0.0002, "pvalue_adjusted": 0.0006}]
    f = subgroup_findings(eps, sgs, tests, alpha=0.05)
    assert f[0] == ("spec differs across sex (interaction test, adjusted p = 0.0006 < 0.05): F: 0.573 (CI 0.480 to "
                    "0.660), n = 96; M: 0.871 (CI 0.810 to 0.920), n = 124.")
    assert f[1].startswith("spec in subgroup sex = F 0.573 (CI 0.480 to 0.660), n = 96: ci_low 0.480 does not "
                           "satisfy ci_low >= 0.800")
    tiny = subgroup_findings(eps, sgs, [{**tests[0], "pvalue_adjusted": 3e-9}], alpha=0.05)
    assert tiny[0].startswith("spec differs across sex (interaction test, adjusted p < 0.0001, below 0.05): F:")
    assert len(f) == 2
    assert subgroup_findings(eps, sgs[1:], [{**tests[0], "pvalue_adjusted": 0.2}]) == ()


@given(passed=st.lists(st.sampled_from([True, False, None]), min_size=1, max_size=8),
       prov=st.sampled_from(["clinical", "synthetic", "simulated", None]))
def test_no_success_sentence_unless_every_criterion_was_met(passed: list[bool | None], prov: str | None) -> None:
    eps = [_ep(f"e{i}", p) for i, p in enumerate(passed)]
    crit = criteria_summary([{"run_id": "r1", "verdict": "pass" if all(p is True for p in passed) else "fail",
                              "endpoints": eps}])
    text = " ".join(conclusion_sentences(crit, provenance=prov))
    if all(p is True for p in passed):
        assert crit.verdict == "pass" and "were met" in text
    else:
        assert crit.verdict == "fail" and "were met" not in text and "did not meet" in text
        for ep in eps:
            if ep["passed"] is not True:
                assert f"Criterion not met: {ep['id']} " in text


def test_a_sensitivity_at_an_fp_rate_never_reached_is_named_as_not_reached() -> None:
    ep = {**_ep("les1fp", False, math.nan, math.nan, math.nan), "metric": "lesion_sensitivity_at_fp",
          "reached": False, "fp_rate_reached": 0.64, "criterion": "value >= 0.4"}
    crit = criteria_summary([{"run_id": "r1", "verdict": "fail", "endpoints": [ep]}])
    text = conclusion_sentences(crit, provenance="synthetic")
    assert text[1] == ("Criterion not met: les1fp (lesion_sensitivity_at_fp) not reached (highest FP rate reached: "
                       "0.640), n = 133; acceptance criterion value >= 0.4: not met.")
