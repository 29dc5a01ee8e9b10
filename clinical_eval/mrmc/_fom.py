"""Figures of merit per reader x modality cell and their case-level (co)variances.

Every function takes ``ratings`` of shape ``(cells, K)`` and ``truth`` of shape ``(K,)``
and trusts them (validated upstream).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "Fom",
    "auc_structural_components",
    "cell_covariance",
    "fom_and_jackknife",
    "naive_jackknife_auc",
]

Fom = Literal["auc", "sensitivity", "specificity"]


def auc_structural_components(ratings: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical AUC and DeLong structural components of every cell, from midranks.

    Returns ``auc (cells,)``, ``v10 (cells, K2)`` and ``v01 (cells, K1)`` where
    ``v10[c, d] = mean_n s(x_d, x_n)`` over non-diseased n and ``v01[c, n] = mean_d s(x_d, x_n)``,
    ``s = 1, 1/2, 0`` for ``>, =, <``. O(K log K) per cell (DeLong et al. 1988; Sun & Xu 2014).
    """
    pos = truth == 1
    x1 = ratings[:, pos]
    x0 = ratings[:, ~pos]
    k1, k2 = x0.shape[1], x1.shape[1]
    r_all = rankdata(ratings, axis=1)
    r1 = rankdata(x1, axis=1)
    r0 = rankdata(x0, axis=1)
    v10 = (r_all[:, pos] - r1) / k1
    v01 = 1.0 - (r_all[:, ~pos] - r0) / k2
    auc = v10.mean(axis=1)
    return auc, v10, v01


def fom_and_jackknife(ratings: np.ndarray, truth: np.ndarray, fom: Fom) -> tuple[np.ndarray, np.ndarray]:
    """Figure of merit of every cell and its leave-one-case-out values.

    For the AUC the jackknife is exact and O(K) per cell given the structural components:
    removing diseased case d gives ``(K2 A - v10[d]) / (K2 - 1)``, removing non-diseased
    case n gives ``(K1 A - v01[n]) / (K1 - 1)``. All K cases are left out in turn (the
    Iowa / RJafroc / MRMCaov convention). For sensitivity (specificity) only the diseased
    (non-diseased) cases enter, and only they are left out (the FOM does not depend on the
    others; jackknifing over all K would bias the variance by K2 (K-1) / (K (K2-1))).

    Returns ``fom (cells,)`` and ``loo (cells, K')`` with K' = K (AUC), K2 or K1.
    """
    pos = truth == 1
    if fom == "auc":
        auc, v10, v01 = auc_structural_components(ratings, truth)
        k1, k2 = v01.shape[1], v10.shape[1]
        loo = np.empty_like(ratings, dtype=float)
        loo[:, pos] = (k2 * auc[:, None] - v10) / (k2 - 1)
        loo[:, ~pos] = (k1 * auc[:, None] - v01) / (k1 - 1)
        return auc, loo
    x = ratings[:, pos] if fom == "sensitivity" else 1.0 - ratings[:, ~pos]
    n = x.shape[1]
    value = x.mean(axis=1)
    loo = (n * value[:, None] - x) / (n - 1)
    return value, loo


def naive_jackknife_auc(ratings: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference implementation: K full AUC recomputations (for tests and the benchmark)."""
    cells, k = ratings.shape
    loo = np.empty((cells, k))
    keep = np.ones(k, dtype=bool)
    for c in range(k):
        keep[c] = False
        loo[:, c] = auc_structural_components(ratings[:, keep], truth[keep])[0]
        keep[c] = True
    return auc_structural_components(ratings, truth)[0], loo


def _jackknife_cov(loo: np.ndarray) -> np.ndarray:
    n = loo.shape[1]
    dev = loo - loo.mean(axis=1, keepdims=True)
    return (n - 1) / n * (dev @ dev.T)


def cell_covariance(
    ratings: np.ndarray,
    truth: np.ndarray,
    fom: Fom,
    covariance: Literal["jackknife", "delong", "unbiased"],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FOM of every cell, its leave-one-out values and the cells' error covariance matrix.

    ``jackknife``: ``(n-1)/n * sum_k (A(k) - mean A(.))(A'(k) - mean A'(.))`` (Efron 1982).
    ``delong``: ``S10/K2 + S01/K1`` from the structural components (DeLong et al. 1988).
    ``unbiased``: the U-statistic estimator of the covariance of two empirical AUCs on the
    same cases (Gallas 2006; Gallas et al. 2009), unbiased for any K1, K2 >= 2.
    """
    value, loo = fom_and_jackknife(ratings, truth, fom)
    if covariance == "jackknife":
        return value, loo, _jackknife_cov(loo)
    if fom != "auc":
        # For a proportion: "delong" is the plug-in (V-statistic) moment sum/n^2, "unbiased"
        # the U-statistic sum/(n(n-1)), which equals the jackknife.
        pos = truth == 1
        x = ratings[:, pos] if fom == "sensitivity" else 1.0 - ratings[:, ~pos]
        n = x.shape[1]
        dev = x - x.mean(axis=1, keepdims=True)
        div = n * n if covariance == "delong" else n * (n - 1)
        return value, loo, (dev @ dev.T) / div
    auc, v10, v01 = auc_structural_components(ratings, truth)
    k1, k2 = v01.shape[1], v10.shape[1]
    if covariance == "delong":
        d10 = v10 - v10.mean(axis=1, keepdims=True)
        d01 = v01 - v01.mean(axis=1, keepdims=True)
        cov = (d10 @ d10.T) / ((k2 - 1) * k2) + (d01 @ d01.T) / ((k1 - 1) * k1)
        return auc, loo, cov
    # unbiased: E[A_a A_b] decomposed over (same d, same n), (same d), (same n), (neither)
    pos = truth == 1
    x1 = ratings[:, pos]
    x0 = ratings[:, ~pos]
    cells = ratings.shape[0]
    s_same = np.zeros((cells, cells))  # sum_{d,n} h_a h_b
    rows = np.empty((cells, k2))  # sum over n of h(d, n)
    cols = np.zeros((cells, k1))  # sum over d of h(d, n)
    block = max(1, int(2_000_000 // max(1, cells * k1)))  # bound memory of the kernel block
    for start in range(0, k2, block):
        h = (np.sign(x1[:, start : start + block, None] - x0[:, None, :]) + 1.0) / 2.0
        hf = h.reshape(cells, -1)
        s_same += hf @ hf.T
        rows[:, start : start + block] = h.sum(axis=2)
        cols += h.sum(axis=1)
    t_d = rows @ rows.T - s_same  # same d, n != n'
    t_n = cols @ cols.T - s_same  # same n, d != d'
    tot = rows.sum(axis=1)
    t_none = np.outer(tot, tot) - s_same - t_d - t_n
    m1 = s_same / (k1 * k2)
    m2 = t_d / (k2 * k1 * (k1 - 1))
    m3 = t_n / (k1 * k2 * (k2 - 1))
    m4 = t_none / (k1 * (k1 - 1) * k2 * (k2 - 1))
    cov = (m1 + (k1 - 1) * m2 + (k2 - 1) * m3 + (k1 - 1) * (k2 - 1) * m4) / (k1 * k2) - m4
    return auc, loo, cov
