"""Vectorised bootstrap of the AUC: replicate AUCs from resample counts, no per-resample sort.

For a resample with per-case multiplicities ``w``, the AUC is
``sum_i sum_j w_i w_j psi(x_i, y_j) / (W_pos W_neg)`` with ``psi = 1, ½, 0``. With the
negatives sorted once, ``sum_j w_j psi(x_i, y_j)`` is a difference of cumulative counts at
two precomputed positions per positive, so each replicate costs O(n) without sorting.
Numerators are exact integers, so every replicate equals (bit for bit) the AUC that
`roc_auc` computes on the resampled arrays.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from validation.stats._bootstrap import bootstrap_replicates
from validation.stats._ranks import midranks_sorted

__all__ = ["auc_bootstrap_replicates", "auc_jackknife"]

_CHUNK_ELEMENTS = 4_000_000


class _Layout:
    def __init__(self, pos: np.ndarray, score: np.ndarray) -> None:
        self.pos_idx = np.flatnonzero(pos)
        self.neg_idx = np.flatnonzero(~pos)
        xs = score[self.pos_idx]
        ys = score[self.neg_idx]
        self.neg_order = np.argsort(ys, kind="stable")
        ys_sorted = ys[self.neg_order]
        self.lo = np.searchsorted(ys_sorted, xs, side="left")
        self.hi = np.searchsorted(ys_sorted, xs, side="right")
        self.no_ties = bool(np.array_equal(self.lo, self.hi))
        # position of each negative (input order) in the sorted order
        self.neg_rank = np.empty(ys.size, dtype=np.int64)
        self.neg_rank[self.neg_order] = np.arange(ys.size)


def _weighted_numerators(lay: _Layout, w_pos: np.ndarray, w_neg_sorted: np.ndarray) -> np.ndarray:
    """``2 * sum_i sum_j w_i w_j psi`` per row (exact: integers below 2**53 in float64).

    ``w_neg_sorted`` holds the negatives' multiplicities in sorted-score order.
    """
    c = np.zeros((w_neg_sorted.shape[0], w_neg_sorted.shape[1] + 1), dtype=np.int32)
    np.cumsum(w_neg_sorted, axis=1, out=c[:, 1:])
    if lay.no_ties:
        inner2 = 2.0 * np.take(c, lay.lo, axis=1)
    else:
        inner2 = np.take(c, lay.lo, axis=1).astype(np.float64)
        inner2 += np.take(c, lay.hi, axis=1)
    return np.einsum("ij,ij->i", w_pos.astype(np.float64), inner2)


def _counts(draws: np.ndarray, n: int) -> np.ndarray:
    """Row-wise multiplicities of the drawn indices, shape ``(rows, n)``, int32."""
    b = draws.shape[0]
    offs = (np.arange(b, dtype=np.int64) * n)[:, None]
    return np.bincount((draws + offs).ravel(), minlength=b * n).reshape(b, n).astype(np.int32)


def auc_bootstrap_replicates(
    pos: np.ndarray,
    score: np.ndarray,
    gen: Any,
    n_resamples: int,
    cluster_codes: np.ndarray | None,
) -> np.ndarray:
    """Replicate AUCs; same draws as `bootstrap_ci` with ``strata=y_true`` (no clusters) or
    ``clusters=`` (cluster codes ``0..K-1`` in sorted order of the ids, no strata). ``gen`` is a
    Generator or `ChunkedStreams`."""
    return bootstrap_replicates(partial(_replicates, _Layout(pos, score), cluster_codes), n_resamples, gen,
                                function="roc_auc")


def _replicates(lay: _Layout, cluster_codes: np.ndarray | None, gen: np.random.Generator,
                n_resamples: int) -> np.ndarray:
    m, n = lay.pos_idx.size, lay.neg_idx.size
    out = np.empty(n_resamples, dtype=np.float64)
    if cluster_codes is None:
        # the draws of draw_resamples with strata = class: negatives (0) first, then positives
        d_neg = gen.integers(0, n, size=(n_resamples, n))
        d_pos = gen.integers(0, m, size=(n_resamples, m))
        step = max(1, _CHUNK_ELEMENTS // (m + n))
        for s in range(0, n_resamples, step):
            w_neg_sorted = _counts(lay.neg_rank[d_neg[s : s + step]], n)
            w_pos = _counts(d_pos[s : s + step], m)
            out[s : s + step] = _weighted_numerators(lay, w_pos, w_neg_sorted) / (2.0 * m * n)
        return out
    k = int(cluster_codes.max()) + 1
    draws = gen.integers(0, k, size=(n_resamples, k))  # = draw_resamples(gen, n_resamples, [arange(k)])
    code_pos = cluster_codes[lay.pos_idx]
    code_neg = cluster_codes[lay.neg_idx]
    step = max(1, _CHUNK_ELEMENTS // (m + n + k))
    for s in range(0, n_resamples, step):
        cc = _counts(draws[s : s + step], k)
        w_pos = np.take(cc, code_pos, axis=1)
        w_neg_sorted = np.take(cc, code_neg[lay.neg_order], axis=1)
        num = _weighted_numerators(lay, w_pos, w_neg_sorted)
        den = 2.0 * w_pos.sum(axis=1, dtype=np.int64) * w_neg_sorted.sum(axis=1, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s : s + step] = num / den
    return out


def auc_jackknife(pos: np.ndarray, score: np.ndarray, cluster_codes: np.ndarray | None) -> np.ndarray:
    """Leave-one-unit-out AUCs in closed form (units: cases, or clusters in code order)."""
    order = np.argsort(score, kind="stable")
    s = score[order]
    p = pos[order]
    r = midranks_sorted(s)
    m = int(np.count_nonzero(p))
    n = s.size - m
    # 2 * placement counts (exact integers): positives: 2*(#neg below + ½ ties), negatives likewise
    pl2 = np.empty(s.size, dtype=np.int64)
    pl2[p] = np.rint(2.0 * (r[p] - midranks_sorted(s[p]))).astype(np.int64)
    pl2[~p] = np.rint(2.0 * (r[~p] - midranks_sorted(s[~p]))).astype(np.int64)
    # for a negative, 2*(#pos below + ½ ties); #pos above + ½ ties = m - that/2
    total2 = int(pl2[p].sum())
    full = np.empty(s.size, dtype=np.int64)
    full[order] = pl2
    if cluster_codes is None:
        out = np.empty(s.size, dtype=np.float64)
        posf = pos
        out[posf] = (total2 - full[posf]) / (2.0 * (m - 1) * n)
        neg_above2 = 2 * m - full[~posf]
        out[~posf] = (total2 - neg_above2) / (2.0 * m * (n - 1))
        return out
    k = int(cluster_codes.max()) + 1
    # removed pairs of cluster c: its positives vs all negatives + its negatives vs all
    # positives - within-cluster pairs (counted twice)
    contrib = np.where(pos, full, 2 * m - full)
    removed = np.bincount(cluster_codes, weights=contrib, minlength=k)
    within2 = _within_cluster_numerators(pos, score, cluster_codes, k)
    m_c = np.bincount(cluster_codes, weights=pos.astype(np.float64), minlength=k)
    n_c = np.bincount(cluster_codes, minlength=k) - m_c
    num2 = total2 - removed + within2
    with np.errstate(invalid="ignore", divide="ignore"):
        return num2 / (2.0 * (m - m_c) * (n - n_c))


def _within_cluster_numerators(pos: np.ndarray, score: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Per cluster: 2 * (Mann-Whitney count of its own positive-negative pairs)."""
    order = np.lexsort((score, codes))
    c = codes[order]
    s = score[order]
    p = pos[order]
    key_change = np.empty(s.size, dtype=bool)
    key_change[0] = True
    key_change[1:] = (c[1:] != c[:-1]) | (s[1:] != s[:-1])
    starts = np.flatnonzero(key_change)
    ends = np.append(starts[1:], s.size)
    mid = np.repeat((starts + ends + 1) * 0.5, ends - starts)
    cstart = np.searchsorted(c, np.arange(k), side="left")
    rank_in_cluster = mid - cstart[c]
    m_c = np.bincount(c, weights=p.astype(np.float64), minlength=k)
    rsum = np.bincount(c[p], weights=rank_in_cluster[p], minlength=k)
    return 2.0 * rsum - m_c * (m_c + 1)
