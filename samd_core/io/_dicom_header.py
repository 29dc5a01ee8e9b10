"""Read one DICOM file once and describe each of its frames (`FrameHeader`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from samd_core.errors import SamdError
from samd_core.io._dicom_enhanced import enhanced_frames
from samd_core.io._errors import DicomReadError

__all__ = ["IMAGE_SOP_CLASSES", "FrameHeader", "read_dataset", "read_headers", "sop_class_name"]

#: SOP classes read as image slices. Anything else (SR, SEG, RTSTRUCT, RT plan/dose, KO, PR,
#: encapsulated documents, ...) is a non-image object for `read_dicom_series`.
IMAGE_SOP_CLASSES: frozenset[str] = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
        "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image Storage
        "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT
        "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
        "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image Storage
        "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR
        "1.2.840.10008.5.1.4.1.1.128",  # PET Image Storage
        "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image Storage
        "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET
        "1.2.840.10008.5.1.4.1.1.20",  # NM Image Storage
        "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
        "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
        "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
    }
)


@dataclass(frozen=True, slots=True, eq=False)
class FrameHeader:
    """What the series reader needs to know about one frame (one slice) of one file.

    Geometry fields are ``None`` when the file does not carry them.
    """

    path: Path
    frame: int | None  # index in a multi-frame file; None for single-frame files
    sop_class: str
    series_uid: str
    series_number: str
    series_description: str
    modality: str
    image_type: tuple[str, ...]
    rows: int
    columns: int
    iop: tuple[float, ...] | None
    ipp: tuple[float, float, float] | None
    pixel_spacing: tuple[float, float] | None
    slope: float
    intercept: float
    dataset: Dataset

    @property
    def is_image(self) -> bool:
        """True for SOP classes in `IMAGE_SOP_CLASSES` that carry pixel data."""
        return self.sop_class in IMAGE_SOP_CLASSES and self.rows > 0 and self.columns > 0

    @property
    def where(self) -> str:
        """File name (and frame) for error messages."""
        return self.path.name if self.frame is None else f"{self.path.name} frame {self.frame + 1}"


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    if value is None or value == "":
        return None
    try:
        out = tuple(float(v) for v in _as_list(value))
    except (TypeError, ValueError):
        return None
    return out if len(out) == n else None


def _number(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    return float(value)


def read_dataset(path: Path) -> Dataset:
    """Parse a whole file once (pixel bytes included); files without preamble are tried too."""
    try:
        try:
            ds = dcmread(path)
        except InvalidDicomError:
            ds = dcmread(path, force=True)
            if "SOPClassUID" not in ds:
                raise DicomReadError(f"{path}: not a DICOM file (no preamble, no SOPClassUID)") from None
        if "SOPClassUID" not in ds:
            raise DicomReadError(f"{path}: incomplete DICOM file (no SOPClassUID; truncated?)")
        return ds
    except DicomReadError:
        raise
    except Exception as exc:  # pydicom raises many types on corrupt bytes; report them as ours
        raise DicomReadError(f"{path}: unreadable DICOM file ({type(exc).__name__}: {exc})") from exc


def read_headers(path: str | os.PathLike[str]) -> list[FrameHeader]:
    """Read ``path`` once and return one `FrameHeader` per frame.

    Raises
    ------
    DicomReadError
        When the file cannot be parsed or a needed attribute has a malformed value.
    """
    p = Path(path)
    ds = read_dataset(p)
    try:
        return _headers(p, ds)
    except SamdError:
        raise
    except Exception as exc:
        raise DicomReadError(f"{p}: malformed DICOM attributes ({type(exc).__name__}: {exc})") from exc


def _headers(p: Path, ds: Dataset) -> list[FrameHeader]:
    sop_class = str(ds.get("SOPClassUID", ""))
    common: dict[str, Any] = {
        "path": p,
        "sop_class": sop_class,
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "series_number": str(ds.get("SeriesNumber", "")),
        "series_description": str(ds.get("SeriesDescription", "")),
        "modality": str(ds.get("Modality", "")),
        "image_type": tuple(str(v).upper() for v in _as_list(ds.get("ImageType", []))),
        "rows": int(ds.get("Rows", 0) or 0) if "PixelData" in ds or "FloatPixelData" in ds else 0,
        "columns": int(ds.get("Columns", 0) or 0) if "PixelData" in ds or "FloatPixelData" in ds else 0,
        "dataset": ds,
    }
    if sop_class not in IMAGE_SOP_CLASSES:  # non-image object: identity only, no geometry parsed
        geo0 = {"iop": None, "ipp": None, "pixel_spacing": None, "slope": 1.0, "intercept": 0.0}
        return [FrameHeader(frame=None, **common, **geo0)]
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        return [FrameHeader(frame=i, **common, **geo) for i, geo in enumerate(enhanced_frames(ds, p))]
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    ipp = _floats(ds.get("ImagePositionPatient"), 3)
    geo = {
        "iop": _floats(ds.get("ImageOrientationPatient"), 6),
        "ipp": ipp if n_frames == 1 else None,  # legacy multi-frame: no per-frame position
        "pixel_spacing": _floats(ds.get("PixelSpacing"), 2),
        "slope": _number(ds.get("RescaleSlope"), 1.0),
        "intercept": _number(ds.get("RescaleIntercept"), 0.0),
    }
    if n_frames == 1:
        return [FrameHeader(frame=None, **common, **geo)]
    return [FrameHeader(frame=i, **common, **geo) for i in range(n_frames)]


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def sop_class_name(uid: str) -> str:
    """Human name of a SOP class UID (falls back to the UID itself)."""
    name = UID(uid).name if uid else "no SOPClassUID"
    return name or uid
