"""Protocol locking: the audit trail is the lock registry.

A protocol (by its ``id``) is locked by a ``protocol.lock`` audit record holding the file's
SHA-256 (version 1). A later run whose protocol bytes hash differently is refused unless a
new version is locked with ``protocol.relock`` and a reason. The lock record is written
before anything is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validation.audit import AuditLog, iter_records
from validation.errors import ProtocolError
from validation.harness._protocol import Protocol

__all__ = ["LockState", "current_lock", "ensure_locked"]

_LOCK_ACTIONS = ("protocol.lock", "protocol.relock")


@dataclass(frozen=True, slots=True)
class LockState:
    """The latest lock of a protocol id: version, locked SHA-256, audit seq of the lock."""

    protocol_id: str
    version: int
    sha256: str
    seq: int


def current_lock(audit_path: str | Path, protocol_id: str) -> LockState | None:
    """The latest lock of ``protocol_id`` in the audit log, or None."""
    p = Path(audit_path)
    if not p.exists():
        return None
    state = None
    for rec in iter_records(p):
        if rec.get("action") in _LOCK_ACTIONS:
            obj = rec.get("object") or {}
            if isinstance(obj, dict) and obj.get("id") == protocol_id:
                state = LockState(protocol_id, int(obj.get("version", 1)), str(rec["object_sha256"]),
                                  int(rec["seq"]))
    return state


def ensure_locked(audit: AuditLog, protocol: Protocol, *, relock_reason: str | None = None) -> tuple[LockState, dict[str, Any] | None]:
    """Lock the protocol on first use; refuse changed content unless re-locked with a reason.

    Returns
    -------
    (LockState, record or None)
        The lock in force and the audit record written now (None when the existing lock
        already matches).

    Raises
    ------
    ProtocolError
        The protocol changed since its last lock and no ``relock_reason`` was given.
    """
    state = current_lock(audit.path, protocol.id)
    obj: dict[str, Any] = {"type": "protocol", "id": protocol.id, "file": protocol.path.name}
    if state is None:
        rec = audit.append("protocol.lock", object={**obj, "version": 1},
                           object_sha256=protocol.sha256, reason=relock_reason)
        return LockState(protocol.id, 1, protocol.sha256, int(rec["seq"])), rec
    if state.sha256 == protocol.sha256:
        return state, None
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
    return LockState(protocol.id, state.version + 1, protocol.sha256, int(rec["seq"])), rec
