"""Signer registry, two-component signatures and authenticity checks (issue #15, 21 CFR 11.50,
11.70, 11.100, 11.200, 11.300)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samd.cli import main
from tests.audit._util import body_of, rechain
from validation.audit import (
    AuditLog,
    SignerRegistryError,
    add_signer,
    checkpoint_path,
    iter_records,
    load_private_key,
    load_signers,
    sign_object,
    verify_audit_log,
)
from validation.errors import InvalidParameterError

PW = "correct horse battery staple"


@pytest.fixture()
def setup(tmp_path: Path) -> dict:
    reg = tmp_path / "qms" / "signers.yaml"
    a = add_signer(reg, name="Jane Doe", user_id="jdoe", role="Quality Manager", key_out=tmp_path / "keys",
                   passphrase=PW, valid_from="2026-01-01T00:00:00Z", audit_log=tmp_path / "audit.jsonl")
    b = add_signer(reg, name="Rik Roe", user_id="rroe", role="Clinical Lead", key_out=tmp_path / "keys",
                   passphrase="another passphrase", valid_from="2026-01-01T00:00:00Z")
    doc = tmp_path / "submission_index.json"
    doc.write_text(json.dumps({"format": "samd-submission-index/1", "sources": [{"verdict": "pass"}]}))
    return {"reg": reg, "a": a, "b": b, "doc": doc, "log": tmp_path / "audit.jsonl", "tmp": tmp_path}


def _sign(s: dict, **kw) -> dict:
    args = {"meaning": "approved", "private_key": s["a"].private_key_path, "passphrase": PW,
            "user_id": "jdoe", "registry": s["reg"]}
    args.update(kw)
    return sign_object(s["log"], s["doc"], **args)


@pytest.mark.verifies("SRS-HARNESS-007")
def test_audit_add_signer_registry_and_encrypted_key(setup: dict) -> None:
    a, reg = setup["a"], load_signers(setup["reg"])
    assert reg.version == 2 and [s.user_id for s in reg.signers] == ["jdoe", "rroe"]
    s = reg.by_key_id()[a.signer.key_id]
    assert (s.name, s.role, s.status, s.valid_until) == ("Jane Doe", "Quality Manager", "active", None)
    pem = a.private_key_path.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(a.private_key_path.stat().st_mode) == 0o600
    with pytest.raises(InvalidParameterError, match="encrypted"):
        load_private_key(a.private_key_path)
    with pytest.raises(InvalidParameterError, match="passphrase"):
        load_private_key(a.private_key_path, passphrase="wrong")
    assert load_private_key(a.private_key_path, passphrase=PW).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode() == s.public_key_pem
    # the registry change is an audited event naming the new registry bytes
    rec = next(iter_records(setup["log"]))
    assert rec["action"] == "signer.add" and rec["object"]["user_id"] == "jdoe"
    assert rec["context"]["registry_version"] == 1
    assert verify_audit_log(setup["log"]).ok


@pytest.mark.verifies("SRS-HARNESS-007")
@pytest.mark.parametrize("pw", ["", "   ", b"", None])
def test_audit_add_signer_refuses_empty_passphrase(tmp_path: Path, pw) -> None:
    with pytest.raises(InvalidParameterError, match="passphrase"):
        add_signer(tmp_path / "r.yaml", name="A", user_id="a", role="r", key_out=tmp_path, passphrase=pw)
    assert not (tmp_path / "r.yaml").exists()


def test_audit_signer_cli_add_env_and_prompt(tmp_path: Path, monkeypatch) -> None:
    reg = tmp_path / "signers.yaml"
    base = ["signer", "add", "--registry", str(reg), "--role", "QA", "--key-out", str(tmp_path / "k")]
    monkeypatch.setenv("SAMD_SIGNING_PASSPHRASE", PW)
    r = CliRunner().invoke(main, base + ["--name", "Jane Doe", "--user-id", "jdoe", "--audit-log",
                                         str(tmp_path / "a.jsonl")])
    assert r.exit_code == 0, r.output
    assert "registry version 1" in r.output and "audit record seq 1" in r.output
    monkeypatch.delenv("SAMD_SIGNING_PASSPHRASE")
    r = CliRunner().invoke(main, base + ["--name", "Al Bo", "--user-id", "albo"], input="s3cret!\ns3cret!\n")
    assert r.exit_code == 0, r.output
    assert "s3cret" not in r.output
    r = CliRunner().invoke(main, base + ["--name", "C D", "--user-id", "cd"], input="\n\n")
    assert r.exit_code == 2 and r.output.strip().splitlines()[-1].startswith("error: ")  # one line (samd/cli.py)
    assert [s.user_id for s in load_signers(reg).signers] == ["jdoe", "albo"]


def _entry(**over) -> dict:
    k = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    e = {"user_id": "u1", "name": "U One", "role": "QA", "valid_from": "2026-01-01T00:00:00Z", "status": "active",
         "public_key": k.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()}
    e.update(over)
    return e


BAD_REGISTRIES = {
    "missing name": ({"schema": "samd-signers/1", "version": 1, "signers": [{**_entry(), "name": None}]}, "name"),
    "unknown status": ({"schema": "samd-signers/1", "version": 1, "signers": [_entry(status="paused")]}, "status"),
    "extra key": ({"schema": "samd-signers/1", "version": 1, "signers": [_entry(password="x")]},
                  r"signers\[0\]\.password"),
    "no role": ({"schema": "samd-signers/1", "version": 1, "signers": [{k: v for k, v in _entry().items()
                                                                         if k != "role"}]}, r"signers\[0\]\.role"),
    "bad user id": ({"schema": "samd-signers/1", "version": 1, "signers": [_entry(user_id="a b/c")]}, "user_id"),
    "not a key": ({"schema": "samd-signers/1", "version": 1, "signers": [_entry(public_key="garbage")]},
                  "public_key"),
    "key id mismatch": ({"schema": "samd-signers/1", "version": 1,
                         "signers": [_entry(key_id="ed25519:0000000000000000")]}, "key_id"),
    "key twice": ({"schema": "samd-signers/1", "version": 1, "signers": [_entry(), _entry(user_id="u2")]},
                  "public_key"),
    "bad time": ({"schema": "samd-signers/1", "version": 1, "signers": [_entry(valid_from="yesterday")]},
                 "valid_from"),
    "time with a trailing newline": ({"schema": "samd-signers/1", "version": 1,
                                      "signers": [_entry(valid_from="2026-01-01T00:00:00Z\n")]}, "valid_from"),
    "time in Arabic-Indic digits": ({"schema": "samd-signers/1", "version": 1,
                                     "signers": [_entry(valid_from="\u0662\u0660\u0662\u0666-01-01T00:00:00Z")]},
                                    "valid_from"),
    "until before from": ({"schema": "samd-signers/1", "version": 1,
                           "signers": [_entry(valid_until="2025-01-01T00:00:00Z")]}, "valid_until"),
    "wrong schema": ({"schema": "other/1", "version": 1, "signers": []}, "schema"),
}


@pytest.mark.verifies("SRS-HARNESS-007")
@pytest.mark.parametrize("name", sorted(BAD_REGISTRIES))
def test_audit_registry_schema_errors(tmp_path: Path, name: str) -> None:
    doc, field = BAD_REGISTRIES[name]
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(SignerRegistryError, match=field) as ei:
        load_signers(p)
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("text,match", [
    (b"a: &x [1]\nb: *x\n", "alias"),
    (b"schema: samd-signers/1\nschema: samd-signers/1\n", "duplicate key"),
    (b"\xff\xfe", "UTF-8"),
    (b"[" * 5000, "YAML|nested"),
    (b"x" * (2 << 20), "larger"),
])
def test_audit_registry_hostile_files(tmp_path: Path, text: bytes, match: str) -> None:
    p = tmp_path / "r.yaml"
    p.write_bytes(text)
    with pytest.raises(SignerRegistryError, match=match):
        load_signers(p)


@pytest.mark.verifies("SRS-HARNESS-008")
def test_audit_sign_record_and_verify_with_signers(setup: dict) -> None:
    rec = _sign(setup)
    assert rec["action"] == "sign" and rec["signature_meaning"] == "approved" and len(rec["sig"]) == 128
    assert rec["actor"] == {"user_id": "jdoe", "auth_method": "user-id+key-passphrase"}
    assert rec["context"]["signer"] == {"user_id": "jdoe", "name": "Jane Doe", "role": "Quality Manager"}
    from samd_core.hashing import sha256_file

    assert rec["object_sha256"] == sha256_file(setup["doc"]) and rec["ts_utc"].endswith("Z")
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert res.ok and res.authenticity_verified and res.n_signatures_verified == 1, res.message


@pytest.mark.verifies("SRS-HARNESS-008")
def test_audit_sign_refusals(setup: dict) -> None:
    with pytest.raises(InvalidParameterError, match="passphrase"):
        _sign(setup, passphrase="wrong")
    with pytest.raises(InvalidParameterError, match="passphrase"):
        _sign(setup, passphrase="")
    with pytest.raises(InvalidParameterError, match="registered to user id 'jdoe'"):
        _sign(setup, private_key=setup["b"].private_key_path, passphrase="another passphrase")
    with pytest.raises(InvalidParameterError, match="user id listed"):
        _sign(setup, user_id="mallory")
    with pytest.raises(InvalidParameterError, match="meaning"):
        _sign(setup, meaning="approve")
    assert not setup["log"].exists() or all(r["action"] != "sign" for r in iter_records(setup["log"]))


@pytest.mark.verifies("SRS-HARNESS-008")
def test_audit_approving_a_failed_verdict_needs_a_reason(setup: dict) -> None:
    setup["doc"].write_text(json.dumps({"sources": [{"verdict": "pass"}, {"verdict": "fail"}]}))
    with pytest.raises(InvalidParameterError, match="1 failed verdict"):
        _sign(setup)
    assert _sign(setup, meaning="reviewed")["reason"] is None  # reviewing a failure needs no reason
    rec = _sign(setup, reason="failure accepted by CAPA-42: the failing endpoint is exploratory")
    assert rec["context"]["failed_verdicts"] == 1 and rec["reason"].startswith("failure accepted")


@pytest.mark.verifies("SRS-HARNESS-008")
def test_audit_sign_cli(setup: dict, monkeypatch) -> None:
    monkeypatch.setenv("SAMD_SIGNING_PASSPHRASE", PW)
    args = ["audit", "sign", str(setup["log"]), "--object", str(setup["doc"]), "--meaning", "approved",
            "--key", str(setup["a"].private_key_path), "--user-id", "jdoe", "--registry", str(setup["reg"])]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "Jane Doe (jdoe)" in r.output and "'approved'" in r.output
    r = CliRunner().invoke(main, ["audit", "verify", str(setup["log"]), "--signers", str(setup["reg"])])
    assert r.exit_code == 0 and "authenticity verified" in r.output, r.output
    r = CliRunner().invoke(main, ["audit", "verify", str(setup["log"])])
    assert r.exit_code == 0 and "authenticity not verified (no --signers registry)" in r.output
    monkeypatch.setenv("SAMD_SIGNING_PASSPHRASE", "nope")
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and r.output.strip().splitlines()[-1].startswith("error: ")  # one line (samd/cli.py)


def _signed_chain(setup: dict) -> list[bytes]:
    key = load_private_key(setup["a"].private_key_path, passphrase=PW)
    AuditLog(setup["log"], actor="jdoe", signing_key=key, fsync=False).append(
        "run.start", object={"type": "run", "id": "r1"})
    _sign(setup)
    AuditLog(setup["log"], actor="jdoe", signing_key=key, fsync=False).checkpoint()
    assert verify_audit_log(setup["log"], signers=setup["reg"]).ok
    return setup["log"].read_bytes().splitlines(keepends=True)


@pytest.mark.verifies("SRS-HARNESS-009")
def test_audit_chain_rewritten_and_signed_with_another_key_fails(setup: dict) -> None:
    lines = _signed_chain(setup)
    mallory = Ed25519PrivateKey.generate()
    from validation.audit import key_id

    bodies = [dict(body_of(x), key_id=key_id(mallory.public_key())) for x in lines]
    bodies[2]["reason"] = "approved after all"
    setup["log"].write_bytes(rechain(bodies, key=mallory))
    checkpoint_path(setup["log"]).unlink()
    assert verify_audit_log(setup["log"]).ok  # integrity alone cannot tell
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert not res.ok and res.first_bad_seq == 1 and "unregistered key" in res.message
    # keeping the registered key ids but signing with another key: bad signature
    bodies = [dict(body_of(x), key_id=setup["a"].signer.key_id) for x in lines]
    setup["log"].write_bytes(rechain(bodies, key=mallory))
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert not res.ok and res.first_bad_seq == 1 and "bad signature" in res.message


@pytest.mark.verifies("SRS-HARNESS-009")
def test_audit_chain_stripped_of_signatures_fails(setup: dict) -> None:
    lines = _signed_chain(setup)
    setup["log"].write_bytes(rechain([body_of(x) for x in lines], key=None))
    checkpoint_path(setup["log"]).unlink()
    assert verify_audit_log(setup["log"]).ok
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert not res.ok and res.first_bad_seq == 3 and "not signed" in res.message
    # a stripped chain without any `sign` record: nothing is signed by a registered signer
    setup["log"].write_bytes(rechain([body_of(lines[0]), body_of(lines[1])], key=None))
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert not res.ok and "no record is signed by a registered signer" in res.message
    r = CliRunner().invoke(main, ["audit", "verify", str(setup["log"]), "--signers", str(setup["reg"])])
    assert r.exit_code == 1 and "first bad seq" in r.output


@pytest.mark.verifies("SRS-HARNESS-009")
def test_audit_unsigned_sign_record_with_registered_key_id_fails(setup: dict) -> None:
    lines = _signed_chain(setup)
    bodies = [body_of(x) for x in lines[:3]]
    assert bodies[2]["action"] == "sign" and bodies[2]["key_id"] == setup["a"].signer.key_id
    from tests.audit._util import rehash

    key = load_private_key(setup["a"].private_key_path, passphrase=PW)
    out, prev = b"", "0" * 64
    for i, b in enumerate(bodies, start=1):
        b = dict(b, seq=i, prev_hash=prev)  # the `sign` record keeps its registered key_id, loses its sig
        line = rehash(b, key=key if b["key_id"] and b["action"] != "sign" else None)
        out += line
        prev = json.loads(line)["hash"]
    setup["log"].write_bytes(out)
    checkpoint_path(setup["log"]).unlink()
    for kw in ({}, {"signers": setup["reg"]}):
        res = verify_audit_log(setup["log"], **kw)
        assert not res.ok and res.first_bad_seq == 3 and "not signed" in res.message, res.message


@pytest.mark.verifies("SRS-HARNESS-009")
@pytest.mark.parametrize("when,match", [
    ("2099-01-01T00:00:00.000000Z", "future"),
    ("1999-01-01T00:00:00.000000Z", "backwards"),
    ("2026-13-01T00:00:00.000000Z", "UTC time"),
])
def test_audit_bad_times_fail(setup: dict, when: str, match: str) -> None:
    lines = _signed_chain(setup)
    key = load_private_key(setup["a"].private_key_path, passphrase=PW)
    bodies = [body_of(x) for x in lines]
    bodies[1]["ts_utc"] = when
    setup["log"].write_bytes(rechain(bodies, key=key))
    checkpoint_path(setup["log"]).unlink()
    for kw in ({}, {"signers": setup["reg"]}):
        res = verify_audit_log(setup["log"], **kw)
        assert not res.ok and res.first_bad_seq == 2 and match in res.message, res.message


@pytest.mark.verifies("SRS-HARNESS-009")
def test_audit_whole_chain_backdated_before_key_validity_fails(setup: dict) -> None:
    lines = _signed_chain(setup)
    key = load_private_key(setup["a"].private_key_path, passphrase=PW)
    bodies = [dict(body_of(x), ts_utc="1999-01-01T00:00:00.000000Z") for x in lines]
    setup["log"].write_bytes(rechain(bodies, key=key))
    checkpoint_path(setup["log"]).unlink()
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert not res.ok and res.first_bad_seq == 2 and "not yet valid" in res.message  # seq 1: unsigned


def test_audit_future_tolerance_option(setup: dict) -> None:
    from datetime import datetime, timedelta, timezone

    _signed_chain(setup)
    past = datetime.now(timezone.utc) - timedelta(seconds=3600)
    assert not verify_audit_log(setup["log"], now=past).ok
    assert verify_audit_log(setup["log"], now=past, future_tolerance_s=7200).ok
    with pytest.raises(InvalidParameterError, match="future_tolerance_s"):
        verify_audit_log(setup["log"], future_tolerance_s=float("nan"))


@pytest.mark.verifies("SRS-HARNESS-009")
@pytest.mark.parametrize("change,match", [
    ({"status": "revoked"}, "revoked"),
    ({"valid_until": "2026-01-02T00:00:00Z"}, "expired"),
    ({"valid_from": "2099-01-01T00:00:00Z"}, "not yet valid"),
    ({"user_id": "someone"}, "does not match"),
])
def test_audit_signer_validity_and_identity(setup: dict, change: dict, match: str) -> None:
    _signed_chain(setup)
    checkpoint_path(setup["log"]).unlink()
    doc = yaml.safe_load(setup["reg"].read_text())
    doc["signers"][0].update(change)
    if "valid_from" in change:
        doc["signers"][0].pop("valid_until", None)
    setup["reg"].write_text(yaml.safe_dump(doc))
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert not res.ok and res.first_bad_seq == 2 and match in res.message, res.message  # seq 1: unsigned


@pytest.mark.verifies("SRS-HARNESS-009")
def test_audit_checkpoints_must_be_signed_by_registered_keys(setup: dict) -> None:
    _signed_chain(setup)
    side = checkpoint_path(setup["log"])
    cp = json.loads(side.read_text().splitlines()[0])
    mallory = Ed25519PrivateKey.generate()
    cp["sig"] = mallory.sign(bytes.fromhex(cp["hash"])).hex()
    side.write_text(json.dumps(cp) + "\n")
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert not res.ok and "checkpoint" in res.message and "not signed by a registered key" in res.message


def test_audit_require_all_signed(setup: dict) -> None:
    _signed_chain(setup)
    AuditLog(setup["log"], actor="jdoe", fsync=False).append("run.end", object={"type": "run", "id": "r1"})
    assert verify_audit_log(setup["log"], signers=setup["reg"]).ok
    res = verify_audit_log(setup["log"], signers=setup["reg"], require_all_signed=True)
    assert not res.ok and res.first_bad_seq == 1 and "signer.add record at seq 1 is not signed" in res.message


@pytest.mark.parametrize("content", [b"", b"garbage", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                                     "rsa"])
def test_audit_bad_key_files_are_clear_errors_without_key_bytes(tmp_path: Path, content) -> None:
    if content == "rsa":
        from cryptography.hazmat.primitives.asymmetric import rsa

        k = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        content = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    f = tmp_path / "k.pem"
    f.write_bytes(content)
    log = tmp_path / "a.jsonl"
    AuditLog(log, fsync=False).append("run.start", object="x")
    for call in (lambda: load_private_key(f), lambda: verify_audit_log(log, public_keys=[f]),
                 lambda: AuditLog(log, signing_key=f)):
        with pytest.raises(InvalidParameterError) as ei:
            call()
        assert "BEGIN" not in str(ei.value) and "\n" not in str(ei.value)


def test_audit_checkpoint_with_registered_encrypted_key(setup: dict, monkeypatch) -> None:
    _sign(setup)
    monkeypatch.setenv("SAMD_SIGNING_PASSPHRASE", PW)
    r = CliRunner().invoke(main, ["audit", "checkpoint", str(setup["log"]), "--signing-key",
                                  str(setup["a"].private_key_path), "--actor", "jdoe"])
    assert r.exit_code == 0, r.output
    res = verify_audit_log(setup["log"], signers=setup["reg"])
    assert res.ok and res.n_checkpoints == 1 and res.n_signatures_verified == 2, res.message


@pytest.mark.verifies("SRS-HARNESS-008")
def test_audit_approving_an_index_that_cites_a_failed_run_needs_a_reason(setup: dict) -> None:
    """A submission index carries no verdict itself; the runs it cites do, in the audit trail."""
    log = AuditLog(setup["log"], fsync=False)
    log.append("mlflow.run.end", object={"type": "mlflow_run", "id": "run-fail"}, context={"verdict": "fail"})
    log.append("mlflow.run.end", object={"type": "mlflow_run", "id": "run-pass"}, context={"verdict": "pass"})
    setup["doc"].write_text(json.dumps({"format": "samd-submission-index/1",
                                        "sources": [{"run_id": "run-pass"}],
                                        "sections": {"x": [{"file": "a.html", "run_ids": ["run-pass"]}]}}))
    assert _sign(setup)["context"]["failed_verdicts"] == 0
    setup["doc"].write_text(json.dumps({"format": "samd-submission-index/1",
                                        "sources": [{"run_id": "run-pass"}, {"run_id": "run-fail"}]}))
    with pytest.raises(InvalidParameterError, match="1 failed verdict"):
        _sign(setup)
    assert _sign(setup, reason="deviation DR-3 accepted")["context"]["failed_verdicts"] == 1


def test_audit_unsigned_checkpoints_of_keyless_runs_with_signers(setup: dict) -> None:
    """Runs made without a key leave unsigned checkpoints: accepted with --signers (they are
    integrity anchors), refused with --require-all-signed."""
    AuditLog(setup["log"], fsync=False).checkpoint()
    _sign(setup)
    assert verify_audit_log(setup["log"], signers=setup["reg"]).ok
    res = verify_audit_log(setup["log"], signers=setup["reg"], require_all_signed=True)
    assert not res.ok and "not signed by a registered key" in res.message


def test_audit_public_key_alone_names_no_signer_under_signers(setup: dict) -> None:
    other = Ed25519PrivateKey.generate()
    AuditLog(setup["log"], actor="jdoe", signing_key=other, fsync=False).append("run.start", object="x")
    _sign(setup)
    assert verify_audit_log(setup["log"], public_keys=[other.public_key(), setup["a"].public_key_path]).ok
    res = verify_audit_log(setup["log"], signers=setup["reg"], public_keys=[other.public_key()])
    assert not res.ok and "not in the signer registry" in res.message
