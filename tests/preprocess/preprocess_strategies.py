"""Hypothesis strategies for random volume geometry (shared by the preprocess tests)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st

from samd_core import Volume

_PERMS = list(itertools.permutations(range(3)))


@st.composite
def directions(draw: st.DrawFn, *, oblique: bool = True) -> tuple[tuple[float, ...], ...]:
    """Orthonormal 3x3: a signed permutation, optionally rotated by a small oblique angle."""
    perm = draw(st.sampled_from(_PERMS))
    signs = draw(st.tuples(*[st.sampled_from([-1.0, 1.0])] * 3))
    d = np.zeros((3, 3))
    for col, row in enumerate(perm):
        d[row, col] = signs[col]
    if oblique:
        angle = draw(st.floats(-0.3, 0.3))
        c, s = np.cos(angle), np.sin(angle)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        d = rot @ d
    return tuple(tuple(float(x) for x in r) for r in d)


@st.composite
def label_volumes(draw: st.DrawFn, *, max_side: int = 10, oblique: bool = True) -> Volume:
    """Small 3-D uint8 label maps with random geometry and a few labels."""
    shape = draw(st.tuples(*[st.integers(2, max_side)] * 3))
    spacing = draw(st.tuples(*[st.floats(0.3, 3.0)] * 3))
    origin = draw(st.tuples(*[st.floats(-200, 200)] * 3))
    seed = draw(st.integers(0, 2**32 - 1))
    arr = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.uint8)
    return Volume(arr, spacing, origin, draw(directions(oblique=oblique)))
