"""Lesions of a binary mask: the one connected-component extractor every samd package uses.

Coordinate frames (stated once, used everywhere)
-----------------------------------------------
* **index** (array order, ``(z, y, x)`` in 3-D): the mean voxel index of a component.
* **array-frame mm** (array order): ``index × spacing``; no origin, no direction. Two masks on
  the same grid can be compared in it, but it is not a patient position.
* **LPS mm** (``(x, y, z)``, DICOM patient frame): ``origin + direction @ (spacing × index)``,
  the convention of `samd_core.volume.Volume` (``direction`` columns are the LPS unit vectors
  of the array axes). This is the frame of reference lesion lists (``lesions.csv``: centres in
  LPS mm of the series) and of a locked model's ``Lesion.centre_lps_mm``.

The size of a component is its voxel count × voxel volume (mm³); its equivalent diameter is
that of the sphere of equal volume, ``(6 V / π)^(1/3)`` (3-D), or of the disc of equal area,
``2 (A / π)^(1/2)`` (2-D).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from samd_core.checks import as_array, check_number
from samd_core.errors import InvalidParameterError

__all__ = ["LesionTable", "extract_lesions"]

FN = "extract_lesions"


@dataclass(frozen=True, eq=False)
class LesionTable:
    """Connected components of a mask, one row per lesion, in label (scan) order.

    Attributes
    ----------
    index : numpy.ndarray, shape (n, ndim)
        Centroid (mean voxel index), array order.
    centre_mm : numpy.ndarray, shape (n, ndim)
        Centroid in the array frame, ``index × spacing`` (mm, array order).
    centre_lps_mm : numpy.ndarray, shape (n, 3)
        Centroid in LPS patient coordinates ``(x, y, z)`` (mm).
    bbox_mm : numpy.ndarray, shape (n, 2, ndim)
        Min and max corner of the component's voxel extent in the array frame (mm); voxel
        ``i`` spans ``[(i - 0.5) s, (i + 0.5) s]``.
    n_voxels : numpy.ndarray of int, shape (n,)
    volume_mm3 : numpy.ndarray, shape (n,)
        ``n_voxels ×`` voxel volume (mm³; mm² for 2-D masks).
    equivalent_diameter_mm : numpy.ndarray, shape (n,)
    max_value : numpy.ndarray, shape (n,)
        Largest value of ``values`` inside the component (1.0 when no values were given).
    """

    index: np.ndarray
    centre_mm: np.ndarray
    centre_lps_mm: np.ndarray
    bbox_mm: np.ndarray
    n_voxels: np.ndarray
    volume_mm3: np.ndarray
    equivalent_diameter_mm: np.ndarray
    max_value: np.ndarray

    def __len__(self) -> int:
        return int(self.n_voxels.size)


def _geometry(
    ndim: int, spacing: Sequence[float], origin: Sequence[float] | None, direction: Any
) -> tuple[tuple[float, ...], np.ndarray]:
    sp = as_array(spacing, "spacing", FN, ndim=1, shape=(ndim,), dtype_kinds="iuf", finite=True)
    if np.any(sp <= 0):
        raise InvalidParameterError("spacing", FN, f"{ndim} finite values > 0 (mm, array order)", tuple(sp.tolist()))
    o = np.zeros(3) if origin is None else as_array(origin, "origin", FN, shape=(3,), dtype_kinds="iuf", finite=True)
    d = np.eye(3) if direction is None else as_array(direction, "direction", FN, shape=(3, 3), dtype_kinds="iuf", finite=True)
    if not np.allclose(d.T @ d, np.eye(3), atol=1e-6):
        raise InvalidParameterError("direction", FN, "an orthonormal 3x3 matrix (columns: LPS axes of the array axes)",
                                    np.asarray(d).tolist())
    # the affine of `Volume.affine`, built the same way so LPS centres are bit-identical to it
    sp3 = tuple(float(s) for s in sp) if ndim == 3 else (1.0, *(float(s) for s in sp))
    aff = np.eye(4)
    aff[:3, :3] = np.asarray(d, dtype=float) * np.asarray(sp3)[None, :]
    aff[:3, 3] = tuple(float(v) for v in o)
    return tuple(float(s) for s in sp), aff


def extract_lesions(
    mask: Any,
    *,
    spacing: Sequence[float],
    origin: Sequence[float] | None = None,
    direction: Any = None,
    connectivity: int | None = None,
    values: Any = None,
    min_volume_mm3: float = 0.0,
) -> LesionTable:
    """Connected components of a binary mask as lesions, in index, array-frame mm and LPS mm.

    Parameters
    ----------
    mask : array_like, 2-D or 3-D
        Binary mask (bool or 0/1 numbers).
    spacing : sequence of float
        Voxel size in mm, one per array axis, array order.
    origin : sequence of 3 float, optional
        LPS position (mm) of voxel 0; default ``(0, 0, 0)``.
    direction : 3×3 array_like, optional
        Orthonormal matrix whose column ``a`` is the LPS unit vector of array axis ``a``
        (`Volume.direction`); default identity. With the defaults, LPS mm equals the array
        frame mm only up to the axis order (LPS is ``(x, y, z)``).
    connectivity : int, optional
        Neighbourhood of `scipy.ndimage.generate_binary_structure`: 1 (faces) to ``ndim``
        (full: 26-neighbourhood in 3-D, the default).
    values : array_like, optional
        Values on the mask's grid (e.g. a probability map); ``max_value`` is their maximum per
        lesion.
    min_volume_mm3 : float
        Components smaller than this (mm³) are dropped.

    Returns
    -------
    LesionTable
        One row per lesion, in label (raster-scan) order.

    Raises
    ------
    InvalidParameterError
        A mask that is not 2-D/3-D binary, bad geometry, ``values`` of another shape.
    """
    m = as_array(mask, "mask", FN, ndim=(2, 3), dtype_kinds="biuf")
    if m.dtype != bool:
        bad = (m != 0) & (m != 1)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InvalidParameterError("mask", FN, "a binary mask with values 0/1", f"{m[where]!r} at index {where}")
        m = m != 0
    sp, aff = _geometry(m.ndim, spacing, origin, direction)
    conn = m.ndim if connectivity is None else connectivity
    if isinstance(conn, bool) or not isinstance(conn, (int, np.integer)) or not 1 <= int(conn) <= m.ndim:
        raise InvalidParameterError("connectivity", FN, f"an integer in [1, {m.ndim}]", connectivity)
    min_vol = check_number(min_volume_mm3, "min_volume_mm3", FN, low=0.0)
    vals = None
    if values is not None:
        vals = as_array(values, "values", FN, shape=m.shape, dtype_kinds="biuf")
    structure = ndimage.generate_binary_structure(m.ndim, int(conn))
    comps, n = ndimage.label(m, structure=structure)
    voxel_mm3 = float(np.prod(sp))
    if n == 0:
        z = np.zeros(0)
        return LesionTable(np.zeros((0, m.ndim)), np.zeros((0, m.ndim)), np.zeros((0, 3)), np.zeros((0, 2, m.ndim)),
                           np.zeros(0, dtype=np.int64), z, z.copy(), z.copy())
    ids = np.arange(1, n + 1)
    counts = np.asarray(ndimage.sum_labels(np.ones_like(comps), comps, ids)).astype(np.int64)
    index = np.asarray(ndimage.center_of_mass(np.ones_like(comps, dtype=np.float64), comps, ids), dtype=float).reshape(n, m.ndim)
    slices = ndimage.find_objects(comps)
    bbox = np.array([[[s.start for s in sl], [s.stop for s in sl]] for sl in slices], dtype=float).reshape(n, 2, m.ndim)
    bbox = (bbox - 0.5) * np.asarray(sp)  # voxel i spans [(i - 0.5) s, (i + 0.5) s]
    if vals is None:
        maxv = np.ones(n)
    else:
        maxv = np.array([float(v) for v in ndimage.maximum(vals, comps, ids)])
    volume = np.array([float(c) * voxel_mm3 for c in counts])
    if m.ndim == 3:
        diam = np.array([float((6.0 * v / np.pi) ** (1.0 / 3.0)) for v in volume])
    else:
        diam = 2.0 * np.sqrt(volume / np.pi)
    lps = np.empty((n, 3))
    for i in range(n):  # one vector at a time, exactly as `Volume.index_to_physical`
        idx = np.asarray(tuple(float(c) for c in index[i]))
        if m.ndim == 2:
            idx = np.concatenate([np.zeros(1), idx])
        lps[i] = idx @ aff[:3, :3].T + aff[:3, 3]
    keep = volume >= min_vol
    return LesionTable(
        index=index[keep],
        centre_mm=index[keep] * np.asarray(sp),
        centre_lps_mm=lps[keep],
        bbox_mm=bbox[keep],
        n_voxels=counts[keep],
        volume_mm3=volume[keep],
        equivalent_diameter_mm=diam[keep],
        max_value=maxv[keep],
    )
