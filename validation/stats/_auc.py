"""Area under the ROC curve with DeLong or bootstrap confidence intervals."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy import special

from samd_core.checks import (
    Described,
    as_count,
    as_labels,
    as_rng,
    as_scores,
    check_confidence_level,
    check_option,
    check_same_length,
    check_two_classes,
)
from validation.errors import InvalidParameterError
from validation.stats._bootstrap import ChunkedStreams, bca_interval, percentile_interval
from validation.stats._bootstrap_auc import auc_bootstrap_replicates, auc_jackknife
from validation.stats._ranks import delong_placements
from validation.stats._results import Estimate

__all__ = ["AUC_METHODS", "AucMethod", "roc_auc", "roc_auc_variance"]

AucMethod = Literal["delong", "bootstrap_percentile", "bootstrap_bca"]
AUC_METHODS: tuple[str, ...] = ("delong", "bootstrap_percentile", "bootstrap_bca")
#: Older spellings, accepted and normalised (the result carries the name used).
_AUC_ALIASES: dict[str, str] = {"bootstrap-percentile": "bootstrap_percentile", "bootstrap-bca": "bootstrap_bca"}


def roc_auc(
    y_true: Any,
    y_score: Any,
    *,
    method: AucMethod = "delong",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | ChunkedStreams | None = None,
    clusters: Any = None,
) -> Estimate:
    """Empirical (Mann–Whitney) AUC with a confidence interval.

    Parameters
    ----------
    y_true : array_like of 0/1
        Reference standard, 1 = positive (diseased). Both classes must be present.
    y_score : array_like of float
        Finite scores; **higher means more likely positive**. The direction is fixed and never
        inferred from the data (pROC's ``direction="auto"`` would bias validation upward).
    method : {"delong", "bootstrap_percentile", "bootstrap_bca"}
        ``"delong"``: DeLong et al. (1988) variance by the fast midrank algorithm of
        Sun & Xu (2014), normal interval clipped to [0, 1] (as pROC ``ci.auc``).
        Bootstrap methods: `bootstrap_ci` semantics, stratified by class (as pROC's
        ``stratified=TRUE``), or resampling ``clusters`` when given; computed by a
        vectorised rank-based fast path.
    confidence_level : float
        Two-sided coverage in (0, 1).
    n_resamples, rng : int, numpy.random.Generator, int or ChunkedStreams
        Bootstrap only; ``rng`` is required for bootstrap methods (`ChunkedStreams`: the
        replicates drawn in independently seeded chunks).
    clusters : array_like, optional
        Bootstrap only: cluster (patient) id of each case. Clusters are resampled whole,
        without class stratification (a patient may contribute both classes).

    Returns
    -------
    Estimate
        ``value`` = P(score_pos > score_neg) + ½ P(tie); ``n`` = number of cases (or clusters
        for the cluster bootstrap).

    Notes
    -----
    The DeLong variance needs at least 2 cases of each class; with a single case in a class
    the interval is ``(nan, nan)`` (pROC returns ``NA``). A perfectly separating score has
    zero DeLong variance and the interval ``[1, 1]``.

    References
    ----------
    DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated
    receiver operating characteristic curves: a nonparametric approach. Biometrics
    1988;44:837-845.
    Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas under
    correlated receiver operating characteristic curves. IEEE Signal Process Lett
    2014;21:1389-1393.
    Robin X, et al. pROC. BMC Bioinformatics 2011;12:77.
    """
    fn = "roc_auc"
    method = check_option(_AUC_ALIASES.get(method, method) if isinstance(method, str) else method,  # type: ignore[assignment]
                          "method", fn, AUC_METHODS)
    confidence_level = check_confidence_level(confidence_level, fn)
    pos = as_labels(y_true, "y_true", fn)
    score = as_scores(y_score, "y_score", fn)
    check_same_length(fn, y_true=pos, y_score=score)
    if method == "delong":
        check_two_classes(pos, "y_true", fn)
        if clusters is not None:
            raise InvalidParameterError(
                "clusters", fn, "None for method='delong' (use a bootstrap method)", Described("an array")
            )
        return _delong_ci(pos, score, confidence_level)
    check_two_classes(pos, "y_true", fn, minimum=2)
    n_resamples = as_count(n_resamples, "n_resamples", fn, minimum=1)
    if rng is None:
        raise InvalidParameterError("rng", fn, "a numpy.random.Generator or int seed for bootstrap methods", None)
    gen = rng if isinstance(rng, ChunkedStreams) else as_rng(rng, fn)
    codes = None
    if clusters is not None:
        cl = np.asarray(clusters)
        if cl.ndim != 1 or cl.shape[0] != pos.shape[0]:
            raise InvalidParameterError(
                "clusters", fn, f"a 1-d array of length {pos.shape[0]}", Described(f"shape {cl.shape}")
            )
        _, codes = np.unique(cl, return_inverse=True)
        codes = codes.reshape(-1)
    return _auc_bootstrap(pos, score, method, confidence_level, n_resamples, gen, codes)


def roc_auc_variance(y_true: Any, y_score: Any) -> float:
    """DeLong variance of the empirical AUC (higher score = positive).

    Parameters
    ----------
    y_true : array_like of 0/1
        Reference standard, both classes present.
    y_score : array_like of float
        Finite scores.

    Returns
    -------
    float
        ``var(V10) / m + var(V01) / n`` (sample variances of the placement values, DeLong et
        al. 1988), equal to pROC ``var(roc(..., direction="<"), method="delong")``. NaN with
        fewer than 2 cases in a class (pROC returns ``NA``).
    """
    fn = "roc_auc_variance"
    pos = as_labels(y_true, "y_true", fn)
    score = as_scores(y_score, "y_score", fn)
    check_same_length(fn, y_true=pos, y_score=score)
    check_two_classes(pos, "y_true", fn)
    _, v10, v01 = delong_placements(pos, score)
    m, n = v10.size, v01.size
    if m < 2 or n < 2:
        return math.nan
    return float(np.var(v10, ddof=1)) / m + float(np.var(v01, ddof=1)) / n


def _delong_ci(pos: np.ndarray, score: np.ndarray, confidence_level: float) -> Estimate:
    auc, v10, v01 = delong_placements(pos, score)
    m, n = v10.size, v01.size
    if m < 2 or n < 2:
        return Estimate(auc, math.nan, math.nan, confidence_level, "delong", m + n)
    var = float(np.var(v10, ddof=1)) / m + float(np.var(v01, ddof=1)) / n
    z = float(special.ndtri(0.5 + confidence_level / 2.0))
    half = z * math.sqrt(var)
    low = min(1.0, max(0.0, auc - half))
    high = min(1.0, max(0.0, auc + half))
    return Estimate(auc, low, high, confidence_level, "delong", m + n)


def _auc_bootstrap(
    pos: np.ndarray,
    score: np.ndarray,
    method: str,
    confidence_level: float,
    n_resamples: int,
    gen: np.random.Generator | ChunkedStreams,
    codes: np.ndarray | None,
) -> Estimate:
    fn = "roc_auc"
    auc, _, _ = delong_placements(pos, score)
    reps = auc_bootstrap_replicates(pos, score, gen, n_resamples, codes)
    bad = ~np.isfinite(reps)
    if bad.any():
        raise InvalidParameterError(
            "clusters",
            fn,
            "such that every cluster resample contains both classes",
            Described(f"a single-class resample in {int(bad.sum())} of {n_resamples} resamples"),
        )
    n_units = pos.size if codes is None else int(codes.max()) + 1
    if method == "bootstrap_percentile":
        low, high = percentile_interval(reps, confidence_level)
    else:
        jack = auc_jackknife(pos, score, codes)
        if not np.isfinite(jack).all():
            raise InvalidParameterError(
                "y_true",
                fn,
                "such that leaving out any one unit keeps both classes (BCa jackknife)",
                Described("a single-class subsample"),
            )
        low, high = bca_interval(reps, auc, jack, confidence_level)
    return Estimate(auc, low, high, confidence_level, method, n_units)
