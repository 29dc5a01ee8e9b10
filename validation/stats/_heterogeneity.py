"""Cochran's Q test of heterogeneity among independent estimates (fixed-effect pooling)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

from validation.errors import InvalidParameterError
from samd_core.checks import Described, check_confidence_level
from validation.stats._results import Estimate, HypothesisTestResult

__all__ = ["cochran_q_test"]


def cochran_q_test(estimates: Any, variances: Any, *, confidence_level: float = 0.95) -> HypothesisTestResult:
    """Cochran's Q test that independent estimates share one true value.

    Parameters
    ----------
    estimates : array_like of float
        One estimate per independent group (e.g. the AUC of each subgroup level).
    variances : array_like of float
        Their sampling variances (same length). Entries whose estimate or variance is not
        finite, or whose variance is not positive, carry no information and are left out.
    confidence_level : float
        Coverage of the inverse-variance pooled estimate's normal interval.

    Returns
    -------
    HypothesisTestResult
        ``statistic`` = Q = sum w_i (e_i - e_w)² with ``w_i = 1 / v_i``; ``pvalue`` from the
        chi-square distribution with ``k - 1`` degrees of freedom (``k`` usable groups);
        ``alternative`` is ``"greater"`` (Q is one-sided); ``estimate`` is the fixed-effect
        pooled value ``e_w ± z / sqrt(sum w)`` with ``method="inverse_variance"`` and
        ``n = k``. With fewer than 2 usable groups there is no test: statistic and p-value
        are NaN (and so is the interval when ``k = 0``).

    References
    ----------
    Cochran WG. The combination of estimates from different experiments. Biometrics
    1954;10:101-129. Equals statsmodels ``combine_effects(...).q``.
    """
    fn = "cochran_q_test"
    confidence_level = check_confidence_level(confidence_level, fn)
    e = np.asarray(estimates, dtype=np.float64)
    v = np.asarray(variances, dtype=np.float64)
    if e.ndim != 1 or v.shape != e.shape:
        raise InvalidParameterError(
            "variances", fn, f"a 1-d array of the same length as estimates {e.shape}", Described(f"shape {v.shape}")
        )
    ok = np.isfinite(e) & np.isfinite(v) & (v > 0)
    e, v = e[ok], v[ok]
    k = int(e.size)
    if k == 0:
        return HypothesisTestResult(
            math.nan, math.nan, "greater", Estimate(math.nan, math.nan, math.nan, confidence_level, "inverse_variance", 0)
        )
    w = 1.0 / v
    pooled = float(np.sum(w * e) / np.sum(w))
    half = float(special.ndtri(0.5 + confidence_level / 2.0)) / math.sqrt(float(np.sum(w)))
    est = Estimate(pooled, pooled - half, pooled + half, confidence_level, "inverse_variance", k)
    if k < 2:
        return HypothesisTestResult(math.nan, math.nan, "greater", est)
    q = float(np.sum(w * (e - pooled) ** 2))
    return HypothesisTestResult(q, float(stats.chi2.sf(q, k - 1)), "greater", est)
