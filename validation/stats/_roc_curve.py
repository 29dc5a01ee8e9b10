"""Empirical ROC curve, sensitivity at fixed specificity (and vice versa), partial AUC, and
the operating point at a pre-specified threshold.

Convention everywhere: a case is test-positive when ``score >= threshold``.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from samd_core.checks import (
    as_count,
    as_labels,
    as_rng,
    as_scores,
    check_confidence_level,
    check_option,
    check_same_length,
    check_two_classes,
)
from samd_core.hashing import canonical_json
from validation.errors import InvalidParameterError
from validation.stats._bootstrap import ChunkedStreams, bootstrap_ci
from validation.stats._diagnostic import DiagnosticAccuracyResult, diagnostic_accuracy
from validation.stats._proportion import ProportionMethod
from validation.stats._results import Estimate, decode_float, encode_float

__all__ = [
    "RocCurveResult",
    "operating_point",
    "partial_auc",
    "roc_curve",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
]

CurveCIMethod = Literal["bootstrap_percentile", "bootstrap_bca"]
_CURVE_CI_METHODS = ("bootstrap_percentile", "bootstrap_bca")
_CURVE_CI_ALIASES = {"bootstrap-percentile": "bootstrap_percentile", "bootstrap-bca": "bootstrap_bca"}


@dataclass(frozen=True, slots=True)
class RocCurveResult:
    """Empirical ROC curve points, ordered by decreasing threshold.

    ``thresholds[0] = inf`` (nothing positive: point (0, 0)); then every distinct score in
    decreasing order (``score >= threshold`` positive), ending at (1, 1). Same points and
    order as scikit-learn ``roc_curve(drop_intermediate=False)``.
    """

    thresholds: tuple[float, ...]
    fpr: tuple[float, ...]
    tpr: tuple[float, ...]

    @property
    def sensitivity(self) -> tuple[float, ...]:
        return self.tpr

    @property
    def specificity(self) -> tuple[float, ...]:
        return tuple(1.0 - f for f in self.fpr)

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": [encode_float(t) for t in self.thresholds],
            "fpr": list(self.fpr),
            "tpr": list(self.tpr),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RocCurveResult:
        return cls(
            tuple(decode_float(t) for t in d["thresholds"]),  # type: ignore[misc]
            tuple(float(x) for x in d["fpr"]),
            tuple(float(x) for x in d["tpr"]),
        )

    def to_json(self) -> str:
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> RocCurveResult:
        return cls.from_dict(json.loads(text))


def _validated(y_true: Any, y_score: Any, fn: str, minimum: int = 1) -> tuple[np.ndarray, np.ndarray]:
    pos = as_labels(y_true, "y_true", fn)
    score = as_scores(y_score, "y_score", fn)
    check_same_length(fn, y_true=pos, y_score=score)
    check_two_classes(pos, "y_true", fn, minimum=minimum)
    return pos, score


def _counts_desc(pos: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds (decreasing, distinct scores) with cumulative TP and FP counts."""
    order = np.argsort(score, kind="mergesort")[::-1]
    s = score[order]
    p = pos[order]
    tps = np.cumsum(p, dtype=np.int64)
    fps = np.arange(1, s.size + 1, dtype=np.int64) - tps
    idx = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    return s[idx], tps[idx], fps[idx]


def roc_curve(y_true: Any, y_score: Any) -> RocCurveResult:
    """Empirical ROC curve (all points, no dropping of collinear points).

    Parameters
    ----------
    y_true : array_like of 0/1
        Both classes present.
    y_score : array_like of float
        Finite scores, higher = positive.

    Returns
    -------
    RocCurveResult
    """
    pos, score = _validated(y_true, y_score, "roc_curve")
    thr, tps, fps = _counts_desc(pos, score)
    m = int(tps[-1])
    n = int(fps[-1])
    return RocCurveResult(
        (math.inf, *(float(t) for t in thr)),
        (0.0, *(float(x) for x in fps / n)),
        (0.0, *(float(x) for x in tps / m)),
    )


def _se_sp_ascending(pos: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sensitivity and specificity in increasing-threshold order (pROC's order)."""
    _, tps, fps = _counts_desc(pos, score)
    m = int(tps[-1])
    n = int(fps[-1])
    tp = np.r_[0, tps][::-1]
    fp = np.r_[0, fps][::-1]
    return tp / m, (n - fp) / n


def _interp_at(x_in: np.ndarray, y_out: np.ndarray, value: float, decreasing: bool) -> float:
    """pROC 1.18 ``coords`` rule: exact match -> best point; otherwise linear interpolation."""
    hits = np.flatnonzero(x_in == value)
    if hits.size:
        return float(y_out[hits[-1] if decreasing else hits[0]])
    nxt = int(np.flatnonzero(x_in < value)[0]) if decreasing else int(np.flatnonzero(x_in > value)[0])
    proportion = (value - x_in[nxt]) / (x_in[nxt - 1] - x_in[nxt])
    return float(y_out[nxt] + proportion * (y_out[nxt - 1] - y_out[nxt]))


def _se_at_sp(pos: np.ndarray, score: np.ndarray, target: float) -> float:
    se, sp = _se_sp_ascending(pos, score)
    return _interp_at(sp, se, target, decreasing=False)


def _sp_at_se(pos: np.ndarray, score: np.ndarray, target: float) -> float:
    se, sp = _se_sp_ascending(pos, score)
    return _interp_at(se, sp, target, decreasing=True)


def _unit_float(value: Any, field: str, fn: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0.0 <= float(value) <= 1.0):
        raise InvalidParameterError(field, fn, "a float in [0, 1]", value)
    return float(value)


def _curve_ci(
    kernel: Any,
    pos: np.ndarray,
    score: np.ndarray,
    fn: str,
    method: str,
    confidence_level: float,
    n_resamples: int,
    rng: Any,
) -> Estimate:
    method = check_option(_CURVE_CI_ALIASES.get(method, method) if isinstance(method, str) else method,
                          "method", fn, _CURVE_CI_METHODS)
    confidence_level = check_confidence_level(confidence_level, fn)
    n_resamples = as_count(n_resamples, "n_resamples", fn, minimum=1)
    if rng is None:
        raise InvalidParameterError("rng", fn, "a numpy.random.Generator or int seed", None)
    gen = rng if isinstance(rng, ChunkedStreams) else as_rng(rng, fn)
    value = kernel(pos, score)
    if not math.isfinite(value):
        return Estimate(value, math.nan, math.nan, confidence_level, method, pos.size)
    res = bootstrap_ci(
        kernel,
        pos,
        score,
        method=method.removeprefix("bootstrap_"),  # type: ignore[arg-type]
        n_resamples=n_resamples,
        rng=gen,
        strata=pos,
        confidence_level=confidence_level,
    )
    return Estimate(value, res.ci_low, res.ci_high, confidence_level, method, pos.size)


def sensitivity_at_specificity(
    y_true: Any,
    y_score: Any,
    *,
    specificity: float,
    method: CurveCIMethod,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Sensitivity of the empirical ROC curve at a fixed specificity.

    Needs at least 2 cases of each class (for the bootstrap). Interpolation rule (identical
    to pROC 1.18 ``coords(x=, input="specificity")``): if the
    specificity is attained by ROC points, the highest sensitivity among them (top of the
    vertical segment); otherwise linear interpolation between the two neighbouring ROC
    points. The CI is a class-stratified bootstrap (``method``), like pROC ``ci.coords``.
    """
    fn = "sensitivity_at_specificity"
    target = _unit_float(specificity, "specificity", fn)
    pos, score = _validated(y_true, y_score, fn, minimum=2)
    return _curve_ci(lambda p, s: _se_at_sp(p, s, target), pos, score, fn, method, confidence_level, n_resamples, rng)


def specificity_at_sensitivity(
    y_true: Any,
    y_score: Any,
    *,
    sensitivity: float,
    method: CurveCIMethod,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Specificity at a fixed sensitivity: highest specificity among ROC points attaining it,
    else linear interpolation (pROC 1.18 ``coords(x=, input="sensitivity")``); bootstrap CI."""
    fn = "specificity_at_sensitivity"
    target = _unit_float(sensitivity, "sensitivity", fn)
    pos, score = _validated(y_true, y_score, fn, minimum=2)
    return _curve_ci(lambda p, s: _sp_at_se(p, s, target), pos, score, fn, method, confidence_level, n_resamples, rng)


def _partial_auc_kernel(
    pos: np.ndarray, score: np.ndarray, hi: float, lo: float, focus: str, correct: bool, allow_invalid: bool
) -> float:
    """Port of pROC 1.18 ``auc.roc`` (partial.auc branch) with McClish correction."""
    se, sp = _se_sp_ascending(pos, score)
    if focus == "sensitivity":
        x, y = se[::-1], sp[::-1]
    else:
        x, y = sp, se
    inc = (x <= hi) & (x >= lo)
    xi, yi = x[inc], y[inc]
    auc = float(np.sum((yi[1:] + yi[:-1]) / 2.0 * np.diff(xi)))
    if xi.size == 0:
        idx_hi = int(np.flatnonzero(~(x < hi))[0])
        idx_lo = idx_hi - 1
        p_hi = (x[idx_hi] - hi) / (x[idx_hi] - x[idx_lo])
        p_lo = (lo - x[idx_lo]) / (x[idx_hi] - x[idx_lo])
        y_hi = y[idx_hi] + p_hi * (y[idx_lo] - y[idx_hi])
        y_lo = y[idx_lo] - p_lo * (y[idx_lo] - y[idx_hi])
        auc = float((y_hi + y_lo) / 2.0 * (hi - lo))
    else:
        if not np.any(xi == hi):
            idx_out = int(np.flatnonzero(~(x < hi))[0])
            idx_in = idx_out - 1
            prop = (hi - x[idx_out]) / (x[idx_in] - x[idx_out])
            y_int = y[idx_out] + prop * (y[idx_in] - y[idx_out])
            auc += float((hi - x[idx_in]) * (y[idx_in] + y_int) / 2.0)
        if not np.any(xi == lo):
            idx_out = int(np.flatnonzero(x > lo)[0]) - 1
            idx_in = idx_out + 1
            prop = (x[idx_in] - lo) / (x[idx_in] - x[idx_out])
            y_int = y[idx_in] + prop * (y[idx_out] - y[idx_in])
            auc += float((x[idx_in] - lo) * (y[idx_in] + y_int) / 2.0)
    if correct:
        mn = ((1.0 - hi) + (1.0 - lo)) * abs(hi - lo) / 2.0
        mx = abs(hi - lo)
        if not allow_invalid and auc < mn:
            return math.nan
        auc = (1.0 + (auc - mn) / (mx - mn)) / 2.0
    return auc


def partial_auc(
    y_true: Any,
    y_score: Any,
    *,
    bounds: tuple[float, float],
    focus: Literal["specificity", "sensitivity"] = "specificity",
    correct: bool,
    method: CurveCIMethod,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Partial AUC over a specificity (or sensitivity) range, optionally McClish-corrected.

    Parameters
    ----------
    bounds : (float, float)
        The range of ``focus`` in [0, 1], e.g. ``(0.8, 1.0)`` for specificity >= 0.8.
    focus : {"specificity", "sensitivity"}
    correct : bool
        McClish (1989) standardisation ``(1 + (pAUC - min)/(max - min)) / 2`` (0.5 =
        chance, 1 = perfect). Undefined for a curve below the diagonal in the range: the
        value is then ``nan`` (pROC returns ``NA``); bootstrap replicates always use the
        formula.
    method : {"bootstrap_percentile", "bootstrap_bca"}
        Class-stratified bootstrap CI.

    Notes
    -----
    The curve is the empirical ROC curve with linear interpolation at the range limits,
    computed exactly as pROC 1.18 ``auc(partial.auc=, partial.auc.focus=,
    partial.auc.correct=)``.

    References
    ----------
    McClish DK. Analyzing a portion of the ROC curve. Med Decis Making 1989;9:190-195.
    """
    fn = "partial_auc"
    focus = check_option(focus, "focus", fn, ("specificity", "sensitivity"))  # type: ignore[assignment]
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise InvalidParameterError("bounds", fn, "two floats in [0, 1]", bounds)
    lo, hi = sorted(_unit_float(b, "bounds", fn) for b in bounds)
    if not lo < hi:
        raise InvalidParameterError("bounds", fn, "two different floats in [0, 1]", bounds)
    if not isinstance(correct, bool):
        raise InvalidParameterError("correct", fn, "True or False", correct)
    pos, score = _validated(y_true, y_score, fn, minimum=2)
    value = _partial_auc_kernel(pos, score, hi, lo, focus, correct, allow_invalid=False)
    if math.isnan(value):
        cl = check_confidence_level(confidence_level, fn)
        method = check_option(_CURVE_CI_ALIASES.get(method, method) if isinstance(method, str) else method,  # type: ignore[assignment]
                              "method", fn, _CURVE_CI_METHODS)
        return Estimate(value, math.nan, math.nan, cl, method, pos.size)
    est = _curve_ci(
        lambda p, s: _partial_auc_kernel(p, s, hi, lo, focus, correct, allow_invalid=True),
        pos,
        score,
        fn,
        method,
        confidence_level,
        n_resamples,
        rng,
    )
    return est


def operating_point(
    y_true: Any,
    y_score: Any,
    *,
    threshold: float,
    method: ProportionMethod,
    confidence_level: float = 0.95,
    prevalence: float | None = None,
) -> DiagnosticAccuracyResult:
    """Diagnostic accuracy at a pre-specified threshold (``score >= threshold`` positive).

    The threshold must be fixed before looking at the validation data (it is not optimised
    here). See `diagnostic_accuracy` for the CIs and zero-cell rules.
    """
    fn = "operating_point"
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(float(threshold)):
        raise InvalidParameterError("threshold", fn, "a finite float", threshold)
    pos = as_labels(y_true, "y_true", fn)
    score = as_scores(y_score, "y_score", fn)
    check_same_length(fn, y_true=pos, y_score=score)
    pred = score >= float(threshold)
    tp = int(np.count_nonzero(pos & pred))
    fp = int(np.count_nonzero(~pos & pred))
    fn_ = int(np.count_nonzero(pos & ~pred))
    tn = int(pos.size - tp - fp - fn_)
    return diagnostic_accuracy(
        tp=tp, fp=fp, fn=fn_, tn=tn, method=method, confidence_level=confidence_level, prevalence=prevalence
    )
