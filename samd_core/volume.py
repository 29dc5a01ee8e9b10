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

__all__ = ["ALLOWED_META", "Volume"]

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

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim not in (2, 3):
            raise InvalidParameterError("array", "Volume", "a 2-D or 3-D array", f"ndim={arr.ndim}")
        view = arr.view()
        view.flags.writeable = False
        object.__setattr__(self, "array", view)
        spacing = _as_tuple(self.spacing, arr.ndim, "spacing")
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
    def direction_matrix(self) -> np.ndarray:
        """`direction` as a 3×3 float array (columns = LPS vectors of array axes)."""
        return np.asarray(self.direction, dtype=float)

    def affine(self) -> np.ndarray:
        """4×4 matrix mapping homogeneous array indices (array order) to LPS mm.

        For 2-D volumes the index vector is ``(0, n_y, n_x)`` padded with the slice axis.
        """
        sp = self.spacing if self.array.ndim == 3 else (1.0, *self.spacing)
        a = np.eye(4)
        a[:3, :3] = self.direction_matrix * np.asarray(sp)[None, :]
        a[:3, 3] = self.origin
        return a

    def index_to_physical(self, index: Any) -> np.ndarray:
        """LPS coordinates (mm) of voxel centres; ``index`` has shape ``(..., ndim)`` in array order."""
        idx = np.asarray(index, dtype=float)
        if self.array.ndim == 2:
            idx = np.concatenate([np.zeros(idx.shape[:-1] + (1,)), idx], axis=-1)
        aff = self.affine()
        return idx @ aff[:3, :3].T + aff[:3, 3]

    def physical_extent(self) -> tuple[float, ...]:
        """Physical size in mm covered by the voxels along each array axis (n × spacing)."""
        return tuple(n * s for n, s in zip(self.array.shape, self.spacing, strict=True))

    def same_grid(self, other: Volume, *, atol: float = 1e-6) -> bool:
        """True when ``other`` has the same shape, spacing, origin and direction (within ``atol`` mm)."""
        return (
            self.shape == other.shape
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
        return h.hexdigest()

    # ------------------------------------------------------------------ SimpleITK
    def to_sitk(self) -> Any:
        """Convert to a ``SimpleITK.Image`` (ITK convention: spacing/direction in x, y, z order)."""
        import SimpleITK as sitk

        img = sitk.GetImageFromArray(np.ascontiguousarray(self.array))
        nd = self.array.ndim
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
        """Build from a ``SimpleITK.Image`` (2-D or 3-D, scalar)."""
        import SimpleITK as sitk

        if image.GetNumberOfComponentsPerPixel() != 1:
            raise InvalidParameterError(
                "image", "Volume.from_sitk", "a scalar image", f"{image.GetNumberOfComponentsPerPixel()} components"
            )
        arr = sitk.GetArrayFromImage(image)
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
        return cls(arr, spacing, origin, tuple(map(tuple, direction)), meta=meta or {})

    def __repr__(self) -> str:
        return (
            f"Volume(shape={self.shape}, dtype={self.array.dtype}, spacing={self.spacing}, "
            f"origin={self.origin}, meta={dict(self.meta)})"
        )
