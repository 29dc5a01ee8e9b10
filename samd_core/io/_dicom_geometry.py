"""Slice geometry of one series: consistency checks, sorting along the normal, spacing, tilt."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samd_core.io._dicom_header import FrameHeader
from samd_core.io._dicom_tags import tag_float, tag_name
from samd_core.io._errors import MixedGeometryError, SliceSpacingError

__all__ = ["SPACING_ATOL_MM", "SPACING_RTOL", "SeriesGeometry", "series_geometry"]

#: Slice steps may differ from the median step by ``SPACING_RTOL * median + SPACING_ATOL_MM``.
SPACING_RTOL = 0.01
SPACING_ATOL_MM = 0.01
#: Tilt is flagged when slice origins drift in-plane by more than this fraction of a pixel.
TILT_DRIFT_PIXELS = 0.1


@dataclass(frozen=True)
class SeriesGeometry:
    """Sorted frames and the measured geometry of a series (LPS, mm)."""

    frames: list[FrameHeader]  # sorted along the slice normal
    positions_mm: np.ndarray  # IPP . normal of each sorted frame
    offsets_mm: np.ndarray  # in-plane (column, row) offset of each IPP from the first, shape (n, 2)
    row: np.ndarray  # LPS unit vector along a row (increasing column index)
    col: np.ndarray  # LPS unit vector down a column (increasing row index)
    normal: np.ndarray  # row x col
    pixel_spacing: tuple[float, float]  # (between rows, between columns) mm
    step_mm: float  # median step along the normal (SliceThickness for one slice)
    tilt_deg: float  # angle between the slice normal and the first-to-last slice vector
    tilted: bool
    gaps: list[str]  # human-readable description of each irregular step


def _check_same(frames: list[FrameHeader], folder: Path, what: str, key: object) -> None:
    values = Counter(key(h) for h in frames)  # type: ignore[operator]
    if len(values) > 1:
        examples = []
        for value, count in values.most_common(6):
            first = next(h for h in frames if key(h) == value)  # type: ignore[operator]
            examples.append(f"{value} in {count} frame(s), e.g. {first.where}")
        raise MixedGeometryError(f"slices of one series have different {what}: " + "; ".join(examples))


def _orthonormal(iop: tuple[float, ...], where: str, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    row = np.asarray(iop[:3], dtype=float)
    col = np.asarray(iop[3:], dtype=float)
    nr, nc = np.linalg.norm(row), np.linalg.norm(col)
    if not (0.99 < nr < 1.01 and 0.99 < nc < 1.01) or abs(row @ col) > 1e-3:
        raise MixedGeometryError(
            f"ImageOrientationPatient (0020,0037) of {where} is not two orthonormal vectors: {list(iop)} "
            f"(|row| = {nr:.4g}, |col| = {nc:.4g}, row.col = {row @ col:.3g})"
        )
    row = row / nr
    col = col - (col @ row) * row
    return row, col / np.linalg.norm(col)


def series_geometry(frames: list[FrameHeader], folder: Path) -> SeriesGeometry:
    """Check that ``frames`` form one stack and measure its geometry.

    Raises
    ------
    MixedGeometryError
        Missing ImagePositionPatient / ImageOrientationPatient / PixelSpacing, different
        rows/columns, orientations or pixel spacings, or in-plane positions not on one line.
    SliceSpacingError
        Two slices at the same position along the normal.
    """
    for h in frames:
        for name, value in (("ImagePositionPatient", h.ipp), ("ImageOrientationPatient", h.iop),
                            ("PixelSpacing", h.pixel_spacing)):
            if value is None:
                raise MixedGeometryError(f"{h.where} has no {tag_name(name)}; cannot place it in 3-D")
            if not all(math.isfinite(v) for v in value) or (name == "PixelSpacing" and min(value) <= 0):
                raise MixedGeometryError(f"{h.where} has an invalid {tag_name(name)}: {list(value)}")
    _check_same(frames, folder, "Rows x Columns", lambda h: f"{h.rows}x{h.columns}")
    _check_same(frames, folder, "orientations (ImageOrientationPatient)",
                lambda h: tuple(round(v, 3) for v in h.iop))
    _check_same(frames, folder, "PixelSpacing (mm)", lambda h: tuple(round(v, 4) for v in h.pixel_spacing))
    row, col = _orthonormal(frames[0].iop, frames[0].where, folder)
    normal = np.cross(row, col)
    ipp = np.array([h.ipp for h in frames], dtype=float)
    pos = ipp @ normal
    order = np.argsort(pos, kind="stable")
    ipp, pos = ipp[order], pos[order]
    frames = [frames[i] for i in order]
    ps = (float(frames[0].pixel_spacing[0]), float(frames[0].pixel_spacing[1]))
    rel = ipp - ipp[0]
    offsets = np.stack([rel @ col, rel @ row], axis=1)
    if len(frames) == 1:
        thick = tag_float(frames[0].dataset, "SliceThickness", frames[0].where)
        step = float(thick) if thick is not None and thick > 0 else 1.0
        return SeriesGeometry(frames, pos, offsets, row, col, normal, ps, step, 0.0, False, [])
    steps = np.diff(pos)
    dup = np.flatnonzero(steps < 1e-3)
    if dup.size:
        i = int(dup[0])
        raise SliceSpacingError(
            f"{dup.size} pair(s) of slices share a position along the slice normal, e.g. "
            f"{frames[i].where} and {frames[i + 1].where} both at {pos[i]:.4f} mm "
            "(duplicate slices or several acquisitions in one series)"
        )
    step = float(np.median(steps))
    tol = SPACING_RTOL * step + SPACING_ATOL_MM
    gaps = [
        f"{steps[i]:.4g} mm between {frames[i].where} (at {pos[i]:.4f} mm) and "
        f"{frames[i + 1].where} (at {pos[i + 1]:.4f} mm)"
        for i in np.flatnonzero(np.abs(steps - step) > tol)
    ]
    total = pos[-1] - pos[0]
    drift = offsets[-1]
    tilt = math.degrees(math.atan2(float(np.hypot(*drift)), float(total)))
    tilted = float(np.hypot(*drift)) > TILT_DRIFT_PIXELS * min(ps)
    expected = np.outer((pos - pos[0]) / total, drift)
    off_line = np.abs(offsets - expected).max()
    if off_line > TILT_DRIFT_PIXELS * min(ps) + 1e-3:
        k = int(np.abs(offsets - expected).max(axis=1).argmax())
        raise MixedGeometryError(
            f"slice origins do not lie on one line: {frames[k].where} is {off_line:.3f} mm "
            "in-plane away from the line through the first and last slice (several stacks in one series?)"
        )
    return SeriesGeometry(frames, pos, offsets, row, col, normal, ps, step, tilt, tilted, gaps)
