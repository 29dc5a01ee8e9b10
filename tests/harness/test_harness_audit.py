"""Audit trail: chain, signatures, checkpoints, tampering, concurrency, torn records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from validation.audit import (
    AuditLog,
    canonical_json,
    checkpoint_path,
    iter_records,
    sha256_bytes,
    verify_audit_log,
)
from validation.errors import AuditError, InvalidParameterError

ROOT = Path(__file__).resolve().parents[2]
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _make(path: Path, n: int = 12, *, key: Ed25519PrivateKey | None = None) -> list[bytes]:
    log = AuditLog(path, signing_key=key, fsync=False)
    for i in range(n):
        log.append("run.start", object={"type": "run", "id": f"r{i}"}, context={"i": i, "s": "é"})
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.verifies("SRS-HARNESS-001")
def test_harness_audit_intact_chain_fields(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, actor="qa.lead", fsync=False)
    r1 = log.append("protocol.lock", object={"type": "protocol", "id": "sap.yaml"},
                    object_sha256="a" * 64)
    r2 = log.append("protocol.relock", object="sap.yaml", reason="typo in endpoint name")
    assert r1["seq"] == 1 and r2["seq"] == 2
    assert r1["prev_hash"] == "0" * 64 and r2["prev_hash"] == r1["hash"]
    assert r1["actor"] == {"user_id": "qa.lead", "auth_method": "asserted"}
    assert r1["ts_utc"].endswith("Z") and r1["host"]["samd_version"]
    body = {k: v for k, v in r2.items() if k not in ("hash", "sig")}
    assert sha256_bytes(canonical_json(body)) == r2["hash"]
    res = verify_audit_log(p)
    assert res.ok and res.n_records == 2 and res.first_bad_seq is None
    assert [r["seq"] for r in iter_records(p)] == [1, 2]


@pytest.mark.verifies("SRS-HARNESS-001")
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"action": "Run Start", "object": "x"}, "action"),
        ({"action": "protocol.relock", "object": "x"}, "reason"),
        ({"action": "delete", "object": "x", "reason": "  "}, "reason"),
        ({"action": "run.start", "object": "x", "object_sha256": "XYZ"}, "object_sha256"),
        ({"action": "run.start", "object": "x", "signature_meaning": "approve"}, "signature_meaning"),
        ({"action": "run.start", "object": float("nan")}, "object/context"),
        ({"action": "sign", "object": "x", "reason": "r", "signature_meaning": "approved"}, "signing_key"),
    ],
)
def test_harness_audit_bad_input(tmp_path: Path, kwargs: dict, field: str) -> None:
    log = AuditLog(tmp_path / "a.jsonl", fsync=False)
    action = kwargs.pop("action")
    with pytest.raises(InvalidParameterError) as ei:
        log.append(action, **kwargs)
    assert f"`{field}`" in str(ei.value)
    assert not (tmp_path / "a.jsonl").exists() or (tmp_path / "a.jsonl").read_bytes() == b""


@pytest.mark.verifies("SRS-HARNESS-002")
def test_harness_audit_byte_flip(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    lines = _make(p)
    data = bytearray(b"".join(lines))
    pos = sum(len(x) for x in lines[:6]) + 40  # inside record seq 7
    data[pos] ^= 0x01
    p.write_bytes(bytes(data))
    res = verify_audit_log(p)
    assert not res.ok and res.first_bad_seq == 7 and "hash mismatch" in res.message


@pytest.mark.verifies("SRS-HARNESS-002")
def test_harness_audit_deletion_reorder_insertion(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    lines = _make(p)
    p.write_bytes(b"".join(lines[:4] + lines[5:]))
    res = verify_audit_log(p)
    assert (res.ok, res.first_bad_seq) == (False, 5) and "sequence break" in res.message
    p.write_bytes(b"".join(lines[:4] + [lines[5], lines[4]] + lines[6:]))
    assert verify_audit_log(p).first_bad_seq == 5
    p.write_bytes(b"".join(lines[:4] + [lines[2]] + lines[4:]))
    assert verify_audit_log(p).first_bad_seq == 5


@pytest.mark.verifies("SRS-HARNESS-002")
def test_harness_audit_tail_truncation_needs_checkpoint(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, signing_key=KEY, fsync=False)
    for i in range(10):
        log.append("run.start", object=str(i))
    cp = log.checkpoint()
    assert cp["seq"] == 11 and cp["sig"]
    log.append("run.end", object="x")
    lines = p.read_bytes().splitlines(keepends=True)
    assert verify_audit_log(p, public_keys=[KEY.public_key()]).ok
    p.write_bytes(b"".join(lines[:8]))
    res = verify_audit_log(p, public_keys=[KEY.public_key()])
    assert not res.ok and res.first_bad_seq == 9 and "truncated" in res.message
    # without any checkpoint, a shortened chain is still a valid chain (documented limit)
    checkpoint_path(p).unlink()
    assert verify_audit_log(p).ok
    # the checkpoint kept elsewhere (e.g. an MLflow param) still detects it
    assert not verify_audit_log(p, checkpoints=[cp]).ok
    # a forged, unsigned checkpoint is rejected when keys are registered
    forged = dict(cp, sig=None)
    res = verify_audit_log(p, public_keys=[KEY.public_key()], checkpoints=[forged])
    assert not res.ok and "not signed" in res.message


@pytest.mark.verifies("SRS-HARNESS-003")
def test_harness_audit_signatures(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, signing_key=KEY, fsync=False)
    rec = log.append("sign", object={"type": "document", "id": "report.pdf"},
                     object_sha256="b" * 64, reason="release", signature_meaning="approved")
    assert rec["key_id"].startswith("ed25519:") and len(rec["sig"]) == 128
    ok = verify_audit_log(p, public_keys=[KEY.public_key()])
    assert ok.ok and ok.n_signatures_verified == 1
    other = Ed25519PrivateKey.generate()
    bad = verify_audit_log(p, public_keys=[other.public_key()])
    assert not bad.ok and "unregistered key" in bad.message
    # a signature replaced by one from another key over the same hash is caught
    line = p.read_bytes()
    forged_sig = other.sign(bytes.fromhex(rec["hash"])).hex()
    p.write_bytes(line.replace(rec["sig"].encode(), forged_sig.encode()))
    res = verify_audit_log(p, public_keys=[KEY.public_key()])
    assert not res.ok and "bad signature" in res.message


@pytest.mark.verifies("SRS-HARNESS-004")
def test_harness_audit_torn_record(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    lines = _make(p, 5)
    with open(p, "ab") as fh:
        fh.write(lines[0][:57])  # a crash mid-write
    res = verify_audit_log(p)
    assert not res.ok and res.first_bad_seq == 6 and "torn" in res.message
    log = AuditLog(p, fsync=False)
    with pytest.raises(AuditError, match="torn"):
        log.append("run.start", object="x")
    with pytest.raises(InvalidParameterError):
        log.recover(reason="")
    rec = log.recover(reason="power loss during run 17")
    assert rec["seq"] == 6 and rec["object_sha256"] == sha256_bytes(lines[0][:57])
    log.append("run.start", object="y")
    res = verify_audit_log(p)
    assert res.ok and res.n_records == 7 and any("torn" in w for w in res.warnings)


_WRITER = """
import sys, time
from validation.audit import AuditLog
log = AuditLog(sys.argv[1], actor="w" + sys.argv[2], fsync=False)
pause = float(sys.argv[4])
for i in range(int(sys.argv[3])):
    log.append("run.start", object={"type": "run", "id": f"{sys.argv[2]}-{i}"})
    if pause:
        time.sleep(pause)
"""


@pytest.mark.verifies("SRS-HARNESS-004")
def test_harness_audit_four_concurrent_writers_one_killed(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        # the victim (w3) pauses 2 ms between appends so that it is killed mid-run
        subprocess.Popen([sys.executable, "-c", _WRITER, str(p), str(w), "1000", "0.002" if w == 3 else "0"],
                         env=env, start_new_session=True)
        for w in range(4)
    ]
    victim = procs[3]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if p.exists() and p.read_bytes().count(b'"user_id":"w3"') >= 50:
            break
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    for proc in procs[:3]:
        assert proc.wait(timeout=300) == 0
    res = verify_audit_log(p)
    assert res.ok, res.message
    per = {}
    for rec in iter_records(p):
        per.setdefault(rec["actor"]["user_id"], []).append(rec["object"]["id"])
    for w in range(3):
        assert per[f"w{w}"] == [f"{w}-{i}" for i in range(1000)]
    killed = per.get("w3", [])
    assert 50 <= len(killed) < 1000
    assert killed == [f"3-{i}" for i in range(len(killed))]
    assert res.n_records == 3000 + len(killed)


_LOG_CACHE: dict[str, bytes] = {}


def _signed_log(tmp: Path) -> bytes:
    if "log" not in _LOG_CACHE:
        p = tmp / "base.jsonl"
        log = AuditLog(p, signing_key=KEY, fsync=False)
        for i in range(6):
            log.append("run.start", object={"id": i}, reason="r" if i % 2 else None)
        log.checkpoint()
        _LOG_CACHE["log"] = p.read_bytes()
        _LOG_CACHE["cp"] = checkpoint_path(p).read_bytes()
    return _LOG_CACHE["log"]


@pytest.mark.verifies("SRS-HARNESS-002")
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_harness_audit_property_any_single_byte_change_detected(tmp_path_factory, data) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    base = _signed_log(tmp)
    pos = data.draw(st.integers(0, len(base) - 1), label="pos")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != base[pos]), label="byte")
    p = tmp / "a.jsonl"
    p.write_bytes(base[:pos] + bytes([new]) + base[pos + 1 :])
    checkpoint_path(p).write_bytes(_LOG_CACHE["cp"])
    assert not verify_audit_log(p, public_keys=[KEY.public_key()]).ok
    p.write_bytes(base)
    assert verify_audit_log(p, public_keys=[KEY.public_key()]).ok


def test_harness_audit_records_are_strict_json(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    _make(p, 3, key=KEY)
    for line in p.read_text("utf-8").splitlines():
        rec = json.loads(line)
        assert set(rec) >= {"seq", "event_id", "ts_utc", "actor", "host", "action", "object",
                            "object_sha256", "reason", "prev_hash", "hash", "sig"}


@pytest.mark.verifies("SRS-HARNESS-002", "SRS-HARNESS-004")
def test_harness_audit_cli_verify_recover_export_checkpoint(tmp_path: Path) -> None:
    import csv

    from click.testing import CliRunner
    from cryptography.hazmat.primitives import serialization

    from samd.cli import main

    p = tmp_path / "a.jsonl"
    _make(p, 4)
    key_pem = tmp_path / "k.pem"
    key_pem.write_bytes(KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    pub_pem = tmp_path / "k.pub"
    pub_pem.write_bytes(KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    runner = CliRunner()
    r = runner.invoke(main, ["audit", "checkpoint", str(p), "--signing-key", str(key_pem)])
    assert r.exit_code == 0 and json.loads(r.output)["seq"] == 5
    r = runner.invoke(main, ["audit", "verify", str(p), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["audit"]["n_records"] == 5
    with open(p, "ab") as fh:
        fh.write(b'{"action":"run.st')
    r = runner.invoke(main, ["audit", "verify", str(p)])
    assert r.exit_code == 1 and "torn" in r.output and "first bad seq: 6" in r.output
    assert runner.invoke(main, ["audit", "recover", str(p), "--reason", "host crashed"]).exit_code == 0
    assert runner.invoke(main, ["audit", "verify", str(p)]).exit_code == 0
    # records 1-4 are unsigned: with registered keys only signed checkpoints are required
    assert runner.invoke(main, ["audit", "verify", str(p), "--public-key", str(pub_pem)]).exit_code == 0
    r = runner.invoke(main, ["audit", "export", str(p), "--csv", str(tmp_path / "trail.csv")])
    assert r.exit_code == 0
    rows = list(csv.DictReader(open(tmp_path / "trail.csv", encoding="utf-8")))
    assert [x["action"] for x in rows] == ["run.start"] * 4 + ["checkpoint", "recover"]
    assert rows[-1]["reason"] == "host crashed" and rows[4]["signed"] == "yes"
    assert runner.invoke(main, ["audit", "verify", str(tmp_path / "nope.jsonl")]).exit_code == 2
    r = runner.invoke(main, ["audit", "verify", str(p), "--record", "--actor", "qa.auditor"])
    assert r.exit_code == 0
    last = list(iter_records(p))[-1]
    assert last["action"] == "audit.verify" and last["actor"]["user_id"] == "qa.auditor"
    assert last["object"]["n_records"] == 6 and verify_audit_log(p).n_records == 7
