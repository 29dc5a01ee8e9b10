"""Explicit resize to a model's input shape: ``stretch`` or ``pad`` (keep the aspect ratio).

A model with a fixed input size (a 2-D classifier taking 224 x 224, say) gets its input through
this step only: samd never resizes silently. The physical box is kept: ``stretch`` changes the
voxel size per axis so that the image's extent maps onto ``shape``; ``pad`` first pads the image
(centred, with ``pad_value``) to the aspect ratio of ``shape``, then stretches. Interpolation is
SimpleITK's (`resample_array`), so resize and resample share one kernel. `Resize.inverse` puts a
prediction back on the original grid (labels nearest neighbour, probabilities linear).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from samd_core.preprocess._geometry import _pad_back, resample_array
from samd_core.preprocess._patches import crop_pad_array
from samd_core.preprocess._spec import Grid, Step, v_choice, v_number, v_shape

__all__ = ["Resize"]


class Resize(Step):
    """Resize to ``shape`` (voxels, array order) with ``aspect`` ``"stretch"`` or ``"pad"``.

    Parameters (spec keys)
    ----------------------
    shape : list of int
        Output shape, one value per spatial axis (2 or 3).
    interpolation : {"linear", "nearest", "bspline"}
        For images (output float32); label maps always use nearest neighbour.
    aspect : {"stretch", "pad"}
        ``"pad"`` keeps the aspect ratio in voxels by centred padding before stretching.
    pad_value : float
        Image value of padded voxels (image units at this point of the pipeline).
    """

    op = "resize"
    geometric = True
    schema = {
        "shape": (v_shape, Step.REQUIRED),
        "interpolation": (v_choice(("linear", "nearest", "bspline")), "linear"),
        "aspect": (v_choice(("stretch", "pad")), "stretch"),
        "pad_value": (v_number, 0.0),
    }

    def _plan(self, grid: Grid) -> dict[str, Any]:
        target = np.asarray(self.params["shape"], dtype=int)
        n = np.asarray(grid.shape, dtype=int)
        if len(target) != len(n):
            raise self.bad("shape", f"{len(n)} values for a {len(n)}-D image", self.params["shape"])
        if self.params["aspect"] == "pad":
            factor = float(np.max(n / target))
            padded = np.maximum(n, np.round(factor * target).astype(int))
        else:
            padded = n
        start = [int(x) for x in (n - padded) // 2]
        pgrid = grid.shifted(start, tuple(int(x) for x in padded))
        s = np.asarray(grid.spacing, dtype=float)
        t = s * padded / target
        offset_mm = (padded - 1) * s / 2 - (target - 1) * t / 2
        moved = pgrid.shifted(offset_mm / s, tuple(int(x) for x in target))
        out = Grid(moved.shape, tuple(float(x) for x in t), moved.origin, moved.direction)
        return {"op": self.op, "input": grid.to_dict(), "padded_start": start,
                "padded_shape": [int(x) for x in padded], "output": out.to_dict(),
                "offset_mm": [float(x) for x in offset_mm]}

    def _run(self, arr: np.ndarray, grid: Grid, rec: dict[str, Any], kind: str) -> np.ndarray:
        pad = self.params["pad_value"] if kind == "image" else 0
        padded = crop_pad_array(arr, tuple(rec["padded_start"]), tuple(rec["padded_shape"]), pad)
        out = Grid.from_dict(rec["output"])
        if kind == "image":
            return resample_array(padded, grid.spacing, out.shape, out.spacing, rec["offset_mm"],
                                  self.params["interpolation"], np.float32)
        return resample_array(padded, grid.spacing, out.shape, out.spacing, rec["offset_mm"], "nearest", arr.dtype)

    def forward(self, arr: np.ndarray, grid: Grid, kind: str) -> tuple[np.ndarray, Grid, dict[str, Any]]:
        rec = self._plan(grid)
        return self._run(arr, grid, rec, kind), Grid.from_dict(rec["output"]), rec

    def replay(self, arr: np.ndarray, grid: Grid, rec: dict[str, Any], kind: str) -> tuple[np.ndarray, Grid]:
        return self._run(arr, grid, rec, kind), Grid.from_dict(rec["output"])

    def inverse(self, arr: np.ndarray, rec: dict[str, Any], kind: str) -> np.ndarray:
        src, dst = Grid.from_dict(rec["output"]), Grid.from_dict(rec["input"])
        padded_shape = tuple(rec["padded_shape"])
        back = -np.asarray(rec["offset_mm"], dtype=float)
        if kind == "probabilities":
            up = np.stack([resample_array(c, src.spacing, padded_shape, dst.spacing, back, "linear", np.float32)
                           for c in arr])
        else:
            up = resample_array(arr, src.spacing, padded_shape, dst.spacing, back, "nearest", arr.dtype)
        return _pad_back(up, rec["padded_start"], dst.shape, kind)
