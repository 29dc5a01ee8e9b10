"""Pinned bundle identity and release signing (issue #15, SRS-BUNDLE-009).

A product pins the ``manifest_sha256`` it was cleared with, or requires a signature. An edited
``case_threshold`` with regenerated goldens and manifest passes every hash check, so only the
pin (or the signature) can catch it.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samd.commands.bundle import command as bundle_cmd
from samd.commands.verify import command as verify_cmd
from samd_core import load_locked
from samd_core.bundle import BundleIntegrityError, write_goldens, write_manifest
from samd_core.errors import InvalidParameterError
from samd_core.qualification import check_bundle
from tests.bundle._factory import make_bundle

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, str, pathlib.Path]:
    """(original bundle, its pin, a re-manifested copy with an edited threshold)."""
    base = tmp_path_factory.mktemp("pin")
    orig = make_bundle(base / "orig")
    pin = load_locked(orig).manifest_sha256
    edited = pathlib.Path(shutil.copytree(orig, base / "edited"))
    inf = json.loads((edited / "inference.json").read_text())
    inf["case_threshold"] = 0.01
    (edited / "inference.json").write_text(json.dumps(inf, sort_keys=True, indent=1) + "\n")
    write_manifest(edited)
    write_goldens(edited)  # regenerated goldens + manifest: every hash is consistent again
    return orig, pin, edited


@pytest.mark.verifies("SRS-BUNDLE-009")
def test_remanifested_bundle_fails_against_its_pin(pair: tuple[pathlib.Path, str, pathlib.Path]) -> None:
    orig, pin, edited = pair
    assert load_locked(orig, expected_sha256=pin).manifest_sha256 == pin
    assert load_locked(orig, expected_sha256=pin.upper()).manifest_sha256 == pin
    loose = load_locked(edited)  # without a pin the edit is invisible: why products must pin
    assert loose.threshold == 0.01 and loose.name == load_locked(orig).name
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(edited, expected_sha256=pin)
    assert err.value.kind == "pin" and err.value.expected == pin
    assert pin in str(err.value) and loose.manifest_sha256 in str(err.value)
    assert check_bundle(orig, expected_sha256=pin).passed
    res = check_bundle(edited, expected_sha256=pin)
    assert not res.passed and "expected manifest sha256" in res.message
    assert res.details["kind"] == "pin"


@pytest.mark.verifies("SRS-BUNDLE-009")
@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "0" * 63])
def test_malformed_pin_is_a_parameter_error(pair: tuple[pathlib.Path, str, pathlib.Path], bad: str) -> None:
    with pytest.raises(InvalidParameterError, match="expected_sha256"):
        load_locked(pair[0], expected_sha256=bad)


@pytest.mark.verifies("SRS-BUNDLE-009")
def test_cli_check_and_verify_take_the_pin(pair: tuple[pathlib.Path, str, pathlib.Path], tmp_path: pathlib.Path) -> None:
    orig, pin, edited = pair
    run = CliRunner().invoke
    ok = run(bundle_cmd, ["check", str(orig), "--expected-sha256", pin])
    assert ok.exit_code == 0 and pin in ok.output
    bad = run(bundle_cmd, ["check", str(edited), "--expected-sha256", pin])
    assert bad.exit_code == 1 and "REFUSED" in bad.output and pin in bad.output
    lock = ROOT / "requirements.lock"
    res = run(verify_cmd, ["--lock", str(lock), "--bundle", str(edited), "--expected-sha256", pin,
                           "--out", str(tmp_path / "q")])
    assert res.exit_code == 1
    assert f"[FAIL] OQ-bundle:{edited.name}" in res.output and pin in res.output
    res = run(verify_cmd, ["--lock", str(lock), "--bundle", str(orig), "--expected-sha256", pin,
                           "--out", str(tmp_path / "q2")])
    assert f"[PASS] OQ-bundle:{orig.name}" in res.output


@pytest.mark.verifies("SRS-BUNDLE-009")
def test_verify_checks_a_product_bundle_signature(tmp_path: pathlib.Path) -> None:
    key = Ed25519PrivateKey.generate()
    b = make_bundle(tmp_path / "signed", private_key=key)
    pem = tmp_path / "pub.pem"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    assert check_bundle(b, public_key=pem).details["signature_verified"]
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    res = CliRunner().invoke(verify_cmd, ["--lock", str(ROOT / "requirements.lock"), "--bundle", str(b),
                                          "--public-key", str(other), "--out", str(tmp_path / "q")])
    assert res.exit_code == 1
    fail = [ln for ln in res.output.splitlines() if ln.startswith("[FAIL] OQ-bundle:signed")]
    assert fail and "signature" in fail[0]


def _release_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("release_core", ROOT / "scripts" / "release_core.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.verifies("SRS-BUNDLE-009")
def test_release_signing_with_an_encrypted_key(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rel = _release_module()
    key = Ed25519PrivateKey.generate()  # throwaway: never the project's release key
    enc = tmp_path / "release.pem"
    enc.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"correct horse")))
    plain = tmp_path / "plain.pem"
    plain.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    with pytest.raises(SystemExit, match="non-empty"):
        rel.load_release_key(enc, "")
    with pytest.raises(SystemExit, match="decrypted"):
        rel.load_release_key(enc, "wrong")
    with pytest.raises(SystemExit, match="not encrypted"):
        rel.load_release_key(plain, "correct horse")
    loaded = rel.load_release_key(enc, "correct horse")
    root = tmp_path / "bundles"
    make_bundle(root / "tiny", reference=False)
    assert rel.sign_shipped(root, loaded) == ["tiny"]
    pub = root / "release_public_key.pem"
    assert load_locked(root / "tiny", public_key=pub).signature_verified
    # shipped bundles are verified against the shipped release key
    import samd_core.qualification._oq as oq

    monkeypatch.setattr(oq, "_bundles_root", lambda: root)
    assert oq.release_public_key() == pub
    (root / "tiny" / "manifest.sig").unlink()
    res = check_bundle(root / "tiny")
    assert not res.passed and res.details["kind"] == "signature"
