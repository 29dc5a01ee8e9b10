"""Geometric steps: reorient, resample, crop/pad to shape, foreground bounding-box crop.

Every geometric step records the grid it started from, so `Step.inverse` can put a
prediction (label map or per-class probabilities) back on that grid.

References
----------
.. [1] Isensee F, et al. nnU-Net. Nat Methods 18, 203-211 (2021): resampling images with
   third-order splines, segmentations "label-wise" (each class resampled as a float mask,
   then argmax), cropping to the non-zero region.
.. [2] Lowekamp BC, Chen DT, Ibáñez L, Blezek D. The design of SimpleITK. Front Neuroinform 7,
   45 (2013).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from samd_core.errors import GeometryError
from samd_core.preprocess._patches import crop_pad_array
from samd_core.preprocess._spec import Grid, Step, v_choice, v_margin, v_number, v_optional_number, v_shape, v_spacing
from samd_core.volume import check_array_bytes

__all__ = ["CHUNK_BYTES", "CropForeground", "CropPad", "Reorient", "Resample", "resample_array"]

_LETTERS = {"L": (0, 1.0), "R": (0, -1.0), "P": (1, 1.0), "A": (1, -1.0), "S": (2, 1.0), "I": (2, -1.0)}
_ORIENTATIONS = tuple(
    "".join(p)
    for combo in itertools.product("LR", "PA", "SI")
    for p in itertools.permutations(combo)
)


def _v_orientation(v: Any, path: str) -> str:
    return v_choice(_ORIENTATIONS)(v, path)


def _channel_axis_offset(arr: np.ndarray, ndim: int) -> int:
    return arr.ndim - ndim


class Reorient(Step):
    """Permute and flip array axes (no interpolation) to the orientation closest to ``orientation``.

    ``orientation`` is a three-letter code in ITK/DICOM order (x, y, z) = array axes (2, 1, 0):
    ``"LPS"`` (default, DICOM) means array axis 2 runs towards patient Left, axis 1 towards
    Posterior, axis 0 towards Superior. Oblique directions keep their obliquity (only exact
    axis permutations/flips are applied, like nibabel's ``as_closest_canonical``).
    """

    op = "reorient"
    geometric = True
    schema = {"orientation": (_v_orientation, "LPS")}

    def _plan(self, grid: Grid) -> tuple[list[int], list[bool]]:
        if len(grid.shape) != 3:
            raise self.bad("op", "applied to a 3-D volume", f"{len(grid.shape)}-D volume")
        d = np.asarray(grid.direction)
        code = self.params["orientation"]
        targets = []
        for a in range(3):  # array axis a <-> letter for ITK axis 2 - a
            lps_axis, sign = _LETTERS[code[2 - a]]
            t = np.zeros(3)
            t[lps_axis] = sign
            targets.append(t)
        best, best_score = (0, 1, 2), -1.0
        for perm in itertools.permutations(range(3)):
            score = sum(abs(float(d[:, perm[i]] @ targets[i])) for i in range(3))
            if score > best_score + 1e-12:
                best, best_score = perm, score
        flips = [bool(d[:, best[i]] @ targets[i] < 0) for i in range(3)]
        return list(best), flips

    def _apply(self, arr: np.ndarray, grid: Grid, perm: list[int], flips: list[bool]) -> tuple[np.ndarray, Grid]:
        out = np.transpose(arr, perm)
        out = np.flip(out, axis=[i for i in range(3) if flips[i]]) if any(flips) else out
        d = np.asarray(grid.direction)
        new_d = np.stack([d[:, perm[i]] * (-1.0 if flips[i] else 1.0) for i in range(3)], axis=1)
        corner = np.array([(grid.shape[perm[i]] - 1) if flips[i] else 0 for i in range(3)], dtype=float)
        old_index = np.empty(3)
        old_index[perm] = corner
        origin = np.asarray(grid.origin) + d @ (np.asarray(grid.spacing) * old_index)
        new = Grid(
            tuple(grid.shape[p] for p in perm),
            tuple(grid.spacing[p] for p in perm),
            tuple(float(x) for x in origin),  # type: ignore[arg-type]
            tuple(tuple(float(x) + 0.0 for x in r) for r in new_d),  # + 0.0: no -0.0
        )
        return np.ascontiguousarray(out), new

    def forward(self, arr: np.ndarray, grid: Grid, kind: str) -> tuple[np.ndarray, Grid, dict[str, Any]]:
        perm, flips = self._plan(grid)
        out, new = self._apply(arr, grid, perm, flips)
        return out, new, {"op": self.op, "input": grid.to_dict(), "permutation": perm, "flips": flips}

    def replay(self, arr: np.ndarray, grid: Grid, rec: dict[str, Any], kind: str) -> tuple[np.ndarray, Grid]:
        return self._apply(arr, grid, list(rec["permutation"]), list(rec["flips"]))

    def inverse(self, arr: np.ndarray, rec: dict[str, Any], kind: str) -> np.ndarray:
        off = _channel_axis_offset(arr, 3)
        flips = [i + off for i in range(3) if rec["flips"][i]]
        out = np.flip(arr, axis=flips) if flips else arr
        inv = np.argsort(rec["permutation"])
        return np.ascontiguousarray(np.transpose(out, list(range(off)) + [int(i) + off for i in inv]))


def _target_grid(grid: Grid, spacing: tuple[float, ...]) -> tuple[Grid, np.ndarray]:
    """Grid at ``spacing`` covering the same physical box, centred on it; plus index offset."""
    n = np.asarray(grid.shape, dtype=float)
    s = np.asarray(grid.spacing)
    t = np.asarray(spacing)
    planned = np.maximum(1, np.round(n * s / t))
    what = (
        f"resampling shape {tuple(grid.shape)} from spacing {tuple(float(x) for x in s)} mm "
        f"to {tuple(float(x) for x in t)} mm (float32)"
    )
    if not np.all(np.isfinite(planned)):
        raise GeometryError(f"{what}: the output shape is not finite; refusing to allocate it")
    # the size is known before anything is allocated: absurd spacings (1e6 or 1e-6 mm) are refused
    check_array_bytes(tuple(int(x) for x in planned), 4, what)
    m = planned.astype(int)
    # new voxel 0 sits at this continuous index of the old grid (centres of both boxes coincide)
    offset_mm = (n - 1) * s / 2 - (m - 1) * t / 2
    moved = grid.shifted(offset_mm / s, tuple(int(x) for x in m))
    return Grid(moved.shape, tuple(float(x) for x in t), moved.origin, moved.direction), offset_mm


#: Input slab size (bytes) above which linear / nearest resampling of a 3-D array runs slab by
#: slab along axis 0. Slabs keep SimpleITK's buffers small enough to be reused by the allocator
#: (no page-fault storm on 100+ MB images) and the output is written into one numpy array.
CHUNK_BYTES = 24 << 20


def _sitk_resample(
    arr: np.ndarray,
    in_spacing: tuple[float, ...],
    out_shape: tuple[int, ...],
    out_spacing: tuple[float, ...],
    offset_mm: np.ndarray,
    interp: int,
    pixel: int | None,
) -> Any:
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(arr)
    img.SetSpacing([float(x) for x in reversed(in_spacing)])
    f = sitk.ResampleImageFilter()
    f.SetSize([int(x) for x in reversed(out_shape)])
    f.SetOutputSpacing([float(x) for x in reversed(out_spacing)])
    f.SetOutputOrigin([float(x) for x in reversed(offset_mm)])
    f.SetInterpolator(interp)
    f.SetUseNearestNeighborExtrapolator(True)
    f.SetOutputPixelType(pixel if pixel is not None else img.GetPixelID())
    return f.Execute(img)


def resample_array(
    arr: np.ndarray,
    in_spacing: tuple[float, ...],
    out_shape: tuple[int, ...],
    out_spacing: tuple[float, ...],
    offset_mm: Any,
    interpolation: str,
    out_dtype: Any,
) -> np.ndarray:
    """Resample a spatial array with SimpleITK between two axis-aligned grids.

    The grids share their direction, so the resampling is done in a local frame (identity
    direction, voxel 0 of the input at 0 mm); ``offset_mm`` is where output voxel 0 lies in
    that frame, per array axis. Points beyond the input use the nearest input voxel.

    Linear and nearest-neighbour resampling of large 3-D arrays runs in slabs along axis 0
    (each slab with a one-voxel halo, so every output voxel sees the same neighbours as in one
    pass; only the last bit of an interpolation weight can differ). B-spline resampling always
    runs in one pass (its prefilter is global).
    """
    import SimpleITK as sitk

    interp = {
        "linear": sitk.sitkLinear,
        "bspline": sitk.sitkBSpline,
        "nearest": sitk.sitkNearestNeighbor,
    }[interpolation]
    pixel = {np.dtype(np.float32): sitk.sitkFloat32, np.dtype(np.float64): sitk.sitkFloat64}.get(np.dtype(out_dtype))
    if arr.dtype == np.bool_:  # ITK has no boolean pixel type
        as_u8 = resample_array(arr.view(np.uint8), in_spacing, out_shape, out_spacing, offset_mm, interpolation,
                               np.uint8 if np.dtype(out_dtype) == np.bool_ else out_dtype)
        return as_u8.astype(np.bool_) if np.dtype(out_dtype) == np.bool_ else as_u8
    src = np.ascontiguousarray(arr)
    offset = np.asarray(offset_mm, dtype=float)
    if src.ndim != 3 or interpolation == "bspline" or src.nbytes <= CHUNK_BYTES:
        return sitk.GetArrayFromImage(_sitk_resample(src, in_spacing, out_shape, out_spacing, offset, interp, pixel))
    out = np.empty(out_shape, dtype=np.dtype(out_dtype))
    n0, s0, t0 = src.shape[0], in_spacing[0], out_spacing[0]
    slab_in = max(1, CHUNK_BYTES // max(1, src[0].nbytes))
    per_chunk = max(1, int(slab_in * s0 / t0) - 3)
    for k0 in range(0, out_shape[0], per_chunk):
        k1 = min(out_shape[0], k0 + per_chunk)
        lo = (offset[0] + k0 * t0) / s0  # continuous input index of the first/last output slice
        hi = (offset[0] + (k1 - 1) * t0) / s0
        z0 = min(max(0, int(np.floor(lo)) - 1), n0 - 1)
        z1 = max(min(n0, int(np.ceil(hi)) + 2), z0 + 1)
        sub_offset = offset.copy()
        sub_offset[0] = offset[0] + k0 * t0 - z0 * s0
        res = _sitk_resample(
            src[z0:z1], in_spacing, (k1 - k0, *out_shape[1:]), out_spacing, sub_offset, interp, pixel
        )
        out[k0:k1] = sitk.GetArrayViewFromImage(res)
        del res
    return out


def _labelwise(
    arr: np.ndarray, in_spacing: tuple[float, ...], shape: tuple[int, ...], spacing: tuple[float, ...], offset: Any
) -> np.ndarray:
    """Each label as a float mask resampled linearly; the label with the largest value wins (ties: lower label)."""
    labels = np.unique(arr)
    out = np.full(shape, labels[0], dtype=arr.dtype)
    best = None
    for lab in labels:
        r = resample_array((arr == lab).astype(np.float32), in_spacing, shape, spacing, offset, "linear", np.float32)
        if best is None:
            best = r
            continue
        win = r > best
        out[win] = lab
        np.maximum(best, r, out=best)
    return out


class Resample(Step):
    """Resample to ``spacing`` (mm, array order), preserving the physical extent.

    The new shape is ``round(n * s / t)`` per axis (at least 1), so the extent ``n * s`` changes
    by at most half an output voxel; both grids share their centre and direction. Images use
    ``image_interpolation`` (linear or third-order B-spline, output float32); label maps use
    ``label_interpolation`` (nearest neighbour, or "labelwise" [1]_).
    """

    op = "resample"
    geometric = True
    schema = {
        "spacing": (v_spacing, Step.REQUIRED),
        "image_interpolation": (v_choice(("linear", "bspline", "nearest")), "linear"),
        "label_interpolation": (v_choice(("nearest", "labelwise")), "nearest"),
    }

    def _check_dims(self, grid: Grid) -> None:
        if len(self.params["spacing"]) != len(grid.shape):
            raise self.bad("spacing", f"{len(grid.shape)} values for a {len(grid.shape)}-D volume", self.params["spacing"])

    def _run(self, arr: np.ndarray, grid: Grid, new: Grid, offset: Any, kind: str) -> np.ndarray:
        if kind == "image":
            return resample_array(arr, grid.spacing, new.shape, new.spacing, offset, self.params["image_interpolation"], np.float32)
        if self.params["label_interpolation"] == "labelwise":
            return _labelwise(arr, grid.spacing, new.shape, new.spacing, offset)
        return resample_array(arr, grid.spacing, new.shape, new.spacing, offset, "nearest", arr.dtype)

    def forward(self, arr: np.ndarray, grid: Grid, kind: str) -> tuple[np.ndarray, Grid, dict[str, Any]]:
        self._check_dims(grid)
        new, offset = _target_grid(grid, tuple(self.params["spacing"]))
        rec = {"op": self.op, "input": grid.to_dict(), "output": new.to_dict(), "offset_mm": [float(x) for x in offset]}
        return self._run(arr, grid, new, offset, kind), new, rec

    def replay(self, arr: np.ndarray, grid: Grid, rec: dict[str, Any], kind: str) -> tuple[np.ndarray, Grid]:
        new = Grid.from_dict(rec["output"])
        return self._run(arr, grid, new, rec["offset_mm"], kind), new

    def inverse(self, arr: np.ndarray, rec: dict[str, Any], kind: str) -> np.ndarray:
        src, dst = Grid.from_dict(rec["output"]), Grid.from_dict(rec["input"])
        back = -np.asarray(rec["offset_mm"], dtype=float)  # input voxel 0 in the output's local frame
        if kind == "probabilities":
            return np.stack(
                [resample_array(c, src.spacing, dst.shape, dst.spacing, back, "linear", np.float32) for c in arr]
            )
        if self.params["label_interpolation"] == "labelwise":
            return _labelwise(arr, src.spacing, dst.shape, dst.spacing, back)
        return resample_array(arr, src.spacing, dst.shape, dst.spacing, back, "nearest", arr.dtype)


def _pad_back(arr: np.ndarray, start: list[int], shape: tuple[int, ...], kind: str) -> np.ndarray:
    """Inverse of a crop/pad window at ``start``: outside voxels are background."""
    neg = tuple(-int(s) for s in start)
    if kind == "probabilities":
        out = crop_pad_array(arr, neg, shape, 0.0)
        inside = crop_pad_array(np.ones(arr.shape[1:], dtype=bool), neg, shape, False)
        out[0][~inside] = 1.0  # channel 0 = background
        return out
    return crop_pad_array(arr, neg, shape, 0)


class CropPad(Step):
    """Centre crop and/or pad to ``shape`` (voxels, array order).

    Window start per axis is ``(n - p) // 2`` (negative = padding). Images are padded with
    ``pad_value`` (in the image's units at this point of the pipeline), labels with 0.
    """

    op = "crop_pad"
    geometric = True
    schema = {"shape": (v_shape, Step.REQUIRED), "pad_value": (v_number, 0.0)}

    def _apply(self, arr: np.ndarray, grid: Grid, start: list[int], shape: tuple[int, ...], kind: str) -> tuple[np.ndarray, Grid]:
        pad = self.params.get("pad_value", 0.0) if kind == "image" else 0
        return crop_pad_array(arr, tuple(start), shape, pad), grid.shifted(start, shape)

    def forward(self, arr: np.ndarray, grid: Grid, kind: str) -> tuple[np.ndarray, Grid, dict[str, Any]]:
        shape = tuple(self.params["shape"])
        if len(shape) != len(grid.shape):
            raise self.bad("shape", f"{len(grid.shape)} values for a {len(grid.shape)}-D volume", list(shape))
        check_array_bytes((*arr.shape[: arr.ndim - len(shape)], *shape), arr.dtype.itemsize, f"{self.path}: crop/pad")
        start = [(n - p) // 2 for n, p in zip(grid.shape, shape, strict=True)]
        out, new = self._apply(arr, grid, start, shape, kind)
        return out, new, {"op": self.op, "input": grid.to_dict(), "start": start, "shape": list(shape)}

    def replay(self, arr: np.ndarray, grid: Grid, rec: dict[str, Any], kind: str) -> tuple[np.ndarray, Grid]:
        return self._apply(arr, grid, list(rec["start"]), tuple(rec["shape"]), kind)

    def inverse(self, arr: np.ndarray, rec: dict[str, Any], kind: str) -> np.ndarray:
        return _pad_back(arr, rec["start"], tuple(rec["input"]["shape"]), kind)


class CropForeground(CropPad):
    """Crop to the bounding box of the foreground plus ``margin`` voxels (clipped to the volume).

    Foreground: image voxels ``> threshold``, or ``!= 0`` when ``threshold`` is null (nnU-Net's
    non-zero crop [1]_); for a label map given alone, voxels ``!= 0``. An empty foreground keeps
    the whole volume (recorded as ``"empty": true``). To crop a label map with the image's box,
    use `Pipeline.replay` with the image's record.
    """

    op = "crop_foreground"
    geometric = True
    schema = {"threshold": (v_optional_number, None), "margin": (v_margin, [0])}

    def forward(self, arr: np.ndarray, grid: Grid, kind: str) -> tuple[np.ndarray, Grid, dict[str, Any]]:
        nd = len(grid.shape)
        margin = self.params["margin"]
        if len(margin) == 1:
            margin = margin * nd
        if len(margin) != nd:
            raise self.bad("margin", f"1 or {nd} values for a {nd}-D volume", margin)
        thr = self.params["threshold"]
        fg = arr > thr if (kind == "image" and thr is not None) else arr != 0
        idx = np.nonzero(fg)
        if idx[0].size == 0:
            start, shape, empty = [0] * nd, tuple(grid.shape), True
        else:
            lo = [max(0, int(i.min()) - m) for i, m in zip(idx, margin, strict=True)]
            hi = [min(n, int(i.max()) + 1 + m) for i, n, m in zip(idx, grid.shape, margin, strict=True)]
            start, shape, empty = lo, tuple(h - lo_ for h, lo_ in zip(hi, lo, strict=True)), False
        out, new = self._apply(arr, grid, start, shape, kind)
        rec = {"op": self.op, "input": grid.to_dict(), "start": start, "shape": list(shape), "empty": empty}
        return out, new, rec
