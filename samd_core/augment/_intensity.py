"""Intensity transforms: scale/shift, gamma, Gaussian noise, Gaussian blur (labels untouched).

References
----------
.. [1] Isensee F, et al. nnU-Net. Nat Methods 18, 203-211 (2021), supplementary note 4
   (gamma augmentation on the intensity range rescaled to [0, 1]; brightness, noise, blur).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from samd_core.augment._base import RandomTransform, check_pair, float_image

__all__ = ["RandomBlur", "RandomGamma", "RandomNoise", "RandomScaleShift"]


def _copy_label(label: np.ndarray | None) -> np.ndarray | None:
    return None if label is None else label.copy()


class RandomScaleShift(RandomTransform):
    """``image * scale + shift`` with ``scale``, ``shift`` uniform in their ranges (image units).

    Params recorded: ``{"scale": float, "shift": float}``.
    """

    name = "scale_shift"

    def __init__(self, scale: Any = (0.9, 1.1), shift: Any = (-0.1, 0.1)) -> None:
        self.scale = check_pair(scale, "scale", "RandomScaleShift")
        self.shift = check_pair(shift, "shift", "RandomScaleShift")

    @property
    def config(self) -> dict[str, Any]:
        return {"scale": list(self.scale), "shift": list(self.shift)}

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        return {"scale": float(rng.uniform(*self.scale)), "shift": float(rng.uniform(*self.shift))}

    def apply(self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        img = float_image(image)
        out = img * img.dtype.type(params["scale"])
        out += img.dtype.type(params["shift"])
        return out, _copy_label(label)


class RandomGamma(RandomTransform):
    """Gamma on each channel's intensity range: ``((x - min) / r) ** gamma * r + min``, ``r = max - min``.

    ``log(gamma)`` is uniform in ``log_gamma`` (so gamma < 1 and > 1 are equally likely for a
    symmetric range). A constant channel is left unchanged. Params: ``{"gamma": float}``.
    """

    name = "gamma"

    def __init__(self, log_gamma: Any = (-0.3, 0.3)) -> None:
        self.log_gamma = check_pair(log_gamma, "log_gamma", "RandomGamma", low=-5, high=5)

    @property
    def config(self) -> dict[str, Any]:
        return {"log_gamma": list(self.log_gamma)}

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        return {"gamma": float(np.exp(rng.uniform(*self.log_gamma)))}

    def apply(self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        img = float_image(image)
        out = np.empty_like(img)
        gamma = float(params["gamma"])
        for c in range(img.shape[0]):
            x = img[c]
            lo, hi = float(x.min()), float(x.max())
            r = hi - lo
            if r <= 0:
                out[c] = x
                continue
            out[c] = np.power((x - lo) / r, gamma) * r + lo
        return out, _copy_label(label)


class RandomNoise(RandomTransform):
    """Additive Gaussian noise, ``std`` uniform in its range (image units), mean ``mean``.

    The noise field is generated from a 63-bit ``seed`` drawn from the caller's generator
    (PCG64, float32 standard normals), so the record stays small yet replays the exact field.
    Params recorded: ``{"std": float, "mean": float, "seed": int}``.
    """

    name = "noise"

    def __init__(self, std: Any = (0.0, 0.1), mean: float = 0.0) -> None:
        self.std = check_pair(std, "std", "RandomNoise", low=0)
        self.mean = check_pair(mean, "mean", "RandomNoise")[0]

    @property
    def config(self) -> dict[str, Any]:
        return {"std": list(self.std), "mean": self.mean}

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        std = float(rng.uniform(*self.std))
        return {"std": std, "mean": self.mean, "seed": int(rng.integers(2**63 - 1))}

    def apply(self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        img = float_image(image)
        noise = np.random.default_rng(int(params["seed"])).standard_normal(img.shape, dtype=np.float32)
        noise *= np.float32(params["std"])
        noise += np.float32(params["mean"])
        return (img + noise).astype(img.dtype, copy=False), _copy_label(label)


class RandomBlur(RandomTransform):
    """Gaussian blur, one ``sigma`` (voxels) per spatial axis, each uniform in its range.

    Uses `scipy.ndimage.gaussian_filter` (``mode="nearest"``, truncated at 4 sigma).
    Params recorded: ``{"sigma": [per spatial axis]}``.
    """

    name = "blur"

    def __init__(self, sigma: Any = (0.5, 1.0)) -> None:
        self.sigma = check_pair(sigma, "sigma", "RandomBlur", low=0)

    @property
    def config(self) -> dict[str, Any]:
        return {"sigma": list(self.sigma)}

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        return {"sigma": [float(s) for s in rng.uniform(*self.sigma, size=len(image_shape) - 1)]}

    def apply(self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        img = float_image(image)
        out = np.empty_like(img)
        for c in range(img.shape[0]):
            ndimage.gaussian_filter(img[c], sigma=params["sigma"], output=out[c], mode="nearest", truncate=4.0)
        return out, _copy_label(label)
