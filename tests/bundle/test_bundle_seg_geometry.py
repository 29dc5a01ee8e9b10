"""Segmentation bundles with a locked ``resize`` step: maps come back on the input grid (issue #13, SRS-BUNDLE-015).

The model (plain ``torch.nn``, exported to ONNX) runs on the resized grid; `LockedTaskModel.predict`
returns per-class probabilities resampled linearly back onto the input grid and their arg-max.
Peer: the same chain computed independently with scipy.ndimage (centred padding with numpy,
``zoom(order=1, grid_mode=True, mode="nearest")`` forwards and backwards, i.e. the half-pixel
("align corners = False") mapping) and an explicit numpy convolution and softmax.
"""

from __future__ import annotations

import itertools
import pathlib
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy import ndimage
from torch import nn

from samd.commands.bundle import command as bundle_cmd
from samd_core import Volume, load_locked
from samd_core.qualification import check_bundle

pytest.importorskip("onnxruntime")

HI = 4095.0


class Seg(nn.Module):
    """conv k^d (1 -> n classes, zero padding) written without samd."""

    def __init__(self, dims: int, n_classes: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(5 + dims)
        self.conv = (nn.Conv2d if dims == 2 else nn.Conv3d)(1, n_classes, 3, padding=1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 1.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _numpy_softmax_conv(m: Seg, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``(C, *x.shape)`` of the 3^d convolution with zero padding, float64."""
    w = m.conv.weight.detach().numpy().astype(np.float64)[:, 0]  # (C, 3, 3[, 3])
    b = m.conv.bias.detach().numpy().astype(np.float64)
    xp = np.pad(x, 1)
    out = np.zeros((w.shape[0], *x.shape))
    for off in itertools.product(range(3), repeat=x.ndim):
        sl = tuple(slice(o, o + n) for o, n in zip(off, x.shape, strict=True))
        out += w[(slice(None), *off)].reshape(-1, *([1] * x.ndim)) * xp[sl][None]
    out += b.reshape(-1, *([1] * x.ndim))
    e = np.exp(out - out.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _reference(m: Seg, img: np.ndarray, target: tuple[int, ...]) -> np.ndarray:
    """Independent chain: window, centred pad to the target aspect, zoom, model, zoom back, crop."""
    x = np.clip(img.astype(np.float64) / HI, 0.0, 1.0)
    n, t = np.asarray(x.shape), np.asarray(target)
    padded = np.maximum(n, np.round(float(np.max(n / t)) * t).astype(int))
    before = (padded - n) - (padded - n) // 2  # start = (n - padded) // 2 (floor) puts the odd voxel first
    xp = np.pad(x, [(int(b), int(p - s - b)) for b, p, s in zip(before, padded, n, strict=True)])
    small = ndimage.zoom(xp, t / padded, order=1, grid_mode=True, mode="nearest")
    assert small.shape == tuple(target)
    prob = _numpy_softmax_conv(m, small)
    back = np.stack([ndimage.zoom(c, padded / t, order=1, grid_mode=True, mode="nearest") for c in prob])
    assert back.shape[1:] == tuple(padded)
    crop = tuple(slice(int(b), int(b + s)) for b, s in zip(before, n, strict=True))
    return back[(slice(None), *crop)]


def _lock(root: pathlib.Path, m: Seg, dims: int, target: tuple[int, ...], classes: list[str],
          images: list[np.ndarray], spacing: tuple[float, ...]) -> pathlib.Path:
    import SimpleITK as sitk
    import yaml

    torch.onnx.export(m.eval(), (torch.zeros(1, 1, *target),), str(root / "model.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=17, dynamo=False)
    (root / "ref").mkdir()
    refs = []
    for i, a in enumerate(images):
        im = sitk.GetImageFromArray(a)
        im.SetSpacing(tuple(reversed(spacing)))
        sitk.WriteImage(im, str(root / "ref" / f"r{i}.mha"))
        refs.append(f"ref/r{i}.mha")
    (root / "card.md").write_text("# seg test\n\nSynthetic; tests only.\n")
    spec: dict[str, Any] = {
        "name": f"seg-resize-{dims}d", "version": "1.0.0", "intended_use": "Tests of geometric preprocessing only.",
        "model": {"format": "onnx", "path": "model.onnx"},
        "task": {"kind": "segmentation", "classes": classes, "positive_class": classes[-1], "activation": "softmax",
                 "threshold": 0.5},
        "input": {"dims": dims, "channels": 1, "modality": ["CT"], "shape": list(target)},
        "preprocessing": [{"intensity_window": [0, HI]},
                          {"op": "resize", "shape": list(target), "aspect": "pad", "interpolation": "linear"}],
        "reference_inputs": refs, "model_card": "card.md",
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    res = CliRunner().invoke(bundle_cmd, ["create", str(root / "spec.yaml"), "--out", str(root / "bundle")])
    assert res.exit_code == 0, res.output
    return root / "bundle"


def _blobs(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.normal(size=shape), 1.5)
    return np.clip(2048 + 6000 * smooth, 0, 4095).astype(np.int16)


@pytest.mark.verifies("SRS-BUNDLE-015")
@pytest.mark.parametrize("dims, shape, spacing, target, classes", [
    (2, (30, 50), (0.3, 0.2), (16, 16), ["background", "a", "b"]),       # wide: rows padded
    (2, (45, 20), (0.25, 0.25), (12, 16), ["background", "lesion"]),     # tall into a wide model: columns padded
    (3, (9, 20, 14), (2.0, 0.7, 0.9), (8, 8, 8), ["background", "lesion"]),
])
def test_segmentation_with_resize_returns_maps_on_the_input_grid(
        tmp_path: pathlib.Path, dims: int, shape: tuple[int, ...], spacing: tuple[float, ...],
        target: tuple[int, ...], classes: list[str]) -> None:
    m = Seg(dims, len(classes))
    imgs = [_blobs(shape, s) for s in (1, 2)]
    bundle = _lock(tmp_path, m, dims, target, classes, imgs, spacing)
    locked = load_locked(bundle)
    assert check_bundle(bundle).passed
    for seed in (3, 4):
        img = _blobs(shape, seed)
        vol = Volume(img, spacing, origin=(4.0, -2.0, 7.5))
        pred = locked.predict(vol)
        want = _reference(m, img, target)
        got = np.stack([pred.class_probabilities[c].array for c in classes]).astype(np.float64)
        for c in classes:  # every map is on the input grid
            assert pred.class_probabilities[c].same_grid(vol)
        assert pred.label.same_grid(vol) and pred.label.array.dtype == np.uint8
        assert np.abs(got - want).max() < 1e-5
        np.testing.assert_allclose(got.sum(axis=0), 1.0, atol=1e-5)  # linear weights shared by the classes
        top2 = np.sort(want, axis=0)[-2:]
        clear = (top2[1] - top2[0]) > 1e-4
        np.testing.assert_array_equal(pred.label.array[clear], np.argmax(want, axis=0)[clear])
        np.testing.assert_array_equal(pred.label.array, np.argmax(got, axis=0))  # label = arg-max of the returned maps
        assert pred.score == pytest.approx(float(want[-1].max()), abs=1e-5)
        if dims == 3:  # lesions are measured on the input grid, in its mm
            fg = pred.label.array == 1
            assert sum(les.n_voxels for les in pred.lesions) == int(fg.sum())
            assert sum(les.volume_mm3 for les in pred.lesions) == pytest.approx(fg.sum() * float(np.prod(spacing)))


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_segmentation_with_resample_then_sliding_windows(tmp_path: pathlib.Path) -> None:
    """A ``resample`` step (2-D, 0.25 -> 0.5 mm) then sliding windows on the resampled grid; maps on the input grid.
    Peer: SimpleITK's ResampleImageFilter applied by hand on the same numbers, the model run whole-image
    (the 1x1 convolution makes windowing exact), and SimpleITK back onto the input grid."""
    import SimpleITK as sitk
    import yaml

    m = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[[[-3.0]]], [[[4.0]]]]))
        m.bias.copy_(torch.tensor([1.0, -1.5]))
    torch.onnx.export(m.eval(), (torch.zeros(1, 1, 8, 8),), str(tmp_path / "model.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=17, dynamo=False)
    img = _blobs((40, 36), 7)
    vol = Volume(img, (0.25, 0.25))
    from samd_core.io import write_image

    (tmp_path / "ref").mkdir()
    write_image(vol, tmp_path / "ref" / "a.mha")
    (tmp_path / "card.md").write_text("# t\n")
    spec = {"name": "seg-resample", "version": "1.0.0", "intended_use": "Tests only.",
            "model": {"format": "onnx", "path": "model.onnx"},
            "task": {"kind": "segmentation", "classes": ["background", "lesion"], "activation": "softmax",
                     "threshold": 0.5},
            "input": {"dims": 2, "channels": 1, "shape": [8, 8], "blend_mode": "constant"},
            "preprocessing": [{"intensity_window": [0, HI]}, {"op": "resample", "spacing": [0.5, 0.5]}],
            "reference_inputs": ["ref/a.mha"], "model_card": "card.md"}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    res = CliRunner().invoke(bundle_cmd, ["create", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    pred = load_locked(tmp_path / "b").predict(vol)
    # independent: SimpleITK resample of the windowed image onto the 0.5 mm grid sharing the centre
    src = sitk.GetImageFromArray(np.clip(img.astype(np.float32) / np.float32(HI), 0, 1))
    src.SetSpacing((0.25, 0.25))
    ref = sitk.Image(18, 20, sitk.sitkFloat32)
    ref.SetSpacing((0.5, 0.5))
    ref.SetOrigin((0.125, 0.125))  # same physical box: corner at -0.125 mm
    filt = sitk.ResampleImageFilter()
    filt.SetReferenceImage(ref)
    filt.SetInterpolator(sitk.sitkLinear)
    filt.SetUseNearestNeighborExtrapolator(True)
    small = sitk.GetArrayFromImage(filt.Execute(src)).astype(np.float64)
    logits = np.stack([-3.0 * small + 1.0, 4.0 * small - 1.5])
    p = np.exp(logits - logits.max(0)) / np.exp(logits - logits.max(0)).sum(0)
    back = []
    for c in p:
        im = sitk.GetImageFromArray(c.astype(np.float32))
        im.CopyInformation(ref)
        f2 = sitk.ResampleImageFilter()
        f2.SetReferenceImage(src)
        f2.SetInterpolator(sitk.sitkLinear)
        f2.SetUseNearestNeighborExtrapolator(True)
        back.append(sitk.GetArrayFromImage(f2.Execute(im)))
    want = np.stack(back).astype(np.float64)
    got = np.stack([pred.class_probabilities[c].array for c in ("background", "lesion")])
    assert got.shape == (2, 40, 36)
    assert np.abs(got - want).max() < 1e-5
