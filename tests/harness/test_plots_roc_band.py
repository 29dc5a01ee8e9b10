"""The ROC figure's bootstrap band: each resample's ROC points, computed from multiplicities in the
pre-sorted order, equal those of sorting the resampled cases (the reference below), bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from validation.harness._plots import _roc_points_resampled, _SortedScores


def _reference(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC points of the cases given: sort by descending score, one point per distinct score."""
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    ends = np.r_[np.flatnonzero(np.diff(ss)), ys.size - 1]
    tps = np.cumsum(ys)[ends]
    fps = (ends + 1) - tps
    return np.r_[0.0, fps / max(1, (1 - ys).sum())], np.r_[0.0, tps / max(1, ys.sum())]


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 60), levels=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_resampled_roc_points_equal_sorting_the_resample(n: int, levels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(np.int8)
    s = rng.integers(0, levels, n) / 3.0  # few levels: many ties
    idx = rng.integers(0, n, n)
    f, t = _roc_points_resampled(_SortedScores(y, s), idx)
    rf, rt = _reference(y[idx], s[idx])
    assert np.array_equal(f, rf) and np.array_equal(t, rt)
