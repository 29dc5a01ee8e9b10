"""Tamper, signature and immutability tests of locked bundles (SRS-BUNDLE-001..006)."""

from __future__ import annotations

import io
import json
import pathlib
import shutil

import numpy as np
import pytest
import torch
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samd_core import Volume, load_locked
from samd_core.bundle import BundleIntegrityError, LockedModelError, write_manifest
from samd_core.errors import InvalidParameterError
from tests.bundle._factory import make_bundle, small_volume

ALL_FILES = [
    "bundle.json",
    "inference.json",
    "manifest.json",
    "model_card.md",
    "network.json",
    "preprocessing.json",
    "reference/golden.json",
    "reference/golden.safetensors",
    "reference/inputs.json",
    "reference/inputs.safetensors",
    "weights.safetensors",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return make_bundle(tmp_path_factory.mktemp("b") / "bundle")


@pytest.fixture
def bundle(built: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(shutil.copytree(built, tmp_path / "bundle"))


def _flip(path: pathlib.Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.verifies("SRS-BUNDLE-001")
def test_bundle_lists_every_file(built: pathlib.Path) -> None:
    files = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert files == ALL_FILES
    manifest = json.loads((built / "manifest.json").read_text())
    assert sorted(manifest["files"]) == [f for f in ALL_FILES if f != "manifest.json"]
    assert (built / "weights.safetensors").read_bytes()[8:9] == b"{"  # safetensors header, not a pickle


@pytest.mark.verifies("SRS-BUNDLE-002")
@pytest.mark.parametrize("name", ALL_FILES)
def test_one_flipped_byte_in_any_file_is_refused(bundle: pathlib.Path, name: str) -> None:
    _flip(bundle / name)
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(bundle)
    if name != "manifest.json":
        assert err.value.kind == "hash_mismatch"
        assert err.value.file == name
        assert name in str(err.value)
        assert err.value.expected in str(err.value) and err.value.found in str(err.value)
        assert err.value.expected != err.value.found


@pytest.mark.verifies("SRS-BUNDLE-002")
def test_manifest_hash_edit_names_the_file(bundle: pathlib.Path) -> None:
    m = json.loads((bundle / "manifest.json").read_text())
    m["files"]["weights.safetensors"] = "f" * 64
    (bundle / "manifest.json").write_text(json.dumps(m, sort_keys=True, separators=(",", ":")) + "\n")
    with pytest.raises(BundleIntegrityError, match="weights.safetensors.*expected sha256 f{64}"):
        load_locked(bundle)
    (bundle / "manifest.json").write_text(json.dumps(m, sort_keys=True, indent=1) + "\n")
    with pytest.raises(BundleIntegrityError, match="canonical"):
        load_locked(bundle)


@pytest.mark.verifies("SRS-BUNDLE-002")
@pytest.mark.parametrize("name", ["weights.safetensors", "network.json", "reference/golden.json"])
def test_missing_file_is_refused(bundle: pathlib.Path, name: str) -> None:
    (bundle / name).unlink()
    with pytest.raises(BundleIntegrityError, match="missing") as err:
        load_locked(bundle)
    assert err.value.kind == "missing_file" and err.value.file == name


@pytest.mark.verifies("SRS-BUNDLE-002")
@pytest.mark.parametrize("name", ["notes.txt", "reference/extra.json", ".DS_Store"])
def test_extra_file_is_refused(bundle: pathlib.Path, name: str) -> None:
    (bundle / name).write_text("x")
    with pytest.raises(BundleIntegrityError, match="extra file") as err:
        load_locked(bundle)
    assert err.value.kind == "extra_file" and err.value.file == name


@pytest.mark.verifies("SRS-BUNDLE-003")
def test_code_fingerprint_mismatch_is_refused(bundle: pathlib.Path) -> None:
    meta = json.loads((bundle / "bundle.json").read_text())
    meta["core_fingerprint"] = "a" * 64
    (bundle / "bundle.json").write_text(json.dumps(meta))
    write_manifest(bundle)  # a consistent manifest: only the fingerprint check can catch it
    with pytest.raises(BundleIntegrityError, match="code fingerprint mismatch") as err:
        load_locked(bundle)
    assert err.value.kind == "code_fingerprint" and err.value.expected == "a" * 64


@pytest.mark.verifies("SRS-BUNDLE-001")
def test_pickled_weights_are_refused_not_executed(bundle: pathlib.Path) -> None:
    buf = io.BytesIO()
    torch.save({"x": torch.zeros(1)}, buf)  # a pickle archive
    (bundle / "weights.safetensors").write_bytes(buf.getvalue())
    write_manifest(bundle)
    with pytest.raises(BundleIntegrityError, match="weights.safetensors") as err:
        load_locked(bundle)
    assert err.value.kind == "content"


@pytest.fixture(scope="module")
def keys() -> tuple[Ed25519PrivateKey, Ed25519PrivateKey]:
    return Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()


@pytest.mark.verifies("SRS-BUNDLE-004")
def test_signature_good_key(tmp_path: pathlib.Path, keys: tuple[Ed25519PrivateKey, Ed25519PrivateKey]) -> None:
    b = make_bundle(tmp_path / "s", private_key=keys[0], reference=False)
    pub = keys[0].public_key()
    assert load_locked(b, public_key=pub).signature_verified
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "k.pem").write_bytes(pem)
    for key in (raw, pem, tmp_path / "k.pem"):
        assert load_locked(b, public_key=key).signature_verified
    assert not load_locked(b).signature_verified  # no key supplied: hashes still verified


@pytest.mark.verifies("SRS-BUNDLE-004")
def test_signature_wrong_key_and_tampered_manifest(
    tmp_path: pathlib.Path, keys: tuple[Ed25519PrivateKey, Ed25519PrivateKey]
) -> None:
    b = make_bundle(tmp_path / "s", private_key=keys[0], reference=False)
    with pytest.raises(BundleIntegrityError, match="signature") as err:
        load_locked(b, public_key=keys[1].public_key())
    assert err.value.kind == "signature"
    _flip(b / "manifest.json")
    with pytest.raises(BundleIntegrityError, match="signature"):
        load_locked(b, public_key=keys[0].public_key())


@pytest.mark.verifies("SRS-BUNDLE-004")
def test_signature_missing_when_required(
    tmp_path: pathlib.Path, keys: tuple[Ed25519PrivateKey, Ed25519PrivateKey]
) -> None:
    b = make_bundle(tmp_path / "u", reference=False)
    with pytest.raises(BundleIntegrityError, match="missing") as err:
        load_locked(b, public_key=keys[0].public_key())
    assert err.value.kind == "signature"
    with pytest.raises(InvalidParameterError, match="public_key"):
        load_locked(b, require_signature=True)
    with pytest.raises(InvalidParameterError, match="public_key"):
        load_locked(b, public_key=b"not a key")


@pytest.mark.verifies("SRS-BUNDLE-005")
def test_locked_model_is_immutable(built: pathlib.Path) -> None:
    model = load_locked(built)
    with pytest.raises(LockedModelError):
        model.version = "9"  # type: ignore[misc]
    with pytest.raises(LockedModelError):
        del model.name  # type: ignore[misc]
    with pytest.raises(LockedModelError):
        model.train()
    net = model._network  # reaching inside on purpose
    assert not net.training
    assert all(not p.requires_grad for p in net.parameters())
    with pytest.raises(LockedModelError):
        net.train()
    with torch.no_grad():
        next(net.parameters()).add_(1.0)
    with pytest.raises(LockedModelError, match="weights changed"):
        model.predict(small_volume())


@pytest.mark.verifies("SRS-BUNDLE-006")
def test_predict_on_input_grid_and_deterministic(built: pathlib.Path) -> None:
    model = load_locked(built)
    vol = small_volume(3)
    a, b = model.predict(vol), model.predict(vol)
    for p in (a.probability, a.label):
        assert p.same_grid(vol)
    assert a.probability.array.dtype == np.float32 and a.label.array.dtype == np.uint8
    assert 0.0 <= a.score <= 1.0 and a.score == float(a.probability.array.max())
    assert a.positive == (a.score >= a.case_threshold)
    assert a.to_dict() == b.to_dict()
    assert np.array_equal(a.label.array, a.probability.array >= 0.5)
    total = sum(les.n_voxels for les in a.lesions)
    assert total == int(a.label.array.sum())
    json.dumps(a.to_dict(), allow_nan=False)


@pytest.mark.verifies("SRS-BUNDLE-006")
def test_lesion_geometry_closed_form(built: pathlib.Path) -> None:
    from samd_core.bundle._prediction import predicted_lesions

    prob = np.zeros((10, 10, 10), dtype=np.float32)
    prob[2:4, 2:4, 2:4] = 0.9  # 8 voxels, centre index (2.5, 2.5, 2.5)
    vol = Volume(prob, (2.0, 1.0, 0.5), (1.0, 2.0, 3.0))
    (les,) = predicted_lesions(vol, (prob >= 0.5).astype(np.uint8), min_volume_mm3=0.0)
    assert les.n_voxels == 8 and les.volume_mm3 == pytest.approx(8.0)
    assert les.centre_index == (2.5, 2.5, 2.5)
    # default direction: x along array axis 2, z along array axis 0
    assert les.centre_lps_mm == pytest.approx((1.0 + 2.5 * 0.5, 2.0 + 2.5 * 1.0, 3.0 + 2.5 * 2.0))
    assert les.equivalent_diameter_mm == pytest.approx((6 * 8.0 / np.pi) ** (1 / 3))
    assert predicted_lesions(vol, (prob >= 0.5).astype(np.uint8), min_volume_mm3=8.5) == ()


@pytest.mark.verifies("SRS-BUNDLE-006")
def test_predict_bad_input(built: pathlib.Path) -> None:
    model = load_locked(built)
    with pytest.raises(InvalidParameterError, match="`volume` of `LockedModel.predict`"):
        model.predict(np.zeros((4, 4, 4)))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="3-D"):
        model.predict(Volume(np.zeros((4, 4)), (1.0, 1.0)))
    bad = np.zeros((4, 4, 4))
    bad[0, 0, 0] = np.nan
    with pytest.raises(InvalidParameterError, match="finite"):
        model.predict(Volume(bad, (1.0, 1.0, 1.0)))


@pytest.mark.verifies("SRS-BUNDLE-001")
def test_write_bundle_validates_before_writing(tmp_path: pathlib.Path) -> None:
    with pytest.raises(InvalidParameterError, match="training_data_manifest_sha256"):
        make_bundle(tmp_path / "x", training_data_manifest_sha256="abc")
    with pytest.raises(InvalidParameterError, match="case_score_rule.*did you mean"):
        from tests.bundle._factory import INFERENCE

        make_bundle(tmp_path / "y", inference={**INFERENCE, "case_score_rule": "max_probabilty"})
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    make_bundle(tmp_path / "z", reference=False)
    with pytest.raises(InvalidParameterError, match="new or empty"):
        make_bundle(tmp_path / "z", reference=False)


@pytest.mark.verifies("SRS-BUNDLE-006")
def test_largest_lesion_volume_rule(tmp_path: pathlib.Path) -> None:
    from tests.bundle._factory import INFERENCE

    b = make_bundle(tmp_path / "v", reference=False, inference={**INFERENCE, "case_score_rule": "largest_lesion_volume_mm3", "case_threshold": 50.0})
    pred = load_locked(b).predict(small_volume(1))
    assert pred.score == max((les.volume_mm3 for les in pred.lesions), default=0.0)
    assert pred.positive == (pred.score >= 50.0)
    with pytest.raises(InvalidParameterError, match="case_threshold"):
        make_bundle(tmp_path / "w", reference=False, inference={**INFERENCE, "case_threshold": 2.0})
