"""Per-frame geometry and rescale of enhanced multi-frame CT/MR (functional groups, PS3.3 C.7.6.16)."""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset

from samd_core.io._dicom_tags import tag_floats, tag_int
from samd_core.io._errors import MixedGeometryError

__all__ = ["enhanced_frames"]


def _item(ds: Dataset, keyword: str) -> Dataset | None:
    seq = ds.get(keyword)
    return seq[0] if seq else None


def _group(per_frame: Dataset | None, shared: Dataset | None, macro: str, keyword: str) -> Dataset | None:
    """The item of functional-group ``macro`` holding ``keyword``: per-frame first, then shared."""
    for group in (per_frame, shared):
        if group is None:
            continue
        item = _item(group, macro)
        if item is not None and keyword in item and item[keyword].value not in (None, ""):
            return item
    return None


def enhanced_frames(ds: Dataset, where: str) -> list[dict[str, Any]]:
    """Geometry and rescale of every frame of an enhanced multi-frame dataset.

    Returns one dict per frame with keys ``iop``, ``ipp``, ``pixel_spacing``, ``slope``,
    ``intercept``. ``where`` names the file in messages.

    Raises
    ------
    MixedGeometryError
        When a frame has no PlanePositionSequence / PlaneOrientationSequence / PixelMeasuresSequence
        in either the per-frame or the shared functional groups (geometry missing).
    DicomReadError
        A malformed value (message: frame, tag, value).
    """
    from samd_core.io._dicom_header import rescale

    n = tag_int(ds, "NumberOfFrames", where, 1, lo=1, hi=2**31 - 1) or 1
    shared = _item(ds, "SharedFunctionalGroupsSequence")
    per = list(ds.get("PerFrameFunctionalGroupsSequence", []))
    if per and len(per) != n:
        raise MixedGeometryError(
            f"{where}: PerFrameFunctionalGroupsSequence has {len(per)} items but NumberOfFrames is {n}"
        )
    out = []
    for i in range(n):
        pf = per[i] if per else None
        at = f"{where} frame {i + 1}"
        found = {}
        missing = []
        for macro, keyword, size in (
            ("PlanePositionSequence", "ImagePositionPatient", 3),
            ("PlaneOrientationSequence", "ImageOrientationPatient", 6),
            ("PixelMeasuresSequence", "PixelSpacing", 2),
        ):
            item = _group(pf, shared, macro, keyword)
            if item is None:
                missing.append(f"{macro}/{keyword}")
                continue
            found[keyword] = tag_floats(item, keyword, size, at, positive=keyword == "PixelSpacing")
        if missing:
            raise MixedGeometryError(
                f"{where}: enhanced multi-frame frame {i + 1} of {n} has no geometry: missing "
                f"{', '.join(missing)} in both per-frame and shared functional groups"
            )
        pvt = _group(pf, shared, "PixelValueTransformationSequence", "RescaleSlope")
        pvt = pvt if pvt is not None else _group(pf, shared, "PixelValueTransformationSequence", "RescaleIntercept")
        out.append(
            {
                "ipp": found["ImagePositionPatient"],
                "iop": found["ImageOrientationPatient"],
                "pixel_spacing": found["PixelSpacing"],
                **(rescale(pvt, at) if pvt is not None else {"slope": 1.0, "intercept": 0.0}),
            }
        )
    return out
