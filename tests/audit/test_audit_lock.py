"""One protocol lock under concurrency, and test-set governance (issue #15)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from tests.harness._factory import make_study
from validation.audit import AuditLog, iter_records, verify_audit_log
from validation.errors import ProtocolError
from validation.harness import load_protocol
from validation.harness._lock import current_lock, ensure_locked
from validation.harness._manifest import prior_accesses, read_manifest


def _first_run(args: tuple[str, str, str, object]) -> int:
    proto, manifest, log, barrier = args
    barrier.wait()  # type: ignore[attr-defined]
    m = read_manifest(Path(manifest))
    state, _ = ensure_locked(AuditLog(log, fsync=False), load_protocol(proto),
                             testset_sha256=m.sha256, testset_id=m.path.name)
    return state.version


@pytest.mark.verifies("SRS-HARNESS-013")
def test_audit_forty_concurrent_first_runs_write_one_lock(tmp_path: Path) -> None:
    proto = make_study(tmp_path, n=20, files=False)
    log = tmp_path / "audit.jsonl"
    ctx = multiprocessing.get_context("fork")
    n = 40
    barrier = ctx.Manager().Barrier(n)
    procs = [ctx.Process(target=_first_run, args=((str(proto), str(tmp_path / "manifest.csv"), str(log), barrier),))
             for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * n
    actions = [r["action"] for r in iter_records(log)]
    assert actions == ["protocol.lock"], actions  # exactly one "version 1", no relock, no second lock
    assert verify_audit_log(log).ok


def _locked(tmp_path: Path) -> tuple[Path, AuditLog]:
    proto = make_study(tmp_path, n=20, files=False)
    log = AuditLog(tmp_path / "audit.jsonl", fsync=False)
    m = read_manifest(tmp_path / "manifest.csv")
    state, rec = ensure_locked(log, load_protocol(proto), testset_sha256=m.sha256, testset_id=m.path.name)
    assert state.testset_version == 1 and rec is not None
    assert rec["context"]["testset_sha256"] == m.sha256  # recorded with the protocol lock
    return proto, log


EDITS = {
    "truth relabelled": lambda text: text.replace("K0000,1,", "K0000,0,", 1),
    "attribute edited": lambda text: text.replace(",A,", ",B,", 1),
    "case dropped": lambda text: "".join(text.splitlines(keepends=True)[:-1]),
    "whitespace only": lambda text: text.replace("\n", "\r\n"),
}


@pytest.mark.verifies("SRS-HARNESS-013")
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_audit_changed_manifest_is_refused_unless_relocked(tmp_path: Path, edit: str) -> None:
    proto, log = _locked(tmp_path)
    mf = tmp_path / "manifest.csv"
    mf.write_bytes(EDITS[edit](mf.read_text()).encode())
    m = read_manifest(mf)
    with pytest.raises(ProtocolError, match="test set 'manifest.csv' .* changed since it was locked"):
        ensure_locked(log, load_protocol(proto), testset_sha256=m.sha256, testset_id=m.path.name)
    state, rec = ensure_locked(log, load_protocol(proto), testset_sha256=m.sha256, testset_id=m.path.name,
                               relock_reason="adjudication panel corrected case K0000 (CAPA-9)")
    assert rec is not None and rec["action"] == "testset.relock" and state.testset_version == 2
    assert state.version == 1  # the protocol itself is unchanged
    assert current_lock(log.path, "SAP-TEST-001") == state
    assert ensure_locked(log, load_protocol(proto), testset_sha256=m.sha256)[1] is None
    assert verify_audit_log(log.path).ok


@pytest.mark.verifies("SRS-HARNESS-013")
def test_audit_relabelled_truth_refused_by_run_validation(tmp_path: Path) -> None:
    from validation.harness import run_validation

    proto, log = _locked(tmp_path)
    mf = tmp_path / "manifest.csv"
    rows = mf.read_text().splitlines(keepends=True)
    # relabel every negative-scored positive: the AUC would rise, and no *_sha256 column covers `label`
    mf.write_text(rows[0] + "".join(r.replace(",1,", ",0,", 1) if i % 3 == 0 else r
                                    for i, r in enumerate(rows[1:])))
    with pytest.raises(ProtocolError, match="relabelled truth"):
        run_validation(proto, out_dir=tmp_path / "out", audit_log=log.path,
                       tracking_uri=f"sqlite:///{tmp_path}/never.db", progress=False)
    assert not (tmp_path / "out" / "result.json").exists()
    assert [r["action"] for r in iter_records(log.path)] == ["protocol.lock"]


def test_audit_legacy_lock_binds_test_set_on_next_run(tmp_path: Path) -> None:
    proto = make_study(tmp_path, n=20, files=False)
    log = AuditLog(tmp_path / "audit.jsonl", fsync=False)
    ensure_locked(log, load_protocol(proto))  # a 0.1.0-style lock: no test-set hash
    m = read_manifest(tmp_path / "manifest.csv")
    state, rec = ensure_locked(log, load_protocol(proto), testset_sha256=m.sha256, testset_id=m.path.name)
    assert rec is not None and rec["action"] == "testset.lock" and state.testset_version == 1


def test_audit_prior_accesses_counted_across_protocols_and_models(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl", fsync=False)
    for pid, model in (("SAP-1", "a" * 64), ("SAP-2", "b" * 64), ("SAP-1", "c" * 64)):
        log.append("testset.access", object={"type": "test_set", "id": "m.csv"}, object_sha256="d" * 64,
                   context={"protocol_id": pid, "model_sha256": model, "purpose": "validation"})
    log.append("testset.access", object={"type": "test_set", "id": "m.csv"}, object_sha256="e" * 64)
    prior = prior_accesses(log.path, "d" * 64)
    assert [(p["seq"], p["protocol_id"], p["model_sha256"][0]) for p in prior] == [
        (1, "SAP-1", "a"), (2, "SAP-2", "b"), (3, "SAP-1", "c")]
    assert prior_accesses(tmp_path / "none.jsonl", "d" * 64) == []
