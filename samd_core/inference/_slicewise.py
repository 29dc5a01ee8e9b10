"""2-D slice-wise and 2.5-D inference over 3-D volumes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch

from samd_core.errors import InvalidParameterError
from samd_core.inference._sliding import sliding_window_inference

__all__ = ["slicewise_inference"]


def slicewise_inference(
    volume: torch.Tensor,
    predictor: Callable[[torch.Tensor], torch.Tensor],
    *,
    axis: int = 0,
    context: int = 0,
    batch_size: int = 8,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
    mode: Literal["constant", "gaussian"] = "gaussian",
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Run a 2-D network over the slices of a 3-D volume (2.5-D with ``context > 0``).

    Parameters
    ----------
    volume : torch.Tensor
        ``(N, C, d0, d1, d2)`` in array order.
    predictor : callable
        2-D model: ``(B, C * (2 * context + 1), h, w)`` -> ``(B, K, h, w)``.
    axis : {0, 1, 2}
        Spatial axis to slice along (0 = z for an axial series).
    context : int, default 0
        2.5-D: the ``context`` neighbouring slices on each side are stacked as extra channels,
        ordered ``[s - context, ..., s, ..., s + context]`` with each slice's ``C`` channels
        together; at the volume ends the edge slice is repeated.
    batch_size : int
        Slices (or 2-D windows) per predictor call.
    roi_size : (int, int), optional
        When given, each slice is processed by 2-D `sliding_window_inference` with this window;
        otherwise the whole slice is one input.
    overlap, mode
        Passed to `sliding_window_inference` when ``roi_size`` is given.
    progress : callable, optional
        ``progress(done, total)`` in slices.

    Returns
    -------
    torch.Tensor
        ``(N, K, d0, d1, d2)`` float32.
    """
    fn = "slicewise_inference"
    if not isinstance(volume, torch.Tensor) or volume.dim() != 5:
        raise InvalidParameterError("volume", fn, "a tensor (N, C, d0, d1, d2)", getattr(volume, "shape", volume))
    if axis not in (0, 1, 2) or isinstance(axis, bool):
        raise InvalidParameterError("axis", fn, "0, 1 or 2", axis)
    if isinstance(context, bool) or not isinstance(context, int) or context < 0:
        raise InvalidParameterError("context", fn, "an integer >= 0", context)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidParameterError("batch_size", fn, "an integer >= 1", batch_size)
    # move the slicing axis first: (N, C, S, h, w)
    vol = torch.movedim(volume, axis + 2, 2)
    n, c, s = int(vol.shape[0]), int(vol.shape[1]), int(vol.shape[2])
    jobs = [(b, k) for b in range(n) for k in range(s)]
    out: torch.Tensor | None = None
    with torch.no_grad():
        for i in range(0, len(jobs), batch_size):
            chunk = jobs[i : i + batch_size]
            items = []
            for b, k in chunk:
                idx = [min(max(k + o, 0), s - 1) for o in range(-context, context + 1)]
                items.append(vol[b, :, idx].transpose(0, 1).reshape(c * len(idx), *vol.shape[3:]))
            batch = torch.stack(items)
            if roi_size is None:
                pred = predictor(batch)
            else:
                pred = sliding_window_inference(
                    batch, predictor, roi_size=roi_size, overlap=overlap, batch_size=batch_size, mode=mode
                )
            if pred.dim() != 4 or tuple(pred.shape[2:]) != tuple(batch.shape[2:]) or pred.shape[0] != len(chunk):
                raise InvalidParameterError(
                    "predictor", fn, f"a callable returning ({len(chunk)}, K, {batch.shape[2]}, {batch.shape[3]})",
                    tuple(pred.shape),
                )
            if out is None:
                out = torch.zeros((n, int(pred.shape[1]), s) + tuple(vol.shape[3:]), dtype=torch.float32)
            for j, (b, k) in enumerate(chunk):
                out[b, :, k] = pred[j].to(torch.float32)
            if progress is not None:
                progress(min(i + batch_size, len(jobs)), len(jobs))
    assert out is not None  # a volume has at least one slice
    return torch.movedim(out, 2, axis + 2)
