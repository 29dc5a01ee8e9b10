"""Verification of an audit log: hashes, chain links, sequence, signatures, checkpoints."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samd_core.hashing import sha256_bytes
from validation.audit._keys import load_public_keys, verify_digest
from validation.audit._log import GENESIS_HASH, checkpoint_path

__all__ = ["AuditVerification", "iter_records", "verify_audit_log"]

_HASH_KEY = b',"hash":"'
_SEQ_KEY = b',"seq":'
_PREV_KEY = b',"prev_hash":"'
_HEXCHARS = frozenset(b"0123456789abcdef")


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """Outcome of `verify_audit_log`.

    Attributes
    ----------
    ok : bool
        True when every check passed.
    n_records : int
        Number of intact records read before the first failure (all of them when ``ok``).
    first_bad_seq : int or None
        Sequence number at which the chain first fails (the expected ``seq`` at that line;
        ``last seq + 1`` for a truncated tail), None when ``ok``.
    message : str
        What failed, or a one-line summary.
    head_hash : str
        Hash of the last intact record (64 zeros for an empty log).
    n_signed, n_signatures_verified : int
        Records carrying a signature, and those checked against a registered key.
    n_checkpoints : int
        External checkpoints (side file and ``checkpoints=``) that were checked.
    warnings : tuple of str
        Non-fatal findings (acknowledged torn records, unverified signatures).
    """

    ok: bool
    n_records: int
    first_bad_seq: int | None
    message: str
    head_hash: str = GENESIS_HASH
    n_signed: int = 0
    n_signatures_verified: int = 0
    n_checkpoints: int = 0
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict."""
        return {
            "ok": self.ok,
            "n_records": self.n_records,
            "first_bad_seq": self.first_bad_seq,
            "message": self.message,
            "head_hash": self.head_hash,
            "n_signed": self.n_signed,
            "n_signatures_verified": self.n_signatures_verified,
            "n_checkpoints": self.n_checkpoints,
            "warnings": list(self.warnings),
        }


def _split(line: bytes) -> tuple[bytes, str, str | None] | None:
    """Split one stored line (no newline) into (hashed body, hash, sig) or None if malformed."""
    i = line.rfind(_HASH_KEY)
    if i < 0 or not line.endswith(b'"}'):
        return None
    rest = line[i + len(_HASH_KEY) : -2]
    h = rest[:64]
    if len(h) != 64 or not _HEXCHARS.issuperset(h):
        return None
    sig: str | None = None
    if len(rest) > 64:
        if not rest.startswith(b'",\"sig\":\"', 64) or len(rest) != 64 + 9 + 128:
            return None
        s = rest[73:]
        if not _HEXCHARS.issuperset(s):
            return None
        sig = s.decode("ascii")
    return line[:i] + b"}", h.decode("ascii"), sig


def _load_checkpoints(path: Path, extra: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    side = checkpoint_path(path)
    if side.exists():
        for n, raw in enumerate(side.read_bytes().splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                cp = json.loads(raw)
                out.append({"seq": int(cp["seq"]), "hash": str(cp["hash"]),
                            "key_id": cp.get("key_id"), "sig": cp.get("sig"),
                            "where": f"{side.name} line {n}"})
            except (ValueError, KeyError, TypeError):
                out.append({"seq": None, "hash": None, "where": f"{side.name} line {n}"})
    for n, cp in enumerate(extra or (), start=1):
        out.append({"seq": int(cp["seq"]), "hash": str(cp["hash"]), "key_id": cp.get("key_id"),
                    "sig": cp.get("sig"),
                    "where": f"MLflow run {cp['run_id']}" if cp.get("run_id") else f"checkpoint argument {n}"})
    return out


def verify_audit_log(
    path: str | os.PathLike[str],
    *,
    public_keys: Iterable[Any] | Mapping[str, Any] | None = None,
    checkpoints: Iterable[Mapping[str, Any]] | None = None,
) -> AuditVerification:
    """Check an audit log end to end; stop at the first failure.

    Checks, per line: the stored ``hash`` equals SHA-256 of the canonical record bytes;
    ``seq`` is 1, 2, 3, ... with no gap; ``prev_hash`` equals the previous ``hash``; a
    ``sig`` verifies against the registered key named by ``key_id`` (when ``public_keys``
    are given; unknown keys then fail). A final line without newline is a torn record
    (fails). Checkpoints from the side file ``<log>.checkpoints`` and from ``checkpoints``
    must name a ``(seq, hash)`` present in the log: this detects deletion of the tail up to
    the last checkpoint. With ``public_keys``, every checkpoint must carry a valid signature.

    Parameters
    ----------
    path : path-like
        The audit log.
    public_keys : iterable or mapping of Ed25519 public keys (objects, PEM bytes or paths)
        Registered signer keys. None: signatures are not checked (reported as a warning).
    checkpoints : iterable of dicts with ``seq`` and ``hash`` (and ``key_id``, ``sig``)
        Checkpoints kept elsewhere (e.g. MLflow params, a rendered document).

    Returns
    -------
    AuditVerification
    """
    path = Path(path)
    keys = load_public_keys(public_keys)
    if not path.exists():
        return AuditVerification(False, 0, 1, f"audit log {path} does not exist")
    cps = _load_checkpoints(path, checkpoints)
    by_seq: dict[int, list[dict[str, Any]]] = {}
    warnings: list[str] = []
    for cp in cps:
        if cp["seq"] is None:
            return AuditVerification(False, 0, None, f"unreadable checkpoint at {cp['where']}")
        if keys:
            kid, sig = cp.get("key_id"), cp.get("sig")
            if not sig or kid not in keys or not verify_digest(keys[kid], cp["hash"], sig):
                return AuditVerification(
                    False, 0, cp["seq"],
                    f"checkpoint at {cp['where']} (seq {cp['seq']}) is not signed by a registered key",
                )
        by_seq.setdefault(cp["seq"], []).append(cp)

    expected = 1
    prev = GENESIS_HASH
    n_signed = n_verified = 0
    pending_fragment: bytes | None = None

    def fail(seq: int, msg: str) -> AuditVerification:
        return AuditVerification(False, expected - 1, seq, msg, prev, n_signed, n_verified,
                                 0, tuple(warnings))

    prev_b = prev.encode("ascii")
    with open(path, "rb") as fh:
        for raw in fh:
            # fast path: layout `<body>,"hash":"<64 hex>"[,"sig":"<128 hex>"]}\n`
            if raw[-1:] != b"\n":
                return fail(expected, f"torn (incomplete) record after seq {expected - 1}")
            i = raw.rfind(_HASH_KEY)
            tail = raw[i + 9 :]
            ln = len(tail)
            body = stored_b = None
            sig = None
            if i > 0 and tail[-3:] == b'"}\n':
                if ln == 67:
                    stored_b = tail[:64]
                elif ln == 204 and tail[64:73] == b'","sig":"':
                    stored_b = tail[:64]
                    sig = tail[73:201].decode("ascii", "replace")
            if stored_b is not None:
                body = raw[:i] + b"}"
                if sha256_bytes(body).encode("ascii") != stored_b:
                    body = None
            if body is None:
                if pending_fragment is not None:
                    return fail(expected, f"record at seq {expected}: unreadable or hash mismatch")
                pending_fragment = raw[:-1]
                continue
            j = body.rfind(_SEQ_KEY) + 7
            k = body.find(b",", j)
            try:
                seq = int(body[j:k])
            except ValueError:
                seq = -1
            pj = body.rfind(_PREV_KEY) + 14
            link = body[pj : pj + 64]
            stored = stored_b.decode("ascii")  # type: ignore[union-attr]
            if pending_fragment is not None:
                ack = json.loads(body)
                if ack.get("action") != "recover" or ack.get("object_sha256") != sha256_bytes(pending_fragment):
                    return fail(expected, f"record at seq {expected}: unreadable or hash mismatch")
                warnings.append(f"torn record before seq {seq} acknowledged: {ack.get('reason')!r}")
                pending_fragment = None
            if seq != expected:
                return fail(expected, f"sequence break: expected seq {expected}, found {seq} "
                                      "(record deleted, inserted or reordered)")
            if link != prev_b:
                return fail(expected, f"chain break at seq {seq}: prev_hash does not match "
                                      "the previous record's hash")
            if sig is not None or body.startswith(b'{"action":"checkpoint"'):
                rec = json.loads(body)
                if sig is not None:
                    n_signed += 1
                    kid = rec.get("key_id")
                    if keys:
                        if kid not in keys:
                            return fail(seq, f"record at seq {seq} is signed by unregistered key {kid}")
                        if not verify_digest(keys[kid], stored, sig):
                            return fail(seq, f"bad signature at seq {seq}")
                        n_verified += 1
                if rec.get("action") == "checkpoint":
                    obj = rec.get("object") or {}
                    if obj.get("seq") != seq - 1 or obj.get("hash") != prev:
                        return fail(seq, f"checkpoint at seq {seq} does not name the previous head")
            if by_seq:
                for cp in by_seq.get(seq, ()):
                    if cp["hash"] != stored:
                        return fail(seq, f"record at seq {seq} differs from the checkpoint in {cp['where']}")
            prev_b = stored_b  # type: ignore[assignment]
            prev = stored
            expected += 1
    last = expected - 1
    if pending_fragment is not None:
        return fail(expected, f"record at seq {expected}: unreadable or hash mismatch")
    beyond = [cp for cp in cps if cp["seq"] > last]
    if beyond:
        cp = max(beyond, key=lambda c: c["seq"])
        return fail(last + 1, f"log truncated: {cp['where']} names seq {cp['seq']} but the log "
                              f"ends at seq {last}")
    if n_signed and not keys:
        warnings.append(f"{n_signed} signed records not checked (no public keys given)")
    return AuditVerification(True, last, None, f"intact: {last} records, head {prev[:16]}",
                             prev, n_signed, n_verified, len(cps), tuple(warnings))


def iter_records(path: str | os.PathLike[str]) -> Iterable[dict[str, Any]]:
    """Yield the parsed records of a log (no verification; skips unreadable lines)."""
    with open(path, "rb") as fh:
        for raw in fh:
            parts = _split(raw.rstrip(b"\n"))
            if parts is None:
                continue
            rec = json.loads(parts[0])
            rec["hash"] = parts[1]
            if parts[2] is not None:
                rec["sig"] = parts[2]
            yield rec
