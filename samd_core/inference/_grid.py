"""Whole-volume prediction back on the original image grid."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch

from samd_core.errors import GeometryError, InvalidParameterError
from samd_core.inference._sliding import sliding_window_inference
from samd_core.volume import Volume

__all__ = ["predict_volume"]


def predict_volume(
    volume: Volume,
    predictor: Callable[[torch.Tensor], torch.Tensor],
    *,
    roi_size: Sequence[int],
    forward: Callable[[Volume], Volume] | None = None,
    inverse: Callable[[Volume, Volume], Volume] | None = None,
    overlap: float = 0.25,
    batch_size: int = 1,
    mode: Literal["constant", "gaussian"] = "gaussian",
    flip_axes: Sequence[Sequence[int]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Volume, np.ndarray]:
    """Segment a `Volume`: preprocess, sliding-window predict, map back to the original grid.

    Parameters
    ----------
    volume : Volume
        The image on its original grid (single channel, array order ``(z, y, x)``).
    predictor : callable
        Window batch ``(B, 1, *roi)`` -> class probabilities ``(B, K, *roi)`` (apply softmax
        inside, e.g. ``lambda x: net(x).softmax(1)``).
    roi_size, overlap, batch_size, mode, flip_axes, progress
        As in `sliding_window_inference`.
    forward : callable, optional
        Preprocessing ``Volume -> Volume`` (e.g. a preprocessing pipeline's forward pass:
        resampling and intensity normalisation). Default: identity.
    inverse : callable, optional
        ``inverse(channel_volume, original) -> Volume`` maps one probability channel (a `Volume`
        on the preprocessed grid) back onto ``original``'s grid (e.g. the pipeline's inverse with
        linear interpolation). Required when ``forward`` changes the grid.

    Returns
    -------
    labels : Volume
        ``uint8`` class map (argmax of the probabilities after they are mapped back) on the
        original grid.
    probabilities : numpy.ndarray
        ``(K, *volume.shape)`` float32 probabilities on the original grid.
    """
    fn = "predict_volume"
    if not isinstance(volume, Volume):
        raise InvalidParameterError("volume", fn, "a samd_core.Volume", type(volume).__name__)
    pre = forward(volume) if forward is not None else volume
    x = torch.from_numpy(np.array(pre.array, dtype=np.float32, copy=True))[None, None]
    probs = sliding_window_inference(
        x, predictor, roi_size=roi_size, overlap=overlap, batch_size=batch_size, mode=mode,
        flip_axes=flip_axes, progress=progress,
    )[0].numpy()
    if inverse is not None:
        chans = [np.asarray(inverse(pre.with_array(p), volume).array, dtype=np.float32) for p in probs]
        probs = np.stack(chans)
    elif not pre.same_grid(volume):
        raise GeometryError(
            f"`inverse` of `{fn}` must be given when `forward` changes the grid; "
            f"got forward shape {pre.shape} vs original {volume.shape}"
        )
    if tuple(probs.shape[1:]) != tuple(volume.shape):
        raise GeometryError(f"`inverse` of `{fn}` must return the original grid {volume.shape}; got {probs.shape[1:]}")
    labels = np.argmax(probs, axis=0).astype(np.uint8)
    return volume.with_array(labels), probs
