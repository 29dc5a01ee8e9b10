"""Append-only, hash-chained, optionally signed audit log (JSON Lines).

Line layout (one record per line)::

    <canonical JSON of the record without "hash"/"sig", minus its closing brace>
    ,"hash":"<64 hex>"[,"sig":"<128 hex>"]}\\n

``hash`` = SHA-256 over the canonical JSON bytes of the record without ``hash`` and ``sig``
(sorted keys, compact separators, UTF-8; see `canonical_json`). ``prev_hash`` of record
``seq`` is the ``hash`` of record ``seq - 1`` (64 zeros for ``seq`` 1). ``sig`` is an
Ed25519 signature over the 32 raw bytes of ``hash``; the signer's fingerprint is the hashed
field ``key_id``.

Writers take an exclusive ``fcntl.flock`` on the log file for the whole read-tail /
compute / write step, and write each record with a single ``write`` on an ``O_APPEND``
descriptor, so several processes never interleave or lose records. A process that dies in
the middle of a write leaves a line without its newline (a *torn record*): the next writer
refuses to append after it, and `verify_audit_log` reports it, until `AuditLog.recover`
acknowledges it with a reason (the fragment's SHA-256 is recorded, the bytes stay in place).
When the last line is a complete, correctly chained record that lost only its final newline,
`AuditLog.recover` or the next append restores the newline and first writes a ``recover``
record (object ``{"type": "missing_newline", "seq": n}``, ``object_sha256`` the record's hash),
so the repair itself is on the record.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import re
import secrets
import socket
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from samd_core._version import __version__
from samd_core.hashing import canonical_json, sha256_bytes
from validation.audit._keys import key_id, load_private_key, sign_digest
from validation.audit._records import BadLine, encode_line, parse_line
from validation.errors import AuditError, InvalidParameterError

__all__ = [
    "GENESIS_HASH",
    "REASON_REQUIRED",
    "SCHEMA",
    "SIGNATURE_MEANINGS",
    "AuditLog",
    "checkpoint_path",
]

SCHEMA = "samd-audit/1"
#: ``ts_utc`` format (UTC, microseconds).
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
GENESIS_HASH = "0" * 64
#: Actions (or the last dotted component of an action) that must carry a ``reason``.
#: (``sign`` is not among them: its signature meaning is its reason; a reason is added when an
#: approval overrides a failed verdict, see `sign_object`.)
REASON_REQUIRED: frozenset[str] = frozenset(
    {"override", "relock", "delete", "modify", "recover"}
)
#: Allowed ``signature_meaning`` values (21 CFR 11.50(a)(3)).
SIGNATURE_MEANINGS: frozenset[str] = frozenset(
    {"authored", "reviewed", "approved", "responsibility"}
)
_ACTION_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """The side file that keeps copies of signed checkpoints: ``<log>.checkpoints``."""
    p = Path(path)
    return p.with_name(p.name + ".checkpoints")


def _uuid7() -> str:
    """A UUIDv7 string (48-bit Unix ms timestamp, then random bits): unique, time-sortable."""
    ms = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 62) << 64  # 12 bits rand_a
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime(TS_FORMAT)


def _read_last_line(fd: int, size: int) -> bytes:
    """The last complete line (without its newline) of a file that ends with a newline."""
    chunk = 4096
    start = size
    buf = b""
    while start > 0:
        start = max(0, start - chunk)
        buf = os.pread(fd, size - start, start)
        nl = buf.rfind(b"\n", 0, len(buf) - 1)
        if nl >= 0:
            return buf[nl + 1 : -1]
        chunk *= 4
    return buf[:-1]


class AuditLog:
    """An append-only audit trail in a JSON Lines file.

    Parameters
    ----------
    path : path-like
        The log file (created on first append, with parent folders).
    actor : str, optional
        User id recorded as the actor. Default: the OS login name (``auth_method``
        ``"os-login"``); an explicit actor is recorded with ``auth_method`` ``"asserted"``.
    signing_key : Ed25519PrivateKey or PEM bytes or path, optional
        When given, every record is signed (``sig`` over ``hash``) and ``key_id`` is set.
    fsync : bool
        ``os.fsync`` after each append (default True).
    auth_method : str, optional
        How the actor was authenticated, recorded as ``actor.auth_method`` (default
        ``"asserted"`` or ``"os-login"``; `sign_object` records ``"user-id+key-passphrase"``).
    passphrase : str or bytes, optional
        Decrypts an encrypted ``signing_key`` (as written by `add_signer`).

    Notes
    -----
    Records are written by the library only; callers supply the action, the object, and
    the free-text ``reason`` and ``signature_meaning``. Time is the system clock in UTC
    (``ts_source`` ``"system"``). Never put personal health information in ``object``,
    ``reason`` or ``context``: use pseudonymous case ids and hashes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        actor: str | None = None,
        signing_key: Any = None,
        fsync: bool = True,
        auth_method: str | None = None,
        passphrase: str | bytes | None = None,
    ) -> None:
        self.path = Path(path)
        if actor is not None and (not isinstance(actor, str) or not actor.strip()):
            raise InvalidParameterError("actor", "AuditLog", "a non-empty string or None", actor)
        self._actor = {
            "user_id": actor if actor is not None else getpass.getuser(),
            "auth_method": auth_method or ("asserted" if actor is not None else "os-login"),
        }
        self._key = load_private_key(signing_key, passphrase=passphrase) if signing_key is not None else None
        self._key_id = key_id(self._key.public_key()) if self._key is not None else None
        self._fsync = bool(fsync)
        self._host = {
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "python": ".".join(str(v) for v in sys.version_info[:3]),
        }

    @property
    def key_id(self) -> str | None:
        """Fingerprint of the signing key, or None when records are not signed."""
        return self._key_id

    # ------------------------------------------------------------------ appending
    def append(
        self,
        action: str,
        *,
        object: Any,  # noqa: A002 - the field name of the record
        object_sha256: str | None = None,
        reason: str | None = None,
        context: Mapping[str, Any] | None = None,
        signature_meaning: str | None = None,
    ) -> dict[str, Any]:
        """Append one record and return it (as written, including ``hash`` and ``sig``).

        Parameters
        ----------
        action : str
            Dotted lower-case name, e.g. ``"protocol.lock"``, ``"run.start"``,
            ``"testset.access"``, ``"sign"``. ``reason`` is required when the action or its
            last dotted component is one of `REASON_REQUIRED`.
        object : str or dict
            What the action is about (JSON-serializable; no PHI).
        object_sha256 : str, optional
            Hex SHA-256 of the object's content.
        reason : str, optional
            Why (free text).
        context : dict, optional
            Extra JSON-serializable facts (run id, hashes of logged values, ...).
        signature_meaning : {"authored", "reviewed", "approved", "responsibility"}, optional
            Meaning of the signature; required for ``action="sign"``, which also requires a
            signing key.

        Raises
        ------
        InvalidParameterError
            Bad action, hash, reason or meaning.
        AuditError
            The log ends with a torn record or its last line is unreadable.
        """
        fn = "AuditLog.append"
        if not isinstance(action, str) or not _ACTION_RE.match(action):
            raise InvalidParameterError(
                "action", fn, "a dotted lower-case name such as 'run.start'", action
            )
        if object_sha256 is not None and (
            not isinstance(object_sha256, str) or not _HEX64.match(object_sha256)
        ):
            raise InvalidParameterError(
                "object_sha256", fn, "64 lower-case hex characters or None", object_sha256
            )
        last = action.rsplit(".", 1)[-1]
        if (action in REASON_REQUIRED or last in REASON_REQUIRED) and (
            not isinstance(reason, str) or not reason.strip()
        ):
            raise InvalidParameterError(
                "reason", fn, f"a non-empty string for action {action!r}", reason
            )
        if reason is not None and not isinstance(reason, str):
            raise InvalidParameterError("reason", fn, "a string or None", reason)
        if signature_meaning is not None and signature_meaning not in SIGNATURE_MEANINGS:
            raise InvalidParameterError(
                "signature_meaning", fn, f"one of {sorted(SIGNATURE_MEANINGS)}",
                signature_meaning, SIGNATURE_MEANINGS,
            )
        if action == "sign":
            if signature_meaning is None:
                raise InvalidParameterError(
                    "signature_meaning", fn, "given for action 'sign'", signature_meaning
                )
            if self._key is None:
                raise InvalidParameterError(
                    "signing_key", "AuditLog", "an Ed25519 key for action 'sign'", None
                )
        if context is not None and not isinstance(context, Mapping):
            raise InvalidParameterError("context", fn, "a mapping or None", context)
        try:
            canonical_json(object)
            canonical_json(dict(context) if context is not None else None)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                "object/context", fn, "JSON-serializable with finite floats", str(exc)
            ) from None
        return self._append(
            {
                "action": action,
                "object": object,
                "object_sha256": object_sha256,
                "reason": reason,
                "signature_meaning": signature_meaning,
                "context": dict(context) if context is not None else None,
            }
        )

    def _append(self, fields: dict[str, Any], *, allow_torn: bool = False) -> dict[str, Any]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        rfd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(rfd).st_size
                prefix = b""
                bodies: list[dict[str, Any]] = []
                if allow_torn and (size == 0 or os.pread(rfd, 1, size - 1) == b"\n"):
                    raise AuditError(f"audit log {self.path.name} ends with a complete record; "
                                     "there is no torn record to recover")
                if size == 0:
                    seq, prev = 1, GENESIS_HASH
                elif os.pread(rfd, 1, size - 1) == b"\n":
                    prev_rec = self._last_record(_read_last_line(rfd, size))
                    seq, prev = int(prev_rec["seq"]) + 1, str(prev_rec["hash"])
                else:
                    fragment = _tail_fragment(rfd, size)
                    complete = self._complete_fragment(rfd, size, fragment)
                    prefix = b"\n"
                    if complete is not None:
                        # only the final newline was lost: the record itself is whole and chains;
                        # restore the newline and record the repair before anything else
                        seq, prev = int(complete["seq"]) + 1, str(complete["hash"])
                        repair = {
                            "action": "recover",
                            "object": {"type": "missing_newline", "seq": complete["seq"]},
                            "object_sha256": complete["hash"],
                            "reason": fields["reason"] if fields["action"] == "recover" else
                            "final newline restored before appending (the record was complete)",
                            "signature_meaning": None,
                            "context": None,
                        }
                        if fields["action"] == "recover" and allow_torn:
                            fields = repair
                        else:
                            bodies.append(repair)
                    elif not allow_torn:
                        raise AuditError(
                            f"audit log {self.path.name} ends with a torn (incomplete) record; "
                            "nothing is appended after it until `samd audit recover` "
                            "acknowledges it with a reason"
                        )
                    else:
                        fields["object_sha256"] = sha256_bytes(fragment)
                        size_good = size - len(fragment)
                        if size_good == 0:
                            seq, prev = 1, GENESIS_HASH
                        else:
                            prev_rec = self._last_record(_read_last_line(rfd, size_good))
                            seq, prev = int(prev_rec["seq"]) + 1, str(prev_rec["hash"])
                bodies.append(fields)
                line = prefix
                for f in bodies:
                    if f["action"] == "checkpoint":
                        # named under the lock, so a concurrent writer cannot slip in between
                        f["object"] = {"type": "chain_head", "seq": seq - 1, "hash": prev}
                    body: dict[str, Any] = {
                        "schema": SCHEMA,
                        "seq": seq,
                        "event_id": _uuid7(),
                        "ts_utc": _utc_now(),
                        "ts_source": "system",
                        "actor": self._actor,
                        "host": {**self._host, "samd_version": __version__},
                        "key_id": self._key_id,
                        **f,
                        "prev_hash": prev,
                    }
                    digest = sha256_bytes(canonical_json(body))
                    sig = sign_digest(self._key, digest) if self._key is not None else None
                    line += encode_line(body, digest, sig)
                    seq, prev = seq + 1, digest
                written = os.write(fd, line)
                while written < len(line):  # pragma: no cover - regular files write fully
                    written += os.write(fd, line[written:])
                if self._fsync:
                    os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(rfd)
            os.close(fd)
        out = dict(body)
        out["hash"] = digest
        if sig is not None:
            out["sig"] = sig
        return out

    def _last_record(self, line: bytes) -> dict[str, Any]:
        try:
            return parse_line(line)
        except BadLine as exc:
            raise AuditError(f"last record of audit log {self.path.name} is unreadable ({exc}); "
                             "`samd audit verify` locates the damage") from None

    def _complete_fragment(self, fd: int, size: int, fragment: bytes) -> dict[str, Any] | None:
        """The unterminated last line as a record when it is whole and chains to its predecessor."""
        try:
            rec = parse_line(fragment)
        except BadLine:
            return None
        size_good = size - len(fragment)
        if size_good == 0:
            prev_seq, prev_hash = 0, GENESIS_HASH
        else:
            try:
                before = parse_line(_read_last_line(fd, size_good))
            except BadLine:
                return None
            prev_seq, prev_hash = int(before["seq"]), before["hash"]
        if rec.get("seq") != prev_seq + 1 or rec.get("prev_hash") != prev_hash:
            return None
        return rec

    def recover(self, *, reason: str) -> dict[str, Any]:
        """Acknowledge a torn last record: terminate it and append a ``recover`` record.

        The fragment's bytes stay in the file; the ``recover`` record carries its SHA-256
        and chains to the last complete record, so `verify_audit_log` accepts the fragment
        only together with this acknowledgement (and reports it as a warning).
        """
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidParameterError("reason", "AuditLog.recover", "a non-empty string", reason)
        return self._append(
            {
                "action": "recover",
                "object": {"type": "torn_record"},
                "object_sha256": None,
                "reason": reason,
                "signature_meaning": None,
                "context": None,
            },
            allow_torn=True,
        )

    def checkpoint(self, *, reason: str | None = None) -> dict[str, Any]:
        """Append a signed checkpoint of the chain head and copy it off the log.

        The checkpoint is a ``checkpoint`` record (signed when the log has a key) naming the
        previous head ``{seq, hash}``. Its ``{seq, hash, key_id, sig}`` is appended to the side
        file `checkpoint_path` and returned, so callers can store it elsewhere too (e.g. as a
        write-once MLflow param). `verify_audit_log` then detects deletion of any record at
        or before the checkpoint, including tail truncation.
        """
        rec = self.append("checkpoint", object={"type": "chain_head"}, reason=reason)
        cp = {
            "log": self.path.name,
            "seq": rec["seq"],
            "hash": rec["hash"],
            "ts_utc": rec["ts_utc"],
            "key_id": rec["key_id"],
            "sig": rec.get("sig"),
        }
        side = checkpoint_path(self.path)
        with open(side, "ab") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            fh.write(canonical_json(cp) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        return cp


def _tail_fragment(fd: int, size: int) -> bytes:
    """Bytes after the last newline (the torn fragment)."""
    chunk = 4096
    while True:
        start = max(0, size - chunk)
        buf = os.pread(fd, size - start, start)
        nl = buf.rfind(b"\n")
        if nl >= 0:
            return buf[nl + 1 :]
        if start == 0:
            return buf
        chunk *= 4
