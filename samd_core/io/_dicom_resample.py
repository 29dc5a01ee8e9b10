"""Explicit, recorded resampling of irregular stacks: de-shearing a tilted series, filling gaps."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from samd_core.io._errors import GantryTiltError, SliceSpacingError
from samd_core.volume import empty_checked

__all__ = ["deshear", "fill_gaps"]


def deshear(
    stack: np.ndarray, offsets_mm: np.ndarray, pixel_spacing: tuple[float, float], fill: float
) -> tuple[np.ndarray, tuple[float, float]]:
    """Shift each slice in-plane so that all slices share one orthogonal grid.

    Slice ``k`` was acquired with its origin displaced in-plane by ``offsets_mm[k]`` =
    (along the column direction, along the row direction) mm from slice 0. The output grid is
    enlarged to hold every shifted slice (new pixels take ``fill``); linear interpolation.

    Returns
    -------
    out : numpy.ndarray
        float32 array ``(n, rows', columns')``.
    shift_mm : (float, float)
        In-plane displacement (column, row direction) of the output origin from slice 0's origin.
    """
    sy, sx = pixel_spacing
    lo = np.minimum(offsets_mm.min(axis=0), 0.0)
    hi = np.maximum(offsets_mm.max(axis=0), 0.0)
    extra = [math.ceil((hi[a] - lo[a]) / s - 1e-6) for a, s in enumerate((sy, sx))]
    n, rows, cols = stack.shape
    shape = (n, rows + extra[0], cols + extra[1])
    out = empty_checked(
        shape, np.float32, f"de-shearing with pixel spacing {pixel_spacing} mm and in-plane drift up to "
        f"{float(np.abs(offsets_mm).max()):.6g} mm", GantryTiltError,
    )
    for k in range(n):
        shift = ((offsets_mm[k, 0] - lo[0]) / sy, (offsets_mm[k, 1] - lo[1]) / sx)
        padded = np.full(out.shape[1:], fill, dtype=np.float32)
        padded[:rows, :cols] = stack[k]
        # Output pixel j comes from source pixel j - shift; the padding lies beyond the source.
        out[k] = ndimage.shift(padded, shift, order=1, mode="constant", cval=fill, prefilter=False)
    return out, (float(lo[0]), float(lo[1]))


def fill_gaps(stack: np.ndarray, positions_mm: np.ndarray, step_mm: float) -> tuple[np.ndarray, list[int]]:
    """Linearly interpolate the stack onto positions ``p0 + m * step_mm`` along the normal.

    Returns
    -------
    out : numpy.ndarray
        float32 array; slices that coincide (within 1e-3 mm) with a source slice are copied.
    interpolated : list of int
        Output slice indices that did not coincide with a source slice.
    """
    p0 = float(positions_mm[0])
    extent = float(positions_mm[-1]) - p0
    m = int(round(extent / step_mm)) + 1
    out = empty_checked(
        (m, *stack.shape[1:]), np.float32, f"gap filling at a step of {step_mm:.6g} mm over {extent:.6g} mm",
        SliceSpacingError,
    )
    targets = p0 + step_mm * np.arange(m)
    interpolated = []
    for i, t in enumerate(targets):
        j = int(np.searchsorted(positions_mm, t))
        if j < len(positions_mm) and abs(positions_mm[j] - t) < 1e-3:
            out[i] = stack[j]
            continue
        if j > 0 and abs(positions_mm[j - 1] - t) < 1e-3:
            out[i] = stack[j - 1]
            continue
        j = min(max(j, 1), len(positions_mm) - 1)
        w = (t - positions_mm[j - 1]) / (positions_mm[j] - positions_mm[j - 1])
        out[i] = (1 - w) * stack[j - 1].astype(np.float64) + w * stack[j]
        interpolated.append(i)
    return out, interpolated
