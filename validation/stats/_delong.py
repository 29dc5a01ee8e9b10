"""DeLong tests comparing two AUCs: paired (correlated ROC curves) and unpaired."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

from samd_core.checks import (
    as_labels,
    as_scores,
    check_confidence_level,
    check_option,
    check_same_length,
    check_two_classes,
)
from validation.stats._ranks import delong_placements
from validation.stats._results import Alternative, Estimate, HypothesisTestResult

__all__ = ["ALTERNATIVES", "delong_test", "delong_test_unpaired"]

ALTERNATIVES: tuple[str, ...] = ("two-sided", "less", "greater")


def _pvalue_z(z: float, alternative: str) -> float:
    if alternative == "two-sided":
        return float(2.0 * special.ndtr(-abs(z)))
    if alternative == "greater":
        return float(special.ndtr(-z))
    return float(special.ndtr(z))


def delong_test(
    y_true: Any,
    y_score_a: Any,
    y_score_b: Any,
    *,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> HypothesisTestResult:
    """DeLong's test for two correlated ROC curves (two scores on the same cases).

    Parameters
    ----------
    y_true : array_like of 0/1
        Reference standard, at least 2 cases of each class.
    y_score_a, y_score_b : array_like of float
        Two finite scores for the same cases (higher = positive).
    alternative : {"two-sided", "less", "greater"}
        ``"greater"``: AUC_a > AUC_b.
    confidence_level : float
        Coverage of the two-sided CI of the AUC difference (always two-sided).

    Returns
    -------
    HypothesisTestResult
        ``statistic`` = Z = (AUC_a - AUC_b) / SE; ``estimate`` = AUC_a - AUC_b with the
        Wald CI ``d ± z SE`` (as pROC ``roc.test``; not clipped), ``method="delong"``,
        ``n`` = cases. If both AUCs are equal with zero variance, Z = 0 and p = 1 (pROC).

    References
    ----------
    DeLong ER, DeLong DM, Clarke-Pearson DL. Biometrics 1988;44:837-845.
    Sun X, Xu W. IEEE Signal Process Lett 2014;21:1389-1393.
    """
    fn = "delong_test"
    alternative = check_option(alternative, "alternative", fn, ALTERNATIVES)  # type: ignore[assignment]
    confidence_level = check_confidence_level(confidence_level, fn)
    pos = as_labels(y_true, "y_true", fn)
    a = as_scores(y_score_a, "y_score_a", fn)
    b = as_scores(y_score_b, "y_score_b", fn)
    check_same_length(fn, y_true=pos, y_score_a=a, y_score_b=b)
    check_two_classes(pos, "y_true", fn, minimum=2)
    auc_a, v10a, v01a = delong_placements(pos, a, original_order=True)
    auc_b, v10b, v01b = delong_placements(pos, b, original_order=True)
    m, n = v10a.size, v01a.size
    s10 = np.cov(np.vstack([v10a, v10b]), ddof=1)
    s01 = np.cov(np.vstack([v01a, v01b]), ddof=1)
    s = s10 / m + s01 / n
    var = float(s[0, 0] + s[1, 1] - 2.0 * s[0, 1])
    d = auc_a - auc_b
    sig = math.sqrt(max(var, 0.0))
    if sig == 0.0:
        zstat = 0.0 if d == 0.0 else math.copysign(math.inf, d)
    else:
        zstat = d / sig
    zq = float(special.ndtri(0.5 + confidence_level / 2.0))
    est = Estimate(d, d - zq * sig, d + zq * sig, confidence_level, "delong", m + n)
    return HypothesisTestResult(zstat, _pvalue_z(zstat, alternative), alternative, est)


def delong_test_unpaired(
    y_true_a: Any,
    y_score_a: Any,
    y_true_b: Any,
    y_score_b: Any,
    *,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> HypothesisTestResult:
    """DeLong-variance test for two independent ROC curves (different cases), Welch-type df.

    ``D = (AUC_a - AUC_b) / sqrt(V_a + V_b)`` with the DeLong variances ``V``, referred to a
    t distribution with ``df = (V_a + V_b)² / (V_a²/(N_a - 1) + V_b²/(N_b - 1))``
    (``N`` = cases per curve), exactly as pROC 1.18 ``roc.test(paired=FALSE,
    method="delong")``.

    Returns
    -------
    HypothesisTestResult
        ``statistic`` = D; ``estimate`` = AUC_a - AUC_b with the dual CI
        ``d ± t_{df} sqrt(V_a + V_b)`` (pROC reports no interval here), ``method="delong-unpaired"``,
        ``n`` = total cases.
    """
    fn = "delong_test_unpaired"
    alternative = check_option(alternative, "alternative", fn, ALTERNATIVES)  # type: ignore[assignment]
    confidence_level = check_confidence_level(confidence_level, fn)
    pa = as_labels(y_true_a, "y_true_a", fn)
    sa = as_scores(y_score_a, "y_score_a", fn)
    pb = as_labels(y_true_b, "y_true_b", fn)
    sb = as_scores(y_score_b, "y_score_b", fn)
    check_same_length(fn, y_true_a=pa, y_score_a=sa)
    check_same_length(fn, y_true_b=pb, y_score_b=sb)
    check_two_classes(pa, "y_true_a", fn, minimum=2)
    check_two_classes(pb, "y_true_b", fn, minimum=2)
    auc_a, v10a, v01a = delong_placements(pa, sa)
    auc_b, v10b, v01b = delong_placements(pb, sb)
    var_a = float(np.var(v10a, ddof=1)) / v10a.size + float(np.var(v01a, ddof=1)) / v01a.size
    var_b = float(np.var(v10b, ddof=1)) / v10b.size + float(np.var(v01b, ddof=1)) / v01b.size
    d = auc_a - auc_b
    tot = var_a + var_b
    ssr = math.sqrt(tot)
    na, nb = pa.size, pb.size
    if tot == 0.0:
        tstat = 0.0 if d == 0.0 else math.copysign(math.inf, d)
        df = math.nan
        pval = 1.0 if d == 0.0 else (0.0 if alternative == "two-sided" else _one_sided_inf(d, alternative))
        half = 0.0
    else:
        tstat = d / ssr
        df = tot**2 / (var_a**2 / (na - 1) + var_b**2 / (nb - 1))
        if alternative == "two-sided":
            pval = float(2.0 * stats.t.sf(abs(tstat), df))
        elif alternative == "greater":
            pval = float(stats.t.sf(tstat, df))
        else:
            pval = float(stats.t.cdf(tstat, df))
        half = float(stats.t.ppf(0.5 + confidence_level / 2.0, df)) * ssr
    est = Estimate(d, d - half, d + half, confidence_level, "delong-unpaired", na + nb)
    return HypothesisTestResult(tstat, pval, alternative, est)


def _one_sided_inf(d: float, alternative: str) -> float:
    if alternative == "greater":
        return 0.0 if d > 0 else 1.0
    return 0.0 if d < 0 else 1.0
