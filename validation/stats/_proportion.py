"""Confidence intervals for a single binomial proportion ``k / n``."""

from __future__ import annotations

import math
from typing import Literal

from scipy import special, stats

from samd_core.checks import as_count, check_confidence_level, check_option
from validation.stats._results import Estimate

__all__ = ["PROPORTION_METHODS", "ProportionMethod", "proportion_ci"]

ProportionMethod = Literal["wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"]
PROPORTION_METHODS: tuple[str, ...] = ("wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull")


def proportion_ci(
    k: int,
    n: int,
    *,
    method: ProportionMethod,
    confidence_level: float = 0.95,
) -> Estimate:
    """Two-sided confidence interval for a binomial proportion.

    Parameters
    ----------
    k : int
        Number of successes, ``0 <= k <= n``.
    n : int
        Number of trials, ``n >= 1``.
    method : {"wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"}
        ``"wilson"``: Wilson score interval (Newcombe 1998 method 3).
        ``"wilson_cc"``: Wilson score interval with Newcombe's continuity correction
        (Newcombe 1998 method 4; equals R ``prop.test(correct=TRUE)`` whenever
        ``|k - n p0| >= 0.5``, i.e. without prop.test's shrunken correction).
        ``"clopper_pearson"``: exact interval from beta quantiles (R ``binom.test``).
        ``"jeffreys"``: equal-tailed Jeffreys interval, Beta(k + 1/2, n - k + 1/2) quantiles.
        ``"agresti_coull"``: Agresti–Coull "add z²/2 successes and failures" interval,
        clipped to [0, 1].
    confidence_level : float
        Two-sided coverage in (0, 1).

    Returns
    -------
    Estimate
        ``value = k / n`` (the maximum-likelihood estimate for every method), ``n = n``.

    Notes
    -----
    Edge cases (defined identically for every method): ``k = 0`` gives ``ci_low = 0``
    exactly and ``k = n`` gives ``ci_high = 1`` exactly (for Jeffreys this is the
    modification of Brown, Cai & DasGupta 2001, sec. 4.1.2; for Clopper–Pearson it is the
    usual convention of ``binom.test``). ``n = 1`` is allowed and follows the same formulas.
    All bounds lie in [0, 1].

    References
    ----------
    Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of
    seven methods. Stat Med 1998;17:857-872.
    Clopper CJ, Pearson ES. Biometrika 1934;26:404-413.
    Brown LD, Cai TT, DasGupta A. Interval estimation for a binomial proportion.
    Stat Sci 2001;16:101-133.
    Agresti A, Coull BA. Am Stat 1998;52:119-126.
    """
    fn = "proportion_ci"
    method = check_option(method, "method", fn, PROPORTION_METHODS)  # type: ignore[assignment]
    confidence_level = check_confidence_level(confidence_level, fn)
    n = as_count(n, "n", fn, minimum=1)
    k = as_count(k, "k", fn)
    if k > n:
        from validation.errors import InvalidParameterError

        raise InvalidParameterError("k", fn, f"an integer in [0, n] = [0, {n}]", k)
    low, high = _proportion_bounds(k, n, method, confidence_level)
    return Estimate(k / n, low, high, confidence_level, method, n)


def _z(confidence_level: float) -> float:
    return float(special.ndtri(0.5 + confidence_level / 2.0))


def _proportion_bounds(k: int, n: int, method: str, confidence_level: float) -> tuple[float, float]:
    """Pure kernel: trusted ``0 <= k <= n``, ``n >= 1``."""
    alpha = 1.0 - confidence_level
    if method == "wilson":
        low, high = _wilson(k, n, _z(confidence_level))
    elif method == "wilson_cc":
        low, high = _wilson_cc(k, n, _z(confidence_level))
    elif method == "clopper_pearson":
        low = float(stats.beta.ppf(alpha / 2.0, k, n - k + 1)) if k > 0 else 0.0
        high = float(stats.beta.ppf(1.0 - alpha / 2.0, k + 1, n - k)) if k < n else 1.0
    elif method == "jeffreys":
        low = float(stats.beta.ppf(alpha / 2.0, k + 0.5, n - k + 0.5)) if k > 0 else 0.0
        high = float(stats.beta.ppf(1.0 - alpha / 2.0, k + 0.5, n - k + 0.5)) if k < n else 1.0
    else:  # agresti_coull
        z = _z(confidence_level)
        n_t = n + z * z
        p_t = (k + z * z / 2.0) / n_t
        half = z * math.sqrt(p_t * (1.0 - p_t) / n_t)
        low, high = max(0.0, p_t - half), min(1.0, p_t + half)
        if k == 0:
            low = 0.0
        if k == n:
            high = 1.0
    return low, high


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    z2 = z * z
    centre = (k + z2 / 2.0) / (n + z2)
    half = z * math.sqrt(n * p * (1.0 - p) + z2 / 4.0) / (n + z2)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def _wilson_cc(k: int, n: int, z: float) -> tuple[float, float]:
    """Newcombe (1998) method 4."""
    p = k / n
    q = 1.0 - p
    z2 = z * z
    denom = 2.0 * (n + z2)
    if k == 0:
        low = 0.0
    else:
        low = (2 * n * p + z2 - 1 - z * math.sqrt(z2 - 2 - 1 / n + 4 * p * (n * q + 1))) / denom
        low = max(0.0, low)
    if k == n:
        high = 1.0
    else:
        high = (2 * n * p + z2 + 1 + z * math.sqrt(z2 + 2 - 1 / n + 4 * p * (n * q - 1))) / denom
        high = min(1.0, high)
    return low, high
