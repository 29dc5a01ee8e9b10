"""Difference of two independent proportions (Newcombe), performance-goal and
non-inferiority tests decided by a confidence bound."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from scipy import optimize, special, stats

from validation.errors import InvalidParameterError
from validation.stats._checks import as_count, check_confidence_level, check_option
from validation.stats._paired import (
    PAIRED_DIFFERENCE_METHODS,
    PairedDifferenceMethod,
    as_paired_table,
    paired_bounds_at_z,
)
from validation.stats._proportion import PROPORTION_METHODS, ProportionMethod, _proportion_bounds, _wilson
from validation.stats._results import Estimate, HypothesisTestResult

__all__ = [
    "non_inferiority_test",
    "non_inferiority_test_paired",
    "performance_goal_test",
    "proportion_difference_ci",
]


def _counts(k: Any, n: Any, kf: str, nf: str, fn: str) -> tuple[int, int]:
    n_ = as_count(n, nf, fn, minimum=1)
    k_ = as_count(k, kf, fn)
    if k_ > n_:
        raise InvalidParameterError(kf, fn, f"an integer in [0, {nf}] = [0, {n_}]", k_)
    return k_, n_


def _newcombe_unpaired_z(k1: int, n1: int, k2: int, n2: int, z: float) -> tuple[float, float, float]:
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson(k1, n1, z)
    l2, u2 = _wilson(k2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(-1.0, low), min(1.0, high)


def _newcombe_unpaired(k1: int, n1: int, k2: int, n2: int, cl: float) -> Estimate:
    d, low, high = _newcombe_unpaired_z(k1, n1, k2, n2, float(special.ndtri(0.5 + cl / 2.0)))
    return Estimate(d, low, high, cl, "newcombe", n1 + n2)


def proportion_difference_ci(
    k1: int,
    n1: int,
    k2: int,
    n2: int,
    *,
    method: Literal["newcombe"],
    confidence_level: float = 0.95,
) -> Estimate:
    """CI for ``k1/n1 - k2/n2`` from two independent samples.

    ``method="newcombe"``: Newcombe (1998) method 10, the hybrid score ("square-and-add")
    interval from the two Wilson intervals (statsmodels ``confint_proportions_2indep(...,
    method="newcomb")``). ``n = n1 + n2``.

    References
    ----------
    Newcombe RG. Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Stat Med 1998;17:873-890.
    """
    fn = "proportion_difference_ci"
    check_option(method, "method", fn, ("newcombe",))
    cl = check_confidence_level(confidence_level, fn)
    k1, n1 = _counts(k1, n1, "k1", "n1", fn)
    k2, n2 = _counts(k2, n2, "k2", "n2", fn)
    return _newcombe_unpaired(k1, n1, k2, n2, cl)


def _dual_pvalue_z(bounds_at_z: Callable[[float], tuple[float, float, float]], threshold: float) -> float:
    """One-sided ("greater") p-value dual to a two-sided interval family indexed by ``z``.

    ``bounds_at_z(z) -> (estimate, low, high)``, with ``low`` decreasing and ``high``
    increasing in ``z >= 0`` and ``low(0) = high(0) = estimate``. The p-value is
    ``Phi(-z*)`` where ``low(z*) = threshold`` (estimate above the threshold), or
    ``Phi(z*)`` where ``high(z*) = threshold`` (estimate below it); so the bound of the
    ``1 - 2 alpha`` interval clears the threshold exactly when ``p < alpha``.
    """
    zmax = 38.0
    est = bounds_at_z(0.0)[0]
    if est >= threshold:
        if bounds_at_z(zmax)[1] >= threshold:
            return float(special.ndtr(-zmax))
        z = optimize.brentq(lambda t: bounds_at_z(t)[1] - threshold, 0.0, zmax, xtol=1e-13, rtol=1e-14)
        return float(special.ndtr(-z))
    if bounds_at_z(zmax)[2] < threshold:
        return 1.0
    z = optimize.brentq(lambda t: bounds_at_z(t)[2] - threshold, 0.0, zmax, xtol=1e-13, rtol=1e-14)
    return float(special.ndtr(z))


def _goal_pvalue(k: int, n: int, goal: float, method: str) -> float:
    """P-value of H0: p <= goal dual to the ``method`` interval's lower bound."""
    if method == "clopper_pearson":
        return float(stats.binom.sf(k - 1, n, goal))
    if k == 0 and method != "wilson":
        return 1.0  # lower bound fixed at 0 by convention
    if method == "jeffreys":
        return float(stats.beta.cdf(goal, k + 0.5, n - k + 0.5))
    sd = math.sqrt(n * goal * (1.0 - goal))
    if method == "wilson":
        return float(special.ndtr(-(k - n * goal) / sd))
    if method == "wilson_cc":
        return float(special.ndtr(-(k - 0.5 - n * goal) / sd))

    def ac(z: float) -> tuple[float, float, float]:
        n_t = n + z * z
        p_t = (k + z * z / 2.0) / n_t
        half = z * math.sqrt(p_t * (1.0 - p_t) / n_t)
        return k / n, p_t - half, p_t + half

    # the Agresti-Coull centre moves with z, so bracket the lower bound directly
    zmax = 38.0
    if ac(0.0)[1] < goal:
        if ac(-zmax)[1] < goal:
            return 1.0
        return float(special.ndtr(-optimize.brentq(lambda t: ac(t)[1] - goal, -zmax, 0.0, xtol=1e-13)))
    if ac(zmax)[1] >= goal:
        return float(special.ndtr(-zmax))
    return float(special.ndtr(-optimize.brentq(lambda t: ac(t)[1] - goal, 0.0, zmax, xtol=1e-13)))


def performance_goal_test(
    k: int,
    n: int,
    *,
    goal: float,
    method: ProportionMethod,
    confidence_level: float = 0.95,
    alternative: Literal["greater", "less"] = "greater",
) -> HypothesisTestResult:
    """One-sided test of a proportion against a pre-specified performance goal.

    The goal is met (``alternative="greater"``) when the lower bound of the two-sided
    ``confidence_level`` interval (``method``, see `proportion_ci`) exceeds ``goal``
    (``"less"``: the upper bound is below it, e.g. for an error rate). The p-value is the
    dual of that interval: the one-sided level at which the bound equals the goal, so
    "goal met" is exactly ``pvalue < (1 - confidence_level)/2``. For ``clopper_pearson``
    this is the exact binomial test (``binom.test(alternative="greater")``), for
    ``wilson`` the score test.

    Returns
    -------
    HypothesisTestResult
        ``statistic`` = ``k/n - goal``; ``estimate`` = `proportion_ci` result.
    """
    fn = "performance_goal_test"
    method = check_option(method, "method", fn, PROPORTION_METHODS)  # type: ignore[assignment]
    alternative = check_option(alternative, "alternative", fn, ("greater", "less"))  # type: ignore[assignment]
    cl = check_confidence_level(confidence_level, fn)
    k, n = _counts(k, n, "k", "n", fn)
    if isinstance(goal, bool) or not isinstance(goal, (int, float)) or not (0.0 < float(goal) < 1.0):
        raise InvalidParameterError("goal", fn, "a float in (0, 1)", goal)
    goal = float(goal)
    low, high = _proportion_bounds(k, n, method, cl)
    est = Estimate(k / n, low, high, cl, method, n)
    if alternative == "greater":
        p = _goal_pvalue(k, n, goal, method)
    else:  # by symmetry of every method under k -> n - k, p -> 1 - p
        p = _goal_pvalue(n - k, n, 1.0 - goal, method)
    return HypothesisTestResult(k / n - goal, p, alternative, est)


def _check_margin(margin: Any, fn: str) -> float:
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not (0.0 <= float(margin) < 1.0):
        raise InvalidParameterError("margin", fn, "a float in [0, 1)", margin)
    return float(margin)


def non_inferiority_test(
    k_new: int,
    n_new: int,
    k_ref: int,
    n_ref: int,
    *,
    margin: float,
    method: Literal["newcombe"],
    confidence_level: float = 0.95,
) -> HypothesisTestResult:
    """Non-inferiority of a new proportion to a reference (independent samples).

    Non-inferior when the lower bound of the two-sided Newcombe CI of ``p_new - p_ref``
    exceeds ``-margin``; the p-value is the dual one-sided level (non-inferior exactly when
    ``pvalue < (1 - confidence_level)/2``). ``statistic`` = ``p_new - p_ref + margin``;
    ``estimate`` = the difference with its Newcombe CI; ``alternative="greater"``.
    """
    fn = "non_inferiority_test"
    check_option(method, "method", fn, ("newcombe",))
    cl = check_confidence_level(confidence_level, fn)
    margin = _check_margin(margin, fn)
    k1, n1 = _counts(k_new, n_new, "k_new", "n_new", fn)
    k2, n2 = _counts(k_ref, n_ref, "k_ref", "n_ref", fn)
    est = _newcombe_unpaired(k1, n1, k2, n2, cl)
    p = _dual_pvalue_z(lambda z: _newcombe_unpaired_z(k1, n1, k2, n2, z), -margin)
    return HypothesisTestResult(est.value + margin, p, "greater", est)


def non_inferiority_test_paired(
    table: Any,
    *,
    margin: float,
    method: PairedDifferenceMethod,
    confidence_level: float = 0.95,
) -> HypothesisTestResult:
    """Non-inferiority of A to B on paired data (``table`` as in `mcnemar_test`, A = new).

    Decided by the lower bound of the paired CI of ``P(A) - P(B)`` (``method``
    ``"newcombe"`` or ``"tango"``, see `paired_proportion_difference_ci`) against
    ``-margin``; p-value, statistic and alternative as in `non_inferiority_test`. For
    ``"tango"`` the dual p-value is Tango's score test ``Phi(-Z(-margin))``.
    """
    fn = "non_inferiority_test_paired"
    method = check_option(method, "method", fn, PAIRED_DIFFERENCE_METHODS)  # type: ignore[assignment]
    cl = check_confidence_level(confidence_level, fn)
    margin = _check_margin(margin, fn)
    cells = as_paired_table(table, fn)
    d, low, high = paired_bounds_at_z(cells, method, float(special.ndtri(0.5 + cl / 2.0)))
    est = Estimate(d, low, high, cl, method, sum(cells))
    p = _dual_pvalue_z(lambda z: paired_bounds_at_z(cells, method, z), -margin)
    return HypothesisTestResult(est.value + margin, p, "greater", est)
