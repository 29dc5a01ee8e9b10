"""Statistics the harness needs, via `validation.stats` where it provides them.

AUC with DeLong or bootstrap CIs (`roc_auc`), binomial CIs (`proportion_ci`) and p-value
adjustment (`adjust_pvalues`) come from `validation.stats`. The harness keeps small kernels
for what is specific to it: stratified binomial bootstrap replicates of sensitivity,
specificity, PPV and NPV, case bootstrap of mean segmentation values, the BCa adjustment from
(weighted) jackknife values, DeLong variances for Cochran's Q across subgroup levels.

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

from validation.stats import Estimate, proportion_ci, roc_auc
from validation.stats import adjust_pvalues as _adjust

__all__ = [
    "adjust_pvalues",
    "auc_bootstrap_ci",
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
    """Mann-Whitney AUC (ties 1/2, higher score = positive) with DeLong CI: `validation.stats.roc_auc`."""
    return roc_auc(y, s, method="delong", confidence_level=confidence_level)


def auc_bootstrap_ci(y: np.ndarray, s: np.ndarray, method: str, replicates: int, rng: np.random.Generator,
                     confidence_level: float) -> Estimate:
    """Stratified bootstrap CI of the AUC: `validation.stats.roc_auc` (``bootstrap-percentile|bca``)."""
    return roc_auc(y, s, method=method.replace("_", "-"), confidence_level=confidence_level,  # type: ignore[arg-type]
                   n_resamples=replicates, rng=rng)


def auc_delong_variance(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(AUC, DeLong variance)."""
    auc, v10, v01 = _placements(y, s)
    m, n = v10.size, v01.size
    var = (v10.var(ddof=1) / m if m > 1 else math.nan) + (v01.var(ddof=1) / n if n > 1 else math.nan)
    return auc, float(var)


def proportion_interval(k: int, n: int, method: str, confidence_level: float) -> Estimate:
    """Binomial proportion CI by name: `validation.stats.proportion_ci`; NaN estimate when n = 0."""
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, confidence_level, method, 0)
    return proportion_ci(k, n, method=method, confidence_level=confidence_level)  # type: ignore[arg-type]


def percentile_interval(reps: np.ndarray, confidence_level: float) -> tuple[float, float]:
    """Equal-tailed percentile interval (numpy 'linear' quantiles); NaN bounds when any
    replicate is not finite (an interval over the finite ones only would be optimistic)."""
    if reps.size == 0 or not np.all(np.isfinite(reps)):
        return math.nan, math.nan  # undefined replicates (e.g. empty denominators): no interval
    r = reps
    a = (1 - confidence_level) / 2
    lo, hi = np.quantile(r, [a, 1 - a])
    return float(lo), float(hi)


def bca_interval(reps: np.ndarray, theta: float, jack: np.ndarray, jack_w: np.ndarray | None,
                 confidence_level: float) -> tuple[float, float]:
    """BCa interval (Efron 1987) from replicates and (weighted) jackknife values."""
    if reps.size == 0 or not np.all(np.isfinite(reps)) or not math.isfinite(theta):
        return math.nan, math.nan
    r = reps
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
    """Holm, Bonferroni or Benjamini-Hochberg adjusted p-values via `validation.stats.adjust_pvalues`
    over the finite entries (NaN stays NaN; ``"none"`` returns the raw values)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, math.nan)
    ok = np.isfinite(p)
    if not ok.any():
        return out
    if method == "none":
        out[ok] = p[ok]
        return out
    name = {"bh": "benjamini-hochberg"}.get(method, method)
    out[ok] = np.asarray(_adjust(p[ok], method=name).adjusted)  # type: ignore[arg-type]
    return out
