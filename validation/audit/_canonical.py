"""Canonical JSON and hashing used by the audit trail.

Canonical form (fixed, documented): ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)`` encoded as UTF-8. Non-finite floats are not allowed
in audit records; encode them as strings first (see `validation.stats.encode_float`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "sha256_bytes", "sha256_file", "sha256_json"]


def canonical_json(obj: Any) -> bytes:
    """UTF-8 bytes of the canonical JSON encoding of ``obj`` (sorted keys, compact)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of the canonical JSON encoding of ``obj``."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def sha256_file(path: Any, *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk_size)
            if not block:
                break
            h.update(block)
    return h.hexdigest()
