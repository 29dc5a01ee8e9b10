"""Decode stored pixel values of a file and turn them into output values (rescale, MONOCHROME1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from samd_core.io._dicom_header import PixelLocation
from samd_core.io._errors import DicomReadError

__all__ = ["QUANTITATIVE_MODALITIES", "decode_file", "invert_monochrome1", "read_into", "to_values"]

#: Modalities whose rescaled values are physical units: MONOCHROME1 only changes display there.
QUANTITATIVE_MODALITIES = frozenset({"CT", "PT", "NM"})


def _native_fast(ds: Dataset, n_frames: int) -> np.ndarray | None:
    """Zero-copy view of uncompressed little-endian 8/16-bit data, or None to use pydicom."""
    ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if ts is None or ts.is_compressed or not ts.is_little_endian or "PixelData" not in ds:
        return None
    bits = int(ds.BitsAllocated)
    if bits not in (8, 16) or int(ds.get("BitsStored", bits)) != bits or int(ds.get("SamplesPerPixel", 1)) != 1:
        return None
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    dtype = np.dtype(("<i" if signed else "<u") + str(bits // 8))
    count = int(ds.Rows) * int(ds.Columns) * n_frames
    buf = ds.PixelData
    if len(buf) < count * dtype.itemsize:
        raise DicomReadError(
            f"PixelData holds {len(buf)} bytes but {ds.Rows}x{ds.Columns}x{n_frames} "
            f"{bits}-bit pixels need {count * dtype.itemsize} (truncated file)"
        )
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(n_frames, int(ds.Rows), int(ds.Columns))


def read_into(path: Path, loc: PixelLocation, target: np.ndarray, where: str = "file") -> None:
    """Read native pixel bytes at ``loc`` straight into ``target`` (C-contiguous), no extra copy.

    Raises
    ------
    DicomReadError
        When the file holds fewer bytes than ``target`` needs (truncated file).
    """
    with open(path, "rb", buffering=0) as fh:
        fh.seek(loc.offset)
        got = fh.readinto(memoryview(target).cast("B")) if loc.length >= target.nbytes else loc.length
    if got < target.nbytes:
        raise DicomReadError(
            f"{where}: PixelData holds {loc.length} bytes but {target.shape[-2]}x{target.shape[-1]}x1 "
            f"{target.itemsize * 8}-bit pixels need {target.nbytes} (truncated file)"
        )


def decode_file(ds: Dataset, path: Path, loc: PixelLocation | None = None, where: str = "file") -> np.ndarray:
    """Stored values of every frame, shape ``(frames, rows, columns)``.

    ``loc`` locates native pixel bytes that the header parse left in the file; ``where`` names
    the file in messages (never its name).

    Raises
    ------
    DicomReadError
        Colour data, truncated or undecodable pixel data (the message names the file).
    """
    try:
        if loc is not None and "PixelData" not in ds:
            with open(path, "rb") as fh:
                fh.seek(loc.offset)
                ds.add_new(0x7FE00010, loc.vr, fh.read(loc.length))
        if int(ds.get("SamplesPerPixel", 1)) != 1:
            raise DicomReadError(
                f"SamplesPerPixel is {ds.SamplesPerPixel}; only grey-scale images form volumes "
                "(a single colour image is read with `read_dicom_image`)"
            )
        n_frames = int(ds.get("NumberOfFrames", 1) or 1)
        arr = _native_fast(ds, n_frames)
        if arr is None:
            arr = np.asarray(ds.pixel_array)
            if arr.ndim == 2:
                arr = arr[None]
            if not arr.dtype.isnative:  # big-endian data: to native order before any view/arithmetic
                arr = arr.astype(arr.dtype.newbyteorder("="))
        if arr.shape != (n_frames, int(ds.Rows), int(ds.Columns)):
            raise DicomReadError(f"decoded pixel shape {arr.shape} != ({n_frames}, {ds.Rows}, {ds.Columns})")
        return arr
    except DicomReadError as exc:
        raise DicomReadError(f"{where}: {exc}") from None
    except BaseException as exc:  # decoders raise many types; Rust (pyo3) panics are BaseExceptions
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise DicomReadError(f"{where}: cannot decode pixel data ({type(exc).__name__})") from exc


def invert_monochrome1(stored: np.ndarray, ds: Dataset) -> np.ndarray:
    """Map MONOCHROME1 stored values onto MONOCHROME2 (minimum <-> maximum of the stored range)."""
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return -1 - stored.astype(np.int32)
    return (2**bits - 1) - stored.astype(np.int32)


def to_values(stored: np.ndarray, slope: float, intercept: float, out: np.ndarray) -> None:
    """Write ``stored * slope + intercept`` into ``out`` (whose dtype is known to hold the result)."""
    native16 = stored.dtype.itemsize == 2 and stored.dtype.kind in "iu" and stored.dtype.isnative
    if out.dtype == np.int16 and slope == 1 and native16:
        # 16-bit modular arithmetic is exact here: the caller chose int16 because every result
        # fits, and (s + c) mod 2**16 read as int16 is then the true value.
        wrapped = (int(intercept) + 2**15) % 2**16 - 2**15
        np.add(stored.view(np.int16), np.int16(wrapped), out=out)
    elif out.dtype.kind in "iu" and slope == 1:
        scalar = np.int32(intercept) if abs(intercept) < 2**31 else np.int64(intercept)
        np.add(stored, scalar, out=out, casting="unsafe")
    elif out.dtype.kind in "iu":
        np.add(stored.astype(np.int64) * int(slope), int(intercept), out=out, casting="unsafe")
    else:
        out[...] = stored.astype(np.float64) * slope + intercept
