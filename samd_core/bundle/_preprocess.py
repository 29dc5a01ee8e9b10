"""The preprocessing a bundle applies before its network, and the inverse back to the input grid.

Spec (plain data, stored as ``preprocessing.json``)::

    {"kind": "resample_clip_scale/v1",
     "target_spacing_mm": [sz, sy, sx],      # array order, mm
     "clip_hu": [low, high],                 # HU window applied after resampling
     "offset_hu": o, "scale_hu": s}          # network input = (clip(hu) - o) / s

Forward: linear resampling (SimpleITK) to the target spacing on the same direction, keeping the
physical extent (first voxel's outer corner fixed); voxels outside the input read -1000 HU (air).
Inverse: linear resampling of the network output back onto the input grid (outside reads 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from samd_core.bundle._settings import real_number
from samd_core.errors import InvalidParameterError
from samd_core.volume import Volume

__all__ = ["ResampleClipScale"]

_KIND = "resample_clip_scale/v1"
#: Largest network-grid volume (voxels) after resampling (512^3; float32: 512 MiB).
MAX_RESAMPLED_VOXELS = 512**3
_FN = "ResampleClipScale.from_spec"


@dataclass(frozen=True)
class ResampleClipScale:
    """Resample to a fixed spacing, clip a HU window, shift and scale."""

    target_spacing_mm: tuple[float, float, float]
    clip_hu: tuple[float, float]
    offset_hu: float
    scale_hu: float

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ResampleClipScale:
        """Validate and build from the plain-data spec."""
        if not isinstance(spec, Mapping) or spec.get("kind") != _KIND:
            got = spec.get("kind") if isinstance(spec, Mapping) else spec
            raise InvalidParameterError("kind", _FN, repr(_KIND), got)
        allowed = {"kind", "target_spacing_mm", "clip_hu", "offset_hu", "scale_hu"}
        if set(spec) != allowed:
            raise InvalidParameterError("spec keys", _FN, f"exactly {sorted(allowed)}", sorted(spec))
        ts_raw = spec["target_spacing_mm"]
        if not isinstance(ts_raw, (list, tuple)) or len(ts_raw) != 3:
            raise InvalidParameterError("target_spacing_mm", _FN, "3 finite values in [0.01, 100] mm", ts_raw)
        ts = tuple(real_number(v, "target_spacing_mm", _FN, low=0.01, high=100.0) for v in ts_raw)
        clip = spec["clip_hu"]
        if not isinstance(clip, (list, tuple)) or len(clip) != 2:
            raise InvalidParameterError("clip_hu", _FN, "[low, high] finite HU with low < high", clip)
        lo, hi = (real_number(v, "clip_hu", _FN) for v in clip)
        if not lo < hi:
            raise InvalidParameterError("clip_hu", _FN, "[low, high] with low < high", clip)
        scale = real_number(spec["scale_hu"], "scale_hu", _FN, low=0.0, low_open=True)
        offset = real_number(spec["offset_hu"], "offset_hu", _FN)
        return cls((ts[0], ts[1], ts[2]), (lo, hi), offset, scale)

    def spec(self) -> dict[str, Any]:
        """The plain-data spec (round-trips through `from_spec`)."""
        return {
            "kind": _KIND,
            "target_spacing_mm": list(self.target_spacing_mm),
            "clip_hu": list(self.clip_hu),
            "offset_hu": self.offset_hu,
            "scale_hu": self.scale_hu,
        }

    def resampled_grid(self, volume: Volume) -> Volume:
        """An empty (zeros) float32 volume on the target grid covering ``volume``'s extent."""
        t = np.asarray(self.target_spacing_mm)
        s = np.asarray(volume.spacing)
        n = np.asarray(volume.shape)
        new_f = np.maximum(1.0, np.round(n * s / t))
        if float(np.prod(new_f)) > MAX_RESAMPLED_VOXELS:
            raise InvalidParameterError(
                "volume", "LockedModel.predict",
                f"at most {MAX_RESAMPLED_VOXELS} voxels once resampled to {list(self.target_spacing_mm)} mm",
                f"shape {tuple(volume.shape)}, spacing {tuple(volume.spacing)} mm -> {float(np.prod(new_f)):.3g} voxels",
            )
        new_n = new_f.astype(int)
        # keep the outer corner of voxel 0 fixed: centre moves by (t - s) / 2 along each axis
        shift = volume.direction_matrix @ ((t - s) / 2.0)
        origin = np.asarray(volume.origin) + shift
        return Volume(
            np.zeros(tuple(int(v) for v in new_n), dtype=np.float32),
            tuple(t),
            tuple(origin),
            volume.direction,
        )

    def forward(self, volume: Volume) -> tuple[np.ndarray, Volume]:
        """Network input array ``(z, y, x)`` float32 and the grid it lives on."""
        import SimpleITK as sitk

        grid = self.resampled_grid(volume)
        src = sitk.Cast(volume.to_sitk(), sitk.sitkFloat32)
        out = sitk.Resample(src, grid.to_sitk(), sitk.Transform(), sitk.sitkLinear, -1000.0, sitk.sitkFloat32)
        arr = sitk.GetArrayFromImage(out).astype(np.float32)
        lo, hi = self.clip_hu
        arr = (np.clip(arr, lo, hi) - np.float32(self.offset_hu)) / np.float32(self.scale_hu)
        return arr.astype(np.float32), grid

    @staticmethod
    def inverse(array: np.ndarray, grid: Volume, target: Volume) -> np.ndarray:
        """Resample ``array`` (on ``grid``) linearly onto ``target``'s grid; float32 ``(z, y, x)``."""
        import SimpleITK as sitk

        src = grid.with_array(np.ascontiguousarray(array, dtype=np.float32)).to_sitk()
        ref = target.with_array(np.zeros(target.shape, dtype=np.float32)).to_sitk()
        out = sitk.Resample(src, ref, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        return sitk.GetArrayFromImage(out).astype(np.float32)
