"""Sliding-window inference with constant or Gaussian blending and optional flip TTA."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from samd_core.errors import InvalidParameterError
from samd_core.inference._windows import importance_map, scan_starts

__all__ = ["sliding_window_inference"]

Predictor = Callable[[torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]


def _check(
    image: torch.Tensor,
    roi_size: Sequence[int],
    overlap: float | Sequence[float],
    batch_size: int,
    mode: str,
    sigma_scale: float | Sequence[float],
    flip_axes: Sequence[Sequence[int]],
) -> tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...], tuple[tuple[int, ...], ...]]:
    fn = "sliding_window_inference"
    if not isinstance(image, torch.Tensor) or image.dim() < 3:
        raise InvalidParameterError("image", fn, "a tensor (N, C, *spatial) with 1-3 spatial axes", getattr(image, "shape", image))
    nd = image.dim() - 2
    try:
        roi = tuple(int(r) for r in roi_size)
    except TypeError:
        raise InvalidParameterError("roi_size", fn, f"{nd} positive integers", roi_size) from None
    if len(roi) != nd or any(r < 1 for r in roi) or any(isinstance(r, bool) for r in roi_size):
        raise InvalidParameterError("roi_size", fn, f"{nd} positive integers", roi_size)
    ov = (overlap,) * nd if isinstance(overlap, (int, float)) else tuple(overlap)
    if len(ov) != nd or any(not (0.0 <= float(o) < 1.0) for o in ov):
        raise InvalidParameterError("overlap", fn, f"a number in [0, 1) or {nd} of them", overlap)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidParameterError("batch_size", fn, "an integer >= 1", batch_size)
    if mode not in ("constant", "gaussian"):
        raise InvalidParameterError("mode", fn, "one of ['constant', 'gaussian']", mode, options=("constant", "gaussian"))
    ss = (sigma_scale,) * nd if isinstance(sigma_scale, (int, float)) else tuple(sigma_scale)
    if len(ss) != nd or any(not float(s) > 0 for s in ss):
        raise InvalidParameterError("sigma_scale", fn, f"a positive number or {nd} of them", sigma_scale)
    flips = []
    for fa in flip_axes:
        axes = tuple(int(a) for a in fa)
        if not axes or any(a < 0 or a >= nd for a in axes) or len(set(axes)) != len(axes):
            raise InvalidParameterError("flip_axes", fn, f"non-empty sets of spatial axes in [0, {nd - 1}]", flip_axes)
        flips.append(axes)
    return roi, tuple(float(o) for o in ov), tuple(float(s) for s in ss), tuple(flips)


def sliding_window_inference(
    image: torch.Tensor,
    predictor: Predictor,
    *,
    roi_size: Sequence[int],
    overlap: float | Sequence[float] = 0.25,
    batch_size: int = 1,
    mode: Literal["constant", "gaussian"] = "gaussian",
    sigma_scale: float | Sequence[float] = 0.125,
    padding_value: float = 0.0,
    flip_axes: Sequence[Sequence[int]] = (),
    progress: Progress | None = None,
) -> torch.Tensor:
    """Predict a large image window by window and blend the overlapping window outputs.

    Parameters
    ----------
    image : torch.Tensor
        ``(N, C, *spatial)`` with 1-3 spatial axes (array order, e.g. ``(z, y, x)``).
    predictor : callable
        Maps a window batch ``(B, C, *roi_size)`` to ``(B, K, *roi_size)`` (e.g. a network in
        eval mode, or ``lambda x: net(x).softmax(1)``). Called under ``torch.no_grad()``.
    roi_size : sequence of int
        Window size in voxels, one per spatial axis.
    overlap : float or sequence, default 0.25
        Fraction of a window shared with its neighbour, in ``[0, 1)``, per axis.
    batch_size : int, default 1
        Windows per predictor call.
    mode : {"gaussian", "constant"}
        Blending weights (see `importance_map` in the docs): Gaussian down-weights window borders.
    sigma_scale : float or sequence, default 0.125
        Gaussian sigma as a fraction of the ROI size.
    padding_value : float, default 0
        Constant used to pad an image smaller than ``roi_size`` (symmetric padding, removed
        from the output).
    flip_axes : sequence of sequences of int
        Test-time augmentation: for each entry (spatial axes, 0-based), the window batch is also
        predicted flipped along those axes, flipped back, and all predictions are averaged.
    progress : callable, optional
        Called as ``progress(done, total)`` after each window batch.

    Returns
    -------
    torch.Tensor
        ``(N, K, *spatial)`` float32: the weighted average of window predictions per voxel.

    Notes
    -----
    Memory: besides the input, only the output, one weight map (one channel) and one batch of
    windows (plus its prediction) are held. Window placement and the Gaussian formula match
    MONAI 1.x ``sliding_window_inference`` (tested numerically against it).
    """
    roi, ov, ss, flips = _check(image, roi_size, overlap, batch_size, mode, sigma_scale, flip_axes)
    nd = len(roi)
    n = int(image.shape[0])
    orig = tuple(int(s) for s in image.shape[2:])
    pad: list[int] = []
    for k in range(nd - 1, -1, -1):
        diff = max(roi[k] - orig[k], 0)
        pad.extend([diff // 2, diff - diff // 2])
    if any(pad):
        image = F.pad(image, pad, mode="constant", value=padding_value)
    size = tuple(int(s) for s in image.shape[2:])
    starts = scan_starts(size, roi, ov)
    windows = list(itertools.product(*starts))
    jobs = [(b, w) for b in range(n) for w in windows]
    total = len(jobs)
    weight_roi = importance_map(roi, mode, ss).to(image.device)
    out: torch.Tensor | None = None
    wmap = torch.zeros((1, 1) + size, dtype=torch.float32, device=image.device)
    done = 0
    with torch.no_grad():
        for i in range(0, total, batch_size):
            chunk = jobs[i : i + batch_size]
            sls = [(b, tuple(slice(s, s + r) for s, r in zip(w, roi))) for b, w in chunk]
            # always a copy: a predictor that writes into its input cannot corrupt later windows
            batch = torch.cat([image[(slice(b, b + 1), slice(None)) + sl] for b, sl in sls])
            pred = predictor(batch)
            if flips:
                pred = pred.float()
                for axes in flips:
                    dims = [a + 2 for a in axes]
                    pred = pred + torch.flip(predictor(torch.flip(batch, dims)), dims)
                pred = pred / (len(flips) + 1)
            if pred.dim() != nd + 2 or tuple(pred.shape[2:]) != roi or pred.shape[0] != len(chunk):
                raise InvalidParameterError(
                    "predictor", "sliding_window_inference",
                    f"a callable returning ({len(chunk)}, K, {', '.join(map(str, roi))})", tuple(pred.shape),
                )
            if out is None:
                out = torch.zeros((n, int(pred.shape[1])) + size, dtype=torch.float32, device=image.device)
            pred = pred.to(torch.float32) * weight_roi
            for j, (b, sl) in enumerate(sls):
                out[(slice(b, b + 1), slice(None)) + sl] += pred[j : j + 1]
                if b == 0:
                    wmap[(slice(None), slice(None)) + sl] += weight_roi
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    assert out is not None  # at least one window always exists
    out /= wmap
    if any(pad):
        crop = tuple(slice(pad[2 * (nd - 1 - k)], pad[2 * (nd - 1 - k)] + orig[k]) for k in range(nd))
        out = out[(slice(None), slice(None)) + crop]
    return out
