"""Reading a DICOM Segmentation (SEG) into a label `Volume` (truth masks, samd's own SEGs)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from samd_core.io._errors import DicomReadError
from samd_core.volume import Volume

__all__ = ["read_dicom_seg"]

_SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def read_dicom_seg(path: str | os.PathLike[str], *, reference: Volume | None = None,
                   fractional_threshold: float = 0.5) -> Volume:
    """A DICOM SEG as a uint8 label map: voxel value = segment number (0 = background).

    Parameters
    ----------
    path : path
        A Segmentation Storage file (binary or fractional; frames of several segments may
        overlap: the higher segment number wins).
    reference : Volume, optional
        The image volume the SEG was made on (e.g. from `read_dicom_series`). Each frame is
        placed by projecting its ImagePositionPatient on the reference's slice normal, so SEGs
        that omit empty frames are read exactly. Without it the grid is rebuilt from the SEG's
        own frames, which must then cover equally spaced slices without gaps.
    fractional_threshold : float
        For FRACTIONAL SEGs, a voxel belongs to a segment when value / MaximumFractionalValue
        is at least this (default 0.5).

    Returns
    -------
    Volume
        uint8 label map with the reference's (or the SEG's) geometry; no identifying metadata.

    Raises
    ------
    DicomReadError
        Not a SEG, unreadable, or frames that do not fit the reference / a regular grid (the
        message names the attribute and the expectation, never patient data).
    """
    import pydicom

    fn = "read_dicom_seg"
    try:
        ds = pydicom.dcmread(Path(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported the same way
        raise DicomReadError(f"`path` of `{fn}` must be a readable DICOM SEG file; got an unreadable file "
                             f"({type(exc).__name__})") from None
    if str(getattr(ds, "SOPClassUID", "")) != _SEG_SOP_CLASS:
        raise DicomReadError(f"`SOPClassUID` of `{fn}` must be Segmentation Storage ({_SEG_SOP_CLASS}); "
                             f"got {getattr(ds, 'SOPClassUID', 'none')}")
    try:
        pixels = np.asarray(ds.pixel_array)
        per_frame = ds.PerFrameFunctionalGroupsSequence
        shared = ds.SharedFunctionalGroupsSequence[0]
        iop = np.asarray([float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient])
        spacing_rc = [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing]
        positions = np.asarray([[float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient]
                                for f in per_frame])
        segs = np.asarray([int((f if "SegmentIdentificationSequence" in f else shared)
                                   .SegmentIdentificationSequence[0].ReferencedSegmentNumber) for f in per_frame])
    except (AttributeError, IndexError, KeyError, ValueError) as exc:
        raise DicomReadError(f"`path` of `{fn}` must be a SEG with plane positions, orientation, pixel "
                             f"measures and segment identification per frame; {type(exc).__name__}") from None
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.shape[0] != len(per_frame):
        raise DicomReadError(f"`NumberOfFrames` of `{fn}` must equal the per-frame groups ({len(per_frame)}); "
                             f"got {pixels.shape[0]}")
    if str(getattr(ds, "SegmentationType", "BINARY")) == "FRACTIONAL":
        mx = float(getattr(ds, "MaximumFractionalValue", 255))
        on = pixels.astype(np.float64) / mx >= fractional_threshold
    else:
        on = pixels != 0
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    if reference is None:
        reference = _grid_from_frames(positions, normal, row, col, spacing_rc, (int(ds.Rows), int(ds.Columns)), fn)
    d = reference.direction_matrix
    if not (np.allclose(d[:, 2], row, atol=1e-4) and np.allclose(d[:, 1], col, atol=1e-4)):
        raise DicomReadError(f"`ImageOrientationPatient` of `{fn}` must match the reference's in-plane axes; "
                             f"got {iop.round(6).tolist()}")
    nz, ny, nx = reference.shape
    if (int(ds.Rows), int(ds.Columns)) != (ny, nx) or not np.allclose(spacing_rc, reference.spacing[1:], atol=1e-4):
        raise DicomReadError(f"`Rows`, `Columns`, `PixelSpacing` of `{fn}` must match the reference "
                             f"({ny}x{nx}, {list(reference.spacing[1:])} mm); got {int(ds.Rows)}x{int(ds.Columns)}, "
                             f"{spacing_rc} mm")
    origin = np.asarray(reference.origin)
    label = np.zeros(reference.shape, dtype=np.uint8)
    for i in np.argsort(segs, kind="stable"):
        off = positions[i] - origin
        k = float(off @ d[:, 0]) / reference.spacing[0]
        kk = int(round(k))
        inplane = float(np.abs(off @ d[:, 1:]).max())
        if abs(k - kk) > 1e-3 or not 0 <= kk < nz or inplane > 1e-3 * min(reference.spacing[1:]):
            raise DicomReadError(f"`ImagePositionPatient` of `{fn}` frame {i + 1} must lie on a slice of the "
                                 f"reference; got slice position {k:.4f} of {nz}")
        label[kk][on[i]] = segs[i]
    return Volume(label, reference.spacing, reference.origin, reference.direction, meta={"source": "dicom-seg"})


def _grid_from_frames(positions: np.ndarray, normal: np.ndarray, row: np.ndarray, col: np.ndarray,
                      spacing_rc: list[float], shape_rc: tuple[int, int], fn: str) -> Volume:
    proj = positions @ normal
    levels = np.unique(np.round(proj, 4))
    if levels.size > 1:
        steps = np.diff(levels)
        if not np.allclose(steps, steps[0], rtol=1e-3, atol=1e-3):
            raise DicomReadError(f"`reference` of `{fn}` must be given for a SEG whose frames are not equally "
                                 "spaced (e.g. empty frames omitted)")
        dz = float(steps[0])
    else:
        dz = 1.0
    first = positions[int(np.argmin(proj))]
    direction = np.column_stack([normal, col, row])
    shape = (int(levels.size), *shape_rc)
    return Volume(np.zeros(shape, np.uint8), (dz, spacing_rc[0], spacing_rc[1]), tuple(first), tuple(map(tuple, direction)))
