"""`read_dicom_image`: one single-frame projection or photographic DICOM image -> a 2-D `Volume`.

Presentation form (PS3.3 C.11): the Modality LUT (rescale or LUT sequence) is applied,
MONOCHROME1 is turned into MONOCHROME2 (higher = brighter), and the VOI LUT (window or LUT
sequence) only when asked for. Colour images keep their channels (``channel_last``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from samd_core.errors import InvalidParameterError
from samd_core.io._dicom_header import (
    PROJECTION_SOP_CLASSES,
    check_pixel_size,
    read_dataset,
    rescale,
    sop_class_name,
)
from samd_core.io._dicom_pixels import decode_file
from samd_core.io._dicom_tags import bad, check_pixel_module, safe_uid, tag_float, tag_floats, tag_int, tag_text
from samd_core.io._errors import DicomReadError
from samd_core.volume import Volume

__all__ = ["SINGLE_IMAGE_SOP_CLASSES", "read_dicom_image"]

_FN = "read_dicom_image"

#: SOP classes `read_dicom_image` reads: DX, CR, MG, intra-oral, ophthalmic photography and
#: secondary capture (single-frame, or multi-frame SC classes holding one frame).
SINGLE_IMAGE_SOP_CLASSES: frozenset[str] = PROJECTION_SOP_CLASSES | frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage
        "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
        "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
        "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
        "1.2.840.10008.5.1.4.1.1.77.1.4",  # VL Photographic Image Storage
    }
)

_LUT_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


def _spacing(ds: Dataset, where: str) -> tuple[tuple[float, float], str]:
    """(row, column) spacing in mm and which attribute it came from."""
    ps = tag_floats(ds, "PixelSpacing", 2, where, positive=True)
    if ps is not None:
        return (ps[0], ps[1]), "PixelSpacing"
    ips = tag_floats(ds, "ImagerPixelSpacing", 2, where, positive=True)
    if ips is None:
        return (1.0, 1.0), "unknown"
    ermf = tag_floats(ds, "EstimatedRadiographicMagnificationFactor", 1, where, positive=True)
    if ermf is None:
        return (ips[0], ips[1]), "ImagerPixelSpacing"
    return (ips[0] / ermf[0], ips[1] / ermf[0]), "ImagerPixelSpacing/ERMF"


def _lut(item: Dataset, where: str, name: str, signed: bool = False) -> tuple[int, np.ndarray, int]:
    """(first stored value mapped, table, bits) of a Modality or VOI LUT item (PS3.3 C.11.1.1)."""
    desc = item.get("LUTDescriptor")
    data = item.get("LUTData")
    try:
        d = [int(v) for v in desc] if desc is not None else []
    except (TypeError, ValueError):
        d = []
    if len(d) != 3 or not 8 <= d[2] <= 16:
        raise DicomReadError(f"{where}: {name} LUTDescriptor (0028,3002) must be 3 values with 8..16 bits; got {d}")
    entries = d[0] or 65536  # PS3.3 C.11.1.1.1: 0 means 2**16 entries
    first = d[1] - 65536 if d[1] > 32767 and signed else d[1]
    if isinstance(data, (bytes, bytearray)):
        table = np.frombuffer(bytes(data), dtype="<u1" if len(data) == entries and d[2] == 8 else "<u2")
    else:
        table = np.asarray([] if data is None else list(data) if not np.isscalar(data) else [data], dtype=np.int64)
    if table.size != entries:
        raise DicomReadError(f"{where}: {name} LUTData (0028,3006) holds {table.size} entries; LUTDescriptor says {entries}")
    return first, table.astype(np.int64), d[2]


def _apply_table(values: np.ndarray, first: int, table: np.ndarray) -> np.ndarray:
    """Index the LUT: values below the first mapped get the first entry, above the last the last."""
    idx = np.clip(values.astype(np.int64) - first, 0, table.size - 1)
    return table[idx]


def _narrow(values: np.ndarray) -> np.ndarray:
    """int16 when the integer values fit, else int32, else float32 (as `read_dicom_series`)."""
    if values.dtype.kind in "iu":
        lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
        if -(2**15) <= lo and hi < 2**15:
            return values.astype(np.int16)
        if -(2**31) <= lo and hi < 2**31:
            return values.astype(np.int32)
    return values.astype(np.float32)


def _modality(stored: np.ndarray, ds: Dataset, where: str) -> tuple[np.ndarray, str, tuple[float, float]]:
    """Modality LUT output, what was applied, and the output range of the full stored range."""
    bits = int(tag_int(ds, "BitsStored", where, 16) or 16)
    signed = int(tag_int(ds, "PixelRepresentation", where, 0) or 0) == 1
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    seq = ds.get("ModalityLUTSequence")
    if seq:
        first, table, lut_bits = _lut(seq[0], where, "ModalityLUTSequence", signed)
        return _apply_table(stored, first, table), "ModalityLUTSequence", (0.0, float(2**lut_bits - 1))
    r = rescale(ds, where)
    if (r["slope"], r["intercept"]) == (1.0, 0.0):
        return stored.astype(np.int64), "none", (float(lo), float(hi))
    out_range = (lo * r["slope"] + r["intercept"], hi * r["slope"] + r["intercept"])
    if not max(abs(out_range[0]), abs(out_range[1])) < float(np.finfo(np.float32).max):
        raise bad(where, "RescaleSlope", "a value that keeps the output finite in float32", r["slope"])
    if max(abs(out_range[0]), abs(out_range[1])) >= 2**62:  # integer arithmetic would overflow int64
        return stored.astype(np.float64) * r["slope"] + r["intercept"], "rescale", out_range
    if float(r["slope"]).is_integer() and float(r["intercept"]).is_integer():
        return stored.astype(np.int64) * int(r["slope"]) + int(r["intercept"]), "rescale", out_range
    return stored.astype(np.float64) * r["slope"] + r["intercept"], "rescale", out_range


def _voi_description(ds: Dataset, where: str) -> dict[str, Any] | None:
    """The first VOI transform of the file (window, else LUT sequence), as plain data; None if absent."""
    centre = tag_floats(ds, "WindowCenter", None, where)
    width = tag_floats(ds, "WindowWidth", None, where)
    function = (tag_text(ds, "VOILUTFunction") or "LINEAR").upper()
    if centre is not None and width is not None:
        if function not in _LUT_FUNCTIONS:
            raise bad(where, "VOILUTFunction", f"one of {list(_LUT_FUNCTIONS)}", function)
        w = width[0]
        if (function == "LINEAR" and w < 1) or w <= 0:
            raise bad(where, "WindowWidth", ">= 1 (LINEAR) or > 0 (LINEAR_EXACT, SIGMOID)", width[0])
        return {"kind": "window", "center": centre[0], "width": w, "function": function}
    if ds.get("VOILUTSequence"):
        return {"kind": "VOILUTSequence"}
    return None


def _apply_voi(values: np.ndarray, ds: Dataset, voi: dict[str, Any], y_range: tuple[float, float], where: str) -> np.ndarray:
    """VOI LUT (PS3.3 C.11.2.1.2 window, C.11.2.1.3 functions, C.11.2.1.1 LUT sequence), float64 out."""
    if voi["kind"] == "VOILUTSequence":
        first, table, _ = _lut(ds.VOILUTSequence[0], where, "VOILUTSequence")
        return _apply_table(values, first, table).astype(np.float64)
    y_min, y_max = y_range
    c, w = float(voi["center"]), float(voi["width"])
    x = values.astype(np.float64)
    if voi["function"] == "SIGMOID":
        return (y_max - y_min) / (1.0 + np.exp(-4.0 * (x - c) / w)) + y_min
    if voi["function"] == "LINEAR":
        c, w = c - 0.5, w - 1.0
    out = np.empty_like(x)
    below = x <= c - w / 2
    above = x > c + w / 2
    between = ~below & ~above
    out[below] = y_min
    out[above] = y_max
    out[between] = ((x[between] - c) / w + 0.5) * (y_max - y_min) + y_min
    return out


def _colour(ds: Dataset, path: Path, loc: Any, where: str) -> np.ndarray:
    """RGB array ``(y, x, 3)`` of an RGB, YBR or PALETTE COLOR image."""
    from pydicom.pixels import apply_color_lut

    try:
        if loc is not None and "PixelData" not in ds:
            with open(path, "rb") as fh:
                fh.seek(loc.offset)
                ds.add_new(0x7FE00010, loc.vr, fh.read(loc.length))
        arr = np.asarray(ds.pixel_array)  # pydicom converts YBR_FULL / YBR_FULL_422 to RGB (as_rgb)
        if str(ds.PhotometricInterpretation) == "PALETTE COLOR":
            arr = np.asarray(apply_color_lut(arr, ds))
    except DicomReadError:
        raise
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise DicomReadError(f"{where}: cannot decode colour pixel data ({type(exc).__name__})") from exc
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise DicomReadError(f"{where}: decoded colour pixel shape {arr.shape} is not (rows, columns, 3)")
    return arr


def read_dicom_image(path: str | os.PathLike[str], *, voi_lut: bool = False) -> Volume:
    """Read one single-frame projection or photographic DICOM image (DX, CR, MG, SC, ophthalmic photo).

    The image is returned in presentation form:

    * **Modality LUT** applied: RescaleSlope/RescaleIntercept, or the ModalityLUTSequence
      (values below the first mapped input take the first entry, above the last the last).
    * **MONOCHROME1** is inverted so that higher means brighter: stored values ``v`` become
      ``2**BitsStored - 1 - v`` (unsigned) or ``-1 - v`` (signed) *before* the Modality LUT, so
      a MONOCHROME1 copy of an image (stored values inverted, same Modality LUT) reads as the
      same array as its MONOCHROME2 twin. ``meta["monochrome1_inverted"]`` records it.
    * **VOI LUT** only when ``voi_lut=True``: the first WindowCenter/WindowWidth pair with its
      VOILUTFunction (LINEAR, LINEAR_EXACT, SIGMOID; PS3.3 C.11.2.1.2-3), else the first
      VOILUTSequence item, applied to the Modality LUT output. The window maps onto the output
      range of the Modality LUT over the stored range (as pydicom's ``apply_voi_lut``);
      MONOCHROME1 output is then inverted within that range. Output float32.
      ``meta["voi_lut"]`` describes the VOI the file carries (applied or not);
      ``meta["voi_lut_applied"]`` says whether it was applied.
    * **Colour** (RGB, YBR_*, PALETTE COLOR): an RGB ``channel_last`` volume ``(y, x, 3)``,
      ``meta["channels"] = "RGB"``, no Modality LUT (colour IODs have none).

    Spacing (mm, (row, column)) comes from PixelSpacing, else from ImagerPixelSpacing divided by
    EstimatedRadiographicMagnificationFactor when present, else ImagerPixelSpacing; without
    any of them it is unknown and set to 1.0 nominal. ``meta["spacing_source"]`` is
    ``"PixelSpacing"``, ``"ImagerPixelSpacing/ERMF"``, ``"ImagerPixelSpacing"`` or ``"unknown"``.

    Parameters
    ----------
    path : path
        The DICOM file.
    voi_lut : bool
        Apply the VOI LUT (default False: values stay in Modality LUT units).

    Returns
    -------
    Volume
        2-D (``(y, x)``) grey-scale volume, or ``(y, x, 3)`` with ``channel_last=True`` for
        colour; dtype int16/int32 for integral Modality LUT output, else float32 (always float32
        with ``voi_lut=True``).

    Raises
    ------
    InvalidParameterError
        ``voi_lut`` not a bool; ``path`` not a file.
    DicomReadError
        Not DICOM; SOP class not a single-frame image; multi-frame; BitsStored > BitsAllocated;
        missing or unknown PhotometricInterpretation; SamplesPerPixel not matching it; spacing
        0 or malformed; PixelData shorter than declared; malformed rescale, LUT or window
        (messages name the tag; never the file name or a free-text value).
    """
    if not isinstance(voi_lut, bool):
        raise InvalidParameterError("voi_lut", _FN, "a bool", voi_lut)
    p = Path(path)
    if not p.is_file():
        raise InvalidParameterError("path", _FN, "an existing regular file", "(path not shown)")
    ds, loc = read_dataset(p, "file")
    sop_uid = tag_text(ds, "SOPInstanceUID")
    where = f"file (SOPInstanceUID {safe_uid(sop_uid)})"
    try:
        return _read(ds, p, loc, where, voi_lut)
    except DicomReadError:
        raise
    except InvalidParameterError:
        raise
    except Exception as exc:  # a value pydicom could not convert: never a bare error
        raise DicomReadError(f"{where}: malformed DICOM attributes ({type(exc).__name__})") from exc


def _read(ds: Dataset, p: Path, loc: Any, where: str, voi_lut: bool) -> Volume:
    sop_class = tag_text(ds, "SOPClassUID") or ""
    if sop_class not in SINGLE_IMAGE_SOP_CLASSES:
        raise DicomReadError(
            f"{where}: SOPClassUID {safe_uid(sop_class)} ({sop_class_name(sop_class)}) is not a single-frame "
            "projection or photographic image; read CT/MR/PET series with `read_dicom_series`"
        )
    if loc is None and "PixelData" not in ds:
        raise DicomReadError(f"{where}: no PixelData (7FE0,0010)")
    frames = tag_int(ds, "NumberOfFrames", where, 1, lo=1, hi=2**31 - 1) or 1
    if frames != 1:
        raise bad(where, "NumberOfFrames", "1 (read_dicom_image reads single-frame images)", frames)
    rows = tag_int(ds, "Rows", where, 0, lo=1, hi=65535)
    columns = tag_int(ds, "Columns", where, 0, lo=1, hi=65535)
    if not rows or not columns:
        raise bad(where, "Rows" if not rows else "Columns", "an integer in [1, 65535]", missing=True)
    pixel = check_pixel_module(ds, where)
    check_pixel_size(ds, loc, where, rows, columns, 1, pixel)
    spacing, source = _spacing(ds, where)
    pmi = pixel["PhotometricInterpretation"]
    meta: dict[str, Any] = {
        "source": "dicom",
        "modality": tag_text(ds, "Modality"),
        "manufacturer": tag_text(ds, "Manufacturer"),
        "manufacturer_model": tag_text(ds, "ManufacturerModelName"),
        "sop_class_uid": sop_class,
        "sop_instance_uid": safe_uid(tag_text(ds, "SOPInstanceUID")),
        "series_instance_uid": safe_uid(tag_text(ds, "SeriesInstanceUID")),
        "photometric_interpretation": pmi,
        "spacing_source": source,
        "monochrome1_inverted": False,
        "kvp": tag_float(ds, "KVP", where),
    }
    if pixel["SamplesPerPixel"] == 3 or pmi == "PALETTE COLOR":
        if voi_lut:
            raise InvalidParameterError("voi_lut", _FN, "False for colour images (they have no VOI LUT)", voi_lut)
        arr = _colour(ds, p, loc, where)
        meta.update({"channels": "RGB", "modality_lut": "none", "voi_lut": None, "voi_lut_applied": False})
        return Volume(np.ascontiguousarray(arr), spacing, meta=meta, channel_last=True)
    stored = decode_file(ds, p, loc, where)[0]
    invert = pmi == "MONOCHROME1"
    bits = pixel["BitsStored"]
    if invert and not voi_lut:
        stored = (-1 - stored.astype(np.int64)) if pixel["PixelRepresentation"] else (2**bits - 1) - stored.astype(np.int64)
    values, applied, y_range = _modality(stored, ds, where)
    if not np.all(np.isfinite(np.asarray(y_range))) or max(abs(y_range[0]), abs(y_range[1])) >= float(
        np.finfo(np.float32).max
    ):
        raise bad(where, "RescaleSlope", "a value that keeps the output finite in float32", tag_text(ds, "RescaleSlope"))
    voi = _voi_description(ds, where)
    meta.update({"modality_lut": applied, "voi_lut": voi, "voi_lut_applied": False, "monochrome1_inverted": invert})
    if voi_lut:
        if voi is None:
            raise DicomReadError(f"{where}: voi_lut=True but the file has no WindowCenter/WindowWidth or VOILUTSequence")
        out = _apply_voi(values, ds, voi, y_range, where)
        if voi["kind"] == "VOILUTSequence":
            _, _, vbits = _lut(ds.VOILUTSequence[0], where, "VOILUTSequence")
            y_range = (0.0, float(2**vbits - 1))
        if invert:
            out = (y_range[0] + y_range[1]) - out
        meta["voi_lut_applied"] = True
        return Volume(out.astype(np.float32), spacing, meta=meta)
    return Volume(_narrow(values), spacing, meta=meta)

