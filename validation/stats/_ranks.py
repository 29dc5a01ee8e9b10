"""Midranks and DeLong placement values (Sun & Xu 2014), one argsort per score vector."""

from __future__ import annotations

import numpy as np

__all__ = ["delong_placements", "midranks_sorted", "auc_from_labels"]


def midranks_sorted(s: np.ndarray) -> np.ndarray:
    """1-based midranks of an already sorted 1-d array (ties share their mean rank)."""
    n = s.size
    if n == 0:
        return np.empty(0, dtype=np.float64)
    flag = np.empty(n, dtype=bool)
    flag[0] = True
    np.not_equal(s[1:], s[:-1], out=flag[1:])
    starts = np.flatnonzero(flag)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = n
    mid = (starts + ends + 1) * 0.5
    return np.repeat(mid, ends - starts)


def delong_placements(pos: np.ndarray, score: np.ndarray, *, original_order: bool = False) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and the DeLong placement values of positives (V10) and negatives (V01).

    ``V10_i = (#negatives below x_i + ½ #ties) / n`` and
    ``V01_j = (#positives above y_j + ½ #ties) / m``, computed from midranks in the combined
    sample and within each class (Sun & Xu 2014). The AUC is the exact rank-sum value
    ``(R_pos - m(m+1)/2) / (m n)``. With ``original_order`` the placements follow the input
    order of positives / negatives (needed to pair two scores case by case); otherwise they
    are in sorted order.
    """
    order = np.argsort(score, kind="stable" if original_order else None)
    s = score[order]
    p = pos[order]
    r = midranks_sorted(s)
    rp = r[p]
    rn = r[~p]
    m = rp.size
    n = rn.size
    rx = midranks_sorted(s[p])
    ry = midranks_sorted(s[~p])
    v10 = (rp - rx) / n
    v01 = 1.0 - (rn - ry) / m
    auc = (float(rp.sum()) - m * (m + 1) / 2.0) / (m * n)
    if original_order:
        full = np.empty(score.size, dtype=np.float64)
        full[order[p]] = v10
        full[order[~p]] = v01
        v10 = full[pos]
        v01 = full[~pos]
    return auc, v10, v01


def auc_from_labels(pos: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted ½ (pure kernel; both classes present)."""
    order = np.argsort(score)
    s = score[order]
    r = midranks_sorted(s)
    p = pos[order]
    m = int(np.count_nonzero(p))
    n = s.size - m
    return (float(r[p].sum()) - m * (m + 1) / 2.0) / (m * n)
