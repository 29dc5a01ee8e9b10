"""Volumetric overlap metrics: Dice, IoU (Jaccard), volume difference.

Empty-mask rules (documented contract)
--------------------------------------
* both masks empty: Dice and IoU are undefined; they return ``both_empty`` (default ``nan``,
  as DeepMind's surface-distance and MONAI's ``ignore_empty=True``). Pass ``both_empty=1.0``
  to score agreement on "nothing there" as perfect.
* exactly one mask empty: Dice = IoU = 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from validation.metrics._validate import check_mask_pair, check_spacing

__all__ = ["dice", "iou", "volume_difference"]


def _counts(p: np.ndarray, r: np.ndarray) -> tuple[int, int, int]:
    inter = int(np.count_nonzero(p & r))
    return inter, int(np.count_nonzero(p)), int(np.count_nonzero(r))


def dice(pred: Any, ref: Any, *, both_empty: float = float("nan")) -> float:
    """Sørensen–Dice coefficient ``2|P∩R| / (|P| + |R|)`` of two binary masks.

    Parameters
    ----------
    pred, ref : array_like of bool or 0/1, 2-D or 3-D, same shape
    both_empty : float
        Value returned when both masks are empty (default ``nan``: undefined).

    Returns
    -------
    float
        In [0, 1]. Symmetric in ``pred`` and ``ref``.

    References
    ----------
    Dice LR (1945). Measures of the amount of ecologic association between species.
    Ecology 26(3):297-302.
    """
    p, r = check_mask_pair(pred, ref, "dice")
    inter, np_, nr = _counts(p, r)
    if np_ + nr == 0:
        return float(both_empty)
    return 2.0 * inter / (np_ + nr)


def iou(pred: Any, ref: Any, *, both_empty: float = float("nan")) -> float:
    """Intersection over union (Jaccard index) ``|P∩R| / |P∪R|``; empty rules as `dice`."""
    p, r = check_mask_pair(pred, ref, "iou")
    inter, np_, nr = _counts(p, r)
    union = np_ + nr - inter
    if union == 0:
        return float(both_empty)
    return inter / union


def volume_difference(
    pred: Any, ref: Any, *, spacing: Sequence[float], relative: bool = False
) -> float:
    """Signed volume difference ``V(pred) − V(ref)``.

    Parameters
    ----------
    spacing : sequence of float
        Voxel size in mm, one value per array axis (array order).
    relative : bool
        If True return ``(V(pred) − V(ref)) / V(ref)`` (``nan`` when the reference is empty and
        the prediction too, ``inf`` when only the reference is empty).

    Returns
    -------
    float
        mm³ (or mm² for 2-D masks), or a dimensionless fraction when ``relative``.
    """
    p, r = check_mask_pair(pred, ref, "volume_difference")
    voxel = float(np.prod(check_spacing(spacing, p.ndim, "volume_difference")))
    vp = np.count_nonzero(p) * voxel
    vr = np.count_nonzero(r) * voxel
    if not relative:
        return vp - vr
    if vr == 0:
        return float("nan") if vp == 0 else float("inf")
    return (vp - vr) / vr
