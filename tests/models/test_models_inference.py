"""Sliding-window, slice-wise and whole-volume inference; sliding window vs MONAI 1.x live."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samd_core import Volume
from samd_core.errors import GeometryError, InvalidParameterError
from samd_core.inference import importance_map, predict_volume, slicewise_inference, sliding_window_inference
from samd_core.models import UNetConfig, build_network

monai_inferers = pytest.importorskip("monai.inferers")
monai_data = pytest.importorskip("monai.data.utils")


def _net() -> torch.nn.Module:
    return build_network(UNetConfig(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8)), rng=1).eval()


def _x(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.verifies("SRS-MODELS-010")
@pytest.mark.parametrize("mode", ["gaussian", "constant"])
@pytest.mark.parametrize(
    ("shape", "roi", "overlap", "batch"),
    [
        ((1, 1, 20, 18, 22), (8, 8, 8), 0.25, 1),
        ((2, 1, 17, 9, 30), (8, 8, 16), 0.5, 3),
        ((1, 1, 6, 20, 5), (8, 8, 8), 0.25, 2),  # smaller than the ROI on two axes: padded
        ((1, 1, 16, 16, 16), (16, 16, 16), 0.6, 1),  # ROI spans the image
    ],
)
def test_models_sliding_window_matches_monai(shape, roi, overlap, batch, mode) -> None:  # type: ignore[no-untyped-def]
    net, x = _net(), _x(shape)
    ours = sliding_window_inference(x, net, roi_size=roi, overlap=overlap, batch_size=batch, mode=mode)
    with torch.no_grad():
        ref = monai_inferers.sliding_window_inference(x, roi, batch, net, overlap=overlap, mode=mode)
    assert ours.shape == ref.shape
    assert float((ours - ref).abs().max()) <= 1e-5


def test_models_importance_map_matches_monai() -> None:
    for roi in [(8, 8, 8), (7, 12, 5), (96, 96, 96)]:
        ours = importance_map(roi, "gaussian", (0.125,) * 3)
        ref = monai_data.compute_importance_map(roi, mode="gaussian", sigma_scale=0.125)
        assert torch.allclose(ours, ref, rtol=0, atol=1e-7)
        assert ours.min() > 0 and ours.max() <= 1.0


@pytest.mark.verifies("SRS-MODELS-010")
def test_models_sliding_window_constant_predictor_and_progress() -> None:
    # a predictor returning the input unchanged must reproduce the image exactly (weights sum to 1)
    x = _x((1, 1, 21, 13, 10))
    calls: list[tuple[int, int]] = []
    out = sliding_window_inference(x, lambda w: w * 1.0, roi_size=(8, 8, 8), overlap=0.5, batch_size=4,
                                   progress=lambda d, t: calls.append((d, t)))
    assert torch.allclose(out, x, atol=1e-6)
    assert calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == sorted(c[0] for c in calls)


@pytest.mark.verifies("SRS-MODELS-010")
def test_models_flip_tta_averages_flipped_predictions() -> None:
    x = _x((1, 1, 8, 8, 8))
    w = torch.arange(8.0).view(1, 1, 1, 1, 8)

    def pred(t: torch.Tensor) -> torch.Tensor:  # position-dependent, so flipping changes it
        return t * w

    out = sliding_window_inference(x, pred, roi_size=(8, 8, 8), flip_axes=[(2,)], mode="constant")
    expected = (x * w + x * torch.flip(w, [4])) / 2
    assert torch.allclose(out, expected, atol=1e-6)


def test_models_slicewise_and_25d() -> None:
    vol = _x((1, 2, 5, 6, 7))
    out = slicewise_inference(vol, lambda t: t[:, :1] * 2, axis=0, batch_size=3)
    assert torch.allclose(out, vol[:, :1] * 2)
    out1 = slicewise_inference(vol, lambda t: t.sum(1, keepdim=True), axis=1, batch_size=4)
    assert torch.allclose(out1, vol.sum(1, keepdim=True), atol=1e-6)
    # 2.5-D: channel 0 of slice s-1 (context 1, C=2 -> channels [s-1: c0, c1, s: c0, c1, s+1: c0, c1])
    prev = slicewise_inference(vol, lambda t: t[:, :1], axis=0, context=1)
    expected = torch.cat([vol[:, :1, :1], vol[:, :1, :-1]], dim=2)  # edge slice repeated
    assert torch.equal(prev, expected)
    nxt = slicewise_inference(vol, lambda t: t[:, 4:5], axis=0, context=1)
    assert torch.equal(nxt, torch.cat([vol[:, :1, 1:], vol[:, :1, -1:]], dim=2))
    windowed = slicewise_inference(vol, lambda t: t[:, :1] * 2, roi_size=(4, 4), overlap=0.5)
    assert torch.allclose(windowed, vol[:, :1] * 2, atol=1e-6)


def test_models_predict_volume_back_on_original_grid() -> None:
    arr = np.zeros((8, 10, 12), np.float32)
    arr[2:6, 3:7, 4:9] = 1.0
    vol = Volume(arr, spacing=(2.0, 1.0, 1.0))

    def probs(t: torch.Tensor) -> torch.Tensor:
        return torch.cat([1 - t, t], dim=1)

    labels, p = predict_volume(vol, probs, roi_size=(4, 4, 4))
    assert labels.same_grid(vol) and np.array_equal(labels.array, arr.astype(np.uint8))
    # forward = 2x downsampling by striding, inverse = nearest upsampling (stand-ins for a pipeline)
    fwd = lambda v: Volume(v.array[:, ::2, ::2].copy(), spacing=(2.0, 2.0, 2.0))  # noqa: E731
    inv = lambda c, ref: ref.with_array(np.repeat(np.repeat(c.array, 2, 1), 2, 2))  # noqa: E731
    labels2, p2 = predict_volume(vol, probs, roi_size=(4, 4, 4), forward=fwd, inverse=inv)
    assert labels2.shape == vol.shape and p2.shape == (2,) + vol.shape
    with pytest.raises(GeometryError, match="`inverse`"):
        predict_volume(vol, probs, roi_size=(4, 4, 4), forward=fwd)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"roi_size": (8, 8)}, "roi_size"),
        ({"roi_size": (8, 8, 0)}, "roi_size"),
        ({"roi_size": (8, 8, 8), "overlap": 1.0}, "overlap"),
        ({"roi_size": (8, 8, 8), "batch_size": 0}, "batch_size"),
        ({"roi_size": (8, 8, 8), "mode": "gauss"}, "mode"),
        ({"roi_size": (8, 8, 8), "flip_axes": [(3,)]}, "flip_axes"),
        ({"roi_size": (8, 8, 8), "sigma_scale": 0}, "sigma_scale"),
    ],
)
def test_models_sliding_window_bad_input(kwargs, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameterError) as err:
        sliding_window_inference(_x((1, 1, 8, 8, 8)), lambda t: t, **kwargs)
    assert err.value.field == field


def test_models_sliding_window_rejects_wrong_predictor_output() -> None:
    with pytest.raises(InvalidParameterError, match="`predictor`"):
        sliding_window_inference(_x((1, 1, 8, 8, 8)), lambda t: t[..., :4], roi_size=(8, 8, 8))
    with pytest.raises(InvalidParameterError, match="`axis`"):
        slicewise_inference(_x((1, 1, 4, 4, 4)), lambda t: t, axis=3)


def test_models_predict_volume_through_preprocess_pipeline() -> None:
    """With a resampling Pipeline the labels come back on the original grid and match the truth."""
    from samd_core.preprocess import Pipeline

    arr = np.zeros((12, 20, 20), np.float32)
    arr[3:9, 5:15, 6:14] = 1.0
    vol = Volume(arr, spacing=(2.0, 1.0, 1.0))
    pipe = Pipeline.from_spec({"version": 1, "steps": [{"op": "resample", "spacing": [2.0, 2.0, 2.0]}]})

    def probs(t: torch.Tensor) -> torch.Tensor:
        p = t.clamp(0, 1)
        return torch.cat([1 - p, p], dim=1)

    labels, p = predict_volume(vol, probs, roi_size=(8, 8, 8), pipeline=pipe)
    assert labels.same_grid(vol) and p.shape == (2,) + vol.shape
    assert np.mean(labels.array == arr.astype(np.uint8)) > 0.97  # box edges blur by one voxel at most
    with pytest.raises(InvalidParameterError, match="`pipeline`"):
        predict_volume(vol, probs, roi_size=(8, 8, 8), pipeline=pipe, forward=lambda v: v)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=30)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 12)),
    roi=st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 8)),
    overlap=st.floats(0.0, 0.9),
    batch=st.integers(1, 5),
    mode=st.sampled_from(["constant", "gaussian"]),
)
def test_models_sliding_window_reproduces_identity(shape, roi, overlap, batch, mode) -> None:  # type: ignore[no-untyped-def]
    """Invariant: blending the windows of an identity predictor returns the image (any tiling)."""
    x = _x((1, 2) + shape, seed=sum(shape))
    out = sliding_window_inference(x, lambda t: t.clone(), roi_size=roi, overlap=overlap, batch_size=batch, mode=mode)
    assert out.shape == x.shape
    assert torch.allclose(out, x, atol=1e-5)


def test_models_sliding_window_input_is_protected_from_inplace_predictors() -> None:
    x = _x((1, 1, 12, 12, 12))
    before = x.clone()

    def rude(t: torch.Tensor) -> torch.Tensor:
        return t.mul_(2.0)  # writes into its input

    out = sliding_window_inference(x, rude, roi_size=(8, 8, 8), overlap=0.5, batch_size=1)
    assert torch.equal(x, before)
    assert torch.allclose(out, 2 * before, atol=1e-5)
