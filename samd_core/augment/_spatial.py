"""Spatial transforms: flips, 90-degree rotations, affine rotation/scale, elastic deformation.

Image and label move together; labels are resampled with nearest-neighbour interpolation
(order 0), so no new label values appear. Axes are *spatial* axes (0 = first axis after the
channel axis, i.e. z for 3-D arrays).

References
----------
.. [1] Simard PY, Steinkraus D, Platt JC. Best practices for convolutional neural networks
   applied to visual document analysis. ICDAR 2003 (elastic deformation).
.. [2] Pérez-García F, et al. TorchIO. Comput Methods Programs Biomed 208, 106236 (2021)
   (elastic deformation from a coarse grid of control points, borders locked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from samd_core.augment._base import (
    RandomTransform,
    check_pair,
    float_image,
    label_channels,
    restore_label,
)
from samd_core.errors import InvalidParameterError
from samd_core.checks import check_probability, int_tuple

__all__ = ["RandomAffine", "RandomElastic", "RandomFlip", "RandomRot90"]

BorderMode = Literal["constant", "nearest", "reflect", "mirror"]
_MODES = ("constant", "nearest", "reflect", "mirror")


def _axes(value: Any, field: str, fn: str) -> tuple[int, ...]:
    axes = int_tuple(value, None, field, fn, minimum=0)
    if len(set(axes)) != len(axes) or max(axes) > 2:
        raise InvalidParameterError(field, fn, "distinct spatial axes in {0, 1, 2}", value)
    return tuple(sorted(axes))


def _check_axes_fit(axes: Sequence[int], spatial_ndim: int, fn: str) -> None:
    if max(axes, default=-1) >= spatial_ndim:
        raise InvalidParameterError("axes", fn, f"axes < {spatial_ndim} for this image", list(axes))


def _mode(value: Any, fn: str) -> str:
    if value not in _MODES:
        raise InvalidParameterError("mode", fn, f"one of {list(_MODES)}", value, options=_MODES)
    return str(value)


class RandomFlip(RandomTransform):
    """Flip each of ``axes`` independently with probability ``p_per_axis``.

    ``axes=None`` (default) means every spatial axis of the image (2 or 3).
    Params recorded: ``{"axes": [flipped spatial axes]}``.
    """

    name = "flip"

    def __init__(self, axes: Sequence[int] | None = None, *, p_per_axis: float = 0.5) -> None:
        self.axes = None if axes is None else _axes(axes, "axes", "RandomFlip")
        self.p_per_axis = check_probability(p_per_axis, "p_per_axis", "RandomFlip")

    @property
    def config(self) -> dict[str, Any]:
        return {"axes": None if self.axes is None else list(self.axes), "p_per_axis": self.p_per_axis}

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        axes = tuple(range(len(image_shape) - 1)) if self.axes is None else self.axes
        _check_axes_fit(axes, len(image_shape) - 1, "RandomFlip")
        u = rng.random(len(axes))
        return {"axes": [a for a, x in zip(axes, u, strict=True) if x < self.p_per_axis]}

    def apply(self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        nd = image.ndim - 1
        axes = [int(a) for a in params["axes"]]
        _check_axes_fit(axes, nd, "RandomFlip.apply")
        img = np.ascontiguousarray(np.flip(image, axis=[a + 1 for a in axes])) if axes else image.copy()
        if label is None:
            return img, None
        off = label.ndim - nd
        lbl = np.ascontiguousarray(np.flip(label, axis=[a + off for a in axes])) if axes else label.copy()
        return img, lbl


class RandomRot90(RandomTransform):
    """Rotate by ``k`` × 90° (k uniform in {0, 1, 2, 3}) in one plane drawn from ``planes``.

    ``planes=None`` (default) means the in-plane axes: ``(1, 2)`` for 3-D images, ``(0, 1)``
    for 2-D. Params recorded: ``{"k": int, "plane": [a, b]}`` (rotation from axis a towards
    axis b, as `numpy.rot90`). Non-square planes change the shape.
    """

    name = "rot90"

    def __init__(self, planes: Sequence[Sequence[int]] | None = None) -> None:
        self.planes: tuple[tuple[int, ...], ...] | None = None
        if planes is None:
            return
        ps = []
        for i, p in enumerate(planes):
            pair = int_tuple(p, 2, f"planes[{i}]", "RandomRot90", minimum=0)
            if pair[0] == pair[1] or max(pair) > 2:
                raise InvalidParameterError(f"planes[{i}]", "RandomRot90", "two distinct spatial axes in {0, 1, 2}", p)
            ps.append(pair)
        if not ps:
            raise InvalidParameterError("planes", "RandomRot90", "at least one plane", planes)
        self.planes = tuple(ps)

    @property
    def config(self) -> dict[str, Any]:
        return {"planes": None if self.planes is None else [list(p) for p in self.planes]}

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        planes = self.planes if self.planes is not None else (((1, 2),) if len(image_shape) == 4 else ((0, 1),))
        plane = planes[int(rng.integers(len(planes)))]
        _check_axes_fit(plane, len(image_shape) - 1, "RandomRot90")
        return {"k": int(rng.integers(4)), "plane": list(plane)}

    def apply(self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        k, (a, b) = int(params["k"]), params["plane"]
        nd = image.ndim - 1
        _check_axes_fit((a, b), nd, "RandomRot90.apply")
        img = np.rot90(image, k, axes=(a + 1, b + 1)).copy()  # copy: k = 0 would return a view
        if label is None:
            return img, None
        off = label.ndim - nd
        return img, np.rot90(label, k, axes=(a + off, b + off)).copy()


def _rotation(angles_rad: Sequence[float], nd: int) -> np.ndarray:
    """Rotation matrix in array-index space: 2-D one angle; 3-D about axes 0, 1, 2 in turn."""
    if nd == 2:
        (t,) = angles_rad
        return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    m = np.eye(3)
    for axis, t in enumerate(angles_rad):
        i, j = [a for a in range(3) if a != axis]
        r = np.eye(3)
        r[i, i], r[i, j], r[j, i], r[j, j] = np.cos(t), -np.sin(t), np.sin(t), np.cos(t)
        m = r @ m
    return m


def _resample_channels(
    arr: np.ndarray, matrix: np.ndarray, offset: np.ndarray, order: int, mode: str, cval: float
) -> np.ndarray:
    out = np.empty_like(arr)
    for c in range(arr.shape[0]):
        ndimage.affine_transform(arr[c], matrix, offset=offset, output=out[c], order=order, mode=mode, cval=cval)
    return out


class RandomAffine(RandomTransform):
    """Rotation (degrees, uniform per axis) and scaling (uniform factor) about the array centre.

    Parameters
    ----------
    rotation_deg : (low, high)
        Range of each rotation angle in degrees (3-D: one angle about each of the three
        spatial axes; 2-D: one in-plane angle).
    scale : (low, high)
        Range of the zoom factor (> 1 enlarges the content).
    isotropic : bool
        One scale factor for all axes (default) or one per axis.
    image_order : {1, 3}
        Spline order for the image (linear or cubic); labels always use order 0.
    mode, cval
        Border handling for the image (`scipy.ndimage` modes); labels use ``constant`` 0.

    Params recorded: ``{"angles_deg": [...], "scale": [per axis]}``.
    """

    name = "affine"

    def __init__(
        self,
        rotation_deg: Any = (-15.0, 15.0),
        scale: Any = (0.85, 1.25),
        *,
        isotropic: bool = True,
        image_order: int = 1,
        mode: BorderMode = "constant",
        cval: float = 0.0,
    ) -> None:
        fn = "RandomAffine"
        self.rotation_deg = check_pair(rotation_deg, "rotation_deg", fn, low=-180, high=180)
        self.scale = check_pair(scale, "scale", fn, low=1e-3)
        self.isotropic = bool(isotropic)
        if image_order not in (1, 3):
            raise InvalidParameterError("image_order", fn, "1 (linear) or 3 (cubic)", image_order)
        self.image_order = int(image_order)
        self.mode = _mode(mode, fn)
        self.cval = float(cval)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "rotation_deg": list(self.rotation_deg),
            "scale": list(self.scale),
            "isotropic": self.isotropic,
            "image_order": self.image_order,
            "mode": self.mode,
            "cval": self.cval,
        }

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        nd = len(image_shape) - 1
        angles = rng.uniform(*self.rotation_deg, size=1 if nd == 2 else 3)
        scale = rng.uniform(*self.scale, size=1 if self.isotropic else nd)
        scale = np.repeat(scale, nd) if self.isotropic else scale
        return {"angles_deg": [float(a) for a in angles], "scale": [float(s) for s in scale]}

    def apply(self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        nd = image.ndim - 1
        rot = _rotation(np.deg2rad(np.asarray(params["angles_deg"], dtype=float)), nd)
        # output index o maps to input index  R^T (o - c) / s + c  (pull-back of a forward rotate+zoom)
        matrix = rot.T / np.asarray(params["scale"], dtype=float)[:, None]
        centre = (np.asarray(image.shape[1:], dtype=float) - 1) / 2
        offset = centre - matrix @ centre
        img = _resample_channels(float_image(image), matrix, offset, self.image_order, self.mode, self.cval)
        if label is None:
            return img, None
        lbl = _resample_channels(label_channels(label, nd), matrix, offset, 0, "constant", 0)
        return img, restore_label(lbl, label, nd)


def _interp_matrix(n: int, g: int) -> np.ndarray:
    """(n, g) cubic B-spline interpolation weights from g control points spanning n voxels."""
    coords = np.linspace(0, g - 1, n)
    w = np.empty((n, g))
    for j in range(g):
        e = np.zeros(g)
        e[j] = 1.0
        w[:, j] = ndimage.map_coordinates(e, coords[None], order=3, mode="nearest")
    return w


class RandomElastic(RandomTransform):
    """Elastic deformation from a coarse grid of control points (TorchIO's scheme [2]_).

    Displacements (voxels) are drawn uniformly in ``[-max_displacement, max_displacement]`` at
    ``num_control_points`` per axis, the outermost control points are locked to 0, and the
    field is interpolated to every voxel with cubic B-splines. Image: linear interpolation;
    labels: nearest neighbour.

    Params recorded: ``{"displacement": nested list (ndim, g, g[, g])}`` in voxels.
    """

    name = "elastic"

    def __init__(
        self,
        num_control_points: int = 7,
        max_displacement: float = 4.0,
        *,
        mode: BorderMode = "nearest",
        cval: float = 0.0,
    ) -> None:
        fn = "RandomElastic"
        self.num_control_points = int_tuple(num_control_points, 1, "num_control_points", fn, minimum=4)[0]
        self.max_displacement = check_pair(max_displacement, "max_displacement", fn, low=0)[0]
        self.mode = _mode(mode, fn)
        self.cval = float(cval)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "num_control_points": self.num_control_points,
            "max_displacement": self.max_displacement,
            "mode": self.mode,
            "cval": self.cval,
        }

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        nd, g = len(image_shape) - 1, self.num_control_points
        d = rng.uniform(-self.max_displacement, self.max_displacement, size=(nd,) + (g,) * nd)
        inner = (slice(None),) + (slice(1, g - 1),) * nd
        locked = np.zeros_like(d)
        locked[inner] = d[inner]
        return {"displacement": locked.tolist()}

    def apply(self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        nd = image.ndim - 1
        coarse = np.asarray(params["displacement"], dtype=float)
        if coarse.ndim != nd + 1 or coarse.shape[0] != nd:
            raise InvalidParameterError("params.displacement", "RandomElastic.apply", f"shape ({nd}, g, ...)", coarse.shape)
        spatial = image.shape[1:]
        field = coarse
        for axis, n in enumerate(spatial):  # separable cubic interpolation, one axis at a time
            w = _interp_matrix(n, coarse.shape[axis + 1])
            field = np.moveaxis(np.tensordot(w, field, axes=([1], [axis + 1])), 0, axis + 1)
        grid = np.indices(spatial, dtype=float)
        coords = grid + field
        img_f = float_image(image)
        img = np.empty_like(img_f)
        for c in range(image.shape[0]):
            ndimage.map_coordinates(img_f[c], coords, output=img[c], order=1, mode=self.mode, cval=self.cval)
        if label is None:
            return img, None
        lc = label_channels(label, nd)
        lbl = np.empty_like(lc)
        for c in range(lc.shape[0]):
            ndimage.map_coordinates(lc[c], coords, output=lbl[c], order=0, mode="nearest")
        return img, restore_label(lbl, label, nd)


