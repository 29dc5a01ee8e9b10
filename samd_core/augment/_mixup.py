"""Mixup for classification (Zhang et al. 2018).

References
----------
.. [1] Zhang H, Cisse M, Dauphin YN, Lopez-Paz D. mixup: Beyond empirical risk minimization.
   ICLR 2018. ``x = lam * x_i + (1 - lam) * x_j``, ``y = lam * y_i + (1 - lam) * y_j``,
   ``lam ~ Beta(alpha, alpha)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from samd_core.augment._base import check_pair
from samd_core.errors import InvalidParameterError
from samd_core.checks import as_rng

__all__ = ["Mixup"]


class Mixup:
    """Mix a batch with a random permutation of itself.

    Parameters
    ----------
    alpha : float > 0
        Beta distribution parameter (the paper uses 0.1 to 0.4).

    Call ``mixup(images, targets, rng)`` with ``images`` ``(N, C, ...)`` and ``targets``
    ``(N, K)`` (one-hot or soft labels); returns ``(images, targets, record)`` with
    ``record = {"name": "mixup", "params": {"lam": float, "permutation": [...]}}``; `replay`
    re-applies it.
    """

    name = "mixup"

    def __init__(self, alpha: float = 0.2) -> None:
        a = check_pair(alpha, "alpha", "Mixup", low=0)[0]
        if a <= 0:
            raise InvalidParameterError("alpha", "Mixup", "a number > 0", alpha)
        self.alpha = a

    @property
    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    @staticmethod
    def _check(images: Any, targets: Any, fn: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = np.asarray(images), np.asarray(targets)
        if x.ndim < 2 or x.shape[0] < 1 or x.dtype.kind not in "biuf":
            raise InvalidParameterError("images", fn, "a numeric (N, C, ...) batch", f"shape {x.shape}")
        if y.ndim != 2 or y.shape[0] != x.shape[0] or y.dtype.kind not in "biuf":
            raise InvalidParameterError("targets", fn, f"a numeric ({x.shape[0]}, K) array", f"shape {y.shape}")
        return x, y

    def apply(self, images: np.ndarray, targets: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Deterministic mixup with ``params = {"lam", "permutation"}``."""
        x, y = self._check(images, targets, "Mixup.apply")
        perm = np.asarray(params["permutation"], dtype=np.intp)
        if sorted(perm.tolist()) != list(range(x.shape[0])):
            raise InvalidParameterError("params.permutation", "Mixup.apply", f"a permutation of 0..{x.shape[0] - 1}", params["permutation"])
        lam = float(params["lam"])
        xf = x if x.dtype.kind == "f" else x.astype(np.float32)
        yf = y if y.dtype.kind == "f" else y.astype(np.float32)
        return lam * xf + (1 - lam) * xf[perm], lam * yf + (1 - lam) * yf[perm]

    def __call__(
        self, images: np.ndarray, targets: np.ndarray, rng: np.random.Generator | int = 0
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        x, y = self._check(images, targets, "Mixup")
        gen = as_rng(rng, "Mixup")
        params = {"lam": float(gen.beta(self.alpha, self.alpha)), "permutation": [int(i) for i in gen.permutation(x.shape[0])]}
        mx, my = self.apply(x, y, params)
        return mx, my, {"name": self.name, "params": params}

    def replay(self, images: np.ndarray, targets: np.ndarray, record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Re-apply from the record `__call__` returned."""
        return self.apply(images, targets, record["params"])
