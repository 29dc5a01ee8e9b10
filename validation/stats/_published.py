"""Difference between an estimate and a published (reported) estimate, from their confidence intervals."""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from validation.errors import InvalidParameterError
from samd_core.checks import check_confidence_level
from validation.stats._results import Estimate

__all__ = ["difference_from_published"]


def _finite(x: Any, field: str, fn: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)):
        raise InvalidParameterError(field, fn, "a finite number", x)
    return float(x)


def difference_from_published(
    estimate: Estimate,
    reference_value: float,
    reference_ci_low: float,
    reference_ci_high: float,
    *,
    reference_confidence_level: float,
    confidence_level: float | None = None,
) -> Estimate:
    """``estimate − reference`` with a CI, when only the reference's value and CI are published.

    Each standard error is recovered from its CI half width assuming a symmetric normal interval,
    ``SE = (ci_high − ci_low) / (2 z)`` with ``z = Φ⁻¹((1 + level) / 2)``; the two estimates are
    taken as independent, so ``SE_diff = sqrt(SE_1² + SE_2²)`` and the difference's CI is
    ``d ± z · SE_diff`` at ``confidence_level``.

    Parameters
    ----------
    estimate
        The subject's estimate (value, CI, level, n).
    reference_value, reference_ci_low, reference_ci_high
        The published value and confidence bounds (same units as ``estimate``).
    reference_confidence_level
        Two-sided level of the published CI, in (0, 1).
    confidence_level
        Level of the difference's CI; default ``estimate.confidence_level``.

    Returns
    -------
    Estimate
        The difference, its CI at the subject's level, method
        ``"normal approximation from published CIs"``, and the subject's ``n``.

    References
    ----------
    Altman DG, Bland JM. Interaction revisited: the difference between two estimates.
    BMJ 2003;326:219. Altman DG, Bland JM. How to obtain the P value from a confidence
    interval. BMJ 2011;343:d2304.
    """
    fn = "difference_from_published"
    if not isinstance(estimate, Estimate):
        raise InvalidParameterError("estimate", fn, "a validation.stats.Estimate", type(estimate).__name__)
    own = check_confidence_level(estimate.confidence_level, fn, "estimate")
    level = own if confidence_level is None else check_confidence_level(confidence_level, fn)
    ref_level = check_confidence_level(reference_confidence_level, fn, "reference_confidence_level")
    v1, lo1, hi1 = (_finite(x, "estimate", fn) for x in (estimate.value, estimate.ci_low, estimate.ci_high))
    v2 = _finite(reference_value, "reference_value", fn)
    lo2 = _finite(reference_ci_low, "reference_ci_low", fn)
    hi2 = _finite(reference_ci_high, "reference_ci_high", fn)
    if not lo1 <= v1 <= hi1:
        raise InvalidParameterError("estimate", fn, "ci_low <= value <= ci_high", (lo1, v1, hi1))
    if not lo2 <= v2 <= hi2:
        raise InvalidParameterError("reference_value", fn, "between reference_ci_low and reference_ci_high",
                                    (lo2, v2, hi2))
    z1 = float(stats.norm.ppf(0.5 + own / 2.0))
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    z2 = float(stats.norm.ppf(0.5 + ref_level / 2.0))
    se = math.hypot((hi1 - lo1) / (2.0 * z1), (hi2 - lo2) / (2.0 * z2))
    d = v1 - v2
    return Estimate(d, d - z * se, d + z * se, level, "normal approximation from published CIs", int(estimate.n))
