"""Paired 2x2 tables: McNemar tests and the Newcombe CI for a paired difference."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy import special, stats

from samd_core.checks import Described, as_count, check_confidence_level, check_option
from validation.errors import InvalidParameterError
from validation.stats._proportion import _wilson
from validation.stats._results import Alternative, Estimate, HypothesisTestResult
from validation.stats._tango import tango_bounds

__all__ = [
    "MCNEMAR_METHODS",
    "McNemarMethod",
    "PAIRED_DIFFERENCE_METHODS",
    "PairedDifferenceMethod",
    "as_paired_table",
    "mcnemar_test",
    "paired_bounds_at_z",
    "paired_proportion_difference_ci",
]

McNemarMethod = Literal["exact", "mid_p", "asymptotic", "asymptotic_cc"]
MCNEMAR_METHODS: tuple[str, ...] = ("exact", "mid_p", "asymptotic", "asymptotic_cc")
_MCNEMAR_ALIASES = {"mid-p": "mid_p"}
PairedDifferenceMethod = Literal["newcombe", "tango"]
PAIRED_DIFFERENCE_METHODS: tuple[str, ...] = ("newcombe", "tango")
_ALTERNATIVES = ("two-sided", "less", "greater")


def as_paired_table(table: Any, fn: str) -> tuple[int, int, int, int]:
    """``[[n11, n10], [n01, n00]]`` (rows: A positive/negative; columns: B positive/negative)."""
    try:
        arr = np.asarray(table)
    except Exception as exc:
        raise InvalidParameterError("table", fn, "a 2x2 array of counts", table) from exc
    if arr.shape != (2, 2):
        raise InvalidParameterError("table", fn, "a 2x2 array of counts", Described(f"shape {arr.shape}"))
    cells = [as_count(arr[i, j].item() if hasattr(arr[i, j], "item") else arr[i, j], f"table[{i}][{j}]", fn)
             for i in (0, 1) for j in (0, 1)]
    if sum(cells) == 0:
        raise InvalidParameterError("table", fn, "a 2x2 table with at least one pair", Described("all cells 0"))
    return cells[0], cells[1], cells[2], cells[3]


def mcnemar_test(
    table: Any,
    *,
    method: McNemarMethod,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> HypothesisTestResult:
    """McNemar's test of equal paired proportions (e.g. sensitivities of two tests on the
    same diseased cases).

    Parameters
    ----------
    table : 2x2 array_like of counts
        ``[[n11, n10], [n01, n00]]``: rows = result of A (1, 0), columns = result of B (1, 0).
        Only the discordant cells ``b = n10`` and ``c = n01`` enter the test.
    method : {"exact", "mid_p", "asymptotic", "asymptotic_cc"}
        ``"exact"``: conditional binomial test of ``b ~ Bin(b + c, 1/2)`` (two-sided p =
        ``min(1, 2 P(X <= min(b, c)))``). ``"mid_p"`` (older spelling ``"mid-p"`` accepted): exact p minus the point probability
        (two-sided: ``2 P(X <= min) - P(X = min)``; Fagerland et al. 2013).
        ``"asymptotic"``: ``(b - c)² / (b + c)`` ~ chi-square(1). ``"asymptotic_cc"``:
        Edwards' continuity correction ``(|b - c| - 1)² / (b + c)`` (R ``mcnemar.test``).
    alternative : {"two-sided", "less", "greater"}
        ``"greater"``: P(A positive) > P(B positive), i.e. ``b > c``. One-sided asymptotic
        p-values use the signed root ``(b - c)/sqrt(b + c)`` (corrected: ``|b - c| - 1``).
    confidence_level : float
        Level of the Newcombe CI of the difference in the ``estimate``.

    Returns
    -------
    HypothesisTestResult
        ``statistic``: ``b`` for the exact and mid-p tests, the chi-square value for the
        asymptotic ones. ``estimate``: P(A) - P(B) = (b - c)/N with the paired Newcombe CI
        (`paired_proportion_difference_ci`). With ``b + c = 0`` the p-value is 1 (statistic
        0 for the asymptotic methods).

    References
    ----------
    McNemar Q. Psychometrika 1947;12:153-157.
    Fagerland MW, Lydersen S, Laake P. The McNemar test for binary matched-pairs data:
    mid-p and asymptotic are better than exact conditional. BMC Med Res Methodol 2013;13:91.
    """
    fn = "mcnemar_test"
    method = check_option(_MCNEMAR_ALIASES.get(method, method) if isinstance(method, str) else method,  # type: ignore[assignment]
                          "method", fn, MCNEMAR_METHODS)
    alternative = check_option(alternative, "alternative", fn, _ALTERNATIVES)  # type: ignore[assignment]
    confidence_level = check_confidence_level(confidence_level, fn)
    n11, n10, n01, n00 = as_paired_table(table, fn)
    est = _paired_newcombe(n11, n10, n01, n00, confidence_level)
    b, c = n10, n01
    nd = b + c
    if method in ("exact", "mid_p"):
        stat = float(b)
        if nd == 0:
            return HypothesisTestResult(stat, 1.0, alternative, est)
        mid = method == "mid_p"
        if alternative == "two-sided":
            k = min(b, c)
            p = 2.0 * float(stats.binom.cdf(k, nd, 0.5))
            if mid:
                p -= float(stats.binom.pmf(k, nd, 0.5))
            p = min(1.0, p)
        elif alternative == "greater":
            p = float(stats.binom.sf(b - 1, nd, 0.5))
            if mid:
                p -= 0.5 * float(stats.binom.pmf(b, nd, 0.5))
        else:
            p = float(stats.binom.cdf(b, nd, 0.5))
            if mid:
                p -= 0.5 * float(stats.binom.pmf(b, nd, 0.5))
        return HypothesisTestResult(stat, p, alternative, est)
    if nd == 0:
        return HypothesisTestResult(0.0, 1.0, alternative, est)
    diff = abs(b - c) - (1.0 if method == "asymptotic_cc" else 0.0)
    diff = max(diff, 0.0)
    chi2 = diff * diff / nd
    if alternative == "two-sided":
        p = float(stats.chi2.sf(chi2, 1))
    else:
        z = math.copysign(diff, b - c) / math.sqrt(nd)
        p = float(special.ndtr(-z)) if alternative == "greater" else float(special.ndtr(z))
    return HypothesisTestResult(chi2, p, alternative, est)


def paired_proportion_difference_ci(
    table: Any,
    *,
    method: PairedDifferenceMethod,
    confidence_level: float = 0.95,
) -> Estimate:
    """CI for the difference of paired proportions P(A) - P(B) = (n10 - n01)/N.

    Parameters
    ----------
    table : 2x2 array_like of counts
        As in `mcnemar_test`: ``[[n11, n10], [n01, n00]]``, rows = A (1, 0), columns = B.
    method : {"newcombe", "tango"}
        ``"newcombe"``: Newcombe (1998b) method 10, the hybrid score interval:
        square-and-add from the Wilson score intervals of the two marginal proportions
        with the correlation correction ``phi = (A - N/2)/sqrt(r1 r2 c1 c2)`` for
        ``A = n11 n00 - n10 n01 > N/2``, ``0`` for ``0 <= A <= N/2`` and
        ``A/sqrt(r1 r2 c1 c2)`` for ``A < 0`` (``phi = 0`` if a margin is empty), as in
        Fagerland, Lydersen & Laake (2014). ``"tango"``: Tango's (1998) asymptotic score
        interval, the set of ``delta`` with ``|Z(delta)| <= z`` where
        ``Z = (n10 - n01 - N delta) / sqrt(N (2 q + delta (1 - delta)))`` and ``q`` is the
        maximum-likelihood estimate of P(A-, B+) restricted to the difference ``delta``;
        the bounds are found by root-finding to ~1e-15. With no discordant pairs it is
        ``+-z^2/(N + z^2)``.
    confidence_level : float
        Two-sided coverage, in (0, 1).

    Returns
    -------
    Estimate
        ``value`` = (n10 - n01)/N, bounds within [-1, 1], ``method`` as given, ``n`` = pairs.

    References
    ----------
    Newcombe RG. Improved confidence intervals for the difference between binomial
    proportions based on paired data. Stat Med 1998;17:2635-2650.
    Tango T. Equivalence test and confidence interval for the difference in proportions
    for the paired-sample design. Stat Med 1998;17:891-908.
    Fagerland MW, Lydersen S, Laake P. Recommended tests and confidence intervals for paired
    binomial proportions. Stat Med 2014;33:2850-2875.

    Examples
    --------
    >>> est = paired_proportion_difference_ci([[59, 6], [16, 80]], method="tango")
    >>> round(est.ci_low, 4), round(est.ci_high, 4)
    (-0.124, -0.0054)
    """
    fn = "paired_proportion_difference_ci"
    method = check_option(method, "method", fn, PAIRED_DIFFERENCE_METHODS)  # type: ignore[assignment]
    confidence_level = check_confidence_level(confidence_level, fn)
    cells = as_paired_table(table, fn)
    z = float(special.ndtri(0.5 + confidence_level / 2.0))
    d, low, high = paired_bounds_at_z(cells, method, z)
    return Estimate(d, low, high, confidence_level, method, sum(cells))


def paired_bounds_at_z(cells: tuple[int, int, int, int], method: str, z: float) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of the paired-difference interval ``method`` at normal quantile ``z``."""
    if method == "tango":
        n11, n10, n01, n00 = cells
        return tango_bounds(n10, n01, n11 + n10 + n01 + n00, z)
    return _paired_newcombe_z(*cells, z)


def _paired_newcombe(n11: int, n10: int, n01: int, n00: int, cl: float) -> Estimate:
    d, low, high = _paired_newcombe_z(n11, n10, n01, n00, float(special.ndtri(0.5 + cl / 2.0)))
    return Estimate(d, low, high, cl, "newcombe", n11 + n10 + n01 + n00)


def _paired_newcombe_z(n11: int, n10: int, n01: int, n00: int, z: float) -> tuple[float, float, float]:
    n = n11 + n10 + n01 + n00
    r1, r2 = n11 + n10, n01 + n00  # margins of A
    c1, c2 = n11 + n01, n10 + n00  # margins of B
    p1, p2 = r1 / n, c1 / n
    d = p1 - p2
    l1, u1 = _wilson(r1, n, z)
    l2, u2 = _wilson(c1, n, z)
    if r1 == 0 or r2 == 0 or c1 == 0 or c2 == 0:
        phi = 0.0
    else:
        a = n11 * n00 - n10 * n01
        den = math.sqrt(float(r1) * r2 * c1 * c2)
        phi = (a - n / 2.0) / den if a > n / 2.0 else (0.0 if a >= 0 else a / den)
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 + (u2 - p2) ** 2 - 2.0 * phi * (p1 - l1) * (u2 - p2)))
    du = math.sqrt(max(0.0, (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2.0 * phi * (p2 - l2) * (u1 - p1)))
    return d, max(-1.0, d - dl), min(1.0, d + du)
