"""Diagnostic accuracy of a binary test from a 2x2 table (or from labels)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy import special

from samd_core.checks import (
    Described,
    as_count,
    as_labels,
    check_confidence_level,
    check_option,
    check_same_length,
)
from samd_core.hashing import canonical_json
from validation.errors import InvalidParameterError
from validation.stats._proportion import PROPORTION_METHODS, ProportionMethod, _proportion_bounds
from validation.stats._results import Estimate

__all__ = ["DiagnosticAccuracyResult", "diagnostic_accuracy", "diagnostic_accuracy_from_labels"]


@dataclass(frozen=True, slots=True)
class DiagnosticAccuracyResult:
    """Accuracy measures of a binary test, each an `Estimate` with its CI.

    ``n`` of each estimate is its denominator: diseased cases for sensitivity, non-diseased for
    specificity, test positives for PPV, test negatives for NPV, all cases otherwise
    (PPV/NPV at a stated prevalence: all cases).
    """

    sensitivity: Estimate
    specificity: Estimate
    ppv: Estimate
    npv: Estimate
    accuracy: Estimate
    lr_positive: Estimate
    lr_negative: Estimate
    diagnostic_odds_ratio: Estimate
    prevalence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {f.name: getattr(self, f.name).to_dict() for f in fields(self) if f.name != "prevalence"}
        d["prevalence"] = self.prevalence
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DiagnosticAccuracyResult:
        kw: dict[str, Any] = {f.name: Estimate.from_dict(d[f.name]) for f in fields(cls) if f.name != "prevalence"}
        prev = d.get("prevalence")
        return cls(**kw, prevalence=None if prev is None else float(prev))

    def to_json(self) -> str:
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> DiagnosticAccuracyResult:
        return cls.from_dict(json.loads(text))


def diagnostic_accuracy(
    *,
    tp: int,
    fp: int,
    fn: int,
    tn: int,
    method: ProportionMethod,
    confidence_level: float = 0.95,
    prevalence: float | None = None,
) -> DiagnosticAccuracyResult:
    """Sensitivity, specificity, predictive values, accuracy, likelihood ratios and DOR.

    Parameters
    ----------
    tp, fp, fn, tn : int
        Cells of the 2x2 table (test result x reference standard), each ``>= 0``, total ``>= 1``.
    method : {"wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"}
        CI method of the proportions (see `proportion_ci`); the point estimate is always the
        observed proportion.
    confidence_level : float
        Two-sided coverage in (0, 1).
    prevalence : float in (0, 1), optional
        If given, PPV and NPV are recomputed at this prevalence with Bayes' theorem,
        ``PPV = Se p / (Se p + (1 - Sp)(1 - p))``, with the logit CI of Mercaldo et al. (2007)
        (method ``"logit"``); otherwise they are the observed proportions ``tp/(tp+fp)`` and
        ``tn/(tn+fn)`` with ``method`` CIs (valid only when the sample prevalence is the
        target prevalence, e.g. a consecutive series).

    Returns
    -------
    DiagnosticAccuracyResult

    Notes
    -----
    Likelihood ratios ``LR+ = Se/(1-Sp)``, ``LR- = (1-Se)/Sp`` with the log-method CI of
    Simel et al. (1991), ``exp(log LR ± z SE)``, ``SE(log LR+)² = 1/tp - 1/(tp+fn) + 1/fp -
    1/(fp+tn)`` (``method="log"``). The diagnostic odds ratio ``(tp tn)/(fp fn)`` has Woolf's
    CI, ``SE(log DOR)² = 1/tp + 1/fp + 1/fn + 1/tn`` (``method="woolf"``). No continuity
    correction is applied.

    Zero cells never raise. A proportion with an empty denominator (e.g. no diseased cases)
    is ``nan`` with ``nan`` bounds. A ratio whose log-variance involves a zero cell gets the
    uninformative bounds ``[0, inf]``; its value follows IEEE arithmetic (``x/0 = inf``,
    ``0/0 = nan``). PPV/NPV at a stated prevalence: when sensitivity or specificity is 0 or
    1 (or undefined), the logit CI is undefined and both bounds are ``nan``.

    References
    ----------
    Simel DL, Samsa GP, Matchar DB. Likelihood ratios with confidence: sample size estimation
    for diagnostic test studies. J Clin Epidemiol 1991;44:763-770.
    Woolf B. On estimating the relation between blood group and disease. Ann Hum Genet
    1955;19:251-253.
    Mercaldo ND, Lau KF, Zhou XH. Confidence intervals for predictive values with an emphasis
    to case-control designs. Stat Med 2007;26:2170-2183.
    """
    f = "diagnostic_accuracy"
    method = check_option(method, "method", f, PROPORTION_METHODS)  # type: ignore[assignment]
    confidence_level = check_confidence_level(confidence_level, f)
    tp = as_count(tp, "tp", f)
    fp = as_count(fp, "fp", f)
    fn = as_count(fn, "fn", f)
    tn = as_count(tn, "tn", f)
    if tp + fp + fn + tn == 0:
        raise InvalidParameterError("tp", f, "part of a 2x2 table with at least one case", Described("all cells 0"))
    if prevalence is not None:
        if isinstance(prevalence, bool) or not isinstance(prevalence, (int, float, np.floating)) or not (
            0.0 < float(prevalence) < 1.0
        ):
            raise InvalidParameterError("prevalence", f, "None or a float in (0, 1)", prevalence)
        prevalence = float(prevalence)
    return _diagnostic_kernel(tp, fp, fn, tn, method, confidence_level, prevalence)


def diagnostic_accuracy_from_labels(
    y_true: Any,
    y_pred: Any,
    *,
    method: ProportionMethod,
    confidence_level: float = 0.95,
    prevalence: float | None = None,
) -> DiagnosticAccuracyResult:
    """`diagnostic_accuracy` from paired 0/1 arrays (1 = diseased / test positive)."""
    f = "diagnostic_accuracy_from_labels"
    t = as_labels(y_true, "y_true", f)
    p = as_labels(y_pred, "y_pred", f)
    check_same_length(f, y_true=t, y_pred=p)
    tp = int(np.count_nonzero(t & p))
    fp = int(np.count_nonzero(~t & p))
    fn = int(np.count_nonzero(t & ~p))
    tn = int(t.size - tp - fp - fn)
    return diagnostic_accuracy(
        tp=tp, fp=fp, fn=fn, tn=tn, method=method, confidence_level=confidence_level, prevalence=prevalence
    )


def _prop(k: int, n: int, method: str, cl: float) -> Estimate:
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, cl, method, 0)
    low, high = _proportion_bounds(k, n, method, cl)
    return Estimate(k / n, low, high, cl, method, n)


def _div(a: float, b: float) -> float:
    if b == 0.0:
        return math.nan if a == 0.0 else math.inf
    return a / b


def _log_ratio_estimate(
    value: float, var_terms: tuple[int, ...], var: float, z: float, cl: float, method: str, n: int
) -> Estimate:
    if any(t == 0 for t in var_terms) or not (0.0 < value < math.inf):
        return Estimate(value, 0.0, math.inf, cl, method, n)
    half = z * math.sqrt(max(var, 0.0))
    lv = math.log(value)
    return Estimate(value, math.exp(lv - half), math.exp(lv + half), cl, method, n)


def _diagnostic_kernel(
    tp: int, fp: int, fn: int, tn: int, method: str, cl: float, prevalence: float | None
) -> DiagnosticAccuracyResult:
    z = float(special.ndtri(0.5 + cl / 2.0))
    n_dis, n_non = tp + fn, fp + tn
    n = tp + fp + fn + tn
    se = _prop(tp, n_dis, method, cl)
    sp = _prop(tn, n_non, method, cl)
    acc = _prop(tp + tn, n, method, cl)
    se_v = _div(tp, n_dis)
    sp_v = _div(tn, n_non)
    if n_dis == 0 or n_non == 0:
        nan_est = Estimate(math.nan, math.nan, math.nan, cl, "log", n)
        lr_pos, lr_neg = nan_est, nan_est
    else:
        lr_pos = _log_ratio_estimate(
            _div(se_v, 1.0 - sp_v),
            (tp, fp),
            _safe(lambda: 1 / tp - 1 / n_dis + 1 / fp - 1 / n_non),
            z,
            cl,
            "log",
            n,
        )
        lr_neg = _log_ratio_estimate(
            _div(1.0 - se_v, sp_v),
            (fn, tn),
            _safe(lambda: 1 / fn - 1 / n_dis + 1 / tn - 1 / n_non),
            z,
            cl,
            "log",
            n,
        )
    dor = _log_ratio_estimate(
        _div(float(tp * tn), float(fp * fn)),
        (tp, fp, fn, tn),
        _safe(lambda: 1 / tp + 1 / fp + 1 / fn + 1 / tn),
        z,
        cl,
        "woolf",
        n,
    )
    if prevalence is None:
        ppv = _prop(tp, tp + fp, method, cl)
        npv = _prop(tn, tn + fn, method, cl)
    else:
        ppv, npv = _predictive_at_prevalence(tp, fp, fn, tn, prevalence, z, cl)
    return DiagnosticAccuracyResult(se, sp, ppv, npv, acc, lr_pos, lr_neg, dor, prevalence)


def _safe(fn: Any) -> float:
    try:
        return float(fn())
    except ZeroDivisionError:
        return math.inf


def _predictive_at_prevalence(
    tp: int, fp: int, fn: int, tn: int, p: float, z: float, cl: float
) -> tuple[Estimate, Estimate]:
    """Bayes PPV/NPV with the Mercaldo-Lau-Zhou (2007) logit interval."""
    n_dis, n_non = tp + fn, fp + tn
    n = tp + fp + fn + tn
    if n_dis == 0 or n_non == 0:
        nan = Estimate(math.nan, math.nan, math.nan, cl, "logit", n)
        return nan, nan
    se = tp / n_dis
    sp = tn / n_non
    ppv_v = _div(se * p, se * p + (1.0 - sp) * (1.0 - p))
    npv_v = _div(sp * (1.0 - p), sp * (1.0 - p) + (1.0 - se) * p)
    if se in (0.0, 1.0) or sp in (0.0, 1.0):
        return (
            Estimate(ppv_v, math.nan, math.nan, cl, "logit", n),
            Estimate(npv_v, math.nan, math.nan, cl, "logit", n),
        )
    logit_ppv = math.log(se * p / ((1.0 - sp) * (1.0 - p)))
    var_ppv = (1.0 - se) / se / n_dis + sp / (1.0 - sp) / n_non
    logit_npv = math.log(sp * (1.0 - p) / ((1.0 - se) * p))
    var_npv = se / (1.0 - se) / n_dis + (1.0 - sp) / sp / n_non

    def inv(x: float) -> float:
        return float(special.expit(x))

    hp = z * math.sqrt(var_ppv)
    hn = z * math.sqrt(var_npv)
    return (
        Estimate(ppv_v, inv(logit_ppv - hp), inv(logit_ppv + hp), cl, "logit", n),
        Estimate(npv_v, inv(logit_npv - hn), inv(logit_npv + hn), cl, "logit", n),
    )
