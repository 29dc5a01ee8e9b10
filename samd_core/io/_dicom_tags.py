"""Strict parsing of the attributes the DICOM readers use, with PHI-free error messages.

Every attribute a reader takes from a file goes through one of these helpers, which refuse
malformed, non-finite or out-of-range values with a `DicomReadError` naming the file (by its
index in the folder and its SOPInstanceUID, never by its name), the attribute (keyword and
``(gggg,eeee)`` tag) and, for coded and numeric value representations only, the value.
Free-text values (names, descriptions, IDs) are never quoted: DICOM PS3.15 Annex E lists
them as identifying.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from samd_core.io._errors import DicomReadError

__all__ = [
    "PIXEL_MODULE_KEYWORDS",
    "READER_TAGS",
    "check_pixel_module",
    "expected_pixel_bytes",
    "safe_uid",
    "tag_name",
    "tag_float",
    "tag_floats",
    "tag_int",
    "tag_text",
]

#: Every attribute the DICOM readers take from a file, with how it is parsed. A test checks
#: that the reader's source names no other attribute, and feeds each of these bad values.
READER_TAGS: dict[str, str] = {
    "SOPClassUID": "UI",
    "SOPInstanceUID": "UI",
    "SeriesInstanceUID": "UI",
    "StudyInstanceUID": "UI",
    "FrameOfReferenceUID": "UI",
    "PatientID": "LO",
    "SeriesNumber": "IS",
    "Modality": "CS",
    "ImageType": "CS",
    "NumberOfFrames": "IS",
    "Rows": "US",
    "Columns": "US",
    "SamplesPerPixel": "US",
    "PhotometricInterpretation": "CS",
    "BitsAllocated": "US",
    "BitsStored": "US",
    "HighBit": "US",
    "PixelRepresentation": "US",
    "PlanarConfiguration": "US",
    "ImagePositionPatient": "DS",
    "ImageOrientationPatient": "DS",
    "PixelSpacing": "DS",
    "ImagerPixelSpacing": "DS",
    "EstimatedRadiographicMagnificationFactor": "DS",
    "SliceThickness": "DS",
    "RescaleSlope": "DS",
    "RescaleIntercept": "DS",
    "WindowCenter": "DS",
    "WindowWidth": "DS",
    "VOILUTFunction": "CS",
    "KVP": "DS",
    "Manufacturer": "LO",
    "ManufacturerModelName": "LO",
    "ConvolutionKernel": "SH",
}

#: Pixel-module attributes that must be equal on every slice of a series.
PIXEL_MODULE_KEYWORDS: tuple[str, ...] = (
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
)

#: Value representations whose values carry no free text and may be quoted in messages.
_QUOTABLE_VR = frozenset({"UI", "IS", "DS", "US", "CS", "SS", "UL", "SL", "FL", "FD"})

#: Photometric interpretations and the SamplesPerPixel each requires (PS3.3 C.7.6.3.1.2).
PHOTOMETRIC_SAMPLES: dict[str, int] = {
    "MONOCHROME1": 1,
    "MONOCHROME2": 1,
    "PALETTE COLOR": 1,
    "RGB": 3,
    "YBR_FULL": 3,
    "YBR_FULL_422": 3,
    "YBR_ICT": 3,
    "YBR_RCT": 3,
}

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def tag_name(keyword: str) -> str:
    """``Keyword (gggg,eeee)`` for messages."""
    tag = tag_for_keyword(keyword)
    return keyword if tag is None else f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X})"


def safe_uid(value: Any) -> str:
    """A UID as it may appear in a message: quoted when it is a syntactically valid UID, else a placeholder.

    A hostile file could put a name into a UID attribute; only digits and dots are ever echoed.
    """
    text = "" if value is None else str(value).strip(" \x00")
    if _UID.fullmatch(text) and len(text) <= 64:
        return text
    return "<missing>" if not text else "<malformed UID>"


_BINARY_INT = {"US": ("<u2", 2), "SS": ("<i2", 2), "UL": ("<u4", 4), "SL": ("<i4", 4)}


def _raw(ds: Dataset, keyword: str) -> Any:
    """The element's value without pydicom's conversion (fast, and no pydicom exception).

    Raw bytes of binary integer VRs (US, SS, UL, SL) are decoded as integers; other raw bytes
    as latin-1 text. A binary value whose length is not a multiple of its size is returned as
    the text ``"<n bytes>"`` so that the strict parsers refuse it.
    """
    tag = tag_for_keyword(keyword)
    elem = ds.get_item(tag) if tag is not None else None
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        vr = getattr(elem, "VR", None)
        vr = READER_TAGS.get(keyword, "LO") if vr in (None, "UN") else vr
        if vr in _BINARY_INT:
            code, size = _BINARY_INT[vr]
            if len(value) % size:
                return f"<{len(value)} bytes>"
            order = "little" if getattr(elem, "is_little_endian", True) else "big"
            return [
                int.from_bytes(value[i : i + size], order, signed=code[1] == "i") for i in range(0, len(value), size)
            ]
        value = bytes(value).decode("latin-1")
    return value


def _shown(keyword: str, value: Any) -> str:
    if READER_TAGS.get(keyword, "LO") not in _QUOTABLE_VR:
        return "a value (not shown: free text)"
    if isinstance(value, str):
        text = value.strip(" \x00")
    elif isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, (bytes, str))):
        text = "\\".join(str(v).strip() for v in value)
    else:
        text = str(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return repr(text if len(text) <= 64 else text[:61] + "...")


def bad(where: str, keyword: str, allowed: str, value: Any = None, *, missing: bool = False) -> DicomReadError:
    """The one message: ``<where>: <Keyword (gggg,eeee)> must be <allowed>; got <value>``."""
    got = "nothing (attribute missing or empty)" if missing else _shown(keyword, value)
    return DicomReadError(f"{where}: {tag_name(keyword)} must be {allowed}; got {got}")


def tag_text(ds: Dataset, keyword: str) -> str | None:
    """The value as text (multi-values joined by ``\\``), or None when absent or empty."""
    value = _raw(ds, keyword)
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip(" \x00")
    elif isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, (int, float))):
        text = "\\".join(str(v).strip(" \x00") for v in value)
    else:
        text = str(value)
    return text or None


def tag_floats(
    ds: Dataset, keyword: str, n: int | None, where: str, *, positive: bool = False, required: bool = False
) -> tuple[float, ...] | None:
    """``n`` finite decimal values of ``keyword`` (any number when ``n`` is None); None when absent.

    Raises `DicomReadError` for unparsable, non-finite, wrongly counted or (``positive``)
    non-positive values, and for an absent value when ``required``.
    """
    text = tag_text(ds, keyword)
    count = "1 or more" if n is None else str(n)
    allowed = f"{count} finite decimal number(s){' > 0' if positive else ''}"
    if text is None:
        if required:
            raise bad(where, keyword, allowed, missing=True)
        return None
    try:
        out = tuple(float(v) for v in text.split("\\"))
    except ValueError:
        raise bad(where, keyword, allowed, text) from None
    if (n is not None and len(out) != n) or not all(math.isfinite(v) for v in out):
        raise bad(where, keyword, allowed, text)
    if positive and min(out) <= 0:
        raise bad(where, keyword, allowed, text)
    return out


def tag_float(ds: Dataset, keyword: str, where: str, default: float | None = None) -> float | None:
    """One finite decimal value of ``keyword`` (``default`` when absent)."""
    values = tag_floats(ds, keyword, None, where)
    if values is None:
        return default
    return values[0]


def tag_int(
    ds: Dataset, keyword: str, where: str, default: int | None = None, *, lo: int = 0, hi: int = 2**32 - 1
) -> int | None:
    """One integer value of ``keyword`` in ``[lo, hi]`` (``default`` when absent)."""
    text = tag_text(ds, keyword)
    if text is None:
        return default
    first = text.split("\\")[0].strip()
    try:
        value = int(first)
    except ValueError:
        try:
            f = float(first)
        except ValueError:
            raise bad(where, keyword, f"an integer in [{lo}, {hi}]", text) from None
        if not (math.isfinite(f) and f.is_integer()):
            raise bad(where, keyword, f"an integer in [{lo}, {hi}]", text) from None
        value = int(f)
    if not lo <= value <= hi:
        raise bad(where, keyword, f"an integer in [{lo}, {hi}]", text)
    return value


def check_pixel_module(ds: Dataset, where: str) -> dict[str, Any]:
    """Parse and check the Image Pixel module attributes (PS3.3 C.7.6.3) of an image file.

    Returns ``SamplesPerPixel``, ``PhotometricInterpretation``, ``BitsAllocated``,
    ``BitsStored``, ``HighBit`` and ``PixelRepresentation``.
    """
    pmi = tag_text(ds, "PhotometricInterpretation")
    if pmi is None:
        raise bad(where, "PhotometricInterpretation", f"one of {sorted(PHOTOMETRIC_SAMPLES)}", missing=True)
    if pmi not in PHOTOMETRIC_SAMPLES:
        raise bad(where, "PhotometricInterpretation", f"one of {sorted(PHOTOMETRIC_SAMPLES)}", pmi)
    spp = tag_int(ds, "SamplesPerPixel", where, 1, lo=1, hi=4) or 1
    if spp != PHOTOMETRIC_SAMPLES[pmi]:
        raise bad(where, "SamplesPerPixel", f"{PHOTOMETRIC_SAMPLES[pmi]} for PhotometricInterpretation {pmi}", spp)
    allocated = tag_int(ds, "BitsAllocated", where, lo=1, hi=64)
    if allocated is None or allocated not in (1, 8, 16, 32, 64):
        raise bad(where, "BitsAllocated", "one of 1, 8, 16, 32, 64", allocated, missing=allocated is None)
    stored = tag_int(ds, "BitsStored", where, allocated, lo=1, hi=64) or allocated
    if stored > allocated:
        raise bad(where, "BitsStored", f"an integer in [1, BitsAllocated = {allocated}]", stored)
    high = tag_int(ds, "HighBit", where, stored - 1, lo=0, hi=63)
    if high != stored - 1:
        raise bad(where, "HighBit", f"BitsStored - 1 = {stored - 1}", high)
    rep = tag_int(ds, "PixelRepresentation", where, 0, lo=0, hi=1)
    return {
        "SamplesPerPixel": spp,
        "PhotometricInterpretation": pmi,
        "BitsAllocated": allocated,
        "BitsStored": stored,
        "HighBit": high,
        "PixelRepresentation": rep,
    }


def expected_pixel_bytes(rows: int, columns: int, frames: int, samples: int, bits_allocated: int) -> int:
    """Bytes of native (uncompressed) PixelData that the declared size needs (PS3.5 8.1.1)."""
    n = rows * columns * frames * samples
    return (n + 7) // 8 if bits_allocated == 1 else n * (bits_allocated // 8)
