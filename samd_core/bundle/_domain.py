"""The input domain a bundle was validated on, and the check of one input against it.

Declared in ``bundle.json`` as ``input_domain`` (every key optional; unknown keys refused)::

    {"modality": ["CT"],                          # allowed Modality codes (meta["modality"])
     "dims": 3,                                    # array dimensions
     "spacing_mm": [[1.0, 5.0], [1.5, 1.5], ...],  # per array axis [min, max] voxel size, mm
     "slice_thickness_mm": [1.0, 5.0],             # meta["slice_thickness_mm"], else spacing[0] (3-D)
     "size_voxels": [[15, 75], [64, 64], ...],     # per array axis [min, max] voxels
     "intensity": [-1024, 3071],                   # every voxel value (all channels) inside [min, max]
     "required_attributes": ["modality"]}          # meta keys that must be present

An attribute the domain declares is checked when the input carries it; a missing attribute is a
violation only when it is listed in ``required_attributes``. A bundle without ``input_domain``
declares no domain: every input is accepted (``LockedModel.input_domain`` is None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from samd_core.bundle._settings import real_number
from samd_core.errors import InvalidParameterError
from samd_core.volume import ALLOWED_META, Volume

__all__ = ["DOMAIN_KEYS", "InputDomain"]

DOMAIN_KEYS = ("dims", "intensity", "modality", "required_attributes", "size_voxels", "slice_thickness_mm", "spacing_mm")
_FN = "InputDomain.from_dict"


def _range(value: Any, field: str, *, low: float = -np.inf) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InvalidParameterError(field, _FN, "[min, max] finite numbers", value)
    lo, hi = (real_number(v, field, _FN, low=low) for v in value)
    if lo > hi:
        raise InvalidParameterError(field, _FN, "[min, max] with min <= max", value)
    return lo, hi


def _ranges(value: Any, field: str, *, low: float) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 4:
        raise InvalidParameterError(field, _FN, "one [min, max] per array axis", value)
    return tuple(_range(v, field, low=low) for v in value)


def _fmt(r: tuple[float, float]) -> str:
    return f"[{r[0]:g}, {r[1]:g}]"


@dataclass(frozen=True)
class InputDomain:
    """A validated input domain (see the module docstring for the keys and their meaning)."""

    modality: tuple[str, ...] | None = None
    dims: int | None = None
    spacing_mm: tuple[tuple[float, float], ...] | None = None
    slice_thickness_mm: tuple[float, float] | None = None
    size_voxels: tuple[tuple[float, float], ...] | None = None
    intensity: tuple[float, float] | None = None
    required_attributes: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputDomain:
        """Validate the plain-data declaration."""
        if not isinstance(data, Mapping):
            raise InvalidParameterError("input_domain", _FN, "a mapping", type(data).__name__)
        for key in data:
            if key not in DOMAIN_KEYS:
                raise InvalidParameterError("input_domain key", _FN, f"one of {list(DOMAIN_KEYS)}", key, DOMAIN_KEYS)
        mod = data.get("modality")
        if mod is not None and (
            not isinstance(mod, (list, tuple)) or not mod or not all(isinstance(m, str) and 0 < len(m) <= 16 for m in mod)
        ):
            raise InvalidParameterError("modality", _FN, "a non-empty list of Modality codes", mod)
        dims = data.get("dims")
        if dims is not None and (isinstance(dims, bool) or dims not in (2, 3)):
            raise InvalidParameterError("dims", _FN, "2 or 3", dims)
        req = data.get("required_attributes", [])
        if not isinstance(req, (list, tuple)) or not all(isinstance(r, str) and r in ALLOWED_META for r in req):
            raise InvalidParameterError("required_attributes", _FN, f"a list of Volume meta keys {sorted(ALLOWED_META)}", req)
        sp = data.get("spacing_mm")
        sz = data.get("size_voxels")
        out = cls(
            tuple(mod) if mod is not None else None,
            int(dims) if dims is not None else None,
            _ranges(sp, "spacing_mm", low=0.0) if sp is not None else None,
            _range(data["slice_thickness_mm"], "slice_thickness_mm", low=0.0) if "slice_thickness_mm" in data else None,
            _ranges(sz, "size_voxels", low=1.0) if sz is not None else None,
            _range(data["intensity"], "intensity") if "intensity" in data else None,
            tuple(req),
        )
        for field, ranges in (("spacing_mm", out.spacing_mm), ("size_voxels", out.size_voxels)):
            if ranges is not None and out.dims is not None and len(ranges) != out.dims:
                raise InvalidParameterError(field, _FN, f"{out.dims} [min, max] ranges (one per axis)", data.get(field))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data (only the declared keys); round-trips through `from_dict`."""
        out: dict[str, Any] = {"required_attributes": list(self.required_attributes)}
        if self.modality is not None:
            out["modality"] = list(self.modality)
        if self.dims is not None:
            out["dims"] = self.dims
        if self.spacing_mm is not None:
            out["spacing_mm"] = [list(r) for r in self.spacing_mm]
        if self.slice_thickness_mm is not None:
            out["slice_thickness_mm"] = list(self.slice_thickness_mm)
        if self.size_voxels is not None:
            out["size_voxels"] = [list(r) for r in self.size_voxels]
        if self.intensity is not None:
            out["intensity"] = list(self.intensity)
        return out

    def violations(self, volume: Volume) -> tuple[tuple[str, Any, str], ...]:
        """Every ``(attribute, value, allowed)`` the input violates, in a fixed order (empty: in domain).

        Values are codes and numbers only (Modality, mm, voxels, HU), never free text.
        """
        out: list[tuple[str, Any, str]] = []
        meta = volume.meta
        for key in self.required_attributes:
            if meta.get(key) is None:
                out.append((key, None, "present (required attribute)"))
        mod = meta.get("modality")
        if self.modality is not None and mod is not None and str(mod) not in self.modality:
            out.append(("modality", str(mod)[:16], f"one of {list(self.modality)}"))
        arr = volume.array
        spatial = volume.spatial_shape  # a colour image's channel axis is not a spatial dimension
        if self.dims is not None and len(spatial) != self.dims:
            out.append(("dims", len(spatial), str(self.dims)))
            return tuple(out)  # per-axis ranges are meaningless on the wrong number of axes
        _axes(out, "spacing_mm", volume.spacing, self.spacing_mm)
        _axes(out, "size_voxels", spatial, self.size_voxels)
        if self.slice_thickness_mm is not None:
            thick = meta.get("slice_thickness_mm")
            if thick is None and len(spatial) == 3:
                thick = volume.spacing[0]
            if thick is not None:
                t = float(thick)
                lo, hi = self.slice_thickness_mm
                if not lo <= t <= hi:
                    out.append(("slice_thickness_mm", t, _fmt(self.slice_thickness_mm)))
        if self.intensity is not None and arr.size:
            vmin, vmax = float(np.min(arr)), float(np.max(arr))
            lo, hi = self.intensity
            if vmin < lo or vmax > hi:
                out.append(("intensity", [vmin, vmax], _fmt(self.intensity)))
        return tuple(out)


def _axes(out: list[tuple[str, Any, str]], name: str, values: Sequence[float],
          ranges: tuple[tuple[float, float], ...] | None) -> None:
    if ranges is None:
        return
    if len(ranges) != len(values):
        out.append((name, [float(v) for v in values], f"{len(ranges)} axes"))
        return
    for axis, (v, r) in enumerate(zip(values, ranges, strict=True)):
        if not r[0] <= float(v) <= r[1]:
            out.append((f"{name}[{axis}]", float(v), _fmt(r)))
