"""Byte formats that released artefacts rely on do not change (issue #12).

References are artefacts written by release 0.1.0 (commit 6326c54): the audit log in
``tests/fixtures/audit_0_1_0`` (see its ``make.py``), the shipped bundle ``nodule_v1`` and
hashes printed by the 0.1.0 code for the specs below.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from samd_core.hashing import canonical_json, sha256_bytes, sha256_tree

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "audit_0_1_0"
BUNDLE = ROOT / "samd_core" / "bundles" / "nodule_v1"


@pytest.fixture()
def audit_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    for name in ("audit.jsonl", "audit.jsonl.checkpoints", "checkpoint.json", "key.pub.pem"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    return tmp_path


def test_audit_log_of_release_0_1_0_verifies(audit_copy: pathlib.Path) -> None:
    from validation.audit import verify_audit_log

    cp = json.loads((audit_copy / "checkpoint.json").read_text(encoding="utf-8"))
    res = verify_audit_log(audit_copy / "audit.jsonl", public_keys=[audit_copy / "key.pub.pem"], checkpoints=[cp])
    assert res.ok, res.message
    assert res.n_records == 6
    assert (res.n_signed, res.n_signatures_verified) == (4, 4)  # run.start, sign, checkpoint, run.end
    assert res.n_checkpoints >= 1


def test_audit_records_of_release_0_1_0_re_encode_byte_for_byte() -> None:
    lines = (FIXTURE / "audit.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) == 6
    assert any(b"\xc3\xab" in raw for raw in lines)  # 'ë' stored as raw UTF-8, not \u00eb
    for raw in lines:
        rec = json.loads(raw)
        body = {k: v for k, v in rec.items() if k not in ("hash", "sig")}
        assert sha256_bytes(canonical_json(body)) == rec["hash"]
        tail = f',"hash":"{rec["hash"]}"' + (f',"sig":"{rec["sig"]}"' if "sig" in rec else "") + "}\n"
        assert canonical_json(body)[:-1] + tail.encode() == raw


def test_audit_log_of_release_0_1_0_verifies_with_the_cli(audit_copy: pathlib.Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "samd", "audit", "verify", str(audit_copy / "audit.jsonl"),
         "--public-key", str(audit_copy / "key.pub.pem")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_tampered_fixture_fails(audit_copy: pathlib.Path) -> None:
    """The verification above can fail: one changed byte of the 0.1.0 log is caught."""
    from validation.audit import verify_audit_log

    p = audit_copy / "audit.jsonl"
    p.write_bytes(p.read_bytes().replace(b"cohort-A", b"cohort-B", 1))
    assert not verify_audit_log(p, public_keys=[audit_copy / "key.pub.pem"]).ok


def test_shipped_bundle_manifest_re_encodes_identically() -> None:
    from samd_core.bundle import canonical_json as manifest_bytes

    raw = (BUNDLE / "manifest.json").read_bytes()
    doc = json.loads(raw)
    assert manifest_bytes(doc) == raw
    assert canonical_json(doc) + b"\n" == raw


@pytest.mark.verifies("SRS-BUNDLE-031")
def test_shipped_bundle_verifies_and_reproduces_its_goldens() -> None:
    from samd_core.bundle import decode_goldens, decode_reference_inputs, load_locked, platform_id
    from tests.bundle._goldens import assert_reproduces_golden

    model = load_locked(BUNDLE, check_core_fingerprint=False)  # every file hash is still verified
    ref = BUNDLE / "reference"
    cases = decode_reference_inputs((ref / "inputs.safetensors").read_bytes(), (ref / "inputs.json").read_bytes())
    probs, doc = decode_goldens((ref / "golden.safetensors").read_bytes(), (ref / "golden.json").read_bytes())
    assert cases
    for cid, vol in cases.items():
        pred = model.predict(vol)
        # on the goldens' platform: map, lesions (index, LPS mm, volume, diameter), score and map
        # hashes bit-identical; elsewhere OQ's documented tolerance (`tests.bundle._goldens`)
        assert_reproduces_golden(pred, probs[cid], json.loads(json.dumps(doc["cases"][cid])), doc["platform"], cid)
        if doc["platform"] == platform_id():
            assert json.loads(json.dumps(pred.to_dict())) == doc["cases"][cid], cid


# Hashes printed by release 0.1.0 (commit 6326c54) for these inputs.
SPEC_HASHES_0_1_0 = [
    (
        {"steps": [
            {"op": "reorient"},
            {"op": "resample", "spacing": [1.7, 1.2, 1.2], "image_interpolation": "bspline"},
            {"op": "crop_foreground", "threshold": -500, "margin": 2},
            {"op": "zscore", "foreground_threshold": -500},
            {"op": "crop_pad", "shape": [16, 16, 16]},
        ]},
        "b6a829ae45fab76b59e8e9489c280de9ae6fd6f0dfd1b9e6a4f0d8cad437a9be",
    ),
    ({"steps": []}, "a5dd3ce7993c63ad01d8a9a45922bc5f17d2c41c5f21a10671ec8c05c5ffc4aa"),
    (
        {"steps": [{"op": "clip", "lower": -1000, "upper": 400},
                   {"op": "resample", "spacing": [2.5, 1.5, 1.5], "label_interpolation": "labelwise"}]},
        "d160215ffe4c5b17e588e4f028fcee31c23bd2c2442288a8f84ca11721c1c9a1",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), SPEC_HASHES_0_1_0)
def test_preprocessing_spec_hashes_are_those_of_release_0_1_0(spec: dict, expected: str) -> None:
    from samd_core.preprocess import Pipeline

    p = Pipeline.from_spec(spec)
    assert p.spec_hash == expected
    # the 0.1.0 encoding (ensure_ascii=True, ASCII bytes) and the one canonical form agree
    old = json.dumps(p.spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    assert old.encode("ascii") == canonical_json(p.spec)


def test_network_config_hash_of_shipped_bundle_is_that_of_release_0_1_0() -> None:
    from samd_core.models import config_from_dict

    cfg = config_from_dict(json.loads((BUNDLE / "network.json").read_text(encoding="utf-8")))
    assert cfg.sha256() == "3d602cf93f664fc0e71dc2cfe99f88db5de186fb1baf123ec78911ae047f2f01"


def test_series_sha256_is_the_tree_hash_of_a_written_series(tmp_path: pathlib.Path) -> None:
    from reference_devices.phantom import generate_cases, series_sha256
    from samd_core.io import write_dicom_series

    case = next(generate_cases(1, seed=7))
    folder = tmp_path / "ct"
    write_dicom_series(case.ct, folder)
    files = sorted(p for p in folder.iterdir() if p.is_file())
    assert len(files) > 1
    # release 0.1.0's definition, written out: name \0 sha256(file) \n over files sorted by name
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.name}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    assert series_sha256(folder) == sha256_tree(folder) == h.hexdigest()
