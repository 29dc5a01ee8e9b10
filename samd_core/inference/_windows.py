"""Window placement and blending weights for sliding-window inference."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__: list[str] = []


def scan_starts(image_size: Sequence[int], roi_size: Sequence[int], overlap: Sequence[float]) -> list[list[int]]:
    """Window start indices per axis.

    The step is ``int(roi * (1 - overlap))`` (at least 1; ``roi`` when the ROI spans the axis);
    windows start at ``0, step, 2*step, ...`` until one reaches the end, and the last one is
    shifted back to end exactly at the image border. This is MONAI's ``dense_patch_slices``
    placement (MONAI 1.x), so both tile a volume identically.
    """
    out = []
    for size, roi, ov in zip(image_size, roi_size, overlap):
        step = roi if roi == size else max(int(roi * (1.0 - ov)), 1)
        n = 1
        for d in range(int(math.ceil(size / step))):
            if d * step + roi >= size:
                n = d + 1
                break
        out.append([i * step - max(i * step + roi - size, 0) for i in range(n)])
    return out


def importance_map(roi_size: Sequence[int], mode: str, sigma_scale: Sequence[float]) -> torch.Tensor:
    """Blending weights of one window, float32, shape ``roi_size``.

    ``"constant"``: all ones. ``"gaussian"``: separable Gaussian centred on the window centre with
    sigma ``sigma_scale * roi`` per axis, value 1 at the exact centre (below 1 at voxel centres of even sizes), clamped below at ``max(min, 1e-3)`` so that no
    voxel gets zero weight (nnU-Net, Isensee et al. 2021; same formula as MONAI 1.x).
    """
    if mode == "constant":
        return torch.ones(tuple(roi_size), dtype=torch.float32)
    w: torch.Tensor | None = None
    for i, (n, s) in enumerate(zip(roi_size, sigma_scale)):
        sigma = n * s
        x = torch.arange(-(n - 1) / 2.0, (n - 1) / 2.0 + 1, dtype=torch.float32)
        g = torch.exp(x**2 / (-2 * sigma**2))
        w = g if w is None else w.unsqueeze(-1) * g[(None,) * i]
    assert w is not None  # roi_size is non-empty (validated by the caller)
    floor = max(float(w.min()), 1e-3)
    return torch.clamp(w, min=floor)
