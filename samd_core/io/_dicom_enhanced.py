"""Per-frame geometry and rescale of enhanced multi-frame CT/MR (functional groups, PS3.3 C.7.6.16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from samd_core.io._errors import MixedGeometryError

__all__ = ["enhanced_frames"]


def _item(ds: Dataset, keyword: str) -> Dataset | None:
    seq = ds.get(keyword)
    return seq[0] if seq else None


def _lookup(per_frame: Dataset | None, shared: Dataset | None, macro: str, keyword: str) -> Any:
    """Attribute ``keyword`` of functional-group ``macro``: per-frame first, then shared."""
    for group in (per_frame, shared):
        if group is None:
            continue
        item = _item(group, macro)
        if item is not None and keyword in item and item[keyword].value not in (None, ""):
            return item[keyword].value
    return None


def enhanced_frames(ds: Dataset, path: Path) -> list[dict[str, Any]]:
    """Geometry and rescale of every frame of an enhanced multi-frame dataset.

    Returns one dict per frame with keys ``iop``, ``ipp``, ``pixel_spacing``, ``slope``,
    ``intercept``.

    Raises
    ------
    MixedGeometryError
        When a frame has no PlanePositionSequence / PlaneOrientationSequence / PixelMeasuresSequence
        in either the per-frame or the shared functional groups (geometry missing).
    """
    n = int(ds.get("NumberOfFrames", 1) or 1)
    shared = _item(ds, "SharedFunctionalGroupsSequence")
    per = list(ds.get("PerFrameFunctionalGroupsSequence", []))
    if per and len(per) != n:
        raise MixedGeometryError(
            f"{path}: PerFrameFunctionalGroupsSequence has {len(per)} items but NumberOfFrames is {n}"
        )
    out = []
    for i in range(n):
        pf = per[i] if per else None
        ipp = _lookup(pf, shared, "PlanePositionSequence", "ImagePositionPatient")
        iop = _lookup(pf, shared, "PlaneOrientationSequence", "ImageOrientationPatient")
        ps = _lookup(pf, shared, "PixelMeasuresSequence", "PixelSpacing")
        missing = [
            name
            for name, value, size in (
                ("PlanePositionSequence/ImagePositionPatient", ipp, 3),
                ("PlaneOrientationSequence/ImageOrientationPatient", iop, 6),
                ("PixelMeasuresSequence/PixelSpacing", ps, 2),
            )
            if value is None or len(value) != size
        ]
        if missing:
            raise MixedGeometryError(
                f"{path}: enhanced multi-frame frame {i + 1} of {n} has no geometry: missing "
                f"{', '.join(missing)} in both per-frame and shared functional groups"
            )
        slope = _lookup(pf, shared, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = _lookup(pf, shared, "PixelValueTransformationSequence", "RescaleIntercept")
        out.append(
            {
                "ipp": tuple(float(v) for v in ipp),
                "iop": tuple(float(v) for v in iop),
                "pixel_spacing": tuple(float(v) for v in ps),
                "slope": float(slope) if slope is not None else 1.0,
                "intercept": float(intercept) if intercept is not None else 0.0,
            }
        )
    return out
