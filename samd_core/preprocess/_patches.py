"""Patch sampling for training: 3-D patches, 2-D slices and 2.5-D stacks, with foreground oversampling.

The sampler draws everything from the generator it is given (never a global seed) and returns a
plain-data record from which `PatchSampler.extract` replays the same patch bit for bit.

References
----------
.. [1] Isensee F, Jaeger PF, Kohl SAA, Petersen J, Maier-Hein KH. nnU-Net: a self-configuring
   method for deep learning-based biomedical image segmentation. Nat Methods 18, 203-211 (2021).
   (Foreground oversampling: one third of patches are centred on a foreground voxel of a class
   drawn uniformly among the classes present.)
.. [2] Roth HR, et al. A new 2.5D representation for lymph node detection using random sets of
   deep convolutional neural network observations. MICCAI 2014 (three orthogonal planes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

import numpy as np

from samd_core.errors import InvalidParameterError
from samd_core.checks import as_rng, check_probability, int_tuple

__all__ = ["PatchMode", "PatchSampler", "crop_pad_array"]

PatchMode = Literal["3d", "2d", "2.5d-slices", "2.5d-planes"]
_MODES: tuple[str, ...] = get_args(PatchMode)


def crop_pad_array(array: np.ndarray, start: tuple[int, ...], size: tuple[int, ...], pad_value: float = 0) -> np.ndarray:
    """Window of ``size`` starting at ``start`` over the last ``len(size)`` axes of ``array``.

    Parts of the window outside the array are filled with ``pad_value``; ``start`` may be
    negative. Leading (channel) axes are kept whole. Always returns a new array.
    """
    k = len(size)
    lead = array.shape[: array.ndim - k]
    spatial = array.shape[array.ndim - k :]
    out = np.full(lead + tuple(size), pad_value, dtype=array.dtype)
    src, dst = [], []
    for s, p, n in zip(start, size, spatial, strict=True):
        lo, hi = max(s, 0), min(s + p, n)
        if hi <= lo:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - s, hi - s))
    ell = (slice(None),) * len(lead)
    out[ell + tuple(dst)] = array[ell + tuple(src)]
    return out


class PatchSampler:
    """Random patches from a 3-D image (and its label map) for training.

    Parameters
    ----------
    patch_size : sequence of int
        ``(pz, py, px)`` voxels for ``mode="3d"``; ``(py, px)`` for the 2-D and 2.5-D modes
        (for ``"2.5d-planes"`` each of the three planes has this in-plane size).
    foreground_oversample : float in [0, 1]
        Probability that a patch is centred on a foreground voxel (label > 0) of a class drawn
        uniformly among the classes present [1]_. nnU-Net uses 0.33. When the label has no
        foreground, or no label is given, the patch falls back to a uniform position.
    mode : {"3d", "2d", "2.5d-slices", "2.5d-planes"}
        ``"2d"``: one axial slice (array axis 0 is the slice axis). ``"2.5d-slices"``: the slice
        and ``context`` neighbours on each side stacked as channels; the label is the centre
        slice. ``"2.5d-planes"``: axial ``(y, x)``, coronal ``(z, x)`` and sagittal ``(z, y)``
        planes through one voxel stacked as channels [2]_; the label has the three planes too.
    context : int
        Neighbouring slices on each side for ``"2.5d-slices"``.
    pad_value : float
        Image value used where a patch extends past the volume (labels are padded with 0).

    Notes
    -----
    Shapes: ``image`` is ``(Z, Y, X)`` or ``(C, Z, Y, X)``; ``label`` is ``(Z, Y, X)`` (integer
    classes, 0 = background) or None. Outputs always carry a channel axis on the image:

    ======================  ===========================  ===================
    mode                    image patch                  label patch
    ======================  ===========================  ===================
    ``"3d"``                ``(C, pz, py, px)``          ``(pz, py, px)``
    ``"2d"``                ``(C, py, px)``              ``(py, px)``
    ``"2.5d-slices"``       ``(C*(2*context+1), py, px)`` ``(py, px)``
    ``"2.5d-planes"``       ``(3*C, py, px)``            ``(3, py, px)``
    ======================  ===========================  ===================

    For ``"2.5d-slices"`` channels are ordered slice-major (all channels of slice ``z-context``
    first); for ``"2.5d-planes"`` plane-major (axial, coronal, sagittal).
    """

    def __init__(
        self,
        patch_size: Any,
        *,
        foreground_oversample: float = 0.33,
        mode: PatchMode = "3d",
        context: int = 1,
        pad_value: float = 0.0,
    ) -> None:
        fn = "PatchSampler"
        if mode not in _MODES:
            raise InvalidParameterError("mode", fn, f"one of {list(_MODES)}", mode, options=_MODES)
        self.mode: PatchMode = mode
        self.patch_size = int_tuple(patch_size, 3 if mode == "3d" else 2, "patch_size", fn)
        self.foreground_oversample = check_probability(foreground_oversample, "foreground_oversample", fn)
        self.context = int_tuple(context, 1, "context", fn, minimum=0)[0]
        try:
            self.pad_value = float(pad_value)
        except (TypeError, ValueError):
            raise InvalidParameterError("pad_value", fn, "a number", pad_value) from None

    # ------------------------------------------------------------------ public API
    @property
    def config(self) -> dict[str, Any]:
        """Plain-data configuration (rebuild with ``PatchSampler(**config)``)."""
        return {
            "patch_size": list(self.patch_size),
            "foreground_oversample": self.foreground_oversample,
            "mode": self.mode,
            "context": self.context,
            "pad_value": self.pad_value,
        }

    @staticmethod
    def foreground_locations(label: np.ndarray) -> dict[int, np.ndarray]:
        """Flat (C-order) indices of the voxels of each foreground class, for `sample`.

        Computing these once per case and passing them as ``locations=`` avoids scanning the
        whole label map for every patch; the patches drawn are identical either way.
        """
        flat = np.asarray(label).reshape(-1)
        nz = np.flatnonzero(flat)
        vals = flat[nz]
        return {int(c): nz[vals == c] for c in np.unique(vals)}

    def sample(
        self,
        image: np.ndarray,
        label: np.ndarray | None = None,
        rng: np.random.Generator | int = 0,
        *,
        locations: Mapping[int, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        """Draw one patch.

        ``locations`` (optional) is `foreground_locations` of ``label``, precomputed.

        Returns
        -------
        image_patch, label_patch, record
            ``label_patch`` is None when ``label`` is None. ``record`` is plain data
            (``mode``, ``centre`` voxel in array order, ``foreground`` = whether the centre was
            forced onto a foreground voxel, ``foreground_class``) that `extract` replays.
        """
        img, lbl = self._check(image, label, "PatchSampler.sample")
        gen = as_rng(rng, "PatchSampler.sample")
        spatial = img.shape[1:]
        want_fg = bool(gen.random() < self.foreground_oversample)
        centre: tuple[int, ...] | None = None
        fg_class: int | None = None
        if want_fg and lbl is not None:
            locs_by_class = self.foreground_locations(lbl) if locations is None else locations
            classes = sorted(int(c) for c, v in locs_by_class.items() if int(c) != 0 and len(v))
            if classes:
                fg_class = classes[int(gen.integers(len(classes)))]
                locs = np.asarray(locs_by_class[fg_class])
                flat = int(locs[gen.integers(locs.size)])
                if not 0 <= flat < lbl.size or lbl.reshape(-1)[flat] != fg_class:
                    raise InvalidParameterError(
                        "locations", "PatchSampler.sample", "foreground_locations(label) of this label", f"index {flat}"
                    )
                centre = tuple(int(c) for c in np.unravel_index(flat, spatial))
        if centre is None:
            centre = self._uniform_centre(spatial, gen)
        elif self.mode == "3d":
            centre = self._keep_inside(centre, spatial)
        record = {
            "mode": self.mode,
            "patch_size": list(self.patch_size),
            "context": self.context,
            "centre": list(centre),
            "foreground": fg_class is not None,
            "foreground_class": fg_class,
        }
        out_img, out_lbl = self._extract(img, lbl, centre)
        return out_img, out_lbl, record

    def extract(
        self, image: np.ndarray, label: np.ndarray | None, record: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Replay a patch from its ``record`` (as returned by `sample`)."""
        img, lbl = self._check(image, label, "PatchSampler.extract")
        if record.get("mode") != self.mode or list(record.get("patch_size", [])) != list(self.patch_size):
            raise InvalidParameterError(
                "record", "PatchSampler.extract", f"a record of this sampler (mode {self.mode!r}, "
                f"patch_size {list(self.patch_size)})", {k: record.get(k) for k in ("mode", "patch_size")},
            )
        centre = int_tuple(record.get("centre"), 3, "record.centre", "PatchSampler.extract", minimum=-(2**62))
        return self._extract(img, lbl, centre)

    # ------------------------------------------------------------------ kernels
    def _check(self, image: Any, label: Any, fn: str) -> tuple[np.ndarray, np.ndarray | None]:
        img = np.asarray(image)
        if img.ndim == 3:
            img = img[None]
        if img.ndim != 4 or min(img.shape) < 1:
            raise InvalidParameterError("image", fn, "a (Z, Y, X) or (C, Z, Y, X) array", f"shape {img.shape}")
        if label is None:
            return img, None
        lbl = np.asarray(label)
        if lbl.shape != img.shape[1:]:
            raise InvalidParameterError(
                "label", fn, f"an array of the image's spatial shape {img.shape[1:]}", f"shape {lbl.shape}"
            )
        if lbl.dtype.kind not in "biu":
            raise InvalidParameterError("label", fn, "an integer or boolean class map", f"dtype {lbl.dtype}")
        return img, lbl

    def _window(self) -> tuple[int, int, int]:
        if self.mode == "3d":
            return self.patch_size  # type: ignore[return-value]
        if self.mode == "2.5d-slices":
            return (2 * self.context + 1, *self.patch_size)  # type: ignore[return-value]
        return (1, *self.patch_size)  # type: ignore[return-value]

    def _uniform_centre(self, spatial: tuple[int, ...], gen: np.random.Generator) -> tuple[int, ...]:
        if self.mode == "3d":
            # start uniform so that the patch lies inside the volume (or covers it, when larger)
            out = []
            for n, p in zip(spatial, self.patch_size, strict=True):
                lo, hi = min(0, n - p), max(0, n - p)
                out.append(int(gen.integers(lo, hi + 1)) + p // 2)
            return tuple(out)
        # slice modes: every voxel equally likely as the centre (slices at the edges included)
        return tuple(int(gen.integers(n)) for n in spatial)

    def _keep_inside(self, centre: tuple[int, ...], spatial: tuple[int, ...]) -> tuple[int, ...]:
        out = []
        for c, n, p in zip(centre, spatial, self.patch_size, strict=True):
            start = c - p // 2
            start = min(max(start, min(0, n - p)), max(0, n - p))
            out.append(start + p // 2)
        return tuple(out)

    def _extract(
        self, img: np.ndarray, lbl: np.ndarray | None, centre: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        cz, cy, cx = centre
        if self.mode == "2.5d-planes":
            a, b = self.patch_size
            boxes = [
                ((cz, cy - a // 2, cx - b // 2), (1, a, b)),  # axial (y, x)
                ((cz - a // 2, cy, cx - b // 2), (a, 1, b)),  # coronal (z, x)
                ((cz - a // 2, cy - b // 2, cx), (a, b, 1)),  # sagittal (z, y)
            ]
            imgs = [crop_pad_array(img, s, z, self.pad_value).reshape(img.shape[0], a, b) for s, z in boxes]
            out_img = np.concatenate(imgs, axis=0)
            out_lbl = None
            if lbl is not None:
                out_lbl = np.stack([crop_pad_array(lbl, s, z, 0).reshape(a, b) for s, z in boxes])
            return out_img, out_lbl
        win = self._window()
        start = tuple(c - p // 2 for c, p in zip(centre, win, strict=True))
        patch = crop_pad_array(img, start, win, self.pad_value)
        lpatch = None if lbl is None else crop_pad_array(lbl, start, win, 0)
        if self.mode == "3d":
            return patch, lpatch
        if self.mode == "2d":
            return patch[:, 0], None if lpatch is None else lpatch[0]
        # 2.5d-slices: (C, 2k+1, y, x) -> slice-major channels (2k+1)*C
        c = patch.shape[0]
        stacked = np.ascontiguousarray(np.moveaxis(patch, 1, 0)).reshape(win[0] * c, *win[1:])
        return stacked, None if lpatch is None else lpatch[self.context]
