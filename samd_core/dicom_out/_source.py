"""The source DICOM images of a volume, in the volume's slice order (headers only, no pixels)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from samd_core.errors import DicomError
from samd_core.volume import Volume

__all__ = ["source_datasets"]


def source_datasets(source: str | os.PathLike[str], volume: Volume) -> list[Any]:
    """Headers of the single-frame images of ``volume``'s series, element ``k`` = slice ``k``.

    ``source`` is the series folder or one of its files; ``volume`` any volume on the series'
    grid (the image read from it, or a prediction's label map). The series is the one named in
    ``volume.meta`` (``series_instance_uid``), else that of the file given, else the folder's. Each image is placed by projecting its
    ImagePositionPatient on the volume's slice normal; every slice must be matched exactly once
    (to 1e-3 of the slice spacing), so a derived object references exactly the images the
    volume was read from.

    Raises
    ------
    DicomError
        The images are multi-frame, or they do not match the volume's slices one to one.
    """
    import pydicom

    p = Path(source)
    if len(volume.spacing) == 2 and p.is_file():  # a single-frame projection image is its own source
        return [pydicom.dcmread(p, stop_before_pixels=True)]
    folder = p if p.is_dir() else p.parent
    uid = volume.meta.get("series_instance_uid")
    if not uid and not p.is_dir():
        uid = str(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SeriesInstanceUID"]).SeriesInstanceUID)
    d = volume.direction_matrix
    normal, origin, dz = d[:, 0], np.asarray(volume.origin), float(volume.spacing[0])
    n = volume.shape[0]
    slots: list[Any] = [None] * n
    for f in sorted(folder.iterdir(), key=lambda q: q.name):
        if not f.is_file():
            continue
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - non-DICOM files in the folder are skipped
            continue
        if "ImagePositionPatient" not in ds or (uid and str(getattr(ds, "SeriesInstanceUID", "")) != uid):
            continue
        if not uid:
            uid = str(getattr(ds, "SeriesInstanceUID", ""))
        if int(getattr(ds, "NumberOfFrames", 1) or 1) != 1:
            raise DicomError("`source` of `source_datasets` must be single-frame images; got a multi-frame image")
        pos = (np.asarray([float(v) for v in ds.ImagePositionPatient]) - origin) @ normal / dz
        k = int(round(pos))
        if abs(pos - k) > 1e-3 or not 0 <= k < n or slots[k] is not None:
            raise DicomError(f"`source` of `source_datasets` must hold one image per slice of the volume; "
                             f"an image lies at slice position {pos:.4f} of {n}")
        slots[k] = ds
    missing = [k for k, s in enumerate(slots) if s is None]
    if missing:
        raise DicomError(f"`source` of `source_datasets` must hold one image per slice of the volume; "
                         f"{len(missing)} slice(s) have no image (first: {missing[0]})")
    return slots
