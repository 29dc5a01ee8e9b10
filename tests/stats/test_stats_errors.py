"""Bad input gives a clear error naming the argument (one template), never a silent number."""

from __future__ import annotations

import numpy as np
import pytest

import validation.stats as vs
from validation.errors import InvalidParameterError

Y = np.array([0, 1, 0, 1, 1, 0, 0, 1])
S = np.array([0.1, 0.9, 0.3, 0.7, 0.4, 0.2, 0.6, 0.8])


def raises(field: str, fragment: str, func: object, /, *args: object, **kwargs: object) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        func(*args, **kwargs)  # type: ignore[operator]
    msg = str(exc.value)
    assert exc.value.field == field, msg
    assert msg.startswith(f"`{field}` of `"), msg
    assert fragment in msg, msg


@pytest.mark.verifies("SRS-STATS-012")
def test_labels_not_binary_names_value_and_index() -> None:
    y = Y.copy()
    y[5] = 2
    raises("y_true", "must be 0/1 labels; got 2 at index 5", vs.roc_auc, y, S)
    raises("y_true", "got -1 at index 0", vs.roc_curve, np.r_[-1, Y[1:]], S)
    raises("y_pred", "0/1 labels; got 0.5 at index 1", vs.diagnostic_accuracy_from_labels, Y, np.r_[0, 0.5, Y[2:]], method="wilson")


@pytest.mark.verifies("SRS-STATS-012")
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores(bad: float) -> None:
    s = S.copy()
    s[3] = bad
    raises("y_score", "at index 3", vs.roc_auc, Y, s)
    raises("y_score_b", "finite scores", vs.delong_test, Y, S, s)
    raises("y_score", "at index 3", vs.operating_point, Y, s, threshold=0.5, method="wilson")


@pytest.mark.verifies("SRS-STATS-012")
def test_single_class_labels() -> None:
    raises("y_true", "got 0 positive and 8 negative", vs.roc_auc, np.zeros(8, int), S)
    raises("y_true", "at least 2 positive", vs.delong_test, np.r_[1, np.zeros(7, int)], S, S)
    raises("y_true", "positive (1) and", vs.roc_curve, np.ones(8, int), S)


@pytest.mark.verifies("SRS-STATS-012")
def test_mismatched_lengths_and_empty() -> None:
    raises("y_score", "the same length as `y_true` (8); got length 7", vs.roc_auc, Y, S[:7])
    raises("y_true", "non-empty", vs.roc_auc, [], [])
    raises("y_score_b", "length", vs.delong_test, Y, S, S[:5])
    raises("pvalues", "non-empty", vs.adjust_pvalues, [], method="holm")
    raises("data[1]", "length 8", vs.bootstrap_ci, lambda a, b: 0.0, S, S[:3], method="percentile", rng=0)
    raises("y_true", "1-d array", vs.roc_auc, Y.reshape(2, 4), S.reshape(2, 4))


@pytest.mark.verifies("SRS-STATS-012")
def test_counts() -> None:
    raises("k", "[0, n] = [0, 5]; got 6", vs.proportion_ci, 6, 5, method="wilson")
    raises("n", "integer >= 1; got 0", vs.proportion_ci, 0, 0, method="wilson")
    raises("k", "integer >= 0; got -1", vs.proportion_ci, -1, 5, method="wilson")
    raises("k", "integer", vs.proportion_ci, 1.5, 5, method="wilson")
    raises("tp", "integer >= 0", vs.diagnostic_accuracy, tp=-1, fp=0, fn=0, tn=1, method="wilson")
    raises("tp", "at least one case", vs.diagnostic_accuracy, tp=0, fp=0, fn=0, tn=0, method="wilson")
    raises("k1", "[0, n1]", vs.proportion_difference_ci, 11, 10, 1, 2, method="newcombe")
    raises("table", "2x2", vs.mcnemar_test, [[1, 2, 3]], method="exact")
    raises("table[1][0]", "integer >= 0", vs.mcnemar_test, [[1, 2], [-3, 4]], method="exact")


@pytest.mark.verifies("SRS-STATS-012")
def test_options_with_did_you_mean() -> None:
    raises("method", "did you mean 'wilson'?", vs.proportion_ci, 1, 5, method="wilsn")
    raises("method", "did you mean 'clopper_pearson'?", vs.proportion_ci, 1, 5, method="clopper-pearson")
    raises("method", "did you mean 'benjamini_hochberg'?", vs.adjust_pvalues, [0.1], method="benjamini_hochburg")
    raises("alternative", "did you mean 'two-sided'?", vs.delong_test, Y, S, S, alternative="two.sided")
    raises("method", "one of 'delong'", vs.roc_auc, Y, S, method="hanley")
    raises("method", "did you mean 'bca'?", vs.bootstrap_ci, np.mean, S, method="BCa", rng=0)


@pytest.mark.verifies("SRS-STATS-012")
def test_other_parameters() -> None:
    raises("confidence_level", "(0, 1); got 95", vs.roc_auc, Y, S, confidence_level=95)
    raises("confidence_level", "(0, 1); got True", vs.proportion_ci, 1, 2, method="wilson", confidence_level=True)
    raises("rng", "int seed", vs.roc_auc, Y, S, method="bootstrap_percentile")
    raises("rng", "Generator", vs.bootstrap_ci, np.mean, S, method="percentile", rng="seed")
    raises("pvalues", "[0, 1]; got nan at index 1", vs.adjust_pvalues, [0.1, np.nan], method="holm")
    raises("prevalence", "(0, 1)", vs.diagnostic_accuracy, tp=1, fp=1, fn=1, tn=1, method="wilson", prevalence=1.0)
    raises("goal", "(0, 1)", vs.performance_goal_test, 1, 2, goal=1.2, method="wilson")
    raises("margin", "[0, 1)", vs.non_inferiority_test, 1, 2, 1, 2, margin=-0.1, method="newcombe")
    raises("bounds", "two different floats", vs.partial_auc, Y, S, bounds=(0.8, 0.8), correct=True, method="bootstrap_bca", rng=0)
    raises("bounds", "[0, 1]", vs.partial_auc, Y, S, bounds=(0.8, 1.2), correct=True, method="bootstrap_bca", rng=0)
    raises("specificity", "[0, 1]", vs.sensitivity_at_specificity, Y, S, specificity=1.5, method="bootstrap-bca", rng=0)
    raises("threshold", "finite", vs.operating_point, Y, S, threshold=np.nan, method="wilson")
    raises("clusters", "method='delong'", vs.roc_auc, Y, S, clusters=np.arange(8))
    raises("strata", "constant within each cluster", vs.bootstrap_ci, np.mean, S, method="percentile", rng=0,
           strata=Y, clusters=np.zeros(8, int))
    raises("statistic", "callable", vs.bootstrap_ci, 3, S, method="percentile", rng=0)


@pytest.mark.verifies("SRS-STATS-012")
def test_bootstrap_non_finite_statistic_is_an_error() -> None:
    """A single-class cluster resample would give a nan AUC: an error, never dropped silently."""
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4])
    raises("clusters", "single-class resample", vs.roc_auc, y, s, method="bootstrap-percentile", rng=0, clusters=[0, 0, 1, 1])
    raises("statistic", "non-finite value", vs.bootstrap_ci, lambda a: float("nan"), s, method="percentile", rng=0)


@pytest.mark.verifies("SRS-STATS-012")
def test_bootstrap_curve_statistics_need_two_cases_per_class() -> None:
    y = [0, 0, 0, 1]
    s = [0.1, 0.2, 0.3, 0.4]
    raises("y_true", "at least 2 positive", vs.partial_auc, y, s, bounds=(0.8, 1), correct=False, method="bootstrap-bca", rng=0)
    raises("y_true", "at least 2 positive", vs.sensitivity_at_specificity, y, s, specificity=0.9,
           method="bootstrap-bca", rng=0)


@pytest.mark.parametrize("func,args,given,used", [
    ("roc_auc", (Y, S), "bootstrap-percentile", "bootstrap_percentile"),
    ("roc_auc", (Y, S), "bootstrap-bca", "bootstrap_bca"),
    ("adjust_pvalues", ([0.01, 0.04],), "benjamini-hochberg", "benjamini_hochberg"),
    ("mcnemar_test", ([[3, 2], [7, 4]],), "mid-p", "mid_p"),
])
def test_older_option_spellings_are_accepted_and_normalised(func: str, args: tuple, given: str, used: str) -> None:
    """One spelling per option (snake_case); the older hyphenated spellings keep working and give
    exactly the result of the name used."""
    kw = {"rng": 3, "n_resamples": 100} if func == "roc_auc" else {}
    old = getattr(vs, func)(*args, method=given, **kw)
    new = getattr(vs, func)(*args, method=used, **kw)
    assert old == new
    method = getattr(old, "method", None) or getattr(getattr(old, "estimate", None), "method", None)
    if func != "mcnemar_test":
        assert method == used
