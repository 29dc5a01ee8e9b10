"""Enrolling signers and two-component electronic signatures (21 CFR 11.200(a)(1)).

A signature needs two components: the user id and the passphrase that decrypts that user's
private key (PKCS#8, ``BestAvailableEncryption``). `sign_object` refuses a key that the signer
registry does not hold for that user id, and writes a signed ``sign`` record with the printed
name, user id, role, meaning, UTC time and the object's SHA-256 (11.50).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import filelock
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samd_core.hashing import sha256_file
from validation.audit._keys import key_id, load_private_key
from validation.audit._log import SIGNATURE_MEANINGS, AuditLog
from validation.audit._records import iter_records
from validation.audit._signers import (
    REGISTRY_SCHEMA,
    Signer,
    SignerRegistry,
    SignerRegistryError,
    _parse,
    dump_signers,
    load_signers,
    parse_utc,
)
from validation.errors import AuditError, InvalidParameterError

__all__ = ["SIGN_AUTH_METHOD", "EnrolledSigner", "add_signer", "failed_verdicts", "revoke_signer", "sign_object"]

#: ``actor.auth_method`` of a ``sign`` record: both components were presented.
SIGN_AUTH_METHOD = "user-id+key-passphrase"
#: Largest object whose JSON is inspected for a failed verdict (bytes).
_MAX_JSON_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class EnrolledSigner:
    """Outcome of `add_signer`: the new entry, its key files and the registry version."""

    signer: Signer
    private_key_path: Path
    public_key_path: Path
    registry_version: int
    audit_seq: int | None


def _check_passphrase(passphrase: Any, fn: str) -> bytes:
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    if not isinstance(passphrase, (bytes, bytearray)) or not bytes(passphrase).strip():
        raise InvalidParameterError("passphrase", fn, "a non-empty passphrase",
                                    "<empty>" if passphrase is not None else None)
    return bytes(passphrase)


def add_signer(
    registry: str | os.PathLike[str],
    *,
    name: str,
    user_id: str,
    role: str,
    key_out: str | os.PathLike[str],
    passphrase: str | bytes,
    valid_from: str | None = None,
    valid_until: str | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    actor: str | None = None,
) -> EnrolledSigner:
    """Create an Ed25519 key pair for a person and append it to the signer registry.

    The private key is written encrypted with ``passphrase`` (PKCS#8, best available
    encryption) to ``key_out/<user_id>-<key id hex>.key.pem`` (mode 0600, never overwritten); the
    public key beside it as ``.pub.pem``. The registry (created when missing) gets the entry and
    its ``version`` + 1, under a file lock, written atomically. With ``audit_log`` the change is a
    ``signer.add`` record holding the new registry's SHA-256.

    Parameters
    ----------
    registry : path
        The registry YAML file (see `load_signers`).
    name, user_id, role : str
        Printed name, unique user id (``[A-Za-z0-9][A-Za-z0-9._@-]{0,63}``), role.
    key_out : path
        Folder for the key files (created).
    passphrase : str or bytes
        Encrypts the private key; empty or blank is refused.
    valid_from, valid_until : str, optional
        UTC times ``YYYY-MM-DDTHH:MM:SSZ``; default ``valid_from`` now, ``valid_until`` open.
    audit_log : path, optional
        Audit trail that records the registry change.
    actor : str, optional
        User id making the change (default: OS login).

    Returns
    -------
    EnrolledSigner

    Raises
    ------
    InvalidParameterError
        Empty passphrase, bad user id, name, role or times (one line, naming the field).
    AuditError
        The existing registry is malformed, or a key file exists already.
    """
    fn = "add_signer"
    pw = _check_passphrase(passphrase, fn)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = parse_utc(valid_from, field="valid_from", function=fn) if valid_from is not None else now
    for fld, val in (("name", name), ("user_id", user_id), ("role", role)):
        if not isinstance(val, str) or not val.strip():
            raise InvalidParameterError(fld, fn, "a non-empty string", val)
    reg_path = Path(registry)
    out = Path(key_out)
    key = Ed25519PrivateKey.generate()
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    kid = key_id(key.public_key())
    entry = {"user_id": user_id, "name": name.strip(), "role": role.strip(), "public_key": pub_pem,
             "key_id": kid, "valid_from": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "valid_until": valid_until,
             "status": "active"}
    with filelock.FileLock(str(reg_path) + ".lock", timeout=60):
        current = load_signers(reg_path) if reg_path.exists() else SignerRegistry(0, ())
        doc = {"schema": REGISTRY_SCHEMA, "version": current.version + 1,
               "signers": [s.to_dict() for s in current.signers] + [entry]}
        try:  # validates the new entry exactly as a reader will (schema, key, times)
            new = _parse(json.dumps(doc).encode("utf-8"), reg_path.name)
        except SignerRegistryError as exc:
            raise InvalidParameterError("signer", fn, "a valid registry entry", str(exc)) from None
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{user_id}-{kid.split(':', 1)[1]}"
        priv_path, pub_path = out / f"{stem}.key.pem", out / f"{stem}.pub.pem"
        enc = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(pw))
        for path, data, mode in ((priv_path, enc, 0o600), (pub_path, pub_pem.encode("ascii"), 0o644)):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:
                raise AuditError(f"key file {path.name} exists already; refusing to overwrite it") from None
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        _write_registry(reg_path, new)
        seq = None
        if audit_log is not None:
            rec = AuditLog(audit_log, actor=actor).append(
                "signer.add",
                object={"type": "signer_registry", "id": reg_path.name, "user_id": user_id, "key_id": kid,
                        "role": entry["role"]},
                object_sha256=sha256_file(reg_path),
                context={"registry_version": new.version, "valid_from": entry["valid_from"],
                         "valid_until": valid_until},
            )
            seq = int(rec["seq"])
    signer = new.by_key_id()[kid]
    return EnrolledSigner(signer, priv_path, pub_path, new.version, seq)


def _write_registry(reg_path: Path, registry: SignerRegistry) -> None:
    data = dump_signers(registry)
    reg_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = reg_path.with_name(reg_path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, reg_path)


def revoke_signer(
    registry: str | os.PathLike[str],
    *,
    key_id: str,
    reason: str,
    audit_log: str | os.PathLike[str] | None = None,
    actor: str | None = None,
) -> Signer:
    """Mark a registered key ``revoked`` (trusted at no time: use it for a compromised key; to end
    a person's authority but keep their earlier signatures valid, set ``valid_until`` instead).

    The registry's ``version`` is raised; with ``audit_log`` the change is a ``signer.revoke``
    record with the reason.

    Raises
    ------
    InvalidParameterError
        Unknown key id or empty reason.
    """
    fn = "revoke_signer"
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidParameterError("reason", fn, "a non-empty string", reason)
    reg_path = Path(registry)
    with filelock.FileLock(str(reg_path) + ".lock", timeout=60):
        current = load_signers(reg_path)
        known = current.by_key_id()
        if key_id not in known:
            raise InvalidParameterError("key_id", fn, "a key id listed in the registry", key_id, known)
        signers = tuple(dataclasses.replace(s, status="revoked") if s.key_id == key_id else s
                        for s in current.signers)
        new = SignerRegistry(current.version + 1, signers)
        _write_registry(reg_path, new)
        if audit_log is not None:
            AuditLog(audit_log, actor=actor).append(
                "signer.revoke",
                object={"type": "signer_registry", "id": reg_path.name, "user_id": known[key_id].user_id,
                        "key_id": key_id},
                object_sha256=sha256_file(reg_path), reason=reason,
                context={"registry_version": new.version})
    return new.by_key_id()[key_id]


def _walk(obj: Any, verdicts: list[str], runs: set[str], depth: int = 0) -> None:
    if depth > 64:
        return
    if isinstance(obj, dict):
        v, rid, rids = obj.get("verdict"), obj.get("run_id"), obj.get("run_ids")
        if isinstance(v, str):
            verdicts.append(v)
        if isinstance(rid, str):
            runs.add(rid)
        if isinstance(rids, list):
            runs.update(x for x in rids if isinstance(x, str))
        for x in obj.values():
            _walk(x, verdicts, runs, depth + 1)
    elif isinstance(obj, list):
        for x in obj:
            _walk(x, verdicts, runs, depth + 1)


def failed_verdicts(path: str | os.PathLike[str], *, audit_log: str | os.PathLike[str] | None = None) -> int:
    """How many failed verdicts a JSON object file records or cites (0 when it is not JSON).

    Counts every ``"verdict": "fail"`` in the file, plus, with ``audit_log``, every run the file
    cites (``run_id``/``run_ids``, as a submission index does) whose ``mlflow.run.end`` record in
    that audit trail has verdict ``fail``.
    """
    p = Path(path)
    if p.stat().st_size > _MAX_JSON_BYTES:
        return 0
    try:
        doc = json.loads(p.read_bytes())
    except (ValueError, RecursionError):
        return 0
    verdicts: list[str] = []
    runs: set[str] = set()
    _walk(doc, verdicts, runs)
    n = sum(1 for v in verdicts if v.strip().lower() == "fail")
    if audit_log is not None and runs and Path(audit_log).is_file():
        failed: set[str] = set()
        for r in iter_records(audit_log):
            obj, ctx = r.get("object"), r.get("context")
            if (r.get("action") == "mlflow.run.end" and isinstance(obj, dict) and obj.get("id") in runs
                    and isinstance(ctx, dict) and str(ctx.get("verdict", "")).lower() == "fail"):
                failed.add(str(obj["id"]))
        n += len(failed)
    return n


def sign_object(
    audit_log: str | os.PathLike[str],
    object_path: str | os.PathLike[str],
    *,
    meaning: str,
    private_key: str | os.PathLike[str] | bytes,
    passphrase: str | bytes,
    user_id: str,
    registry: str | os.PathLike[str] | SignerRegistry,
    reason: str | None = None,
) -> dict[str, Any]:
    """Sign a file electronically: a signed ``sign`` record in the audit trail (21 CFR 11.50, 11.200).

    Parameters
    ----------
    audit_log : path
        The audit trail.
    object_path : path
        The signed file (e.g. ``submission_index.json``); its SHA-256 is recorded.
    meaning : {"authored", "reviewed", "approved", "responsibility"}
        Meaning of the signature.
    private_key : path or bytes
        The signer's encrypted private key (`add_signer`).
    passphrase : str or bytes
        Second component: decrypts the key.
    user_id : str
        First component: must be the registry's user id for this key.
    registry : path or SignerRegistry
        The signer registry.
    reason : str, optional
        Free text; required when ``meaning`` is "approved" and the object's JSON holds a
        ``"verdict": "fail"`` or cites a run whose ``mlflow.run.end`` record in ``audit_log`` has
        verdict ``fail`` (`failed_verdicts`), e.g. a submission index of a failed validation.

    Returns
    -------
    dict
        The ``sign`` record as written (``hash``, ``sig``, ``seq``, ...).

    Raises
    ------
    InvalidParameterError
        Bad meaning, empty or wrong passphrase, a key not registered to ``user_id``, a signer
        whose key is revoked, expired or not yet valid, or a missing reason for approving a
        failed verdict.
    """
    fn = "sign_object"
    if meaning not in SIGNATURE_MEANINGS:
        raise InvalidParameterError("meaning", fn, f"one of {sorted(SIGNATURE_MEANINGS)}", meaning,
                                    SIGNATURE_MEANINGS)
    pw = _check_passphrase(passphrase, fn)
    reg = load_signers(registry)
    obj = Path(object_path)
    if not obj.is_file():
        raise InvalidParameterError("object", fn, "an existing regular file", obj.name)
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise InvalidParameterError("reason", fn, "a non-empty string or None", reason)
    key = load_private_key(private_key, passphrase=pw)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    entries = reg.for_user(user_id)
    if not entries:
        raise InvalidParameterError("user_id", fn, "a user id listed in the signer registry", user_id)
    match = [s for s in entries if s.public_key.public_bytes(serialization.Encoding.Raw,
                                                              serialization.PublicFormat.Raw) == raw]
    if not match:
        raise InvalidParameterError("key", fn, f"a key registered to user id {user_id!r}",
                                    key_id(key.public_key()))
    signer = match[0]
    why = signer.invalid_at(datetime.now(timezone.utc))
    if why:
        raise InvalidParameterError("user_id", fn, "a signer whose key is valid now",
                                    f"{user_id} {why}")
    n_fail = failed_verdicts(obj, audit_log=audit_log) if meaning == "approved" else 0
    if n_fail and reason is None:
        raise InvalidParameterError("reason", fn, f"given to approve {obj.name}, which records "
                                    f"{n_fail} failed verdict(s)", None)
    log = AuditLog(audit_log, actor=user_id, signing_key=key, auth_method=SIGN_AUTH_METHOD)
    return log.append(
        "sign",
        object={"type": "signed_object", "id": obj.name},
        object_sha256=sha256_file(obj),
        reason=reason,
        signature_meaning=meaning,
        context={"signer": {"user_id": signer.user_id, "name": signer.name, "role": signer.role},
                 "registry_version": reg.version, "registry_sha256": reg.sha256,
                 "failed_verdicts": n_fail},
    )
