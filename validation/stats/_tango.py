"""Tango's asymptotic score interval and score test for a difference of paired proportions."""

from __future__ import annotations

import math

from scipy import optimize, special

__all__ = ["tango_bounds", "tango_pvalue_greater", "tango_score"]


def _restricted_q01(b: int, c: int, n: int, delta: float) -> float:
    """Constrained MLE of P(A-, B+) under ``P(A+, B-) - P(A-, B+) = delta`` (Tango 1998, eq. 3)."""
    a2 = 2.0 * n
    bq = -(b + c) + (2.0 * n - b + c) * delta
    cq = -c * delta * (1.0 - delta)
    disc = max(bq * bq - 4.0 * a2 * cq, 0.0)
    return max((-bq + math.sqrt(disc)) / (2.0 * a2), 0.0)


def _num_sd(b: int, c: int, n: int, delta: float) -> tuple[float, float]:
    q = _restricted_q01(b, c, n, delta)
    var = n * (2.0 * q + delta * (1.0 - delta))
    return b - c - n * delta, math.sqrt(max(var, 0.0))


def tango_score(b: int, c: int, n: int, delta: float) -> float:
    """Tango's score statistic ``Z(delta)`` for H0: P(A) - P(B) = ``delta``.

    ``b`` = pairs A+/B-, ``c`` = pairs A-/B+, ``n`` = all pairs. ``Z`` is large when the
    observed difference ``(b - c)/n`` exceeds ``delta``; ``+-inf`` where the restricted
    variance is 0 and the numerator is not.
    """
    num, sd = _num_sd(b, c, n, delta)
    if sd == 0.0:
        return 0.0 if num == 0.0 else math.copysign(math.inf, num)
    return num / sd


def tango_bounds(b: int, c: int, n: int, z: float) -> tuple[float, float, float]:
    """``(estimate, low, high)``: the set ``{delta : |Z(delta)| <= z}``, by root-finding.

    The lower bound solves ``Z(delta) = z`` on ``[-1, d]`` and the upper ``Z(delta) = -z`` on
    ``[d, 1]`` (``d = (b - c)/n``); written as ``num -+ z sd = 0`` so both ends are finite.
    """
    d = (b - c) / n
    if z == 0.0:
        return d, d, d

    def g_low(t: float) -> float:
        num, sd = _num_sd(b, c, n, t)
        val = num - z * sd
        return -1.0 if (t == d and val == 0.0) else val

    def g_high(t: float) -> float:
        num, sd = _num_sd(b, c, n, t)
        val = num + z * sd
        return 1.0 if (t == d and val == 0.0) else val

    low = -1.0 if d <= -1.0 or g_low(-1.0) <= 0.0 else optimize.brentq(g_low, -1.0, d, xtol=1e-15, rtol=1e-15, maxiter=500)
    high = 1.0 if d >= 1.0 or g_high(1.0) >= 0.0 else optimize.brentq(g_high, d, 1.0, xtol=1e-15, rtol=1e-15, maxiter=500)
    return d, float(low), float(high)


def tango_pvalue_greater(b: int, c: int, n: int, delta0: float) -> float:
    """One-sided score-test p-value of H0: difference <= ``delta0`` (Tango 1998, section 2)."""
    return float(special.ndtr(-tango_score(b, c, n, delta0)))
