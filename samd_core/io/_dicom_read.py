"""`read_dicom_series`: one folder of DICOM files -> one checked `Volume`."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np

from samd_core.errors import DicomError, InvalidParameterError
from samd_core.io._dicom_geometry import SeriesGeometry, series_geometry
from samd_core.io._dicom_header import FrameHeader, read_headers
from samd_core.io._dicom_pixels import (
    QUANTITATIVE_MODALITIES,
    decode_file,
    invert_monochrome1,
    read_into,
    to_values,
)
from samd_core.io._dicom_resample import deshear, fill_gaps
from samd_core.io._dicom_select import select_series
from samd_core.io._dicom_tags import bad, safe_uid, tag_float, tag_text
from samd_core.io._errors import DicomReadError, GantryTiltError, SliceSpacingError
from samd_core.volume import Volume, check_array_bytes, empty_checked

__all__ = ["read_dicom_series"]

_FN = "read_dicom_series"


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        # the path itself is not quoted: folder names may hold patient names
        raise InvalidParameterError("folder", _FN, "an existing directory", "(path not shown)")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.name.upper() != "DICOMDIR")
    if not files:
        raise DicomError("no files to read in the folder (sub-folders, hidden files and DICOMDIR are ignored)")
    return files


def _workers(max_workers: int | None) -> int:
    if max_workers is None:
        return min(8, os.cpu_count() or 1)
    if not isinstance(max_workers, int) or max_workers < 1:
        raise InvalidParameterError("max_workers", _FN, "None or an integer >= 1", max_workers)
    return max_workers


def _decode_stack(geo: SeriesGeometry, pool: ThreadPoolExecutor) -> tuple[np.ndarray, bool]:
    """Rescaled voxel values: int16 (else int32) when every slope and intercept is integral, else float32.

    Two passes over the frames: decode (and measure the stored range), then write each frame
    once into an output array whose dtype is already final.
    """
    frames = geo.frames
    photometric = str(frames[0].dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    invert = photometric == "MONOCHROME1" and frames[0].modality not in QUANTITATIVE_MODALITIES
    by_file: dict[Path, list[int]] = {}
    for k, h in enumerate(frames):
        by_file.setdefault(h.path, []).append(k)
    if not invert and all(_direct(h) for h in frames):
        return _read_direct(frames, pool), invert
    paths = list(by_file)
    first = {p: frames[ks[0]] for p, ks in by_file.items()}
    decoded = dict(
        zip(paths, pool.map(lambda p: decode_file(first[p].dataset, p, first[p].pixel_loc, first[p].where), paths))
    )
    stored = [decoded[h.path][h.frame or 0] for h in frames]
    if invert:
        stored = [invert_monochrome1(s, h.dataset) for s, h in zip(stored, frames)]
    integral = all(float(h.slope).is_integer() and float(h.intercept).is_integer() for h in frames)
    integral = integral and all(v.dtype.kind in "iu" for v in stored)  # float pixel data stays float
    dtype: type = np.float32
    ranges = list(pool.map(lambda s: (s.min().item(), s.max().item()) if s.size else (0, 0), stored))
    for (lo, hi), h in zip(ranges, frames):
        for v in (lo, hi):
            end = float(v) * h.slope + h.intercept
            if not (np.isfinite(end) and abs(end) < float(np.finfo(np.float32).max)):
                raise bad(h.where, "RescaleSlope", f"a slope that maps stored value {v} to a finite float32 value "
                          f"with RescaleIntercept {h.intercept:g}", h.slope)
    if integral:
        ends = [int(v) * int(h.slope) + int(h.intercept) for (lo, hi), h in zip(ranges, frames) for v in (lo, hi)]
        lo, hi = min(ends), max(ends)
        dtype = np.int16 if -(2**15) <= lo and hi < 2**15 else np.int32 if -(2**31) <= lo and hi < 2**31 else np.float64
    out = empty_checked((len(frames), frames[0].rows, frames[0].columns), dtype, _stack_label(frames), DicomReadError)

    def fill(k: int) -> None:
        to_values(stored[k], frames[k].slope, frames[k].intercept, out[k])

    list(pool.map(fill, range(len(frames))))
    return out, invert


def _stack_label(frames: list[FrameHeader]) -> str:
    return f"series {safe_uid(frames[0].series_uid)} of {len(frames)} frame(s)"


def _direct(h: FrameHeader) -> bool:
    """True when the frame's stored bits can be read straight into an int16 output array."""
    ds = h.dataset
    if h.pixel_loc is None or h.frame is not None or h.slope != 1 or not float(h.intercept).is_integer():
        return False
    if abs(h.intercept) >= 2**30:  # the result may not fit int32: the general path chooses the dtype
        return False
    try:
        return (
            int(ds.get("BitsAllocated", 0)) == 16
            and int(ds.get("BitsStored", 0)) == 16
            and int(ds.get("SamplesPerPixel", 1)) == 1
            and int(ds.get("PixelRepresentation", 0)) in (0, 1)
        )
    except (TypeError, ValueError):  # malformed values: the generic decoder reports them
        return False


def _read_direct(frames: list[FrameHeader], pool: ThreadPoolExecutor) -> np.ndarray:
    """Fast path for native 16-bit slices with slope 1: one read per file into the output.

    Each file's pixel bytes go straight into ``out[k]``; the stored range is measured there and,
    when every value fits int16, the intercept is added in place (16-bit modular arithmetic is
    exact when the true result fits). Otherwise the stored values are widened into int32.
    """
    out = empty_checked((len(frames), frames[0].rows, frames[0].columns), np.int16, _stack_label(frames), DicomReadError)
    kinds = [np.dtype("<i2") if int(h.dataset.get("PixelRepresentation", 0)) == 1 else np.dtype("<u2") for h in frames]

    def load(k: int) -> tuple[int, int]:
        h = frames[k]
        read_into(h.path, h.pixel_loc, out[k], h.where)  # type: ignore[arg-type]
        stored = out[k].view(kinds[k])
        return int(stored.min()) + int(h.intercept), int(stored.max()) + int(h.intercept)

    ranges = list(pool.map(load, range(len(frames))))
    if min(r[0] for r in ranges) >= -(2**15) and max(r[1] for r in ranges) < 2**15:

        def shift(k: int) -> None:
            wrapped = (int(frames[k].intercept) + 2**15) % 2**16 - 2**15
            np.add(out[k], np.int16(wrapped), out=out[k])

        list(pool.map(shift, range(len(frames))))
        return out
    wide = empty_checked(out.shape, np.int32, _stack_label(frames), DicomReadError)
    for k, h in enumerate(frames):
        to_values(out[k].view(kinds[k]), 1.0, h.intercept, wide[k])
    return wide


def _meta(h: FrameHeader, geo: SeriesGeometry, invert: bool, excluded: int) -> dict[str, Any]:
    ds = h.dataset

    def text(keyword: str) -> str | None:
        return tag_text(ds, keyword)

    def number(keyword: str) -> float | None:
        return tag_float(ds, keyword, h.where)  # validated when the header was read

    meta: dict[str, Any] = {
        "source": "dicom",
        "modality": h.modality or None,
        "manufacturer": text("Manufacturer"),
        "manufacturer_model": text("ManufacturerModelName"),
        "convolution_kernel": text("ConvolutionKernel"),
        "slice_thickness_mm": number("SliceThickness"),
        "kvp": number("KVP"),
        "series_instance_uid": h.series_uid,
        "sop_class_uid": h.sop_class,
        "photometric_interpretation": str(ds.get("PhotometricInterpretation", "")) or None,
        "monochrome1_inverted": invert,
        "rescale_applied": sorted({(f.slope, f.intercept) for f in geo.frames}) != [(1.0, 0.0)],
        "gantry_tilt_deg": round(geo.tilt_deg, 6) if geo.tilted else 0.0,
        "images_excluded": excluded,
    }
    return meta


def read_dicom_series(
    folder: str | os.PathLike[str],
    *,
    series_uid: str | None = None,
    accept_gaps: bool = False,
    tilt: Literal["refuse", "deshear"] = "refuse",
    max_workers: int | None = None,
) -> Volume:
    """Read one DICOM image series from a folder into a `Volume`, checking it on the way.

    Every regular file of ``folder`` (not sub-folders, hidden files or DICOMDIR) is parsed
    exactly once. Image frames are grouped by SeriesInstanceUID; localizers (ImageType
    LOCALIZER) and derived projections (DERIVED with a *PROJECTION* value) are dropped; the
    rest must share orientation, Rows/Columns and PixelSpacing. Slices are sorted by
    ImagePositionPatient projected on the slice normal (row x column cosines), never by
    InstanceNumber or file name. Each slice's own RescaleSlope/Intercept is applied (enhanced
    multi-frame: PixelValueTransformationSequence). MONOCHROME1 stored values are inverted to
    MONOCHROME2 except for CT/PT/NM, whose rescaled values are physical units (HU) that the
    photometric interpretation does not change. Compressed transfer syntaxes decode through
    pydicom's plugins (pylibjpeg, gdcm).

    Parameters
    ----------
    folder : path
        Folder holding the files.
    series_uid : str, optional
        SeriesInstanceUID to read when the folder holds several series (other series are
        parsed but otherwise ignored).
    accept_gaps : bool
        False (default): missing slices or non-uniform spacing raise `SliceSpacingError`.
        True: the stack is linearly interpolated along the normal onto the median step, and
        ``meta["gap_resampled"]`` records the step, the irregular steps and the interpolated
        output slices. The output is then float32.
    tilt : {"refuse", "deshear"}
        Gantry tilt is measured from geometry (angle between the slice normal and the
        first-to-last slice vector), never from GantryDetectorTilt. "refuse" (default) raises
        `GantryTiltError` when slice origins drift in-plane by more than 0.1 pixel over the
        stack; "deshear" shifts each slice in-plane (linear interpolation) onto an enlarged
        orthogonal grid, filling new pixels with the volume minimum, output float32, and
        records the angle in ``meta["gantry_tilt_deg"]``.
    max_workers : int, optional
        Threads for parsing and decoding (default ``min(8, cpu_count)``). Results do not
        depend on it.

    Returns
    -------
    Volume
        Array ``(z, y, x)`` with z along the slice normal, y down the columns, x along the rows;
        spacing ``(step along the normal, PixelSpacing[0], PixelSpacing[1])`` mm; origin = IPP of
        the first slice (LPS mm); direction columns ``(normal, column cosines, row cosines)``.
        Integer dtype (int16, else int32) when every slope and intercept is integral, else float32.
        ``meta`` holds only non-identifying attributes (see `samd_core.volume.ALLOWED_META`).

    Raises
    ------
    DicomReadError
        A file is not DICOM, is truncated or cannot be decoded (message names the file).
    NonImageObjectError
        SR, SEG, RTSTRUCT or other non-image objects are in the folder (see `select_series`).
    MultipleSeriesError
        Several image series and no ``series_uid`` (the message lists them).
    MixedGeometryError
        Mixed orientations, sizes or pixel spacings, missing geometry.
    SliceSpacingError
        Missing slices / non-uniform spacing (names the step in mm and the two files), or
        duplicate positions.
    GantryTiltError
        Tilted acquisition with ``tilt="refuse"``.
    """
    folder = Path(folder)
    if tilt not in ("refuse", "deshear"):
        raise InvalidParameterError("tilt", _FN, "one of 'refuse', 'deshear'", tilt, ["refuse", "deshear"])
    if not isinstance(accept_gaps, bool):
        raise InvalidParameterError("accept_gaps", _FN, "a bool", accept_gaps)
    files = _files(folder)
    with ThreadPoolExecutor(max_workers=_workers(max_workers)) as pool:
        headers = [h for hs in pool.map(read_headers, files, range(len(files))) for h in hs]
        frames, excluded = select_series(headers, folder, series_uid)
        geo = series_geometry(frames, folder)
        if geo.gaps and not accept_gaps:
            raise SliceSpacingError(
                f"missing slices or non-uniform spacing in series {safe_uid(frames[0].series_uid)}: "
                f"median step {geo.step_mm:.4g} mm along the slice normal, but "
                + "; ".join(geo.gaps[:5])
                + (f"; and {len(geo.gaps) - 5} more" if len(geo.gaps) > 5 else "")
                + ". Pass accept_gaps=True to resample onto a uniform grid."
            )
        if geo.tilted and tilt == "refuse":
            drift = float(np.hypot(*geo.offsets_mm[-1]))
            length = float(geo.positions_mm[-1] - geo.positions_mm[0])
            raise GantryTiltError(
                f"series {safe_uid(frames[0].series_uid)} is tilted by {geo.tilt_deg:.3f} degrees "
                f"(measured from ImagePositionPatient/ImageOrientationPatient: slice origins drift "
                f"{drift:.3f} mm in-plane over {length:.3f} mm along the normal). "
                "Pass tilt='deshear' to resample onto an orthogonal grid."
            )
        check_array_bytes(
            (len(geo.frames), geo.frames[0].rows, geo.frames[0].columns), 4,
            _stack_label(geo.frames), DicomReadError,
        )
        stack, invert = _decode_stack(geo, pool)
    return _assemble(stack, geo, _meta(geo.frames[0], geo, invert, excluded))


def _assemble(stack: np.ndarray, geo: SeriesGeometry, meta: dict[str, Any]) -> Volume:
    origin = np.asarray(geo.frames[0].ipp, dtype=float)
    if geo.tilted:
        stack, (dc, dr) = deshear(stack, geo.offsets_mm, geo.pixel_spacing, float(stack.min()))
        origin = origin + dc * geo.col + dr * geo.row
        meta["tilt_corrected"] = "deshear"
    step = geo.step_mm
    if geo.gaps:
        stack, interpolated = fill_gaps(stack, geo.positions_mm, step)
        meta["gap_resampled"] = {
            "method": "linear along the slice normal",
            "step_mm": step,
            "irregular_steps": list(geo.gaps),
            "interpolated_slices": interpolated,
        }
    direction = np.stack([geo.normal, geo.col, geo.row], axis=1)
    return Volume(stack, (step, *geo.pixel_spacing), tuple(origin), tuple(map(tuple, direction)), meta=meta)
