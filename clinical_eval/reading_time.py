"""Reading-time analysis: ratio of aided to unaided reading time on the log scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from samd_core.checks import check_confidence_level
from validation.stats import Estimate, HypothesisTestResult
from clinical_eval.errors import InvalidParameterError

__all__ = ["reading_time_ratio"]


def reading_time_ratio(
    unaided: Any,
    aided: Any,
    *,
    readers: Any = None,
    confidence_level: float = 0.95,
) -> HypothesisTestResult:
    """Geometric-mean ratio of reading times, aided / unaided, with a paired t CI.

    Parameters
    ----------
    unaided, aided : array_like, shape (n,)
        Reading times (seconds, > 0) of the same reader x case reads without and with aid,
        paired by position.
    readers : array_like, shape (n,), optional
        Reader label of each pair. When given, the log ratios are first averaged within
        reader and the t interval uses the J reader means (J - 1 df): readers are the random
        sampling unit (reads of one reader are correlated). Without it, every pair is an
        independent unit (n - 1 df).
    confidence_level : float

    Returns
    -------
    HypothesisTestResult
        ``statistic`` = t of the mean log ratio (H0: ratio = 1, two-sided); ``estimate`` =
        ``exp(mean log(aided / unaided))`` with CI ``exp(mean +/- t * SE)``; the estimate's
        ``method`` is ``"paired-t-log"`` or ``"reader-level-t-log"``; ``n`` = pairs or readers.
        A ratio below 1 means aided reading is faster.
    """
    fn = "reading_time_ratio"
    confidence_level = check_confidence_level(confidence_level, fn)
    try:
        u = np.asarray(unaided, dtype=float)
        a = np.asarray(aided, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError("unaided", fn, "numeric arrays of reading times (s)", type(unaided).__name__) from None
    if u.ndim != 1 or u.size < 2:
        raise InvalidParameterError("unaided", fn, "a 1-D array of at least 2 reading times", f"array of shape {u.shape}")
    if a.shape != u.shape:
        raise InvalidParameterError("aided", fn, f"the same length as `unaided` ({u.size})", f"array of shape {a.shape}")
    for name, x in (("unaided", u), ("aided", a)):
        bad = ~(np.isfinite(x) & (x > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidParameterError(name, fn, "finite reading times > 0 (seconds)", f"{float(x[i])} at position {i}")
    d = np.log(a) - np.log(u)
    if readers is None:
        units = d
        method = "paired-t-log"
    else:
        r = np.asarray(readers)
        if r.shape != u.shape:
            raise InvalidParameterError("readers", fn, f"one reader label per pair ({u.size})", f"array of shape {r.shape}")
        units = pd.Series(d).groupby(r, sort=True).mean().to_numpy()
        method = "reader-level-t-log"
        if units.size < 2:
            raise InvalidParameterError("readers", fn, "at least 2 distinct readers", sorted(set(r.tolist())))
    n = units.size
    m = float(units.mean())
    se = float(units.std(ddof=1)) / math.sqrt(n)
    df = n - 1
    t = m / se if se > 0 else (0.0 if m == 0 else math.copysign(math.inf, m))
    p = float(2 * stats.t.sf(abs(t), df))
    h = float(stats.t.ppf(0.5 + confidence_level / 2, df)) * se
    est = Estimate(math.exp(m), math.exp(m - h), math.exp(m + h), float(confidence_level), method, n)
    return HypothesisTestResult(statistic=float(t), pvalue=p, alternative="two-sided", estimate=est)
