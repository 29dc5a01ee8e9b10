"""Agreement statistics: Cohen's (weighted) kappa, Fleiss' kappa, ICC(2,1)/(3,1), Bland-Altman.

Pure functions: arrays in, `Estimate` / frozen results out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from samd_core.checks import check_confidence_level
from validation.errors import InvalidParameterError
from validation.stats._results import Estimate

__all__ = ["BlandAltmanResult", "bland_altman", "cohen_kappa", "fleiss_kappa", "icc"]


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def _categories(values: np.ndarray, categories: Sequence[Any] | None, fn: str, numeric: bool) -> np.ndarray:
    if categories is None:
        cats = np.unique(values)
    else:
        cats = np.asarray(list(categories))
        if cats.ndim != 1 or len(cats) < 2 or len(np.unique(cats)) != len(cats):
            raise InvalidParameterError("categories", fn, "a sequence of at least 2 distinct category values", categories)
        if numeric:
            cats = np.sort(cats.astype(float))
        extra = [v for v in np.unique(values) if v not in set(cats.tolist())]
        if extra:
            raise InvalidParameterError("categories", fn, f"a scale containing every observed rating (missing {extra[:5]})", list(cats))
    if numeric:
        try:
            cats = cats.astype(float)
        except (TypeError, ValueError):
            raise InvalidParameterError("categories", fn, "numeric category values when weights are used", list(cats)) from None
        if not np.all(np.isfinite(cats)):
            raise InvalidParameterError("categories", fn, "finite category values", list(cats))
    return cats


def _ratings_1d(x: Any, name: str, fn: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1 or a.size == 0:
        raise InvalidParameterError(name, fn, "a non-empty 1-D array of ratings", f"array of shape {a.shape}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise InvalidParameterError(name, fn, "ratings without NaN/inf", "array containing NaN or inf")
    if a.dtype.kind == "O" and any(v is None for v in a):
        raise InvalidParameterError(name, fn, "ratings without missing values", "array containing None")
    return a


def cohen_kappa(
    a: Any,
    b: Any,
    *,
    weights: Literal["linear", "quadratic"] | None = None,
    categories: Sequence[Any] | None = None,
    confidence_level: float = 0.95,
) -> Estimate:
    """Cohen's kappa of two raters, unweighted or weighted, with a large-sample CI.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Ratings of the same n subjects by two raters.
    weights : {None, "linear", "quadratic"}
        Agreement weights computed from category **values** on the declared scale:
        ``w_ij = 1 - |c_i - c_j| / (c_max - c_min)`` (linear) or
        ``1 - (c_i - c_j)^2 / (c_max - c_min)^2`` (quadratic). For equally spaced categories
        these equal vcd's "Equal-Spacing" / "Fleiss-Cohen" weights (which use the index).
    categories : sequence, optional
        The rating scale (every possible category). Default: the observed values. Declaring it
        matters for weights (the range) and makes unused categories explicit.
    confidence_level : float

    Returns
    -------
    Estimate
        ``method="fleiss-cohen-everitt"``: kappa +/- z * SE with the non-null large-sample
        SE of Fleiss, Cohen & Everitt (1969) (as vcd::Kappa's ASE), not the SE under H0 that
        irr reports for its z test. The CI is not clipped to [-1, 1]. ``n`` = subjects. When
        both raters use a single category (chance agreement 1) kappa is undefined: NaN.

    References
    ----------
    Cohen J (1960) Educ Psychol Meas 20:37-46; Cohen J (1968) Psychol Bull 70:213-220;
    Fleiss JL, Cohen J, Everitt BS (1969) Psychol Bull 72:323-327.
    """
    fn = "cohen_kappa"
    level = check_confidence_level(confidence_level, fn)
    if weights not in (None, "linear", "quadratic"):
        raise InvalidParameterError("weights", fn, "None, 'linear' or 'quadratic'", weights, options=["linear", "quadratic"])
    x = _ratings_1d(a, "a", fn)
    y = _ratings_1d(b, "b", fn)
    if x.shape != y.shape:
        raise InvalidParameterError("b", fn, f"the same length as `a` ({x.size})", f"length {y.size}")
    numeric = weights is not None
    if numeric:
        try:
            x, y = x.astype(float), y.astype(float)
        except (TypeError, ValueError):
            raise InvalidParameterError("a", fn, "numeric ratings when weights are used", x[:5].tolist()) from None
    cats = _categories(np.concatenate([x, y]), categories, fn, numeric)
    idx = {v: i for i, v in enumerate(cats.tolist())}
    r = len(cats)
    n = x.size
    table = np.zeros((r, r))
    np.add.at(table, ([idx[v] for v in x.tolist()], [idx[v] for v in y.tolist()]), 1.0)
    if weights is None:
        w = np.eye(r)
    else:
        span = float(cats[-1] - cats[0])
        dist = np.abs(cats[:, None] - cats[None, :]) / span
        w = 1.0 - (dist if weights == "linear" else dist**2)
    value, se = _kappa_fce(table / n, w, n)
    method = "fleiss-cohen-everitt"
    if not math.isfinite(value):
        return Estimate(float("nan"), float("nan"), float("nan"), level, method, n)
    h = _z(level) * se
    return Estimate(value, value - h, value + h, level, method, n)


def _kappa_fce(p: np.ndarray, w: np.ndarray, n: int) -> tuple[float, float]:
    """Weighted kappa and its Fleiss-Cohen-Everitt (1969) SE from proportions ``p`` (r x r)."""
    pr = p.sum(axis=1)
    pc = p.sum(axis=0)
    po = float(np.sum(w * p))
    pe = float(np.sum(w * np.outer(pr, pc)))
    if pe >= 1.0:
        return float("nan"), float("nan")
    k = (po - pe) / (1 - pe)
    wr = w @ pc  # w_i. = sum_j w_ij p_.j
    wc = w.T @ pr  # w_.j = sum_i w_ij p_i.
    inner = np.sum(p * (w - (wr[:, None] + wc[None, :]) * (1 - k)) ** 2) - (k - pe * (1 - k)) ** 2
    var = inner / (n * (1 - pe) ** 2)
    return float(k), math.sqrt(max(float(var), 0.0))


def fleiss_kappa(ratings: Any, *, categories: Sequence[Any] | None = None, confidence_level: float = 0.95) -> Estimate:
    """Fleiss' kappa for m >= 2 raters per subject (same number for every subject).

    Parameters
    ----------
    ratings : array_like, shape (n subjects, m raters)
        Category assigned by each rating (raters need not be the same people).

    Returns
    -------
    Estimate
        Fleiss (1971) kappa; CI ``method="jackknife"``: kappa +/- z * SE with the jackknife SE
        over subjects (a non-null SE; Fleiss' closed-form SE is valid only under H0: kappa = 0).
        NaN when chance agreement is 1.

    References
    ----------
    Fleiss JL (1971) Psychol Bull 76:378-382; Efron B (1982) The Jackknife, the Bootstrap and
    Other Resampling Plans (jackknife SE).
    """
    fn = "fleiss_kappa"
    level = check_confidence_level(confidence_level, fn)
    x = np.asarray(ratings)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise InvalidParameterError("ratings", fn, "a 2-D array (subjects x raters) with >= 2 subjects and >= 2 raters", f"array of shape {x.shape}")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise InvalidParameterError("ratings", fn, "ratings without NaN/inf", "array containing NaN or inf")
    cats = _categories(x.ravel(), categories, fn, numeric=False)
    idx = {v: i for i, v in enumerate(cats.tolist())}
    counts = np.zeros((x.shape[0], len(cats)))
    for j in range(x.shape[1]):
        np.add.at(counts, (np.arange(x.shape[0]), [idx[v] for v in x[:, j].tolist()]), 1.0)
    k = _fleiss(counts)
    n = counts.shape[0]
    loo = np.array([_fleiss(np.delete(counts, i, axis=0)) for i in range(n)])
    if not math.isfinite(k) or not np.all(np.isfinite(loo)):
        return Estimate(k, float("nan"), float("nan"), level, "jackknife", n)
    se = math.sqrt((n - 1) / n * float(np.sum((loo - loo.mean()) ** 2)))
    h = _z(level) * se
    return Estimate(k, k - h, k + h, level, "jackknife", n)


def _fleiss(counts: np.ndarray) -> float:
    n, _ = counts.shape
    m = counts.sum(axis=1)[0]
    pj = counts.sum(axis=0) / (n * m)
    pi = (np.sum(counts**2, axis=1) - m) / (m * (m - 1))
    pbar = pi.mean()
    pe = float(np.sum(pj**2))
    if pe >= 1.0:
        return float("nan")
    return float((pbar - pe) / (1 - pe))


def icc(ratings: Any, *, form: Literal["ICC(2,1)", "ICC(3,1)"] = "ICC(2,1)", confidence_level: float = 0.95) -> Estimate:
    """Intraclass correlation of single ratings, Shrout & Fleiss ICC(2,1) or ICC(3,1).

    Parameters
    ----------
    ratings : array_like, shape (n subjects, k raters), complete (no missing values)
    form : {"ICC(2,1)", "ICC(3,1)"}
        ICC(2,1): two-way random effects, absolute agreement, single rater;
        ICC(3,1): two-way mixed (fixed raters), consistency, single rater.

    Returns
    -------
    Estimate
        ICC(3,1): exact F-based CI (``method="F"``). ICC(2,1): the approximate CI of
        McGraw & Wong (1996, Table 7; Satterthwaite df), ``method="mcgraw-wong"``; both as in
        psych::ICC. ``n`` = subjects. The approximate interval need not contain a negative
        estimate when n is small (the Satterthwaite df tends to 0); the estimate and both bounds
        are returned as computed, never clipped.

    References
    ----------
    Shrout PE, Fleiss JL (1979) Psychol Bull 86:420-428; McGraw KO, Wong SP (1996) Psychol
    Methods 1:30-46.
    """
    fn = "icc"
    level = check_confidence_level(confidence_level, fn)
    if form not in ("ICC(2,1)", "ICC(3,1)"):
        raise InvalidParameterError("form", fn, "'ICC(2,1)' or 'ICC(3,1)'", form, options=["ICC(2,1)", "ICC(3,1)"])
    try:
        x = np.asarray(ratings, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError("ratings", fn, "a numeric 2-D array (subjects x raters)", type(ratings).__name__) from None
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise InvalidParameterError("ratings", fn, "a 2-D array with >= 2 subjects and >= 2 raters", f"array of shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InvalidParameterError("ratings", fn, "complete finite ratings (no NaN/inf)", "array containing NaN or inf")
    n, k = x.shape
    g = x.mean()
    msb = k * np.sum((x.mean(axis=1) - g) ** 2) / (n - 1)
    msj = n * np.sum((x.mean(axis=0) - g) ** 2) / (k - 1)
    resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + g
    mse = np.sum(resid**2) / ((n - 1) * (k - 1))
    alpha = 1 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    if mse == 0:
        raise InvalidParameterError("ratings", fn, "ratings with non-zero residual variance", "ratings whose subject x rater residuals are all 0")
    f = msb / mse
    if form == "ICC(3,1)":
        value = (msb - mse) / (msb + (k - 1) * mse)
        fl = f / stats.f.ppf(1 - alpha / 2, df1, df2)
        fu = f * stats.f.ppf(1 - alpha / 2, df2, df1)
        lo, hi = (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)
        return Estimate(float(value), float(lo), float(hi), level, "F", n)
    value = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    fj = msj / mse
    vn = (k - 1) * (n - 1) * (k * value * fj + n * (1 + (k - 1) * value) - k * value) ** 2
    vd = (n - 1) * k**2 * value**2 * fj**2 + (n * (1 + (k - 1) * value) - k * value) ** 2
    v = vn / vd
    fu = stats.f.ppf(1 - alpha / 2, n - 1, v)
    fl = stats.f.ppf(1 - alpha / 2, v, n - 1)
    lo = n * (msb - fu * mse) / (fu * (k * msj + (k * n - k - n) * mse) + n * msb)
    hi = n * (fl * msb - mse) / (k * msj + (k * n - k - n) * mse + n * fl * msb)
    return Estimate(float(value), float(lo), float(hi), level, "mcgraw-wong", n)


@dataclass(frozen=True, slots=True)
class BlandAltmanResult:
    """Bland-Altman analysis of paired measurements; differences are ``a - b``.

    ``bias`` is the mean difference (t CI); ``lower``/``upper`` are the limits of agreement
    ``bias -/+ z * sd`` with their CIs (``method`` names how); ``sd`` is the SD of the
    differences (n - 1 divisor); ``coverage`` the population fraction the limits target.
    """

    bias: Estimate
    lower: Estimate
    upper: Estimate
    sd: float
    coverage: float
    n: int
    sign_convention: str = "a minus b"

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": self.bias.to_dict(), "lower": self.lower.to_dict(), "upper": self.upper.to_dict(),
            "sd": self.sd, "coverage": self.coverage, "n": self.n, "sign_convention": self.sign_convention,
        }


def bland_altman(
    a: Any,
    b: Any,
    *,
    method: Literal["exact", "approximate"] = "exact",
    coverage: float = 0.95,
    confidence_level: float = 0.95,
) -> BlandAltmanResult:
    """Bland-Altman limits of agreement with confidence intervals.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements (same units); differences are ``a - b``.
    method : {"exact", "approximate"}
        CI of each limit. ``"exact"``: ``bias + sd * t'_q(n-1, z sqrt(n)) / sqrt(n)`` with the
        noncentral t quantiles (exact under normality; Carkeet 2015). ``"approximate"``:
        ``limit +/- t_{n-1} * sd * sqrt(1/n + z^2 / (2 (n-1)))`` (Bland & Altman 1999, sec. 5.3).
    coverage : float
        Fraction of differences the limits should contain (0.95: z = 1.96).
    confidence_level : float

    References
    ----------
    Bland JM, Altman DG (1986) Lancet i:307-310; Bland JM, Altman DG (1999) Stat Methods Med
    Res 8:135-160; Carkeet A (2015) Optom Vis Sci 92:e71-e80.
    """
    fn = "bland_altman"
    level = check_confidence_level(confidence_level, fn)
    cov = check_confidence_level(coverage, fn, "coverage")
    if method not in ("exact", "approximate"):
        raise InvalidParameterError("method", fn, "'exact' or 'approximate'", method, options=["exact", "approximate"])
    try:
        x = np.asarray(a, dtype=float)
        y = np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError("a", fn, "numeric 1-D arrays", type(a).__name__) from None
    if x.ndim != 1 or x.size < 3:
        raise InvalidParameterError("a", fn, "a 1-D array of at least 3 measurements", f"array of shape {x.shape}")
    if y.shape != x.shape:
        raise InvalidParameterError("b", fn, f"the same length as `a` ({x.size})", f"array of shape {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InvalidParameterError("a", fn, "finite measurements (no NaN/inf)", "arrays containing NaN or inf")
    d = x - y
    n = d.size
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    z = float(stats.norm.ppf(0.5 + cov / 2))
    tq = float(stats.t.ppf(0.5 + level / 2, n - 1))
    hb = tq * sd / math.sqrt(n)
    bias = Estimate(mean, mean - hb, mean + hb, level, "t", n)
    lo_v, hi_v = mean - z * sd, mean + z * sd
    if method == "approximate":
        se = sd * math.sqrt(1 / n + z**2 / (2 * (n - 1)))
        lower = Estimate(lo_v, lo_v - tq * se, lo_v + tq * se, level, "bland-altman-1999-approximate", n)
        upper = Estimate(hi_v, hi_v - tq * se, hi_v + tq * se, level, "bland-altman-1999-approximate", n)
    else:
        rn = math.sqrt(n)
        ql, qh = 0.5 - level / 2, 0.5 + level / 2
        u_lo = stats.nct.ppf(ql, n - 1, z * rn) / rn
        u_hi = stats.nct.ppf(qh, n - 1, z * rn) / rn
        upper = Estimate(hi_v, mean + sd * float(u_lo), mean + sd * float(u_hi), level, "exact-noncentral-t", n)
        lower = Estimate(lo_v, mean - sd * float(u_hi), mean - sd * float(u_lo), level, "exact-noncentral-t", n)
    return BlandAltmanResult(bias=bias, lower=lower, upper=upper, sd=sd, coverage=cov, n=n)
