"""Protocol and test-set locking: the audit trail is the lock registry.

A protocol (by its ``id``) is locked by a ``protocol.lock`` audit record holding the file's
SHA-256 (version 1). A later run whose protocol bytes hash differently is refused unless a
new version is locked with ``protocol.relock`` and a reason. The lock record is written
before anything is computed.

The test set is locked with it: the first ``protocol.lock`` record's context holds the SHA-256
of the whole manifest file (every column: truth, attributes, paths and file hashes) as test-set
version 1 (a protocol locked by samd 0.1.0 gets a ``testset.lock`` record on its next run). A
later run whose manifest hashes differently (a relabelled truth, an edited attribute) is
refused unless re-locked with a reason (``testset.relock``, a new test-set version).

Reading the registry and appending to it happen under one file lock (``<audit log>.lock``,
`filelock`), so concurrent first runs of a protocol write exactly one version 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

from validation.audit import AuditLog, iter_records
from validation.errors import ProtocolError
from validation.harness._protocol import Protocol

__all__ = ["LOCK_TIMEOUT_S", "LockState", "current_lock", "ensure_locked", "registry_lock"]

_LOCK_ACTIONS = ("protocol.lock", "protocol.relock")
_TESTSET_ACTIONS = ("testset.lock", "testset.relock")
#: Seconds a run waits for another run holding the lock registry before giving up.
LOCK_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class LockState:
    """The latest lock of a protocol id: version, locked SHA-256, audit seq of the lock, and the
    locked test set (manifest SHA-256 and test-set version; None before one is bound)."""

    protocol_id: str
    version: int
    sha256: str
    seq: int
    testset_sha256: str | None = None
    testset_version: int | None = None


def registry_lock(audit_path: str | Path) -> filelock.FileLock:
    """The file lock held across reading and appending lock records (``<audit log>.lock``)."""
    p = Path(audit_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(p.with_name(p.name + ".lock")), timeout=LOCK_TIMEOUT_S)


def current_lock(audit_path: str | Path, protocol_id: str) -> LockState | None:
    """The latest lock of ``protocol_id`` (and of its test set) in the audit log, or None."""
    p = Path(audit_path)
    if not p.exists():
        return None
    state = None
    ts_sha: str | None = None
    ts_version: int | None = None
    for rec in iter_records(p):
        action = rec.get("action")
        obj = rec.get("object")
        if not isinstance(obj, dict):
            continue
        if action in _LOCK_ACTIONS and obj.get("id") == protocol_id:
            state = LockState(protocol_id, int(obj.get("version", 1)), str(rec["object_sha256"]),
                              int(rec["seq"]))
            ctx = rec.get("context")
            if action == "protocol.lock" and isinstance(ctx, dict) and ctx.get("testset_sha256"):
                ts_sha, ts_version = str(ctx["testset_sha256"]), 1  # bound by the first lock itself
        elif action in _TESTSET_ACTIONS and obj.get("protocol_id") == protocol_id:
            ts_sha, ts_version = str(rec["object_sha256"]), int(obj.get("version", 1))
    if state is None:
        return None
    return LockState(state.protocol_id, state.version, state.sha256, state.seq, ts_sha, ts_version)


def ensure_locked(
    audit: AuditLog,
    protocol: Protocol,
    *,
    relock_reason: str | None = None,
    testset_sha256: str | None = None,
    testset_id: str | None = None,
) -> tuple[LockState, dict[str, Any] | None]:
    """Lock the protocol (and its test set) on first use; refuse changed content unless re-locked.

    Parameters
    ----------
    audit : AuditLog
        The audit trail (the lock registry).
    protocol : Protocol
        The loaded protocol.
    relock_reason : str, optional
        Locks a new version of a changed protocol and/or test set, with this reason.
    testset_sha256 : str, optional
        SHA-256 of the whole manifest file (`Manifest.sha256`). None: the test set is not locked.
    testset_id : str, optional
        Name of the test set (the manifest's file name) recorded with its lock.

    Returns
    -------
    (LockState, record or None)
        The lock in force and the last audit record written now (None when the existing lock
        already matches).

    Raises
    ------
    ProtocolError
        The protocol or the test set changed since its last lock and no ``relock_reason`` was
        given.
    """
    with registry_lock(audit.path):
        return _ensure_locked(audit, protocol, relock_reason, testset_sha256, testset_id)


def _ensure_locked(audit: AuditLog, protocol: Protocol, relock_reason: str | None,
                   testset_sha256: str | None, testset_id: str | None) -> tuple[LockState, dict[str, Any] | None]:
    state = current_lock(audit.path, protocol.id)
    obj: dict[str, Any] = {"type": "protocol", "id": protocol.id, "file": protocol.path.name}
    rec: dict[str, Any] | None = None
    if state is None:
        rec = audit.append("protocol.lock", object={**obj, "version": 1},
                           object_sha256=protocol.sha256, reason=relock_reason,
                           context={"testset_id": testset_id, "testset_sha256": testset_sha256,
                                    "testset_version": 1, "testset_hashed": "whole manifest file"}
                           if testset_sha256 else None)
        state = LockState(protocol.id, 1, protocol.sha256, int(rec["seq"]), testset_sha256,
                          1 if testset_sha256 else None)
    elif state.sha256 != protocol.sha256:
        if not relock_reason:
            raise ProtocolError(
                f"protocol {protocol.id!r} ({protocol.path.name}) changed since it was locked "
                f"(version {state.version}, sha256 {state.sha256[:16]}…, audit seq {state.seq}; now "
                f"{protocol.sha256[:16]}…); lock a new version with a reason "
                "(`samd validate PROTOCOL --relock-reason TEXT`) or restore the locked file"
            )
        rec = audit.append(
            "protocol.relock",
            object={**obj, "version": state.version + 1},
            object_sha256=protocol.sha256,
            reason=relock_reason,
            context={"previous_version": state.version, "previous_sha256": state.sha256},
        )
        state = LockState(protocol.id, state.version + 1, protocol.sha256, int(rec["seq"]),
                          state.testset_sha256, state.testset_version)
    if testset_sha256 is None or state.testset_sha256 == testset_sha256:
        return state, rec
    ts_obj = {"type": "test_set", "id": testset_id, "protocol_id": protocol.id,
              "protocol_version": state.version}
    if state.testset_sha256 is None:  # first binding of a test set to this protocol
        rec = audit.append("testset.lock", object={**ts_obj, "version": 1}, object_sha256=testset_sha256,
                           context={"protocol_lock_seq": state.seq, "hashed": "whole manifest file"})
        return LockState(state.protocol_id, state.version, state.sha256, state.seq, testset_sha256, 1), rec
    if not relock_reason:
        raise ProtocolError(
            f"test set {testset_id!r} of protocol {protocol.id!r} changed since it was locked "
            f"(test-set version {state.testset_version}, manifest sha256 {state.testset_sha256[:16]}…; now "
            f"{testset_sha256[:16]}…): a relabelled truth or an edited attribute is a new test-set "
            "version; lock it with a reason (`samd validate PROTOCOL --relock-reason TEXT`) or restore "
            "the locked manifest"
        )
    version = (state.testset_version or 0) + 1
    rec = audit.append("testset.relock", object={**ts_obj, "version": version}, object_sha256=testset_sha256,
                       reason=relock_reason,
                       context={"protocol_lock_seq": state.seq, "previous_version": state.testset_version,
                                "previous_sha256": state.testset_sha256, "hashed": "whole manifest file"})
    return LockState(state.protocol_id, state.version, state.sha256, state.seq, testset_sha256, version), rec
