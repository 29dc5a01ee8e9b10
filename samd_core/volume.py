"""The `Volume` value class: voxels plus physical geometry, in one documented convention.

Convention (used everywhere in samd)
------------------------------------
* ``array`` is a numpy array whose axes are in **array order**: for 3-D ``(z, y, x)``, i.e.
  axis 0 is the slowest-varying (slice) axis, exactly what ``SimpleITK.GetArrayFromImage`` gives.
* ``spacing`` is the voxel size in **mm, one value per array axis, in array order**
  (``(sz, sy, sx)`` for 3-D).
* ``origin`` is the physical position, in **LPS patient coordinates (mm)** ordered
  ``(x, y, z)`` = (Left, Posterior, Superior), of the *centre* of voxel index ``(0, 0, 0)``.
* ``direction`` is a 3×3 matrix (tuple of rows) whose column ``a`` is the LPS unit vector
  along array axis ``a``. For 3-D: column 0 is the slice-normal direction (ITK's ``k``),
  column 2 the row direction (ITK's ``i``). ITK's own direction matrix is this matrix with its
  columns reversed; `to_sitk` / `from_sitk` do that conversion. The default (an axial image
  with ITK's identity direction) is therefore the anti-diagonal ``((0,0,1),(0,1,0),(1,0,0))``.

So for an index ``n = (n0, n1, n2)`` in array order::

    lps = origin + direction @ (spacing * n)

Colour (multi-channel) images
-----------------------------
A `Volume` made with ``channel_last=True`` holds a trailing channel axis: the array is
``(y, x, c)`` for a 2-D colour image (``(z, y, x, c)`` for 3-D), ``spacing`` has one value per
*spatial* axis, and `n_channels` is ``c``. Channel order is recorded in ``meta["channels"]``
(e.g. ``"RGB"``). Grey-scale volumes (``channel_last=False``, the default) are unchanged:
their array is purely spatial and `n_channels` is 1. A model that needs ``k`` channels checks
``volume.n_channels == k``.

Only non-identifying metadata is kept in ``meta`` (see `ALLOWED_META`); patient names, ids,
birth dates and accession numbers never enter a `Volume`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from samd_core.errors import GeometryError, InvalidParameterError

__all__ = ["ALLOWED_META", "MAX_ARRAY_BYTES", "Volume", "check_array_bytes", "empty_checked"]

#: Largest array (bytes) that readers and resamplers of the core will allocate: 16 GiB. Sizes
#: are computed from declared or planned shapes *before* allocating, and larger ones refused.
MAX_ARRAY_BYTES: int = 16 * 2**30


def check_array_bytes(shape: tuple[int, ...], itemsize: int, what: str, error: type[Exception] = GeometryError) -> int:
    """Bytes of an array of ``shape`` and ``itemsize``; raise ``error`` when above `MAX_ARRAY_BYTES`.

    Parameters
    ----------
    shape : tuple of int
        Planned array shape (voxels).
    itemsize : int
        Bytes per voxel.
    what : str
        What is being planned, with the parameters that led to ``shape`` (e.g. spacing in mm),
        for the message.
    error : exception class
        Raised when the size is too large (default `GeometryError`).

    Returns
    -------
    int
        The planned size in bytes (Python integers: no overflow).
    """
    n = 1
    for s in shape:
        n *= int(s)
    size = n * int(itemsize)
    if size > MAX_ARRAY_BYTES:
        raise error(
            f"{what}: the output would have shape {tuple(int(s) for s in shape)} = {size} bytes "
            f"({size / 2**30:.4g} GiB), above the limit of {MAX_ARRAY_BYTES} bytes; refusing to allocate it"
        )
    return size

def empty_checked(shape: tuple[int, ...], dtype: Any, what: str, error: type[Exception] = GeometryError) -> np.ndarray:
    """``numpy.empty(shape, dtype)`` after `check_array_bytes`; a MemoryError becomes ``error`` too.

    The allocation can still fail below `MAX_ARRAY_BYTES` when the process has less memory
    (e.g. an address-space limit): the caller then gets the same clear error, never a bare
    MemoryError.
    """
    size = check_array_bytes(shape, np.dtype(dtype).itemsize, what, error)
    try:
        return np.empty(shape, dtype=dtype)
    except MemoryError:
        raise error(
            f"{what}: cannot allocate shape {tuple(int(s) for s in shape)} = {size} bytes ({size / 2**30:.4g} GiB): "
            "not enough memory"
        ) from None


#: Metadata keys a `Volume` may carry. Everything else is dropped (no PHI can leak through).
ALLOWED_META: frozenset[str] = frozenset(
    {
        "modality",
        "manufacturer",
        "manufacturer_model",
        "convolution_kernel",
        "slice_thickness_mm",
        "kvp",
        "series_instance_uid",
        "photometric_interpretation",
        "rescale_applied",
        "gantry_tilt_deg",
        "gap_resampled",
        "source",
        "sop_class_uid",
        "monochrome1_inverted",
        "tilt_corrected",
        "images_excluded",
        "spacing_source",
        "channels",
        "modality_lut",
        "voi_lut",
        "voi_lut_applied",
        "sop_instance_uid",
    }
)


def _as_tuple(values: Any, n: int, name: str) -> tuple[float, ...]:
    out = tuple(float(v) for v in np.asarray(values, dtype=float).ravel())
    if len(out) != n:
        raise InvalidParameterError(name, "Volume", f"{n} values", values)
    return out


@dataclass(frozen=True, eq=False)
class Volume:
    """An image volume with its physical geometry (see the module docstring for the convention).

    Parameters
    ----------
    array : numpy.ndarray
        Voxel values, 2-D ``(y, x)`` or 3-D ``(z, y, x)``. Stored read-only (no copy is made;
        the caller must not keep writing to the array it passed in).
    spacing : sequence of float
        Voxel size in mm, one value per array axis, in array order. Must be > 0.
    origin : sequence of float
        LPS position (x, y, z) in mm of the centre of voxel (0, 0, 0). Always 3 values.
    direction : 3×3
        Column ``a`` = LPS unit vector of array axis ``a``. For 2-D arrays the first column is
        the slice normal and columns 1, 2 are the in-plane axes. Must be orthonormal.
    meta : mapping
        Non-identifying metadata, keys in `ALLOWED_META`; other keys are dropped.
    provenance : tuple of str
        Hashes of the processing specs that produced this volume, oldest first.
    """

    array: np.ndarray
    spacing: tuple[float, ...]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[tuple[float, float, float], ...] = (
        (0.0, 0.0, 1.0),
        (0.0, 1.0, 0.0),
        (1.0, 0.0, 0.0),
    )
    meta: Mapping[str, Any] = field(default_factory=dict)
    provenance: tuple[str, ...] = ()
    channel_last: bool = False

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if not isinstance(self.channel_last, bool):
            raise InvalidParameterError("channel_last", "Volume", "a bool", self.channel_last)
        spatial = arr.ndim - 1 if self.channel_last else arr.ndim
        if spatial not in (2, 3):
            allowed = "a 3-D (y, x, c) or 4-D (z, y, x, c) array" if self.channel_last else "a 2-D or 3-D array"
            raise InvalidParameterError("array", "Volume", allowed, f"ndim={arr.ndim}")
        if self.channel_last and arr.shape[-1] < 1:
            raise InvalidParameterError("array", "Volume", "at least 1 channel on the last axis", arr.shape)
        view = arr.view()
        view.flags.writeable = False
        object.__setattr__(self, "array", view)
        spacing = _as_tuple(self.spacing, spatial, "spacing")
        if not all(np.isfinite(s) and s > 0 for s in spacing):
            raise InvalidParameterError("spacing", "Volume", "finite values > 0 mm", spacing)
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", _as_tuple(self.origin, 3, "origin"))
        d = np.asarray(self.direction, dtype=float)
        if d.shape != (3, 3):
            raise InvalidParameterError("direction", "Volume", "a 3x3 matrix", self.direction)
        if not np.allclose(d.T @ d, np.eye(3), atol=1e-4):
            raise GeometryError(
                f"`direction` of `Volume` must be orthonormal; got {d.tolist()} "
                f"(max |D^T D - I| = {np.abs(d.T @ d - np.eye(3)).max():.3g})"
            )
        object.__setattr__(self, "direction", tuple(tuple(float(v) for v in row) for row in d))
        meta = {k: v for k, v in dict(self.meta).items() if k in ALLOWED_META}
        object.__setattr__(self, "meta", MappingProxyType(meta))
        object.__setattr__(self, "provenance", tuple(str(p) for p in self.provenance))

    # ------------------------------------------------------------------ geometry
    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape, in array order."""
        return tuple(self.array.shape)

    @property
    def n_channels(self) -> int:
        """Number of channels: the last axis for ``channel_last`` volumes, else 1 (grey-scale)."""
        return int(self.array.shape[-1]) if self.channel_last else 1

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """Array shape without the channel axis (equal to `shape` for grey-scale volumes)."""
        return tuple(self.array.shape[:-1]) if self.channel_last else tuple(self.array.shape)

    @property
    def direction_matrix(self) -> np.ndarray:
        """`direction` as a 3×3 float array (columns = LPS vectors of array axes)."""
        return np.asarray(self.direction, dtype=float)

    def affine(self) -> np.ndarray:
        """4×4 matrix mapping homogeneous array indices (array order) to LPS mm.

        For 2-D volumes the index vector is ``(0, n_y, n_x)`` padded with the slice axis.
        """
        sp = self.spacing if len(self.spacing) == 3 else (1.0, *self.spacing)
        a = np.eye(4)
        a[:3, :3] = self.direction_matrix * np.asarray(sp)[None, :]
        a[:3, 3] = self.origin
        return a

    def index_to_physical(self, index: Any) -> np.ndarray:
        """LPS coordinates (mm) of voxel centres; ``index`` has shape ``(..., ndim)`` in array order."""
        idx = np.asarray(index, dtype=float)
        if len(self.spacing) == 2:
            idx = np.concatenate([np.zeros(idx.shape[:-1] + (1,)), idx], axis=-1)
        aff = self.affine()
        return idx @ aff[:3, :3].T + aff[:3, 3]

    def physical_extent(self) -> tuple[float, ...]:
        """Physical size in mm covered by the voxels along each array axis (n × spacing)."""
        return tuple(n * s for n, s in zip(self.spatial_shape, self.spacing, strict=True))

    def same_grid(self, other: Volume, *, atol: float = 1e-6) -> bool:
        """True when ``other`` has the same shape, spacing, origin and direction (within ``atol`` mm)."""
        return (
            self.shape == other.shape
            and self.channel_last == other.channel_last
            and np.allclose(self.spacing, other.spacing, atol=atol)
            and np.allclose(self.origin, other.origin, atol=atol)
            and np.allclose(self.direction, other.direction, atol=atol)
        )

    # ------------------------------------------------------------------ derivation
    def with_array(self, array: np.ndarray, **changes: Any) -> Volume:
        """A new `Volume` on the same geometry (unless overridden) holding ``array``."""
        kwargs: dict[str, Any] = {
            "array": array,
            "spacing": self.spacing,
            "origin": self.origin,
            "direction": self.direction,
            "meta": dict(self.meta),
            "provenance": self.provenance,
            "channel_last": self.channel_last,
        }
        kwargs.update(changes)
        return Volume(**kwargs)

    def content_sha256(self) -> str:
        """SHA-256 over dtype, shape, voxel bytes (C order) and geometry: a bit-exact identity."""
        h = hashlib.sha256()
        h.update(str(self.array.dtype.str).encode())
        h.update(repr(self.shape).encode())
        h.update(np.ascontiguousarray(self.array).tobytes())
        h.update(repr((self.spacing, self.origin, self.direction)).encode())
        if self.channel_last:  # grey-scale hashes stay as in release 0.1.0
            h.update(b"channel_last")
        return h.hexdigest()

    # ------------------------------------------------------------------ SimpleITK
    def to_sitk(self) -> Any:
        """Convert to a ``SimpleITK.Image`` (ITK convention: spacing/direction in x, y, z order)."""
        import SimpleITK as sitk

        img = sitk.GetImageFromArray(np.ascontiguousarray(self.array), isVector=self.channel_last)
        nd = len(self.spacing)
        img.SetSpacing(tuple(reversed(self.spacing)))
        d = self.direction_matrix
        if nd == 3:
            img.SetOrigin(self.origin)
            img.SetDirection(tuple(d[:, ::-1].ravel()))
        else:
            # 2-D ITK images have a 2-D geometry: keep in-plane axes only.
            img.SetOrigin(self.origin[:2])
            sub = d[:2, 1:][:, ::-1]
            img.SetDirection(tuple(sub.ravel()))
        return img

    @classmethod
    def from_sitk(cls, image: Any, *, meta: Mapping[str, Any] | None = None) -> Volume:
        """Build from a ``SimpleITK.Image`` (2-D or 3-D; a vector image gives a ``channel_last`` volume)."""
        import SimpleITK as sitk

        arr = sitk.GetArrayFromImage(image)
        vector = image.GetNumberOfComponentsPerPixel() != 1
        nd = image.GetDimension()
        spacing = tuple(reversed(image.GetSpacing()))
        if nd == 3:
            itk_dir = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
            direction = itk_dir[:, ::-1]
            origin = tuple(image.GetOrigin())
        elif nd == 2:
            itk_dir = np.asarray(image.GetDirection(), dtype=float).reshape(2, 2)
            direction = np.zeros((3, 3))
            direction[:2, 1:] = itk_dir[:, ::-1]
            direction[:, 0] = np.cross(direction[:, 2], direction[:, 1])
            origin = (*image.GetOrigin(), 0.0)
        else:
            raise InvalidParameterError("image", "Volume.from_sitk", "a 2-D or 3-D image", f"dimension {nd}")
        return cls(arr, spacing, origin, tuple(map(tuple, direction)), meta=meta or {}, channel_last=vector)

    def __repr__(self) -> str:
        return (
            f"Volume(shape={self.shape}, dtype={self.array.dtype}, spacing={self.spacing}, "
            + (f"channels={self.n_channels}, " if self.channel_last else "")
            + f"origin={self.origin}, meta={dict(self.meta)})"
        )
