"""Sliding-window application of a network with constant (mean) blending."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["sliding_window_logits"]


def _starts(size: int, roi: int, step: int) -> list[int]:
    if size <= roi:
        return [0]
    starts = list(range(0, size - roi + 1, step))
    if starts[-1] != size - roi:
        starts.append(size - roi)
    return starts


def sliding_window_logits(
    network: nn.Module, array: np.ndarray, *, roi: tuple[int, int, int], overlap: float, pad_value: float, divisor: int
) -> np.ndarray:
    """Logits ``(C, z, y, x)`` float32 of ``network`` over ``array`` ``(z, y, x)``.

    The array is padded at the end of each axis with ``pad_value`` to at least the ROI and to a
    multiple of ``divisor``; windows step by ``max(1, floor(roi * (1 - overlap)))`` with the last
    window flush with the end; overlapping logits are averaged. Windows run one at a time, in a
    fixed order, so the result does not depend on a batch size.
    """
    shape = array.shape
    padded_shape = []
    for n, r in zip(shape, roi, strict=True):
        m = max(n, r)
        padded_shape.append(int(-(-m // divisor) * divisor))
    padded = np.full(padded_shape, pad_value, dtype=np.float32)
    padded[: shape[0], : shape[1], : shape[2]] = array
    win = tuple(min(r, p) for r, p in zip(roi, padded_shape, strict=True))
    win = tuple(int(w // divisor * divisor) or divisor for w in win)
    steps = [max(1, int(np.floor(w * (1.0 - overlap)))) for w in win]
    grids = [_starts(p, w, s) for p, w, s in zip(padded_shape, win, steps, strict=True)]
    x = torch.from_numpy(padded)[None, None]
    acc: torch.Tensor | None = None
    count = torch.zeros(padded_shape, dtype=torch.float32)
    with torch.inference_mode():
        for z in grids[0]:
            for y in grids[1]:
                for xx in grids[2]:
                    sl = (slice(z, z + win[0]), slice(y, y + win[1]), slice(xx, xx + win[2]))
                    out = network(x[(slice(None), slice(None), *sl)])[0]
                    if acc is None:
                        acc = torch.zeros((out.shape[0], *padded_shape), dtype=torch.float32)
                    acc[(slice(None), *sl)] += out
                    count[sl] += 1.0
    if acc is None:  # pragma: no cover - at least one window always runs
        raise RuntimeError("sliding window produced no window")
    logits = (acc / count[None]).numpy()
    return np.ascontiguousarray(logits[:, : shape[0], : shape[1], : shape[2]], dtype=np.float32)
