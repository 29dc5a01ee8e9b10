"""Synthetic masks for the metric tests."""

from __future__ import annotations

import numpy as np


def ellipsoid(shape: tuple[int, ...], center: np.ndarray, radii: np.ndarray) -> np.ndarray:
    grid = np.indices(shape).astype(float)
    d = sum(((grid[i] - center[i]) / radii[i]) ** 2 for i in range(len(shape)))
    return d <= 1.0


def random_pair(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    n = len(shape)
    lo = np.array(shape) * 0.3
    hi = np.array(shape) * 0.7
    a = ellipsoid(shape, rng.uniform(lo, hi), rng.uniform(2.0, 7.0, n))
    b = ellipsoid(shape, rng.uniform(lo, hi), rng.uniform(2.0, 7.0, n))
    spacing = tuple(float(s) for s in rng.uniform(0.4, 3.0, n))
    return a, b, spacing
