"""Colour / multi-channel model input (issue #13, SRS-BUNDLE-015).

A foreign 3-channel classifier, built with plain ``torch.nn`` (not samd's classes), is exported to
ONNX and locked with ``samd bundle create``; it runs on colour ophthalmic photographs (DICOM OP,
RGB and YBR_FULL, written here with pydicom) and on PNG. Its scores are checked against an
independent numpy computation of the same network (window, per-channel z-score, explicit
convolution, ReLU, mean pool, linear, softmax). YBR_FULL -> RGB uses the equations of DICOM
PS3.3 C.7.6.3.1.2 written out in numpy.
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
import pydicom
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

from samd.commands.bundle import command as bundle_cmd
from samd_core import Volume, load_locked
from samd_core.bundle import InputDomainError
from samd_core.io import read_dicom_image, read_image, write_dicom_image
from samd_core.qualification import check_bundle

pytest.importorskip("onnxruntime")

SHAPE = (24, 32)  # (H, W): not square, so a transposed channel/spatial layout cannot pass
MEAN = [0.485, 0.456, 0.406]  # per-channel z-score (ImageNet RGB statistics), channel order R, G, B
STD = [0.229, 0.224, 0.225]
OP_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.5.1"  # Ophthalmic Photography 8 Bit Image Storage


class Foreign3(nn.Module):
    """A 3-channel classifier written without samd: conv 3x3 (3 -> 4) -> ReLU -> global mean -> linear."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(11)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def _numpy_scores(m: Foreign3, rgb: np.ndarray) -> np.ndarray:
    """Independent float64 forward pass of ``rgb`` ``(H, W, 3)`` uint8 (channel order R, G, B)."""
    x = np.clip(rgb.astype(np.float64) / 255.0, 0.0, 1.0)
    x = (x - np.asarray(MEAN)) / np.asarray(STD)  # per channel
    x = np.transpose(x, (2, 0, 1))  # (3, H, W): NCHW without N
    w = m.conv.weight.detach().numpy().astype(np.float64)  # (4, 3, 3, 3)
    b = m.conv.bias.detach().numpy().astype(np.float64)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    h, wd = x.shape[1:]
    feat = np.zeros((4, h, wd))
    for c in range(3):
        for dy in range(3):
            for dx in range(3):
                feat += w[:, c, dy, dx][:, None, None] * xp[c, dy : dy + h, dx : dx + wd][None]
    feat = np.maximum(feat + b[:, None, None], 0.0).mean(axis=(1, 2))
    logits = m.fc.weight.detach().numpy().astype(np.float64) @ feat + m.fc.bias.detach().numpy()
    e = np.exp(logits - logits.max())
    return e / e.sum()


def _ybr_full_to_rgb(ybr: np.ndarray) -> np.ndarray:
    """DICOM PS3.3 C.7.6.3.1.2 (YBR_FULL, 8 bit): R = Y + 1.402 Cr', G = Y - 0.3441 Cb' - 0.7141 Cr',
    B = Y + 1.772 Cb' with Cb' = Cb - 128, Cr' = Cr - 128; rounded and clipped to 0..255."""
    y, cb, cr = (ybr[..., i].astype(np.float64) for i in range(3))
    r = y + 1.402 * (cr - 128)
    g = y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)
    b = y + 1.772 * (cb - 128)
    return np.clip(np.round(np.stack([r, g, b], axis=-1)), 0, 255).astype(np.uint8)


def _rgb_to_ybr_full(rgb: np.ndarray) -> np.ndarray:
    """PS3.3 C.7.6.3.1.2 forward equations, rounded and clipped."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return np.clip(np.round(np.stack([y, cb, cr], axis=-1)), 0, 255).astype(np.uint8)


def _photo(seed: int) -> np.ndarray:
    """A smooth synthetic colour photograph (a disc on a reddish background) with noise, uint8 RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    cy, cx = rng.uniform(6, SHAPE[0] - 6), rng.uniform(8, SHAPE[1] - 8)
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < rng.uniform(9, 30)).astype(float)
    base = np.stack([150 + 60 * disc, 60 + 120 * disc, 30 + 40 * disc], axis=-1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def _write_op(path: pathlib.Path, stored: np.ndarray, photometric: str) -> pathlib.Path:
    """An Ophthalmic Photography 8 Bit image storing ``stored`` with ``photometric`` (RGB or YBR_FULL)."""
    p = write_dicom_image(Volume(stored, (1.0, 1.0), channel_last=True), path, modality="SC", photometric="RGB",
                          spacing_attribute="none")
    ds = pydicom.dcmread(p)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = OP_SOP_CLASS
    ds.Modality = "OP"
    ds.PhotometricInterpretation = photometric
    ds.PixelSpacing = ["0.01", "0.01"]
    ds.PixelData = np.ascontiguousarray(stored).tobytes()
    ds.save_as(p)
    return p


def _twins(root: pathlib.Path, seed: int) -> tuple[pathlib.Path, pathlib.Path, np.ndarray]:
    """(YBR_FULL file, RGB file, the RGB image both encode): the RGB twin holds the PS3.3 conversion."""
    ybr = _rgb_to_ybr_full(_photo(seed))
    rgb = _ybr_full_to_rgb(ybr)
    return (_write_op(root / f"ybr{seed}.dcm", ybr, "YBR_FULL"), _write_op(root / f"rgb{seed}.dcm", rgb, "RGB"), rgb)


@pytest.fixture(scope="module")
def colour(tmp_path_factory: pytest.TempPathFactory) -> tuple[Foreign3, pathlib.Path, pathlib.Path]:
    import yaml

    root = tmp_path_factory.mktemp("colour")
    m = Foreign3().eval()
    torch.onnx.export(m, (torch.zeros(1, 3, *SHAPE),), str(root / "model.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=17, dynamo=False)
    (root / "ref").mkdir()
    refs = [_twins(root / "ref", s)[i].relative_to(root).as_posix() for s, i in ((1, 0), (2, 1))]
    (root / "card.md").write_text("# colour test model\n\nSynthetic; tests only.\n")
    spec = {
        "name": "fundus-grader-test", "version": "1.0.0", "intended_use": "Tests of colour model input only.",
        "model": {"format": "onnx", "path": "model.onnx"},
        "task": {"kind": "classification", "classes": ["normal", "referable"], "positive_class": "referable",
                 "activation": "softmax", "threshold": 0.5},
        "input": {"dims": 2, "channels": 3, "modality": ["OP"], "shape": list(SHAPE)},
        "preprocessing": [{"intensity_window": [0, 255]}, {"op": "zscore", "mean": MEAN, "std": STD}],
        "reference_inputs": refs, "model_card": "card.md",
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    res = CliRunner().invoke(bundle_cmd, ["create", str(root / "spec.yaml"), "--out", str(root / "bundle")])
    assert res.exit_code == 0, res.output
    return m, root, root / "bundle"


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_foreign_colour_classifier_on_op_dicom_and_png_equals_numpy(
        colour: tuple[Foreign3, pathlib.Path, pathlib.Path], tmp_path: pathlib.Path) -> None:
    m, _, bundle = colour
    locked = load_locked(bundle)
    assert locked.input_spec.channels == 3
    worst = 0.0
    for seed in (3, 4, 5):
        ybr_file, rgb_file, rgb = _twins(tmp_path, seed)
        Image.fromarray(rgb).save(tmp_path / f"p{seed}.png")
        want = _numpy_scores(m, rgb)
        for vol in (read_dicom_image(rgb_file), read_dicom_image(ybr_file), read_image(tmp_path / f"p{seed}.png")):
            assert vol.channel_last and vol.n_channels == 3 and vol.meta["channels"] == "RGB"
            pred = locked.predict(vol)
            got = np.array([pred.probabilities["normal"], pred.probabilities["referable"]])
            worst = max(worst, float(np.abs(got - want).max()))
            assert pred.score == pred.probabilities["referable"]
    assert worst < 1e-5, worst
    assert check_bundle(bundle).passed  # OQ: colour reference inputs (channel_last) reproduce their goldens
    res = CliRunner().invoke(bundle_cmd, ["check", str(bundle)])
    assert res.exit_code == 0, res.output


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_ybr_full_and_rgb_twins_give_the_same_score(colour: tuple[Foreign3, pathlib.Path, pathlib.Path],
                                                    tmp_path: pathlib.Path) -> None:
    locked = load_locked(colour[2])
    for seed in (6, 7):
        ybr_file, rgb_file, rgb = _twins(tmp_path, seed)
        a, b = read_dicom_image(ybr_file), read_dicom_image(rgb_file)
        np.testing.assert_array_equal(b.array, rgb)
        np.testing.assert_array_equal(a.array, rgb)  # pydicom's YBR_FULL decoder == PS3.3 equations by hand
        assert locked.predict(a).score == locked.predict(b).score


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_grey_image_to_a_colour_model_is_refused_naming_channels(
        colour: tuple[Foreign3, pathlib.Path, pathlib.Path], tmp_path: pathlib.Path) -> None:
    locked = load_locked(colour[2])
    grey = _photo(8)[..., 1]
    Image.fromarray(grey).save(tmp_path / "g.png")
    dx = write_dicom_image(Volume(grey.astype(np.int16), (0.1, 0.1)), tmp_path / "g.dcm", modality="DX")
    one = Volume(np.zeros((*SHAPE, 1), np.uint8), (1.0, 1.0), channel_last=True)
    for vol, got in ((read_image(tmp_path / "g.png"), 1), (read_dicom_image(dx), 1), (one, 1),
                     (Volume(np.zeros((*SHAPE, 4), np.uint8), (1.0, 1.0), channel_last=True), 4)):
        for allow in (False, True):  # never run on the wrong channels, even when out-of-domain runs are allowed
            with pytest.raises(InputDomainError, match=rf"`channels` must be 3 .*; got {got}") as err:
                locked.predict(vol, allow_out_of_domain=allow)
            assert err.value.attribute == "channels" and err.value.value == got


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_colour_image_to_a_grey_model_is_refused_naming_channels(tmp_path: pathlib.Path) -> None:
    from samd_core.qualification import shipped_bundles

    cxr = next(b for b in shipped_bundles() if b.name == "cxr_triage_v1")
    locked = load_locked(cxr, check_core_fingerprint=False)
    Image.fromarray(_photo(9)).save(tmp_path / "c.png")
    with pytest.raises(InputDomainError, match=r"`channels` must be 1 \(grey-scale.*; got 3") as err:
        locked.predict(read_image(tmp_path / "c.png"))
    assert err.value.attribute == "channels"


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_colour_bundle_with_a_resize_step_equals_per_channel_scipy_zoom(
        colour: tuple[Foreign3, pathlib.Path, pathlib.Path], tmp_path: pathlib.Path) -> None:
    """A (48, 64) photograph resized (stretch, linear) to the model's (24, 32): each channel is
    resized alike; peer: scipy.ndimage.zoom (order 1, grid_mode=True, mode='nearest') per channel."""
    import shutil

    import yaml
    from scipy import ndimage

    m, root, _ = colour
    spec = yaml.safe_load((root / "spec.yaml").read_text())
    spec["preprocessing"] = [{"intensity_window": [0, 255]},
                             {"op": "resize", "shape": list(SHAPE), "aspect": "stretch", "interpolation": "linear"},
                             {"op": "zscore", "mean": MEAN, "std": STD}]
    big = np.repeat(np.repeat(_photo(10), 2, axis=0), 2, axis=1)
    big = np.clip(big.astype(int) + np.random.default_rng(10).integers(-9, 10, big.shape), 0, 255).astype(np.uint8)
    Image.fromarray(big).save(root / "ref" / "big.png")
    spec["reference_inputs"] = ["ref/big.png"]
    (root / "spec_resize.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "b"
    res = CliRunner().invoke(bundle_cmd, ["create", str(root / "spec_resize.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    (root / "ref" / "big.png").unlink()
    pred = load_locked(out).predict(_png(tmp_path, big))
    small = np.stack([ndimage.zoom(big[..., c].astype(np.float64) / 255.0, (0.5, 0.5), order=1, grid_mode=True,
                                   mode="nearest") for c in range(3)], axis=-1)
    want = _numpy_scores_float(m, small)
    got = np.array([pred.probabilities["normal"], pred.probabilities["referable"]])
    assert np.abs(got - want).max() < 1e-5
    shutil.rmtree(out)


def _png(root: pathlib.Path, rgb: np.ndarray) -> Volume:
    Image.fromarray(rgb).save(root / "in.png")
    return read_image(root / "in.png")


def _numpy_scores_float(m: Foreign3, x01: np.ndarray) -> np.ndarray:
    """`_numpy_scores` of an image already in [0, 1]."""
    return _numpy_scores(m, x01 * 255.0)


# ---------------------------------------------------------------- the pipeline on channels
def _rgb_volume(seed: int = 0) -> Volume:
    return Volume(_photo(seed), (0.5, 0.4), meta={"channels": "RGB"}, channel_last=True)


@pytest.mark.verifies("SRS-BUNDLE-015")
@pytest.mark.parametrize("op", ["zscore", "percentile"])
def test_image_statistics_on_colour_need_channel_wise_stated(op: str) -> None:
    from samd_core.errors import InvalidParameterError
    from samd_core.preprocess import Pipeline

    with pytest.raises(InvalidParameterError, match=rf"`steps\[0\]\.channel_wise` of `Pipeline.forward` must be "
                       r"true \(statistics per channel\) or false \(over all channels\) for a 3-channel image"):
        Pipeline.from_spec({"steps": [{"op": op}]})(_rgb_volume())
    grey = Volume(_photo(0)[..., 0], (0.5, 0.4))
    Pipeline.from_spec({"steps": [{"op": op}]})(grey)  # grey-scale: unchanged, nothing to state
    assert "channel_wise" not in Pipeline.from_spec({"steps": [{"op": op}]}).spec["steps"][0]


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_zscore_per_channel_and_global_equal_numpy() -> None:
    from samd_core.preprocess import Pipeline

    v = _rgb_volume(1)
    a = v.array.astype(np.float64)
    per, rec = Pipeline.from_spec({"steps": [{"op": "zscore", "channel_wise": True}]}).forward(v)
    want = (a - a.mean(axis=(0, 1))) / a.std(axis=(0, 1))
    np.testing.assert_allclose(per.array, want, atol=1e-5)
    assert rec["channels"] == 3 and rec["steps"][0]["channel_wise"] is True
    assert [c["mean"] for c in rec["steps"][0]["channels"]] == pytest.approx(list(a.mean(axis=(0, 1))))
    glob = Pipeline.from_spec({"steps": [{"op": "zscore", "channel_wise": False}]})(v)
    np.testing.assert_allclose(glob.array, (a - a.mean()) / a.std(), atol=1e-5)
    fixed = Pipeline.from_spec({"steps": [{"op": "zscore", "mean": MEAN, "std": STD}]})(v)
    np.testing.assert_allclose(fixed.array, (a - np.asarray(MEAN)) / np.asarray(STD), rtol=1e-6)
    assert per.channel_last and per.meta["channels"] == "RGB"


@pytest.mark.verifies("SRS-BUNDLE-015")
@pytest.mark.parametrize("spec, match", [
    ({"op": "zscore", "mean": [0.5, 0.5], "std": [0.2, 0.2]}, r"`steps\[0\]\.mean` .* must be 3 values"),
    ({"op": "zscore", "mean": [0.5, 0.5, 0.5], "std": 0.2}, r"`steps\[0\]\.std` .* a list as long as mean"),
    ({"op": "zscore", "mean": [0.5] * 3, "std": [0.2] * 3, "channel_wise": False}, r"`steps\[0\]\.channel_wise`"),
    ({"op": "crop_foreground"}, r"`steps\[0\]\.op` of `Pipeline.forward` must be a step defined for multi-channel"),
])
def test_channel_spec_errors(spec: dict[str, Any], match: str) -> None:
    from samd_core.errors import InvalidParameterError
    from samd_core.preprocess import Pipeline

    with pytest.raises(InvalidParameterError, match=match):
        Pipeline.from_spec({"steps": [spec]})(_rgb_volume())


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_replay_of_a_colour_record_on_another_colour_image() -> None:
    from samd_core.preprocess import Pipeline

    p = Pipeline.from_spec({"steps": [{"op": "resize", "shape": [12, 20], "aspect": "pad"},
                                      {"op": "percentile", "channel_wise": True}]})
    v, w = _rgb_volume(2), _rgb_volume(3)
    out, rec = p.forward(v)
    again = p.replay(v, rec, kind="image")
    np.testing.assert_array_equal(again.array, out.array)
    other = p.replay(w, rec, kind="image")
    assert other.shape == (12, 20, 3) and other.channel_last


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_two_channel_3d_classifier_from_vector_metaimage_equals_numpy(tmp_path: pathlib.Path) -> None:
    """N channels generally: a 2-channel 3-D input (e.g. two co-registered MR contrasts) stored as a
    vector MetaImage; channel k of the file is input channel k. Peer: numpy (per-channel linear map,
    mean, softmax) of the same 1x1x1 network."""
    import SimpleITK as sitk
    import yaml

    m = nn.Sequential(nn.Conv3d(2, 2, 1), nn.AdaptiveAvgPool3d(1), nn.Flatten())
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor([[1.5, -2.0], [-0.5, 1.0]]).reshape(2, 2, 1, 1, 1))
        m[0].bias.copy_(torch.tensor([0.1, -0.2]))
    shape = (4, 6, 5)
    torch.onnx.export(m.eval(), (torch.zeros(1, 2, *shape),), str(tmp_path / "model.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=17, dynamo=False)
    rng = np.random.default_rng(3)

    def write(name: str) -> np.ndarray:
        a = rng.normal(size=(*shape, 2)).astype(np.float32)
        im = sitk.GetImageFromArray(a, isVector=True)
        im.SetSpacing((0.8, 0.8, 2.0))
        sitk.WriteImage(im, str(tmp_path / name))
        return a

    write("ref.mha")
    (tmp_path / "card.md").write_text("# t\n")
    spec = {"name": "two-channel", "version": "1.0.0", "intended_use": "Tests only.",
            "model": {"format": "onnx", "path": "model.onnx"},
            "task": {"kind": "classification", "classes": ["a", "b"], "activation": "softmax", "threshold": 0.5},
            "input": {"dims": 3, "channels": 2, "shape": list(shape)},
            "preprocessing": [{"op": "clip", "lower": -2.5, "upper": 2.5}],
            "reference_inputs": ["ref.mha"], "model_card": "card.md"}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    res = CliRunner().invoke(bundle_cmd, ["create", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    locked = load_locked(tmp_path / "b")
    a = write("x.mha")
    x = np.clip(a.astype(np.float64), -2.5, 2.5)
    logits = np.array([1.5 * x[..., 0] - 2.0 * x[..., 1] + 0.1, -0.5 * x[..., 0] + 1.0 * x[..., 1] - 0.2]).mean(
        axis=(1, 2, 3))
    want = np.exp(logits) / np.exp(logits).sum()
    pred = locked.predict(read_image(tmp_path / "x.mha"))
    assert abs(pred.probabilities["b"] - want[1]) < 1e-5 and abs(pred.probabilities["a"] - want[0]) < 1e-5
    with pytest.raises(InputDomainError, match=r"`channels` must be 2 .*; got 1"):
        locked.predict(Volume(x[..., 0], (2.0, 0.8, 0.8)))
    assert check_bundle(tmp_path / "b").passed


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_colour_image_to_the_ct_lesion_model_is_refused_naming_channels() -> None:
    """A (y, x, 3) colour array has three axes but is no CT volume: samd-bundle/1 refuses it by channels."""
    from samd_core.qualification import shipped_bundles

    nodule = next(b for b in shipped_bundles() if b.name == "nodule_v1")
    locked = load_locked(nodule, check_core_fingerprint=False)
    with pytest.raises(InputDomainError, match=r"`channels` must be 1 \(grey-scale CT in HU\); got 3"):
        locked.predict(Volume(np.zeros((32, 32, 3), np.int16), (1.0, 1.0), channel_last=True))
