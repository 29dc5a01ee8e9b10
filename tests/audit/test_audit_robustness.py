"""Audit log robustness (issue #18): strict canonical lines, unreadable lines, a lost final
newline, formula-safe export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samd.cli import main
from samd_core.hashing import canonical_json, sha256_bytes
from tests.audit._util import body_of, make_log, rehash
from validation.audit import AuditLog, iter_records, verify_audit_log
from validation.errors import AuditError

FORMULA = "=cmd|' /C calc'!A0"


@pytest.mark.verifies("SRS-HARNESS-005")
def test_audit_duplicate_key_with_recomputed_hash_fails(tmp_path: Path) -> None:
    """`{"reason":"REJECTED","reason":"accepted"}` with a recomputed hash: Python's json keeps the
    last value, so a lenient reader sees "accepted" while the hash covers both; verify refuses."""
    p = tmp_path / "a.jsonl"
    lines = make_log(p, 4)
    body = body_of(lines[2])
    body["reason"] = "REJECTED"
    canon = canonical_json(body)
    forged_body = canon.replace(b'"reason":"REJECTED"', b'"reason":"REJECTED","reason":"accepted"')
    assert forged_body != canon
    digest = sha256_bytes(forged_body)
    forged = forged_body[:-1] + b',"hash":"' + digest.encode() + b'"}\n'
    # the chain link of the next record is fixed up too, so only the duplicate key is wrong
    nxt = body_of(lines[3])
    nxt["prev_hash"] = digest
    p.write_bytes(b"".join(lines[:2]) + forged + rehash(nxt))
    res = verify_audit_log(p)
    assert not res.ok and res.first_bad_seq == 3
    assert "duplicate key" in res.message and "line 3" in res.message


_HEAD = b'{"action":"run.start",'
NON_CANONICAL = {
    "blank after colon": lambda b: b.replace(b'"action":"run.start"', b'"action": "run.start"'),
    "keys reordered": lambda b: b"{" + b[len(_HEAD):-1] + b',"action":"run.start"}',
    "escaped ascii": lambda b: b.replace(b'"run.start"', b'"run\\u002estart"'),
    "float form": lambda b: b.replace(b'"i":2', b'"i":2.0e0'),
    "blank before brace": lambda b: b[:-1] + b" }",
}


@pytest.mark.verifies("SRS-HARNESS-005")
@pytest.mark.parametrize("name", sorted(NON_CANONICAL))
def test_audit_non_canonical_line_with_recomputed_hash_fails(tmp_path: Path, name: str) -> None:
    p = tmp_path / "a.jsonl"
    lines = make_log(p, 4)
    canon = canonical_json(body_of(lines[2]))
    changed = NON_CANONICAL[name](canon)
    assert changed != canon and json.loads(changed) is not None
    digest = sha256_bytes(changed)
    forged = changed[:-1] + b',"hash":"' + digest.encode() + b'"}\n'
    nxt = body_of(lines[3])
    nxt["prev_hash"] = digest
    p.write_bytes(b"".join(lines[:2]) + forged + rehash(nxt))
    res = verify_audit_log(p)
    assert not res.ok and res.first_bad_seq == 3, res.message


BAD_LINES = {
    "not utf-8": b"\xff\xfe{\"seq\":3}",
    "not json": b"{this is not json",
    "json array": b"[1,2,3]",
    "empty line": b"",
    "deep nesting": b"[" * 100_000,
    "nan constant": b'{"x":NaN,"hash":"' + b"0" * 64 + b'"}',
}


@pytest.mark.verifies("SRS-HARNESS-005")
@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_audit_unreadable_line_is_a_finding_not_a_crash(tmp_path: Path, name: str) -> None:
    p = tmp_path / "a.jsonl"
    lines = make_log(p, 4)
    p.write_bytes(b"".join(lines[:2]) + BAD_LINES[name] + b"\n" + b"".join(lines[2:]))
    res = verify_audit_log(p)
    assert not res.ok and res.first_bad_seq == 3 and "line 3" in res.message
    with pytest.raises(AuditError, match="line 3"):
        list(iter_records(p))
    r = CliRunner().invoke(main, ["audit", "verify", str(p)])
    assert r.exit_code == 1 and "line 3" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["audit", "export", str(p), "--csv", str(tmp_path / "t.csv")])
    assert r.exit_code != 0 and isinstance(r.exception, (AuditError, SystemExit))
    assert "line 3" in str(r.exception) + r.output


@pytest.mark.verifies("SRS-HARNESS-005")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(min_size=1, max_size=200), where=st.integers(0, 4))
def test_audit_property_any_inserted_junk_line_is_reported(tmp_path_factory, junk: bytes, where: int) -> None:
    p = tmp_path_factory.mktemp("junk") / "a.jsonl"
    lines = make_log(p, 4)
    junk = junk.replace(b"\n", b" ")
    p.write_bytes(b"".join(lines[:where]) + junk + b"\n" + b"".join(lines[where:]))
    res = verify_audit_log(p)  # never raises
    assert not res.ok and res.first_bad_seq == where + 1
    with pytest.raises(AuditError):
        list(iter_records(p))


@pytest.mark.verifies("SRS-HARNESS-004")
@pytest.mark.parametrize("how", ["recover", "append"])
def test_audit_lost_final_newline_is_repaired_with_a_record(tmp_path: Path, how: str) -> None:
    p = tmp_path / "a.jsonl"
    lines = make_log(p, 3)
    p.write_bytes(p.read_bytes()[:-1])  # only the final newline was lost
    res = verify_audit_log(p)
    assert not res.ok and res.first_bad_seq == 3 and "final newline" in res.message
    assert [r["seq"] for r in iter_records(p)] == [1, 2, 3]  # the complete record is still read
    if how == "recover":
        r = CliRunner().invoke(main, ["audit", "recover", str(p), "--reason", "disk full at 02:00"])
        assert r.exit_code == 0, r.output
    else:
        AuditLog(p, fsync=False).append("run.start", object={"type": "run", "id": "next"})
    recs = list(iter_records(p))
    rep = recs[3]
    assert rep["action"] == "recover" and rep["object"] == {"type": "missing_newline", "seq": 3}
    assert rep["object_sha256"] == json.loads(lines[2])["hash"]
    assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1))
    assert p.read_bytes().startswith(b"".join(lines))  # nothing rewritten, only appended
    res = verify_audit_log(p)
    assert res.ok, res.message


def test_audit_recover_refuses_a_clean_log(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    make_log(p, 2)
    with pytest.raises(AuditError, match="no torn record"):
        AuditLog(p).recover(reason="nothing happened")


@pytest.mark.verifies("SRS-HARNESS-006")
@pytest.mark.parametrize("field", ["case", "actor", "reason"])
def test_audit_export_neutralises_formula_injection(tmp_path: Path, field: str) -> None:
    """OWASP CSV injection: the CSV cell starts with an apostrophe; the log keeps the raw value."""
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, actor=FORMULA if field == "actor" else "qa", fsync=False)
    log.append("testset.access", object={"type": "case", "id": FORMULA if field == "case" else "c1"},
               reason=FORMULA if field == "reason" else "ok")
    out = tmp_path / "t.csv"
    r = CliRunner().invoke(main, ["audit", "export", str(p), "--csv", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    col = {"case": "object_id", "actor": "user_id", "reason": "reason"}[field]
    assert not rows[0][col].startswith(("=", "+", "-", "@"))
    assert rows[0][col].startswith("'") and FORMULA in rows[0][col]
    raw = next(iter_records(p))
    assert FORMULA in (raw["object"]["id"], raw["actor"]["user_id"], raw["reason"])
    assert verify_audit_log(p).ok


@pytest.mark.verifies("SRS-HARNESS-005")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sep=st.sampled_from([(",", ":"), (", ", ":"), (",", ": "), (", ", ": ")]),
       ascii_=st.booleans(), order=st.randoms(use_true_random=False), dup=st.booleans())
def test_audit_property_only_the_canonical_serialisation_verifies(tmp_path_factory, sep, ascii_, order, dup) -> None:
    """Any other JSON serialisation of the same record (spacing, key order, escaping, a duplicated
    key), re-hashed over its own bytes, fails; the canonical one passes."""
    p = tmp_path_factory.mktemp("ser") / "a.jsonl"
    AuditLog(p, fsync=False, actor="é-user").append("run.start", object={"type": "run", "id": "ü"})
    body = body_of(p.read_bytes())
    keys = list(body)
    order.shuffle(keys)
    text = json.dumps({k: body[k] for k in keys}, separators=sep, ensure_ascii=ascii_)
    if dup:
        text = text[:-1] + sep[0] + json.dumps("reason") + sep[1] + json.dumps("accepted") + "}"
    raw = text.encode("utf-8")
    p.write_bytes(raw[:-1] + b',"hash":"' + sha256_bytes(raw).encode() + b'"}\n')
    res = verify_audit_log(p)
    assert res.ok == (raw == canonical_json(body)), (res.message, raw)


@pytest.mark.verifies("SRS-HARNESS-005")
def test_audit_log_written_by_release_0_1_0_still_verifies(tmp_path: Path) -> None:
    """`data/log_0_1_0.jsonl` was written by the 0.1.0 release's `AuditLog` (commit d15bc46):
    plain, torn + recovered, signed and checkpointed records. It verifies without --signers, and
    appending to it keeps it verifiable."""
    import shutil

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from samd.cli import main as cli

    src = Path(__file__).parent / "data" / "log_0_1_0.jsonl"
    p = tmp_path / src.name
    shutil.copy(src, p)
    shutil.copy(src.with_name(src.name + ".checkpoints"), p.with_name(p.name + ".checkpoints"))
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    res = verify_audit_log(p, public_keys=[key.public_key()])
    assert res.ok and res.n_records == 5 and res.n_signatures_verified == 2 and res.n_checkpoints == 1, res.message
    assert [r["action"] for r in iter_records(p)] == ["protocol.lock", "testset.access", "recover", "sign",
                                                      "checkpoint"]
    r = CliRunner().invoke(cli, ["audit", "verify", str(p)])
    assert r.exit_code == 0 and "authenticity not verified (no --signers registry)" in r.output
    AuditLog(p, fsync=False).append("run.start", object={"type": "run", "id": "new"})
    assert verify_audit_log(p).ok


@pytest.mark.parametrize("side", [b"\xff\xfe\n", b"[1,2]\n", b'{"seq":"x"}\n', b"{" * 10000 + b"\n",
                                  b"x" * 100_000 + b"\n"])
def test_audit_garbage_checkpoint_side_file_is_a_finding(tmp_path: Path, side: bytes) -> None:
    p = tmp_path / "a.jsonl"
    make_log(p, 2)
    p.with_name(p.name + ".checkpoints").write_bytes(side)
    res = verify_audit_log(p)
    assert not res.ok and "unreadable checkpoint" in res.message and "line 1" in res.message
