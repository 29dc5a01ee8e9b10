"""Helpers shared by the audit tests: build logs and rewrite their lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from samd_core.hashing import canonical_json, sha256_bytes
from validation.audit import AuditLog

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def make_log(path: Path, n: int = 5, **kw: Any) -> list[bytes]:
    """``n`` ``run.start`` records; returns the lines (with newlines)."""
    log = AuditLog(path, fsync=False, **kw)
    for i in range(n):
        log.append("run.start", object={"type": "run", "id": f"r{i}"}, reason="ok", context={"i": i})
    return path.read_bytes().splitlines(keepends=True)


def rehash(body: dict[str, Any], *, key: Ed25519PrivateKey | None = None) -> bytes:
    """The canonical line for ``body`` (no hash/sig keys) with a fresh hash (and signature)."""
    from validation.audit._records import encode_line

    digest = sha256_bytes(canonical_json(body))
    sig = key.sign(bytes.fromhex(digest)).hex() if key is not None else None
    return encode_line(body, digest, sig)


def body_of(line: bytes) -> dict[str, Any]:
    rec = json.loads(line)
    rec.pop("hash")
    rec.pop("sig", None)
    return rec  # type: ignore[no-any-return]


def rechain(lines: list[dict[str, Any]], *, key: Ed25519PrivateKey | None = None) -> bytes:
    """Rewrite a whole chain from bodies (seq, prev_hash and hashes recomputed): a forger's tool.

    With ``key``, records that name a ``key_id`` are signed with it; without, every record is
    stripped of ``key_id`` and signature."""
    out = b""
    prev = "0" * 64
    for i, body in enumerate(lines, start=1):
        body = dict(body, seq=i, prev_hash=prev)
        if body.get("action") == "checkpoint":
            body["object"] = {"type": "chain_head", "seq": i - 1, "hash": prev}
        if key is None:
            body["key_id"] = None
        line = rehash(body, key=key if body.get("key_id") is not None else None)
        out += line
        prev = json.loads(line)["hash"]
    return out
