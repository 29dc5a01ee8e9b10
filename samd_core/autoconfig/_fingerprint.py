"""Dataset fingerprint: the dataset properties the auto-configuration rules read."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from samd_core.errors import InvalidParameterError
from samd_core.hashing import sha256_json

__all__ = ["DatasetFingerprint", "IntensityStats", "fingerprint_from_cases"]


@dataclass(frozen=True, kw_only=True)
class IntensityStats:
    """Foreground intensity statistics of one channel (all foreground voxels of all cases).

    ``mean``, ``std``, percentiles ``p00_5`` and ``p99_5`` (linear interpolation), in image
    units (HU for CT).
    """

    mean: float
    std: float
    p00_5: float
    p99_5: float

    def __post_init__(self) -> None:
        for name in ("mean", "std", "p00_5", "p99_5"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise InvalidParameterError(name, "IntensityStats", "a finite number", v)
            object.__setattr__(self, name, float(v))
        if self.std < 0 or self.p00_5 > self.p99_5:
            raise InvalidParameterError("std/p00_5/p99_5", "IntensityStats", "std >= 0 and p00_5 <= p99_5", (self.std, self.p00_5, self.p99_5))


@dataclass(frozen=True, kw_only=True)
class DatasetFingerprint:
    """What auto-configuration needs to know about a training set.

    Parameters
    ----------
    spacings : sequence of sequences of float
        Voxel spacing in mm per case, array order (``(z, y, x)``, or ``(y, x)`` for 2-D data).
    shapes : sequence of sequences of int
        Image size in voxels per case, array order.
    modalities : sequence of str
        One per input channel, e.g. ``"CT"``, ``"MR"``; ``"CT"`` selects CT normalisation.
    intensity_stats : sequence of IntensityStats
        Foreground statistics, one per channel.
    n_classes : int
        Output classes including background.
    """

    spacings: tuple[tuple[float, ...], ...]
    shapes: tuple[tuple[int, ...], ...]
    modalities: tuple[str, ...]
    intensity_stats: tuple[IntensityStats, ...]
    n_classes: int

    def __post_init__(self) -> None:
        fn = "DatasetFingerprint"
        try:
            sp = tuple(tuple(float(v) for v in s) for s in self.spacings)
            sh = tuple(tuple(int(v) for v in s) for s in self.shapes)
        except (TypeError, ValueError):
            raise InvalidParameterError("spacings/shapes", fn, "sequences of numbers per case", (self.spacings, self.shapes)) from None
        if not sp or len(sp) != len(sh):
            raise InvalidParameterError("shapes", fn, f"one shape per spacing ({len(sp)} cases, at least 1)", len(sh))
        d = len(sp[0])
        if d not in (2, 3) or any(len(s) != d for s in sp) or any(len(s) != d for s in sh):
            raise InvalidParameterError("spacings", fn, "2 or 3 values per case, the same for all cases and shapes", self.spacings)
        if any(not (np.isfinite(v) and v > 0) for s in sp for v in s):
            raise InvalidParameterError("spacings", fn, "positive finite mm values", self.spacings)
        if any(v < 1 for s in sh for v in s):
            raise InvalidParameterError("shapes", fn, "positive voxel counts", self.shapes)
        mods = tuple(str(m) for m in self.modalities)
        stats = tuple(IntensityStats(**s) if isinstance(s, Mapping) else s for s in self.intensity_stats)
        if not mods or len(stats) != len(mods) or not all(isinstance(s, IntensityStats) for s in stats):
            raise InvalidParameterError("intensity_stats", fn, f"one IntensityStats per modality ({len(mods)})", self.intensity_stats)
        if isinstance(self.n_classes, bool) or not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise InvalidParameterError("n_classes", fn, "an integer >= 2", self.n_classes)
        object.__setattr__(self, "spacings", sp)
        object.__setattr__(self, "shapes", sh)
        object.__setattr__(self, "modalities", mods)
        object.__setattr__(self, "intensity_stats", stats)

    @property
    def spatial_dims(self) -> int:
        """2 or 3."""
        return len(self.spacings[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "spacings": [list(s) for s in self.spacings],
            "shapes": [list(s) for s in self.shapes],
            "modalities": list(self.modalities),
            "intensity_stats": [
                {"mean": s.mean, "std": s.std, "p00_5": s.p00_5, "p99_5": s.p99_5} for s in self.intensity_stats
            ],
            "n_classes": self.n_classes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetFingerprint:
        """Inverse of `to_dict` (validated)."""
        return cls(**dict(data))

    def sha256(self) -> str:
        """SHA-256 of the canonical JSON."""
        return sha256_json(self.to_dict())


def fingerprint_from_cases(
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    spacings: Sequence[Sequence[float]],
    *,
    modalities: Sequence[str],
) -> DatasetFingerprint:
    """Compute a fingerprint from arrays: images ``(C, *spatial)`` or ``(*spatial)``, int labels.

    Intensity statistics use every voxel with label > 0 of every case (exact, no sampling).
    """
    fn = "fingerprint_from_cases"
    if not (len(images) == len(labels) == len(spacings)) or not images:
        raise InvalidParameterError("images", fn, "as many images, labels and spacings (at least 1)", (len(images), len(labels), len(spacings)))
    n_ch = len(modalities)
    fg: list[list[np.ndarray]] = [[] for _ in range(n_ch)]
    shapes, n_classes = [], 2
    for i, (img, lbl) in enumerate(zip(images, labels)):
        a = np.asarray(img, dtype=np.float64)
        lb = np.asarray(lbl)
        if a.ndim == lb.ndim:
            a = a[None]
        if a.shape[0] != n_ch or a.shape[1:] != lb.shape:
            raise InvalidParameterError(f"images[{i}]", fn, f"({n_ch}, *label.shape)", a.shape)
        shapes.append(lb.shape)
        n_classes = max(n_classes, int(lb.max()) + 1)
        mask = lb > 0
        for c in range(n_ch):
            fg[c].append(a[c][mask])
    stats = []
    for c in range(n_ch):
        v = np.concatenate(fg[c])
        if v.size == 0:
            raise InvalidParameterError("labels", fn, "at least one foreground voxel in the dataset", 0)
        stats.append(IntensityStats(mean=float(v.mean()), std=float(v.std()), p00_5=float(np.percentile(v, 0.5)), p99_5=float(np.percentile(v, 99.5))))
    return DatasetFingerprint(
        spacings=tuple(tuple(s) for s in spacings), shapes=tuple(shapes), modalities=tuple(modalities),
        intensity_stats=tuple(stats), n_classes=n_classes,
    )
