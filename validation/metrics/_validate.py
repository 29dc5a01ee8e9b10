"""Input validation shared by the segmentation metrics."""

from __future__ import annotations

from typing import Any

import numpy as np

from samd_core.errors import InvalidParameterError

__all__ = ["check_mask", "check_mask_pair", "check_spacing"]


def check_mask(mask: Any, name: str, function: str) -> np.ndarray:
    """Return ``mask`` as a boolean array; refuse anything that is not 0/1 or bool, 2-D or 3-D."""
    arr = np.asarray(mask)
    if arr.ndim not in (2, 3):
        raise InvalidParameterError(name, function, "a 2-D or 3-D binary mask", f"array of ndim {arr.ndim}")
    if arr.size == 0:
        raise InvalidParameterError(name, function, "a non-empty array", f"shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidParameterError(name, function, "a boolean or 0/1 numeric array", f"dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidParameterError(
            name, function, "a binary mask with values 0/1", f"{arr[where]!r} at index {where}"
        )
    return arr.astype(bool)


def check_spacing(spacing: Any, ndim: int, function: str) -> tuple[float, ...]:
    """Spacing in mm, one finite value > 0 per array axis, in array-axis order."""
    if spacing is None:
        raise InvalidParameterError(
            "spacing", function, f"{ndim} voxel sizes in mm (one per array axis)", None
        )
    sp = np.atleast_1d(np.asarray(spacing, dtype=float))
    if sp.ndim != 1 or sp.size != ndim:
        raise InvalidParameterError(
            "spacing", function, f"{ndim} values (mm, one per array axis, array order)", spacing
        )
    if not np.all(np.isfinite(sp)) or np.any(sp <= 0):
        raise InvalidParameterError("spacing", function, "finite values > 0 mm", spacing)
    return tuple(float(s) for s in sp)


def check_mask_pair(pred: Any, ref: Any, function: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (pred, ref) pair of binary masks of the same shape."""
    p = check_mask(pred, "pred", function)
    r = check_mask(ref, "ref", function)
    if p.shape != r.shape:
        raise InvalidParameterError("ref", function, f"the same shape as `pred` {p.shape}", f"shape {r.shape}")
    return p, r
