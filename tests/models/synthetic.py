"""Synthetic segmentation data for the models tests: bright spheres in Gaussian noise."""

from __future__ import annotations

import numpy as np


def sphere_cases(
    n: int, shape: tuple[int, ...] = (32, 32, 32), *, seed: int, noise: float = 0.6
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` cases of 1-2 spheres (radius 3-7 voxels, label 1) of intensity 1 in N(0, noise^2) noise."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    cases = []
    for _ in range(n):
        lbl = np.zeros(shape, dtype=np.int64)
        for _ in range(int(rng.integers(1, 3))):
            r = rng.uniform(3, 7)
            c = [rng.uniform(r, s - r) for s in shape]
            d2 = sum((g - ci) ** 2 for g, ci in zip(grids, c))
            lbl[d2 <= r * r] = 1
        img = lbl.astype(np.float32) + rng.normal(0, noise, size=shape).astype(np.float32)
        cases.append((img[None], lbl))
    return cases
