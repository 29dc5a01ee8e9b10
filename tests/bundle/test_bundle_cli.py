"""``samd bundle`` check / keygen / sign (SRS-BUNDLE-004)."""

from __future__ import annotations

import pathlib

import pytest
from click.testing import CliRunner

from samd.commands.bundle import command
from tests.bundle._factory import make_bundle


@pytest.mark.verifies("SRS-BUNDLE-004")
def test_keygen_sign_check(tmp_path: pathlib.Path) -> None:
    b = make_bundle(tmp_path / "b")
    run = CliRunner().invoke
    assert run(command, ["keygen", "--out", str(tmp_path / "k")]).exit_code == 0
    res = run(command, ["check", str(b), "--public-key", str(tmp_path / "k" / "public.pem")])
    assert res.exit_code == 1 and "signature" in res.output
    res = run(command, ["sign", str(b), "--private-key", str(tmp_path / "k" / "private.pem")])
    assert res.exit_code == 0, res.output
    res = run(command, ["check", str(b), "--public-key", str(tmp_path / "k" / "public.pem")])
    assert res.exit_code == 0 and '"signature_verified": true' in res.output
    run(command, ["keygen", "--out", str(tmp_path / "k2")])
    res = run(command, ["check", str(b), "--public-key", str(tmp_path / "k2" / "public.pem")])
    assert res.exit_code == 1 and "REFUSED" in res.output


@pytest.mark.verifies("SRS-BUNDLE-002")
def test_sign_refuses_a_tampered_bundle(tmp_path: pathlib.Path) -> None:
    b = make_bundle(tmp_path / "b", reference=False)
    run = CliRunner().invoke
    run(command, ["keygen", "--out", str(tmp_path / "k")])
    (b / "model_card.md").write_text("edited\n")
    res = run(command, ["sign", str(b), "--private-key", str(tmp_path / "k" / "private.pem")])
    assert res.exit_code == 1 and "model_card.md" in res.output and not (b / "manifest.sig").exists()


@pytest.mark.verifies("SRS-BUNDLE-004")
def test_check_refuses_a_bundle_without_reference_goldens(tmp_path: pathlib.Path) -> None:
    b = make_bundle(tmp_path / "b", reference=False)
    res = CliRunner().invoke(command, ["check", str(b)])
    assert res.exit_code == 1 and "reference" in res.output


@pytest.mark.verifies("SRS-BUNDLE-004")
def test_sign_with_an_encrypted_key(tmp_path: pathlib.Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from samd_core import load_locked

    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "enc.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"s3cret-pass")))
    b = make_bundle(tmp_path / "b", reference=False)
    res = CliRunner().invoke(command, ["sign", str(b), "--private-key", str(pem)],
                             env={"SAMD_SIGNING_PASSPHRASE": "s3cret-pass"})
    assert res.exit_code == 0, res.output
    assert load_locked(b, public_key=key.public_key()).signature_verified
