"""Intensity steps: HU clip, window, z-score, percentile normalisation, nnU-Net CT scheme.

Intensity steps act on images only (label maps and predictions pass through unchanged) and
return float32. They run one fused, cache-blocked kernel: ``y = (clip(x, lo, hi) - c) * a``,
computed slab by slab in float32 in place, so the cost stays close to one copy of the volume.

References
----------
.. [1] Isensee F, et al. nnU-Net. Nat Methods 18, 203-211 (2021): CT normalisation clips to
   the 0.5 and 99.5 percentiles of the foreground voxels of the training set, then subtracts
   the foreground mean and divides by the foreground standard deviation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from samd_core.errors import InvalidParameterError
from samd_core.preprocess._spec import (
    Grid,
    Step,
    v_number,
    v_optional_bool,
    v_optional_number,
    v_optional_number_or_list,
    v_optional_positive_or_list,
    v_percentile,
    v_positive,
)

__all__ = [
    "CTNormalize",
    "Clip",
    "PercentileNormalize",
    "Window",
    "ZScore",
    "clip_affine",
    "ct_fingerprint",
]

_SLAB_ELEMENTS = 1 << 17  # 512 KiB of float32 (+ 256 KiB int16 scratch) per slab: stays in L2 across the passes


def _int_bounds(dtype: np.dtype, lo: float | None, hi: float | None) -> tuple[int, int] | None:
    """Integral bounds inside the integer ``dtype``'s range, or None when clipping there is not exact."""
    if dtype.kind not in "iu":
        return None
    info = np.iinfo(dtype)
    out = []
    for b, default in ((lo, info.min), (hi, info.max)):
        if b is None:
            out.append(int(default))
        elif float(b) == int(b) and info.min <= b <= info.max:
            out.append(int(b))
        else:
            return None
    return out[0], out[1]


def clip_affine(x: np.ndarray, lo: float | None, hi: float | None, subtract: float, scale: float) -> np.ndarray:
    """``(clip(x, lo, hi) - subtract) * scale`` as a new C-contiguous float32 array.

    ``lo``/``hi`` None means no bound. Arithmetic is float32 (the bounds, ``subtract`` and
    ``scale`` are rounded to float32 once), in slabs that stay in cache across the passes.
    Integer input with integral bounds is clipped in its own dtype (exact: the values are
    representable in float32 when they come from int8/int16/uint8/uint16 images).
    Subtracting before scaling keeps ``lo`` mapping exactly to 0 for windows.
    """
    src = np.ascontiguousarray(x)
    out = np.empty(src.shape, dtype=np.float32)
    flat_src = src.reshape(-1)
    flat_out = out.reshape(-1)
    step = _SLAB_ELEMENTS
    f_lo = None if lo is None else np.float32(lo)
    f_hi = None if hi is None else np.float32(hi)
    f_c, f_a = np.float32(subtract), np.float32(scale)
    ibounds = _int_bounds(src.dtype, lo, hi) if src.dtype.itemsize <= 2 else None
    tmp = np.empty(min(step, flat_src.size), dtype=src.dtype) if ibounds is not None else None
    for i in range(0, flat_src.size, step):
        o = flat_out[i : i + step]
        s = flat_src[i : i + step]
        if tmp is not None and ibounds is not None:
            t = tmp[: s.size]
            np.clip(s, ibounds[0], ibounds[1], out=t)
            o[...] = t
        else:
            o[...] = s
            if f_lo is not None or f_hi is not None:
                np.clip(o, f_lo, f_hi, out=o)
        if f_c != 0:
            o -= f_c
        if f_a != 1:
            o *= f_a
    return out


def _foreground(x: np.ndarray, threshold: float | None) -> np.ndarray:
    return x.reshape(-1) if threshold is None else x[x > threshold]


class _Intensity(Step):
    """Base of the intensity steps.

    Multi-channel images (a ``channel_last`` `Volume`, handed over as one array per channel):
    steps with fixed numbers (``clip``, ``window``, ``intensity_window``, ``ct_normalize``,
    ``zscore`` with given scalars) apply the same map to every channel, which is the same
    whether it is called per channel or global. Steps that compute statistics from the image
    (``zscore`` with a null ``mean``/``std``, ``percentile``) must state ``channel_wise``:
    true computes them per channel, false once over all channels' voxels. ``zscore`` also
    takes one ``mean``/``std`` per channel (lists, e.g. a network's training-set RGB
    statistics), applied channel by channel.
    """

    geometric = False

    def resolve(self, arr: np.ndarray) -> dict[str, Any]:
        """Return ``{"lo", "hi", "subtract", "scale"}`` (plain floats / None) for this image."""
        raise NotImplementedError

    def resolve_channel(self, arr: np.ndarray, channel: int, n_channels: int) -> dict[str, Any]:
        """`resolve` for one channel of an ``n_channels`` image (override for per-channel parameters)."""
        return self.resolve(arr)

    def channel_wise(self, n_channels: int) -> bool:
        """Whether the parameters are resolved per channel for an ``n_channels`` image."""
        return False

    def forward_channels(self, chans: list[np.ndarray]) -> tuple[list[np.ndarray], dict[str, Any]]:
        """Apply to the channels of one image; the record holds what was resolved (per channel or once)."""
        n = len(chans)
        if self.channel_wise(n):
            ks = [self.resolve_channel(c, i, n) for i, c in enumerate(chans)]
            outs = [clip_affine(c, k["lo"], k["hi"], k["subtract"], k["scale"]) for c, k in zip(chans, ks, strict=True)]
            return outs, {"op": self.op, "channel_wise": True, "channels": ks}
        k = self.resolve(np.stack(chans, axis=-1))
        outs = [clip_affine(c, k["lo"], k["hi"], k["subtract"], k["scale"]) for c in chans]
        return outs, {"op": self.op, "channel_wise": False, **k}

    def replay_channels(self, chans: list[np.ndarray], rec: dict[str, Any]) -> list[np.ndarray]:
        """Apply a record of `forward_channels` to the channels of another image."""
        ks = rec["channels"] if rec.get("channel_wise") else [rec] * len(chans)
        if len(ks) != len(chans):
            raise InvalidParameterError("record", "Pipeline.replay", f"a record of a {len(chans)}-channel image",
                                        f"{len(ks)} channels")
        return [clip_affine(c, k["lo"], k["hi"], k["subtract"], k["scale"]) for c, k in zip(chans, ks, strict=True)]

    def forward(self, arr: np.ndarray, grid: Grid, kind: str) -> tuple[np.ndarray, Grid, dict[str, Any]]:
        if kind != "image":
            return arr, grid, {"op": self.op, "skipped": True}
        k = self.resolve(arr)
        return clip_affine(arr, k["lo"], k["hi"], k["subtract"], k["scale"]), grid, {"op": self.op, **k}

    def replay(self, arr: np.ndarray, grid: Grid, rec: dict[str, Any], kind: str) -> tuple[np.ndarray, Grid]:
        if kind != "image":
            return arr, grid
        if rec.get("skipped"):
            raise InvalidParameterError("record", "Pipeline.replay", "a record made from an image", "a label record")
        return clip_affine(arr, rec["lo"], rec["hi"], rec["subtract"], rec["scale"]), grid


class Clip(_Intensity):
    """Clip to ``[lower, upper]`` (image units, e.g. HU); either bound may be null."""

    op = "clip"
    schema = {"lower": (v_optional_number, None), "upper": (v_optional_number, None)}

    def check(self) -> None:
        lo, hi = self.params["lower"], self.params["upper"]
        if lo is not None and hi is not None and lo > hi:
            raise self.bad("upper", f"a number >= lower ({lo})", hi, "Pipeline.from_spec")

    def resolve(self, arr: np.ndarray) -> dict[str, Any]:
        return {"lo": self.params["lower"], "hi": self.params["upper"], "subtract": 0.0, "scale": 1.0}


class Window(_Intensity):
    """Display window: clip to ``center ± width/2`` (HU) and map linearly to ``[0, 1]``."""

    op = "window"
    schema = {"center": (v_number, Step.REQUIRED), "width": (v_positive, Step.REQUIRED)}

    def resolve(self, arr: np.ndarray) -> dict[str, Any]:
        c, w = self.params["center"], self.params["width"]
        lo = c - w / 2
        return {"lo": lo, "hi": c + w / 2, "subtract": lo, "scale": 1.0 / w}


class IntensityWindow(_Intensity):
    """Map ``[lower, upper]`` (image units) linearly to ``[0, 1]`` and clip.

    The spec form of a bundle's ``{intensity_window: [lower, upper]}``; e.g. ``[0, 4095]`` for a
    12-bit radiograph in presentation form.
    """

    op = "intensity_window"
    schema = {"lower": (v_number, Step.REQUIRED), "upper": (v_number, Step.REQUIRED)}

    def check(self) -> None:
        if self.params["upper"] <= self.params["lower"]:
            raise self.bad("upper", f"a number > lower ({self.params['lower']})", self.params["upper"],
                           "Pipeline.from_spec")

    def resolve(self, arr: np.ndarray) -> dict[str, Any]:
        lo, hi = float(self.params["lower"]), float(self.params["upper"])
        return {"lo": lo, "hi": hi, "subtract": lo, "scale": 1.0 / (hi - lo)}


def _stated(step: Step, n_channels: int, data_dependent: bool, lists: bool) -> bool:
    """``channel_wise`` of a statistics step for an ``n_channels`` image (see `_Intensity`)."""
    cw = step.params["channel_wise"]
    if lists:
        return True
    if n_channels > 1 and data_dependent and cw is None:
        raise step.bad("channel_wise", f"true (statistics per channel) or false (over all channels) for a "
                       f"{n_channels}-channel image", None)
    return bool(cw)


def _spec_without_unset(step: Step) -> dict[str, Any]:
    # `channel_wise` is written only when stated: grey-scale specs keep their release 0.1.0 bytes and hashes
    out = {"op": step.op, **step.params}
    if out.get("channel_wise") is None:
        out.pop("channel_wise", None)
    return out


class ZScore(_Intensity):
    """``(x - mean) / std``; null ``mean``/``std`` are computed from this image's voxels
    (those ``> foreground_threshold`` when it is given).

    ``mean`` and ``std`` may be lists, one value per channel (channel order of the image,
    e.g. R, G, B). ``channel_wise`` (true/false) must be stated when statistics are computed
    from a multi-channel image (see `_Intensity`); it is written in the spec only when given.
    """

    op = "zscore"
    schema = {
        "mean": (v_optional_number_or_list, None),
        "std": (v_optional_positive_or_list, None),
        "foreground_threshold": (v_optional_number, None),
        "channel_wise": (v_optional_bool, None),
    }

    def check(self) -> None:
        m, s = self.params["mean"], self.params["std"]
        lists = [v for v in (m, s) if isinstance(v, list)]
        if lists and (m is None or s is None or any(not isinstance(v, list) for v in (m, s)) or len(m) != len(s)):
            raise self.bad("std", "a list as long as mean (one mean and one std per channel)", s, "Pipeline.from_spec")
        if lists and self.params["channel_wise"] is False:
            raise self.bad("channel_wise", "true or null with per-channel mean/std lists", False, "Pipeline.from_spec")

    def spec(self) -> dict[str, Any]:
        return _spec_without_unset(self)

    def channel_wise(self, n_channels: int) -> bool:
        p = self.params
        return _stated(self, n_channels, p["mean"] is None or p["std"] is None, isinstance(p["mean"], list))

    def resolve_channel(self, arr: np.ndarray, channel: int, n_channels: int) -> dict[str, Any]:
        mean, std = self.params["mean"], self.params["std"]
        if isinstance(mean, list):
            if len(mean) != n_channels:
                raise self.bad("mean", f"{n_channels} values (one per channel)", mean)
            return self._resolve(arr, mean[channel], std[channel])
        return self.resolve(arr)

    def resolve(self, arr: np.ndarray) -> dict[str, Any]:
        mean, std = self.params["mean"], self.params["std"]
        if isinstance(mean, list):  # a grey-scale image: one channel
            if len(mean) != 1:
                raise self.bad("mean", "1 value (one per channel) for a 1-channel image", mean)
            mean, std = mean[0], std[0]
        return self._resolve(arr, mean, std)

    def _resolve(self, arr: np.ndarray, mean: float | None, std: float | None) -> dict[str, Any]:
        if mean is None or std is None:
            fg = _foreground(arr, self.params["foreground_threshold"])
            if fg.size == 0:
                raise self.bad("foreground_threshold", "a threshold that leaves some voxels", self.params["foreground_threshold"])
            fg64 = fg.astype(np.float64)
            mean = float(fg64.mean()) if mean is None else mean
            std = float(fg64.std()) if std is None else std
        std = max(float(std), 1e-8)
        return {"lo": None, "hi": None, "subtract": float(mean), "scale": 1.0 / std, "mean": float(mean), "std": std}


class PercentileNormalize(_Intensity):
    """Clip to this image's ``lower``/``upper`` percentiles (of voxels ``> foreground_threshold``
    when given) and map linearly to ``[0, 1]`` (linear-interpolated percentiles, numpy default).

    ``channel_wise`` (true/false) must be stated for a multi-channel image (see `_Intensity`);
    it is written in the spec only when given."""

    op = "percentile"
    schema = {
        "lower": (v_percentile, 0.5),
        "upper": (v_percentile, 99.5),
        "foreground_threshold": (v_optional_number, None),
        "channel_wise": (v_optional_bool, None),
    }

    def spec(self) -> dict[str, Any]:
        return _spec_without_unset(self)

    def channel_wise(self, n_channels: int) -> bool:
        return _stated(self, n_channels, True, False)

    def check(self) -> None:
        if self.params["lower"] >= self.params["upper"]:
            raise self.bad("upper", f"a percentile > lower ({self.params['lower']})", self.params["upper"], "Pipeline.from_spec")

    def resolve(self, arr: np.ndarray) -> dict[str, Any]:
        fg = _foreground(arr, self.params["foreground_threshold"])
        if fg.size == 0:
            raise self.bad("foreground_threshold", "a threshold that leaves some voxels", self.params["foreground_threshold"])
        lo, hi = (float(v) for v in np.percentile(fg, [self.params["lower"], self.params["upper"]]))
        r = max(hi - lo, 1e-8)
        return {"lo": lo, "hi": hi, "subtract": lo, "scale": 1.0 / r}


class CTNormalize(_Intensity):
    """nnU-Net's CT scheme [1]_: clip to ``[lower, upper]`` then ``(x - mean) / std``.

    All four numbers are dataset-level constants (HU), usually from `ct_fingerprint`.
    """

    op = "ct_normalize"
    schema = {
        "lower": (v_number, Step.REQUIRED),
        "upper": (v_number, Step.REQUIRED),
        "mean": (v_number, Step.REQUIRED),
        "std": (v_positive, Step.REQUIRED),
    }

    def check(self) -> None:
        if self.params["lower"] > self.params["upper"]:
            raise self.bad("upper", f"a number >= lower ({self.params['lower']})", self.params["upper"], "Pipeline.from_spec")

    def resolve(self, arr: np.ndarray) -> dict[str, Any]:
        p = self.params
        return {"lo": p["lower"], "hi": p["upper"], "subtract": p["mean"], "scale": 1.0 / p["std"]}


def ct_fingerprint(
    images: Iterable[np.ndarray], masks: Iterable[np.ndarray], *, lower: float = 0.5, upper: float = 99.5
) -> dict[str, float]:
    """Foreground intensity statistics of a dataset, ready for a ``ct_normalize`` step.

    Parameters
    ----------
    images, masks : iterables of arrays
        Paired images (HU) and label maps; voxels with ``mask != 0`` are foreground. All
        foreground voxels of all cases are pooled (nnU-Net subsamples; this uses them all).
    lower, upper : float
        Percentiles (percent) for the clipping bounds.

    Returns
    -------
    dict
        ``{"lower", "upper", "mean", "std"}`` in HU; mean and (population) std are of the
        pooled foreground voxels before clipping (float64), as in nnU-Net v2's dataset
        fingerprint [1]_.
    """
    fn = "ct_fingerprint"
    images, masks = list(images), list(masks)
    if len(images) != len(masks):
        raise InvalidParameterError("masks", fn, f"{len(images)} masks (one per image)", f"{len(masks)} masks")
    vals = []
    for i, (img, msk) in enumerate(zip(images, masks, strict=True)):
        a, m = np.asarray(img), np.asarray(msk)
        if a.shape != m.shape:
            raise InvalidParameterError(f"masks[{i}]", fn, f"shape {a.shape} (as images[{i}])", f"shape {m.shape}")
        vals.append(a[m != 0].astype(np.float64))
    fg = np.concatenate(vals) if vals else np.empty(0)
    if fg.size == 0:
        raise InvalidParameterError("masks", fn, "masks with at least one foreground voxel", "no foreground")
    if not 0 <= lower < upper <= 100:
        raise InvalidParameterError("upper", fn, f"a percentile in ({lower}, 100]", upper)
    lo, hi = (float(v) for v in np.percentile(fg, [lower, upper]))
    return {"lower": lo, "upper": hi, "mean": float(fg.mean()), "std": float(max(fg.std(), 1e-8))}
