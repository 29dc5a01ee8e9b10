"""samd_core.checks: the one module of argument checks (issue #12)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from samd_core.checks import (
    as_array,
    as_count,
    as_rng,
    check_confidence_level,
    check_number,
    check_option,
    check_probability,
)
from samd_core.errors import InvalidParameterError


@pytest.mark.parametrize("good", [0.5, 0.95, 1e-9, np.float32(0.9), 0.999999])
def test_confidence_level_accepts_reals_strictly_inside(good: float) -> None:
    assert check_confidence_level(good, "f") == float(good)


@pytest.mark.parametrize("bad", [0, 1, 0.0, 1.0, -0.1, 95, math.nan, math.inf, True, "0.95", None, 1 + 0j])
def test_confidence_level_one_rule_one_message(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"^`confidence_level` of `f` must be a float in \(0, 1\); got "):
        check_confidence_level(bad, "f")


# every public function that takes confidence_level goes through the one rule
def _callers() -> list[tuple[str, object]]:
    import clinical_eval.mrmc as mrmc
    import clinical_eval.reading_time as rt
    import clinical_eval.sizing as sizing
    import validation.stats as vs

    comps = {"var_tr": 1e-4, "var_error": 1e-3, "cov1": 4e-4, "cov2": 3e-4, "cov3": 2e-4}
    y, s = np.array([0, 1, 0, 1, 1, 0]), np.array([0.1, 0.8, 0.3, 0.6, 0.9, 0.2])
    return [
        ("proportion_ci", lambda cl: vs.proportion_ci(3, 10, method="wilson", confidence_level=cl)),
        ("roc_auc", lambda cl: vs.roc_auc(y, s, method="delong", confidence_level=cl)),
        ("cohen_kappa", lambda cl: vs.cohen_kappa([0, 1, 1, 0], [0, 1, 0, 0], confidence_level=cl)),
        ("reading_time_ratio", lambda cl: rt.reading_time_ratio([1.0, 2.0], [1.5, 2.5], confidence_level=cl)),
        ("analyze", lambda cl: mrmc.analyze(None, confidence_level=cl)),
        ("power", lambda cl: sizing.power(comps, effect=0.05, n_readers=4, n_cases=40, pilot_cases=40,
                                          confidence_level=cl)),
    ]


@pytest.mark.parametrize("bad", ["0.95", math.nan, 1.5, True])
def test_every_confidence_level_goes_through_the_one_check(bad: object) -> None:
    for name, call in _callers():
        with pytest.raises(InvalidParameterError, match=r"`confidence_level` of `\w+` must be a float in \(0, 1\)"):
            call(bad)  # type: ignore[operator]


def test_option_did_you_mean_and_separator_folding() -> None:
    with pytest.raises(InvalidParameterError, match=r"must be one of 'wilson', 'clopper-pearson'; got 'wilsn'.*did you mean 'wilson'"):
        check_option("wilsn", "method", "f", ("wilson", "clopper-pearson"))
    with pytest.raises(InvalidParameterError, match=r"did you mean 'clopper-pearson'\?"):
        check_option("Clopper_Pearson", "method", "f", ("wilson", "clopper-pearson"))
    assert check_option("wilson", "method", "f", ("wilson",)) == "wilson"


def test_rng() -> None:
    g = np.random.default_rng(1)
    assert as_rng(g, "f") is g
    assert as_rng(7, "f").random() == np.random.default_rng(7).random()
    assert isinstance(as_rng(None, "f", allow_none=True), np.random.Generator)
    for bad in (None, -1, 1.5, True, "7"):
        with pytest.raises(InvalidParameterError, match=r"^`rng` of `f` must be a numpy.random.Generator"):
            as_rng(bad, "f")


def test_numbers_and_counts() -> None:
    assert check_number(2, "x", "f", low=0, low_open=True) == 2.0
    with pytest.raises(InvalidParameterError, match=r"must be a finite number > 0; got 0"):
        check_number(0, "x", "f", low=0, low_open=True)
    with pytest.raises(InvalidParameterError, match=r"must be a finite number >= 0 and <= 1; got nan"):
        check_number(math.nan, "x", "f", low=0, high=1)
    assert as_count(np.int64(3), "n", "f") == 3 and as_count(4.0, "n", "f") == 4
    for bad in (-1, 2.5, True, math.inf):
        with pytest.raises(InvalidParameterError, match=r"must be an integer >= 0"):
            as_count(bad, "n", "f")
    assert check_probability(1, "p", "f") == 1.0
    with pytest.raises(InvalidParameterError, match=r"must be a number in \[0, 1\]"):
        check_probability(1.01, "p", "f")


def test_arrays() -> None:
    a = as_array([[1.0, 2.0]], "a", "f", ndim=2, finite=True)
    assert a.shape == (1, 2)
    with pytest.raises(InvalidParameterError, match=r"must be a 1-d array; got array of shape \(1, 2\)"):
        as_array([[1.0, 2.0]], "a", "f", ndim=1)
    with pytest.raises(InvalidParameterError, match=r"must be finite values \(no NaN or inf\); got nan at index \(0, 1\)"):
        as_array([[1.0, math.nan]], "a", "f", finite=True)
    with pytest.raises(InvalidParameterError, match=r"must be a non-empty array"):
        as_array([], "a", "f")
    with pytest.raises(InvalidParameterError, match=r"must be an array of shape \(3,\); got shape \(2,\)"):
        as_array([1, 2], "a", "f", shape=(3,))
    with pytest.raises(InvalidParameterError, match=r"must be an array of numbers; got dtype <U1"):
        as_array(["a"], "a", "f")
