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
from samd_core.io._dicom_tags import (
    bad,
    check_pixel_module,
    expected_pixel_bytes,
    safe_uid,
    tag_float,
    tag_floats,
    tag_int,
    tag_text,
)
from samd_core.io._errors import DicomReadError
from samd_core.volume import MAX_ARRAY_BYTES

__all__ = [
    "FrameHeader",
    "IMAGE_SOP_CLASSES",
    "MAX_FRAME_BYTES",
    "PROJECTION_SOP_CLASSES",
    "PixelLocation",
    "file_label",
    "read_dataset",
    "read_headers",
    "sop_class_name",
]

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

#: Single-frame projection and photographic SOP classes, read one file at a time with
#: `read_dicom_image` (never stacked into a series volume).
PROJECTION_SOP_CLASSES: frozenset[str] = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
        "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
        "1.2.840.10008.5.1.4.1.1.1.1.1",  # Digital X-Ray Image Storage - For Processing
        "1.2.840.10008.5.1.4.1.1.1.2",  # Digital Mammography X-Ray Image Storage - For Presentation
        "1.2.840.10008.5.1.4.1.1.1.2.1",  # Digital Mammography X-Ray Image Storage - For Processing
        "1.2.840.10008.5.1.4.1.1.1.3",  # Digital Intra-Oral X-Ray Image Storage - For Presentation
        "1.2.840.10008.5.1.4.1.1.77.1.5.1",  # Ophthalmic Photography 8 Bit Image Storage
        "1.2.840.10008.5.1.4.1.1.77.1.5.2",  # Ophthalmic Photography 16 Bit Image Storage
    }
)


def file_label(index: int, sop_uid: object = None) -> str:
    """How messages name a file: its index in the folder (files sorted by name, from 0) and its SOPInstanceUID.

    File names are never quoted: they may hold patient names.
    """
    label = f"file {index}"
    return label if sop_uid is None else f"{label} (SOPInstanceUID {safe_uid(sop_uid)})"


@dataclass(frozen=True, slots=True)
class PixelLocation:
    """Where a native (uncompressed, little-endian) PixelData value lies in its file."""

    offset: int  # byte offset of the value
    length: int  # bytes available there (less than declared when the file is truncated)
    vr: str


@dataclass(frozen=True, slots=True, eq=False)
class FrameHeader:
    """What the series reader needs to know about one frame (one slice) of one file.

    Geometry fields are ``None`` when the file does not carry them.
    """

    path: Path
    frame: int | None  # index in a multi-frame file; None for single-frame files
    index: int  # index of the file in the folder (files sorted by name, from 0)
    sop_uid: str
    sop_class: str
    series_uid: str
    series_number: str
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
    pixel_loc: PixelLocation | None = None  # native pixel bytes left in the file (not parsed)

    @property
    def is_image(self) -> bool:
        """True for SOP classes in `IMAGE_SOP_CLASSES` that carry pixel data."""
        return self.sop_class in IMAGE_SOP_CLASSES and self.rows > 0 and self.columns > 0

    @property
    def where(self) -> str:
        """File index and SOPInstanceUID (and frame) for error messages; never the file name."""
        label = file_label(self.index, self.sop_uid)
        return label if self.frame is None else f"{label} frame {self.frame + 1}"


#: Largest decoded frame (bytes) accepted: 2 GiB, far above any radiograph or CT slice. Checked
#: before decoding, so a compressed frame declaring 65535 x 65535 pixels is refused unallocated.
MAX_FRAME_BYTES: int = 2**31

_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian


def _native_location(ds: Dataset, head: bytes, pos: int, size: int) -> PixelLocation | None:
    """Location of a defined-length PixelData element whose first 12 bytes (at ``pos``) are ``head``.

    Little-endian explicit or implicit VR only; encapsulated (compressed), deflated or big-endian
    data return None so the caller parses the whole file.
    """
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts is None or not ts.is_little_endian or ts.is_deflated or len(head) < 12:
        return None
    if head[:4] != _PIXEL_DATA_TAG:
        return None
    if ts.is_implicit_VR:
        vr, length, start = "OW", int.from_bytes(head[4:8], "little"), pos + 8
    else:
        vr = head[4:6].decode("latin-1")
        if vr not in ("OB", "OW"):
            return None
        length, start = int.from_bytes(head[8:12], "little"), pos + 12
    if length == 0xFFFFFFFF:
        return None
    return PixelLocation(start, max(0, min(length, size - start)), vr)


_HEAD_BYTES = 65536


def _quick_header(path: Path, size: int) -> tuple[Dataset, PixelLocation] | None:
    """Header and pixel location from the file's first 64 KiB, or None to take the general path.

    Succeeds only when pydicom stopped at a native PixelData element lying inside those bytes,
    i.e. every header element was read whole from real file bytes. Anything else (larger
    header, no preamble, compressed or big-endian data, parse errors) returns None and the
    general path parses the file and reports its errors.
    """
    with open(path, "rb") as fh:
        chunk = fh.read(_HEAD_BYTES)
    bio = io.BytesIO(chunk)
    try:
        ds = dcmread(bio, stop_before_pixels=True)
    except Exception:  # decided again, with proper error reporting, by the general path
        return None
    pos = bio.tell()
    if "SOPClassUID" not in ds or pos + 12 > len(chunk):
        return None
    loc = _native_location(ds, chunk[pos : pos + 12], pos, size)
    return None if loc is None else (ds, loc)


def read_dataset(path: Path, label: str = "file") -> tuple[Dataset, PixelLocation | None]:
    """Parse a file's header once with pydicom; native pixel bytes are located, not read.

    Returns the dataset and, for native little-endian pixel data, where its bytes lie (the
    pixel decoder reads them straight into the output array). Other files are parsed fully
    (PixelData in the dataset, location None). Files without preamble/meta header are tried
    with ``force=True`` and must carry a SOPClassUID. Messages name the file by ``label``.
    """
    try:
        size = path.stat().st_size
        quick = _quick_header(path, size)
        if quick is not None:
            return quick
        force = False
        with open(path, "rb") as fh:
            try:
                ds = dcmread(fh, stop_before_pixels=True)
            except InvalidDicomError:
                force = True
                fh.seek(0)
                ds = dcmread(fh, stop_before_pixels=True, force=True)
                if "SOPClassUID" not in ds:
                    raise DicomReadError(f"{label}: not a DICOM file (no preamble, no SOPClassUID)") from None
            pos = fh.tell()
            head = fh.read(12)
        if "SOPClassUID" not in ds:
            raise DicomReadError(f"{label}: incomplete DICOM file (no SOPClassUID; truncated?)")
        ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
        if pos >= size and not (ts is not None and ts.is_deflated):
            return ds, None  # no pixel data at all
        loc = _native_location(ds, head, pos, size)
        if loc is None:
            ds = dcmread(path, force=force)
        return ds, loc
    except DicomReadError:
        raise
    except BaseException as exc:  # pydicom raises many types on corrupt bytes; report them as ours
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        # pydicom's own message may quote element values (free text): name only its type.
        raise DicomReadError(f"{label}: unreadable DICOM file ({type(exc).__name__})") from exc


def read_headers(path: str | os.PathLike[str], index: int = 0) -> list[FrameHeader]:
    """Read ``path`` once and return one `FrameHeader` per frame.

    ``index`` is the file's position in its folder (files sorted by name), used in messages.

    Raises
    ------
    DicomReadError
        When the file cannot be parsed, or an attribute the reader uses is malformed, out of
        range, or contradicts the pixel data length (message: file index, SOPInstanceUID, tag).
    """
    p = Path(path)
    ds, loc = read_dataset(p, file_label(index))
    try:
        return _headers(p, ds, loc, index)
    except SamdError:
        raise
    except Exception as exc:
        raise DicomReadError(
            f"{file_label(index, tag_text(ds, 'SOPInstanceUID'))}: malformed DICOM attributes ({type(exc).__name__})"
        ) from exc


def _pixel_bytes_available(ds: Dataset, loc: PixelLocation | None) -> int | None:
    """Bytes of native PixelData present, or None for encapsulated (compressed) or float data."""
    if loc is not None:
        return loc.length
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if "PixelData" not in ds or (ts is not None and ts.is_compressed):
        return None
    value = ds.get_item(0x7FE00010).value
    return len(value) if value is not None else 0


def check_pixel_size(
    ds: Dataset, loc: PixelLocation | None, where: str, rows: int, columns: int, frames: int, pixel: dict[str, Any]
) -> None:
    """Refuse a declared image size the PixelData cannot hold, or an absurd one, before allocating."""
    need = expected_pixel_bytes(rows, columns, frames, pixel["SamplesPerPixel"], pixel["BitsAllocated"])
    declared = (
        f"Rows {rows} x Columns {columns} x {frames} frame(s) x {pixel['SamplesPerPixel']} sample(s) "
        f"x {pixel['BitsAllocated']} bits"
    )
    frame = expected_pixel_bytes(rows, columns, 1, pixel["SamplesPerPixel"], pixel["BitsAllocated"])
    if frame > MAX_FRAME_BYTES or need > MAX_ARRAY_BYTES:
        raise DicomReadError(
            f"{where}: {declared} = {need} bytes ({frame} per frame) exceeds the limit of "
            f"{MAX_FRAME_BYTES} bytes per frame and {MAX_ARRAY_BYTES} per file; refusing to decode it"
        )
    have = _pixel_bytes_available(ds, loc)
    if have is not None and have < need:
        raise DicomReadError(
            f"{where}: PixelData holds {have} bytes but {declared} need {need} (truncated file or wrong Rows/Columns)"
        )


def _headers(p: Path, ds: Dataset, loc: PixelLocation | None, index: int) -> list[FrameHeader]:
    sop_class = tag_text(ds, "SOPClassUID") or ""
    sop_uid = tag_text(ds, "SOPInstanceUID") or ""
    where = file_label(index, sop_uid)
    has_pixels = loc is not None or "PixelData" in ds or "FloatPixelData" in ds
    image = sop_class in IMAGE_SOP_CLASSES and has_pixels
    rows = (tag_int(ds, "Rows", where, 0, hi=65535) or 0) if image else 0
    columns = (tag_int(ds, "Columns", where, 0, hi=65535) or 0) if image else 0
    common: dict[str, Any] = {
        "path": p,
        "index": index,
        "sop_uid": sop_uid,
        "sop_class": sop_class,
        "series_uid": tag_text(ds, "SeriesInstanceUID") or "",
        "series_number": tag_text(ds, "SeriesNumber") or "",
        "modality": tag_text(ds, "Modality") or "",
        "image_type": tuple(v.strip().upper() for v in (tag_text(ds, "ImageType") or "").split("\\")),
        "rows": rows,
        "columns": columns,
        "dataset": ds,
        "pixel_loc": loc,
    }
    if not image:  # non-image object: identity only, no geometry parsed
        geo0 = {"iop": None, "ipp": None, "pixel_spacing": None, "slope": 1.0, "intercept": 0.0}
        return [FrameHeader(frame=None, **common, **geo0)]
    if rows < 1 or columns < 1:
        keyword = "Rows" if rows < 1 else "Columns"
        raise bad(where, keyword, "an integer in [1, 65535] for an image with PixelData", rows if rows < 1 else columns)
    n_frames = tag_int(ds, "NumberOfFrames", where, 1, lo=1, hi=2**31 - 1) or 1
    pixel = check_pixel_module(ds, where)
    check_pixel_size(ds, loc, where, rows, columns, n_frames, pixel)
    thickness = tag_float(ds, "SliceThickness", where)
    if thickness is not None and thickness < 0:
        raise bad(where, "SliceThickness", "a finite number >= 0 (mm)", thickness)
    tag_float(ds, "KVP", where)  # checked here so that meta never silently drops a malformed value
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        return [FrameHeader(frame=i, **common, **geo) for i, geo in enumerate(enhanced_frames(ds, where))]
    geo = {
        "iop": tag_floats(ds, "ImageOrientationPatient", 6, where),
        # legacy multi-frame: no per-frame position
        "ipp": tag_floats(ds, "ImagePositionPatient", 3, where) if n_frames == 1 else None,
        "pixel_spacing": tag_floats(ds, "PixelSpacing", 2, where, positive=True),
        **rescale(ds, where),
    }
    if n_frames == 1:
        return [FrameHeader(frame=None, **common, **geo)]
    return [FrameHeader(frame=i, **common, **geo) for i in range(n_frames)]


def rescale(ds: Dataset, where: str) -> dict[str, float]:
    """RescaleSlope (finite, > 0; default 1) and RescaleIntercept (finite; default 0) of ``ds``.

    A zero slope erases the image; a negative one inverts it; both are refused, as are NaN and
    infinite values, which would give a silently wrong volume.
    """
    slope = tag_float(ds, "RescaleSlope", where, 1.0)
    if slope is None or slope <= 0:
        raise bad(where, "RescaleSlope", "a finite number > 0", slope)
    intercept = tag_float(ds, "RescaleIntercept", where, 0.0)
    return {"slope": float(slope), "intercept": float(intercept if intercept is not None else 0.0)}


def sop_class_name(uid: str) -> str:
    """Human name of a SOP class UID (falls back to the UID itself)."""
    if not uid:
        return "no SOPClassUID"
    if safe_uid(uid) != uid:  # not a syntactically valid UID: never echo it
        return safe_uid(uid)
    name = UID(uid).name
    return name if name and name != uid else safe_uid(uid)
