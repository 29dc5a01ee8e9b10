"""`samd verify` (IQ/OQ) and its library functions (SRS-BUNDLE-010..013)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from samd_core.bundle import decode_goldens, write_manifest
from samd_core.qualification import (
    PROBABILITY_TOLERANCE,
    check_bundle,
    check_core_fingerprint,
    parse_lock,
    run_qualification,
    shipped_bundles,
)
from tests.bundle._factory import make_bundle

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _verify(cwd: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run(
        [sys.executable, "-m", "samd", "verify", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def checkout_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    """The parts of the checkout `samd verify` needs, copied so tests can damage them."""
    dst = tmp_path / "repo"
    ign = shutil.ignore_patterns("__pycache__")
    for pkg in ("samd_core", "samd"):
        shutil.copytree(ROOT / pkg, dst / pkg, ignore=ign)
    shutil.copy2(ROOT / "requirements.lock", dst / "requirements.lock")
    return dst


@pytest.mark.verifies("SRS-BUNDLE-010", "SRS-BUNDLE-011", "SRS-BUNDLE-012")
def test_verify_passes_on_checkout(tmp_path: pathlib.Path) -> None:
    res = _verify(ROOT, "--out", str(tmp_path / "q"))
    assert res.returncode == 0, res.stdout + res.stderr
    rec = json.loads((tmp_path / "q" / "qualification.json").read_text())
    assert rec["result"] == "PASS"
    names = [c["name"] for c in rec["checks"]]
    assert names[:2] == ["IQ-distributions", "IQ-core-fingerprint"]
    assert any(n.startswith("OQ-bundle:") for n in names)
    assert rec["started_utc"] <= rec["finished_utc"] and "platform.torch" in rec["environment"]
    assert "**Result: PASS**" in (tmp_path / "q" / "qualification.md").read_text()


@pytest.mark.verifies("SRS-BUNDLE-011", "SRS-BUNDLE-012")
def test_verify_fails_after_editing_a_core_file(checkout_copy: pathlib.Path) -> None:
    with open(checkout_copy / "samd_core" / "volume.py", "a", encoding="utf-8") as fh:
        fh.write("\n# an unreleased edit\n")
    res = _verify(checkout_copy, "--out", str(checkout_copy / "q"))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "[FAIL] IQ-core-fingerprint" in res.stdout
    assert "code fingerprint mismatch" in res.stdout  # OQ refuses the bundle as well
    rec = json.loads((checkout_copy / "q" / "qualification.json").read_text())
    assert rec["result"] == "FAIL"


@pytest.mark.verifies("SRS-BUNDLE-012")
def test_verify_fails_after_editing_a_golden_output(checkout_copy: pathlib.Path) -> None:
    bundles = sorted(p for p in (checkout_copy / "samd_core" / "bundles").iterdir() if p.is_dir())
    assert [b.name for b in bundles] == ["cxr_triage_v1", "nodule_v1"]
    bundle = bundles[1]
    golden = bundle / "reference" / "golden.safetensors"
    data = bytearray(golden.read_bytes())
    data[-3] ^= 0x10
    golden.write_bytes(bytes(data))
    res = _verify(checkout_copy, "--out", str(checkout_copy / "q"))
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"[FAIL] OQ-bundle:{bundle.name}" in res.stdout and "reference/golden.safetensors" in res.stdout
    assert "[PASS] IQ-core-fingerprint" in res.stdout


@pytest.mark.verifies("SRS-BUNDLE-012")
def test_verify_error_exit_code(tmp_path: pathlib.Path) -> None:
    res = _verify(ROOT, "--lock", str(tmp_path / "no-such.lock"), "--out", str(tmp_path / "q"))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "error" in res.stderr


@pytest.fixture
def tiny(tmp_path: pathlib.Path) -> pathlib.Path:
    return make_bundle(tmp_path / "tiny")


def _rewrite_goldens(bundle: pathlib.Path, *, platform: dict | None = None, delta: float = 0.0) -> None:
    from safetensors.numpy import save

    probs, doc = decode_goldens(
        (bundle / "reference/golden.safetensors").read_bytes(), (bundle / "reference/golden.json").read_bytes()
    )
    if platform is not None:
        doc["platform"] = platform
        (bundle / "reference/golden.json").write_text(json.dumps(doc))
    if delta:
        probs = {k: (v + np.float32(delta)).astype(np.float32) for k, v in probs.items()}
        (bundle / "reference/golden.safetensors").write_bytes(save(probs))
    write_manifest(bundle)  # consistent manifest: only the OQ comparison can catch it


@pytest.mark.verifies("SRS-BUNDLE-012")
def test_oq_bit_exact_on_same_platform(tiny: pathlib.Path) -> None:
    ok = check_bundle(tiny)
    assert ok.passed and ok.details["same_platform"] and ok.details["max_abs_difference"] == 0.0
    _rewrite_goldens(tiny, delta=1e-7)
    bad = check_bundle(tiny)
    assert not bad.passed and "not reproduced" in bad.message and "bit-exact" in bad.message


@pytest.mark.verifies("SRS-BUNDLE-012")
def test_oq_tolerance_on_other_platform(tiny: pathlib.Path) -> None:
    _rewrite_goldens(tiny, platform={"system": "elsewhere"}, delta=PROBABILITY_TOLERANCE / 10)
    res = check_bundle(tiny)
    assert res.passed and not res.details["same_platform"]
    assert res.details["max_abs_difference"] == pytest.approx(PROBABILITY_TOLERANCE / 10, rel=0.05)
    _rewrite_goldens(tiny, delta=PROBABILITY_TOLERANCE * 10)
    assert not check_bundle(tiny).passed


@pytest.mark.verifies("SRS-BUNDLE-011")
def test_parse_lock_and_markers(tmp_path: pathlib.Path) -> None:
    lock = tmp_path / "r.lock"
    lock.write_text(
        "# comment\nNumPy==2.1.0 \\\n    --hash=sha256:abc\nfoo_bar[x]==1.0\n"
        "winonly==3.0 ; sys_platform == 'win32' \\\n    --hash=sha256:def\n"
    )
    assert parse_lock(lock) == {"numpy": "2.1.0", "foo-bar": "1.0"}


@pytest.mark.verifies("SRS-BUNDLE-011")
def test_core_fingerprint_check_and_run(tmp_path: pathlib.Path) -> None:
    assert check_core_fingerprint().passed
    lock = tmp_path / "r.lock"
    lock.write_text("surely-not-installed-dist==1.0\n")
    rec = run_qualification(lock_path=lock, bundles=[])
    assert not rec.passed
    assert rec.failed_checks() == ("IQ-distributions", "OQ-bundles")
    assert "surely-not-installed-dist" in rec.checks[0].message
    assert shipped_bundles(), "the reference bundle must ship inside samd_core/bundles"
