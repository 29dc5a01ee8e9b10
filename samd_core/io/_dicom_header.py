"""Read one DICOM file once and describe each of its frames (`FrameHeader`)."""

from __future__ import annotations

import io
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
from samd_core.io._raw import raw_float, raw_floats, raw_text

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


_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian


def _attach_native_pixels(ds: Dataset, data: bytes, pos: int) -> bool:
    """Give ``ds`` its PixelData from ``data[pos:]`` without a second parse; False when not simple.

    Handles a defined-length (native) PixelData element in little-endian explicit or implicit VR;
    encapsulated (compressed) or big-endian data return False so the caller parses fully.
    """
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts is None or not ts.is_little_endian or data[pos : pos + 4] != _PIXEL_DATA_TAG:
        return False
    if ts.is_implicit_VR:
        vr, length, start = "OW", int.from_bytes(data[pos + 4 : pos + 8], "little"), pos + 8
    else:
        vr = data[pos + 4 : pos + 6].decode("latin-1")
        if vr not in ("OB", "OW"):
            return False
        length, start = int.from_bytes(data[pos + 8 : pos + 12], "little"), pos + 12
    if length == 0xFFFFFFFF:
        return False
    ds.add_new(0x7FE00010, vr, data[start : start + length])  # shorter when truncated: decode reports it
    return True


def read_dataset(path: Path) -> Dataset:
    """Parse a file once: header with pydicom, native pixel bytes sliced directly from memory.

    Files without preamble/meta header are tried with ``force=True`` and must carry a SOPClassUID.
    """
    try:
        with open(path, "rb") as fh:  # one read; parsing from memory avoids many small reads
            data = fh.read()
        force = False
        bio = io.BytesIO(data)
        try:
            ds = dcmread(bio, stop_before_pixels=True)
        except InvalidDicomError:
            force = True
            bio = io.BytesIO(data)
            ds = dcmread(bio, stop_before_pixels=True, force=True)
            if "SOPClassUID" not in ds:
                raise DicomReadError(f"{path}: not a DICOM file (no preamble, no SOPClassUID)") from None
        if "SOPClassUID" not in ds:
            raise DicomReadError(f"{path}: incomplete DICOM file (no SOPClassUID; truncated?)")
        if bio.tell() < len(data) and not _attach_native_pixels(ds, data, bio.tell()):
            ds = dcmread(io.BytesIO(data), force=force)
        return ds
    except DicomReadError:
        raise
    except BaseException as exc:  # pydicom raises many types on corrupt bytes; report them as ours
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
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


_SOP_CLASS = 0x00080016
_SERIES_UID = 0x0020000E
_SERIES_NUMBER = 0x00200011
_SERIES_DESCRIPTION = 0x0008103E
_MODALITY = 0x00080060
_IMAGE_TYPE = 0x00080008
_NUMBER_OF_FRAMES = 0x00280008
_IPP = 0x00200032
_IOP = 0x00200037
_PIXEL_SPACING = 0x00280030
_SLOPE = 0x00281053
_INTERCEPT = 0x00281052


def _headers(p: Path, ds: Dataset) -> list[FrameHeader]:
    sop_class = raw_text(ds, _SOP_CLASS) or ""
    has_pixels = "PixelData" in ds or "FloatPixelData" in ds
    common: dict[str, Any] = {
        "path": p,
        "sop_class": sop_class,
        "series_uid": raw_text(ds, _SERIES_UID) or "",
        "series_number": raw_text(ds, _SERIES_NUMBER) or "",
        "series_description": raw_text(ds, _SERIES_DESCRIPTION) or "",
        "modality": raw_text(ds, _MODALITY) or "",
        "image_type": tuple(v.strip().upper() for v in (raw_text(ds, _IMAGE_TYPE) or "").split("\\")),
        "rows": int(ds.get("Rows", 0) or 0) if has_pixels else 0,
        "columns": int(ds.get("Columns", 0) or 0) if has_pixels else 0,
        "dataset": ds,
    }
    if sop_class not in IMAGE_SOP_CLASSES:  # non-image object: identity only, no geometry parsed
        geo0 = {"iop": None, "ipp": None, "pixel_spacing": None, "slope": 1.0, "intercept": 0.0}
        return [FrameHeader(frame=None, **common, **geo0)]
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        return [FrameHeader(frame=i, **common, **geo) for i, geo in enumerate(enhanced_frames(ds, p))]
    n_frames = int(raw_text(ds, _NUMBER_OF_FRAMES) or 1)
    geo = {
        "iop": raw_floats(ds, _IOP, 6),
        "ipp": raw_floats(ds, _IPP, 3) if n_frames == 1 else None,  # legacy multi-frame: no per-frame position
        "pixel_spacing": raw_floats(ds, _PIXEL_SPACING, 2),
        "slope": raw_float(ds, _SLOPE, 1.0),
        "intercept": raw_float(ds, _INTERCEPT, 0.0),
    }
    if n_frames == 1:
        return [FrameHeader(frame=None, **common, **geo)]
    return [FrameHeader(frame=i, **common, **geo) for i in range(n_frames)]


def sop_class_name(uid: str) -> str:
    """Human name of a SOP class UID (falls back to the UID itself)."""
    name = UID(uid).name if uid else "no SOPClassUID"
    return name or uid
