"""Statistics the harness needs, via `validation.stats` where it provides them.

`roc_auc` (DeLong) and `proportion_ci` come from `validation.stats` when that module exports
them; the harness keeps small kernels for what it must also do itself: bootstrap replicates
of its endpoints (stratified by class, the unit is the case), the BCa adjustment from
jackknife values, heterogeneity tests across subgroup levels, and p-value adjustment.

References
----------
DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Biometrics 44:837-845.
Sun X, Xu W (2014). Fast implementation of DeLong's algorithm. IEEE SPL 21:1389-1393.
Newcombe RG (1998). Two-sided confidence intervals for the single proportion. Stat Med 17:857-872.
Efron B (1987). Better bootstrap confidence intervals. JASA 82:171-185.
Holm S (1979); Benjamini Y, Hochberg Y (1995).
"""

from __future__ import annotations

import math
import numpy as np
from scipy import stats as sps

from validation.stats import Estimate

__all__ = [
    "adjust_pvalues",
    "auc_bootstrap",
    "auc_delong",
    "bca_interval",
    "cochran_q",
    "mean_bootstrap",
    "percentile_interval",
    "proportion_interval",
]


def _z(confidence_level: float) -> float:
    return float(sps.norm.ppf(0.5 + confidence_level / 2.0))


def _placements(y: np.ndarray, s: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    x, yy = s[y == 1], s[y == 0]
    m, n = x.size, yy.size
    tz = sps.rankdata(np.concatenate([x, yy]))
    tx, ty = sps.rankdata(x), sps.rankdata(yy)
    auc = (tz[:m].sum() - m * (m + 1) / 2.0) / (m * n)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(auc), v10, v01


def auc_delong(y: np.ndarray, s: np.ndarray, confidence_level: float) -> Estimate:
    """Mann-Whitney AUC (ties 1/2, higher score = positive) with DeLong CI clipped to [0, 1]."""
    try:
        from validation.stats import roc_auc  # type: ignore[attr-defined]
    except ImportError:
        roc_auc = None
    if roc_auc is not None:
        return roc_auc(y, s, method="delong", confidence_level=confidence_level)  # type: ignore[no-any-return]
    auc, v10, v01 = _placements(y, s)
    m, n = v10.size, v01.size
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    half = _z(confidence_level) * math.sqrt(var)
    return Estimate(auc, max(0.0, auc - half), min(1.0, auc + half), confidence_level, "delong", int(m + n))


def auc_delong_variance(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(AUC, DeLong variance)."""
    auc, v10, v01 = _placements(y, s)
    m, n = v10.size, v01.size
    var = (v10.var(ddof=1) / m if m > 1 else math.nan) + (v01.var(ddof=1) / n if n > 1 else math.nan)
    return auc, float(var)


def proportion_interval(k: int, n: int, method: str, confidence_level: float) -> Estimate:
    """Binomial proportion CI by name (wilson, wilson_cc, clopper_pearson, jeffreys, agresti_coull)."""
    try:
        from validation.stats import proportion_ci  # type: ignore[attr-defined]
    except ImportError:
        proportion_ci = None
    if proportion_ci is not None:
        return proportion_ci(k, n, method=method, confidence_level=confidence_level)  # type: ignore[no-any-return]
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, confidence_level, method, 0)
    p = k / n
    a = 1.0 - confidence_level
    z = _z(confidence_level)
    if method == "wilson":
        c = (k + z * z / 2) / (n + z * z)
        h = z * math.sqrt(n) / (n + z * z) * math.sqrt(p * (1 - p) + z * z / (4 * n))
        lo, hi = c - h, c + h
    elif method == "wilson_cc":
        d = 2 * (n + z * z)
        lo = 0.0 if k == 0 else (2 * n * p + z * z - 1 - z * math.sqrt(z * z - 2 - 1 / n + 4 * p * (n * (1 - p) + 1))) / d
        hi = 1.0 if k == n else (2 * n * p + z * z + 1 + z * math.sqrt(z * z + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))) / d
    elif method == "clopper_pearson":
        lo = 0.0 if k == 0 else float(sps.beta.ppf(a / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(sps.beta.ppf(1 - a / 2, k + 1, n - k))
    elif method == "jeffreys":
        lo = 0.0 if k == 0 else float(sps.beta.ppf(a / 2, k + 0.5, n - k + 0.5))
        hi = 1.0 if k == n else float(sps.beta.ppf(1 - a / 2, k + 0.5, n - k + 0.5))
    elif method == "agresti_coull":
        nt = n + z * z
        pt = (k + z * z / 2) / nt
        h = z * math.sqrt(pt * (1 - pt) / nt)
        lo, hi = pt - h, pt + h
    else:  # pragma: no cover - the protocol schema restricts methods
        raise ValueError(method)
    return Estimate(p, max(0.0, lo), min(1.0, hi), confidence_level, method, int(n))


def percentile_interval(reps: np.ndarray, confidence_level: float) -> tuple[float, float]:
    """Equal-tailed percentile interval (numpy 'linear' quantiles) of finite replicates."""
    r = reps[np.isfinite(reps)]
    if r.size == 0:
        return math.nan, math.nan
    a = (1 - confidence_level) / 2
    lo, hi = np.quantile(r, [a, 1 - a])
    return float(lo), float(hi)


def bca_interval(reps: np.ndarray, theta: float, jack: np.ndarray, jack_w: np.ndarray | None,
                 confidence_level: float) -> tuple[float, float]:
    """BCa interval (Efron 1987) from replicates and (weighted) jackknife values."""
    r = reps[np.isfinite(reps)]
    if r.size == 0 or not math.isfinite(theta):
        return math.nan, math.nan
    prop = (np.sum(r < theta) + 0.5 * np.sum(r == theta)) / r.size
    prop = min(max(prop, 1.0 / (r.size + 1)), r.size / (r.size + 1))
    z0 = float(sps.norm.ppf(prop))
    w = np.ones_like(jack) if jack_w is None else jack_w
    mean = np.sum(w * jack) / np.sum(w)
    d = mean - jack
    den = 6.0 * (np.sum(w * d * d) ** 1.5)
    acc = float(np.sum(w * d ** 3) / den) if den > 0 else 0.0
    zs = sps.norm.ppf([(1 - confidence_level) / 2, 1 - (1 - confidence_level) / 2])
    q = sps.norm.cdf(z0 + (z0 + zs) / (1 - acc * (z0 + zs)))
    lo, hi = np.quantile(r, q)
    return float(lo), float(hi)


def auc_bootstrap(y: np.ndarray, s: np.ndarray, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified (by class) bootstrap replicates of the AUC, O(n) per replicate."""
    u, inv = np.unique(s, return_inverse=True)
    gp, gn = inv[y == 1], inv[y == 0]
    m, n, k = gp.size, gn.size, u.size
    out = np.empty(replicates)
    for b in range(replicates):
        cp = np.bincount(gp[rng.integers(0, m, m)], minlength=k)
        cn = np.bincount(gn[rng.integers(0, n, n)], minlength=k)
        below = np.cumsum(cn) - cn
        out[b] = (cp @ (below + 0.5 * cn)) / (m * n)
    return out


def auc_jackknife(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Leave-one-case-out AUCs from DeLong placement values."""
    auc, v10, v01 = _placements(y, s)
    m, n = v10.size, v01.size
    return np.concatenate([(m * auc - v10) / (m - 1), (n * auc - v01) / (n - 1)])


def mean_bootstrap(x: np.ndarray, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the mean of per-case values (cases resampled)."""
    n = x.size
    out = np.empty(replicates)
    for b in range(replicates):
        out[b] = x[rng.integers(0, n, n)].mean()
    return out


def cochran_q(est: np.ndarray, var: np.ndarray) -> tuple[float, float, int]:
    """Cochran's Q heterogeneity test of independent estimates: (Q, p, df)."""
    ok = np.isfinite(est) & np.isfinite(var) & (var > 0)
    e, v = est[ok], var[ok]
    if e.size < 2:
        return math.nan, math.nan, 0
    w = 1.0 / v
    mean = np.sum(w * e) / np.sum(w)
    q = float(np.sum(w * (e - mean) ** 2))
    df = int(e.size - 1)
    return q, float(sps.chi2.sf(q, df)), df


def adjust_pvalues(p: np.ndarray, method: str) -> np.ndarray:
    """Holm, Bonferroni or Benjamini-Hochberg adjusted p-values (NaN stays NaN, excluded)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, math.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = q.size
    if m == 0 or method == "none":
        out[ok] = q
        return out
    if method == "bonferroni":
        adj = np.minimum(1.0, q * m)
    elif method == "holm":
        order = np.argsort(q, kind="mergesort")
        steps = np.maximum.accumulate((m - np.arange(m)) * q[order])
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, steps)
    elif method == "bh":
        order = np.argsort(q, kind="mergesort")[::-1]
        steps = np.minimum.accumulate(q[order] * m / (m - np.arange(m)))
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, steps)
    else:  # pragma: no cover - schema-restricted
        raise ValueError(method)
    out[ok] = adj
    return out


