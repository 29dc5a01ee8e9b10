"""Any model: ONNX and samd networks, classification and multi-class segmentation (issue #13, SRS-BUNDLE-015).

The foreign model is built with plain ``torch.nn`` (not samd's classes), exported to ONNX and
locked with ``samd bundle create``; its scores are checked against an independent numpy
computation of the same network (explicit convolution, ReLU, mean pool, linear, softmax).
"""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from samd.commands.bundle import command as bundle_cmd
from samd_core import Volume, load_locked
from samd_core.bundle import BundleIntegrityError, LockedTaskModel, create_bundle
from samd_core.errors import InvalidParameterError
from samd_core.qualification import check_bundle

pytest.importorskip("onnxruntime")
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

SHAPE = (32, 32)
LO, HI = 0.0, 4095.0


class Foreign(nn.Module):
    """A small classifier written without samd: conv 3x3 -> ReLU -> global mean -> linear."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4, n_classes)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def _numpy_scores(m: Foreign, img: np.ndarray) -> np.ndarray:
    """Independent forward pass in numpy (float64): window, conv (cross-correlation), ReLU, mean, linear, softmax."""
    x = np.clip((img.astype(np.float64) - LO) / (HI - LO), 0.0, 1.0)
    w = m.conv.weight.detach().numpy().astype(np.float64)  # (4, 1, 3, 3)
    b = m.conv.bias.detach().numpy().astype(np.float64)
    xp = np.pad(x, 1)
    feat = np.zeros((4, *x.shape))
    for dy in range(3):
        for dx in range(3):
            feat += w[:, 0, dy, dx][:, None, None] * xp[dy : dy + x.shape[0], dx : dx + x.shape[1]][None]
    feat = np.maximum(feat + b[:, None, None], 0.0).mean(axis=(1, 2))
    logits = m.fc.weight.detach().numpy().astype(np.float64) @ feat + m.fc.bias.detach().numpy()
    e = np.exp(logits - logits.max())
    return e / e.sum()


def _export(model: nn.Module, path: pathlib.Path, shape: tuple[int, ...]) -> None:
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 1, *shape),), str(path), input_names=["x"], output_names=["y"],
                      opset_version=17, dynamo=False)


def _images(root: pathlib.Path, n: int, shape: tuple[int, ...] = SHAPE, seed: int = 0) -> list[str]:
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    (root / "ref").mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        arr = rng.integers(0, 4096, shape).astype(np.int16)
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing((0.2,) * len(shape))
        sitk.WriteImage(img, str(root / "ref" / f"img{i}.mha"))
        names.append(f"ref/img{i}.mha")
    return names


def _spec(root: pathlib.Path, model: dict[str, Any], task: dict[str, Any], *, shape: tuple[int, ...] = SHAPE,
          refs: list[str] | None = None, modality: list[str] | None = None,
          windows: dict[str, Any] | None = None) -> pathlib.Path:
    import yaml

    (root / "card.md").write_text("# test model\n\nSynthetic; tests only.\n")
    spec = {
        "name": "any-model-test", "version": "1.0.0", "intended_use": "Tests of the bundle format only.",
        "model": model, "task": task,
        "input": {"dims": len(shape), "channels": 1, "modality": modality or ["DX", "CR"], "shape": list(shape),
                  **(windows or {})},
        "preprocessing": [{"intensity_window": [LO, HI]}],
        "reference_inputs": refs if refs is not None else _images(root, 2, shape),
        "model_card": "card.md",
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root / "spec.yaml"


CLS2 = {"kind": "classification", "classes": ["normal", "finding"], "positive_class": "finding",
        "activation": "softmax", "threshold": 0.5}


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Foreign, pathlib.Path, pathlib.Path]:
    root = tmp_path_factory.mktemp("foreign")
    m = Foreign(2)
    _export(m, root / "model.onnx", SHAPE)
    spec = _spec(root, {"format": "onnx", "path": "model.onnx"}, CLS2)
    res = CliRunner().invoke(bundle_cmd, ["create", str(spec), "--out", str(root / "bundle")])
    assert res.exit_code == 0, res.output
    return m, root, root / "bundle"


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_foreign_onnx_classifier_equals_numpy(foreign: tuple[Foreign, pathlib.Path, pathlib.Path]) -> None:
    m, root, bundle = foreign
    model = load_locked(bundle)
    assert isinstance(model, LockedTaskModel) and model.task.kind == "classification"
    assert model.runtime["intra_op_threads"] == 1 and model.runtime["graph_optimization_level"] == "ORT_ENABLE_BASIC"
    assert model.runtime["deterministic_compute"] is True
    rng = np.random.default_rng(42)
    worst = 0.0
    for _ in range(6):
        img = rng.integers(0, 4096, SHAPE).astype(np.int16)
        pred = model.predict(Volume(img, (0.2, 0.2), meta={"modality": "DX"}))
        ref = _numpy_scores(m, img)
        worst = max(worst, abs(pred.score - ref[1]))
        assert pred.probabilities["normal"] == pytest.approx(ref[0], abs=1e-5)
        assert pred.positive == (pred.score >= 0.5) and pred.probability is None
    assert worst <= 1e-5
    assert check_bundle(bundle).passed  # OQ: goldens computed at create time are reproduced
    ok = CliRunner().invoke(bundle_cmd, ["check", str(bundle)])
    assert ok.exit_code == 0 and '"kind": "classification"' in ok.output


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_flipped_byte_in_model_onnx_is_refused(foreign: tuple[Foreign, pathlib.Path, pathlib.Path],
                                               tmp_path: pathlib.Path) -> None:
    b = pathlib.Path(shutil.copytree(foreign[2], tmp_path / "b"))
    data = bytearray((b / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (b / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(b)
    assert err.value.kind == "hash_mismatch" and err.value.file == "model.onnx"


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_input_shape_and_modality_are_enforced(foreign: tuple[Foreign, pathlib.Path, pathlib.Path]) -> None:
    from samd_core.bundle import InputDomainError

    model = load_locked(foreign[2])
    with pytest.raises(InvalidParameterError, match="no resize"):
        model.predict(Volume(np.zeros((64, 64), np.int16), (0.2, 0.2)))
    with pytest.raises(InputDomainError, match="modality"):
        model.predict(Volume(np.zeros(SHAPE, np.int16), (0.2, 0.2), meta={"modality": "CT"}))


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_multiclass_classification_roundtrip(tmp_path: pathlib.Path) -> None:
    m = Foreign(3)
    _export(m, tmp_path / "m3.onnx", SHAPE)
    task = {"kind": "classification", "classes": ["a", "b", "c"], "positive_class": "c", "activation": "softmax",
            "threshold": 0.3}
    b = create_bundle(_spec(tmp_path, {"format": "onnx", "path": "m3.onnx"}, task), tmp_path / "bundle")
    model = load_locked(b)
    img = np.random.default_rng(1).integers(0, 4096, SHAPE).astype(np.int16)
    pred = model.predict(Volume(img, (0.2, 0.2)))
    assert list(pred.probabilities) == ["a", "b", "c"]
    assert sum(pred.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(list(pred.probabilities.values()), _numpy_scores(m, img), atol=1e-5)
    assert pred.score == pred.probabilities["c"] and pred.to_dict()["task"] == "classification"
    assert check_bundle(b).passed


def _samd_unet(tmp: pathlib.Path, out_channels: int) -> tuple[nn.Module, dict[str, Any]]:
    from safetensors.torch import save

    from samd_core.models import build_network

    cfg = {"architecture": "unet", "spatial_dims": 2, "in_channels": 1, "out_channels": out_channels,
           "channels": [4, 8], "norm": "none"}
    net = build_network(cfg, rng=3)
    (tmp / "network.json").write_text(json.dumps(cfg))
    (tmp / "weights.safetensors").write_bytes(save({k: v.contiguous() for k, v in net.state_dict().items()}))
    return net, cfg


SEG3 = {"kind": "segmentation", "classes": ["background", "nodule", "vessel"], "positive_class": "nodule",
        "activation": "softmax", "threshold": 0.5}


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_multiclass_segmentation_roundtrip_and_cross_backend(tmp_path: pathlib.Path) -> None:
    net, _ = _samd_unet(tmp_path, 3)
    _export(net, tmp_path / "unet.onnx", SHAPE)
    refs = _images(tmp_path, 2)
    a = create_bundle(_spec(tmp_path, {"format": "samd", "network": "network.json",
                                       "weights": "weights.safetensors"}, SEG3, refs=refs), tmp_path / "samd_b")
    b = create_bundle(_spec(tmp_path, {"format": "onnx", "path": "unet.onnx"}, SEG3, refs=refs), tmp_path / "onnx_b")
    ma, mb = load_locked(a), load_locked(b)
    assert ma.runtime["format"] == "samd" and mb.runtime["format"] == "onnx"
    img = np.random.default_rng(5).integers(0, 4096, SHAPE).astype(np.int16)
    vol = Volume(img, (0.2, 0.3), (1.0, 2.0, 0.0))
    pa, pb = ma.predict(vol), mb.predict(vol)
    assert list(pa.class_probabilities) == SEG3["classes"]
    for c in SEG3["classes"]:
        assert pa.class_probabilities[c].shape == SHAPE and pa.class_probabilities[c].spacing == vol.spacing
        np.testing.assert_allclose(pa.class_probabilities[c].array, pb.class_probabilities[c].array, atol=1e-5)
    stacked = np.stack([pa.class_probabilities[c].array for c in SEG3["classes"]])
    np.testing.assert_allclose(stacked.sum(axis=0), 1.0, atol=1e-5)
    assert pa.label is not None and np.array_equal(pa.label.array, np.argmax(stacked, axis=0))
    assert pa.score == pytest.approx(float(pa.class_probabilities["nodule"].array.max()))
    assert abs(pa.score - pb.score) <= 1e-5
    assert check_bundle(a).passed and check_bundle(b).passed


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_segmentation_sliding_windows_on_larger_inputs(tmp_path: pathlib.Path) -> None:
    _samd_unet(tmp_path, 3)
    spec = _spec(tmp_path, {"format": "samd", "network": "network.json", "weights": "weights.safetensors"}, SEG3,
                 windows={"overlap": 0.0, "blend_mode": "constant"})
    model = load_locked(create_bundle(spec, tmp_path / "b"))
    img = np.random.default_rng(9).integers(0, 4096, (64, 32)).astype(np.int16)
    whole = model.predict(Volume(img, (0.2, 0.2)))
    top, bottom = (model.predict(Volume(img[s], (0.2, 0.2))) for s in (slice(0, 32), slice(32, 64)))
    for c in SEG3["classes"]:  # two non-overlapping windows with constant weights = the two halves exactly
        joined = np.concatenate([top.class_probabilities[c].array, bottom.class_probabilities[c].array])
        np.testing.assert_allclose(whole.class_probabilities[c].array, joined, rtol=0, atol=1e-6)
    assert whole.label is not None and whole.label.shape == (64, 32)
    odd = model.predict(Volume(img[:50, :27], (0.2, 0.2)))  # smaller than a window on one axis: padded
    assert odd.class_probabilities["nodule"].shape == (50, 27)
    with pytest.raises(InvalidParameterError, match="no resize"):
        load_locked(tmp_path / "b").predict(Volume(np.zeros((4, 32, 32), np.int16), (1.0, 0.2, 0.2)))


def _onnx_identity(path: pathlib.Path, *, shape: tuple[int, ...] = (1, 2), domain: str = "",
                   external: str | None = None) -> None:
    w = numpy_helper.from_array(np.zeros(shape, np.float32), "w")
    if external is not None:
        from onnx.external_data_helper import set_external_data

        set_external_data(w, location=external)
        w.ClearField("raw_data")
        w.data_location = TensorProto.EXTERNAL
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, *SHAPE])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))
    node = helper.make_node("Add" if not domain else "Evil", ["w", "w"], ["y"], domain=domain)
    keep = helper.make_node("ReduceMean", ["x"], ["unused"], keepdims=0)
    graph = helper.make_graph([node, keep], "g", [x], [y], [w])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path), save_as_external_data=False)


REFUSALS = [
    ("external-outside", dict(external="../secret.bin"), "external data outside"),
    ("external-absolute", dict(external="/etc/hostname"), "external data outside"),
    ("external-unlisted", dict(external="weights.bin"), "not listed"),
    ("custom-domain", dict(domain="com.evil"), "custom domain"),
    ("output-shape", dict(shape=(1, 5)), "axis 1"),
]


@pytest.mark.verifies("SRS-BUNDLE-015")
@pytest.mark.parametrize(("case", "kw", "match"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_onnx_refusals_leave_nothing(tmp_path: pathlib.Path, case: str, kw: dict[str, Any], match: str) -> None:
    _onnx_identity(tmp_path / "bad.onnx", **kw)
    spec = _spec(tmp_path, {"format": "onnx", "path": "bad.onnx"}, CLS2)
    with pytest.raises(BundleIntegrityError, match=match) as err:
        create_bundle(spec, tmp_path / "out")
    assert err.value.file == "model.onnx"
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_input_shape_contradicting_the_spec_is_refused(tmp_path: pathlib.Path) -> None:
    _export(Foreign(2), tmp_path / "m64.onnx", (64, 64))
    with pytest.raises(BundleIntegrityError, match="input axis 2 is 64"):
        create_bundle(_spec(tmp_path, {"format": "onnx", "path": "m64.onnx"}, CLS2), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.verifies("SRS-BUNDLE-015")
@pytest.mark.parametrize(("key", "value"), [
    ("task", {"kind": "detection", "classes": ["a", "b"], "activation": "softmax", "threshold": 0.5}),
    ("task", {"kind": "classification", "classes": ["a", "a"], "activation": "softmax", "threshold": 0.5}),
    ("task", {"kind": "classification", "classes": ["a", "b"], "activation": "softmax", "threshold": float("nan")}),
    ("input", {"dims": 2, "channels": 1, "shape": [32]}),
    ("input", {"dims": 4, "channels": 1, "shape": [32, 32, 1, 1]}),
    ("preprocessing", [{"intensity_window": [10, 0]}]),
    ("model", {"format": "tensorflow", "path": "m.pb"}),
    ("reference_inputs", []),
])
def test_bad_spec_is_refused_before_writing(tmp_path: pathlib.Path, key: str, value: Any) -> None:
    import yaml

    _export(Foreign(2), tmp_path / "model.onnx", SHAPE)
    spec = _spec(tmp_path, {"format": "onnx", "path": "model.onnx"}, CLS2)
    doc = yaml.safe_load(spec.read_text())
    doc[key] = value
    spec.write_text(yaml.safe_dump(doc))
    with pytest.raises(InvalidParameterError):
        create_bundle(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


V2_SETTINGS: list[tuple[str, str, Any]] = [
    ("task.json", "kind", "detection"),
    ("task.json", "kind", None),
    ("task.json", "classes", ["only"]),
    ("task.json", "classes", ["a", "a"]),
    ("task.json", "classes", [1, 2]),
    ("task.json", "positive_class", "absent"),
    ("task.json", "activation", "relu"),
    ("task.json", "threshold", float("nan")),
    ("task.json", "threshold", True),
    ("task.json", "threshold", 1.5),
    ("task.json", "surprise", 1),
    ("input.json", "dims", 4),
    ("input.json", "dims", True),
    ("input.json", "channels", 0),
    ("input.json", "channels", 2.0),
    ("input.json", "shape", [32.5, 32]),
    ("input.json", "shape", [8000, 8000]),
    ("input.json", "shape", [64, 64]),  # contradicts the ONNX model's declared input
    ("input.json", "modality", [3]),
    ("input.json", "overlap", float("nan")),
    ("input.json", "blend_mode", "median"),
    ("preprocessing.json", "steps", [{"op": "resample", "spacing": [1.0, 1.0]}]),
    ("preprocessing.json", "steps", [{"op": "window", "center": 0, "width": 0}]),
    ("preprocessing.json", "version", 99),
    ("bundle.json", "model", {"format": "tensorflow"}),
    ("bundle.json", "model", "onnx"),
    ("bundle.json", "name", None),
    ("bundle.json", "input_domain", {"dims": 5}),
]


@pytest.mark.verifies("SRS-BUNDLE-007", "SRS-BUNDLE-015")
@pytest.mark.parametrize(("name", "key", "value"), V2_SETTINGS, ids=[f"{n}:{k}={v!r}" for n, k, v in V2_SETTINGS])
def test_every_v2_setting_is_checked(foreign: tuple[Foreign, pathlib.Path, pathlib.Path], tmp_path: pathlib.Path,
                                     name: str, key: str, value: Any) -> None:
    from samd_core.bundle import write_manifest

    b = pathlib.Path(shutil.copytree(foreign[2], tmp_path / "b"))
    doc = json.loads((b / name).read_text())
    doc[key] = value
    (b / name).write_text(json.dumps(doc))
    write_manifest(b)
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(b)
    assert err.value.kind == "content" and err.value.file in (name, "model.onnx"), err.value
    assert "\n" not in str(err.value)


def _write_dx(path: pathlib.Path, pixels: np.ndarray, photometric: str) -> None:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), generate_uid(), generate_uid()
    ds.Modality, ds.PresentationIntentType = "DX", "FOR PRESENTATION"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.ImagerPixelSpacing = [0.2, 0.2]
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(str(path), enforce_file_format=True)


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_foreign_classifier_on_dicom_dx_and_monochrome1_twin(foreign: tuple[Foreign, pathlib.Path, pathlib.Path],
                                                             tmp_path: pathlib.Path) -> None:
    import samd_core.io as sio

    if not hasattr(sio, "read_dicom_image"):
        pytest.skip("samd_core.io.read_dicom_image (2-D DX/CR/MG reader) is not available in this build")
    m, _, bundle = foreign
    model = load_locked(bundle)
    rng = np.random.default_rng(11)
    for i in range(3):
        px = rng.integers(0, 4096, SHAPE)
        _write_dx(tmp_path / f"m2_{i}.dcm", px, "MONOCHROME2")
        _write_dx(tmp_path / f"m1_{i}.dcm", 4095 - px, "MONOCHROME1")  # the same image, stored inverted
        p2 = model.predict(sio.read_dicom_image(tmp_path / f"m2_{i}.dcm"))
        p1 = model.predict(sio.read_dicom_image(tmp_path / f"m1_{i}.dcm"))
        assert abs(p2.score - _numpy_scores(m, px)[1]) <= 1e-5
        assert p1.score == p2.score


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_classification_with_a_locked_resize_step(foreign: tuple[Foreign, pathlib.Path, pathlib.Path],
                                                  tmp_path: pathlib.Path) -> None:
    import yaml

    from samd_core.preprocess import STEPS, Pipeline

    if "resize" not in STEPS:
        pytest.skip("samd_core.preprocess has no resize step in this build")
    m, root, _ = foreign
    shutil.copy(root / "model.onnx", tmp_path / "model.onnx")
    spec = _spec(tmp_path, {"format": "onnx", "path": "model.onnx"}, CLS2, refs=_images(tmp_path, 2, (48, 40)))
    doc = yaml.safe_load(spec.read_text())
    doc["preprocessing"] = [{"op": "resize", "shape": list(SHAPE)}, {"intensity_window": [LO, HI]}]
    spec.write_text(yaml.safe_dump(doc))
    model = load_locked(create_bundle(spec, tmp_path / "b"))
    img = np.random.default_rng(3).integers(0, 4096, (48, 40)).astype(np.int16)
    vol = Volume(img, (0.2, 0.2))
    pred = model.predict(vol)
    resized = Pipeline.from_spec({"version": 1, "steps": [{"op": "resize", "shape": list(SHAPE)}]})(vol).array
    assert abs(pred.score - _numpy_scores(m, resized)[1]) <= 1e-5  # resize, then the independent forward pass
    assert check_bundle(tmp_path / "b").passed


@pytest.mark.verifies("SRS-BUNDLE-015")
def test_runtime_output_shape_is_checked(tmp_path: pathlib.Path) -> None:
    """A model with symbolic output dims that returns the wrong number of classes is refused at predict."""

    class Wrong(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x.mean(dim=(2, 3))] * 3, dim=1)  # 3 outputs for a 2-class task

    model_path = tmp_path / "wrong.onnx"
    Wrong().eval()
    torch.onnx.export(Wrong(), (torch.zeros(1, 1, *SHAPE),), str(model_path), input_names=["x"], output_names=["y"],
                      opset_version=17, dynamo=False, dynamic_axes={"y": {1: "k"}})
    from samd_core.bundle import PredictionError

    with pytest.raises(PredictionError, match="returned shape"):
        create_bundle(_spec(tmp_path, {"format": "onnx", "path": "wrong.onnx"}, CLS2), tmp_path / "out")
    assert not (tmp_path / "out").exists()
