"""Ed25519 keys for signing audit records: loading, fingerprints, signing, checking."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from samd_core.hashing import sha256_bytes
from validation.errors import InvalidParameterError

__all__ = [
    "key_id",
    "load_private_key",
    "load_public_keys",
    "sign_digest",
    "verify_digest",
]


def key_id(public_key: Ed25519PublicKey) -> str:
    """Fingerprint ``"ed25519:<first 16 hex of SHA-256 of the raw public key>"``."""
    raw = public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )
    return "ed25519:" + sha256_bytes(raw)[:16]


def load_private_key(key: Any) -> Ed25519PrivateKey:
    """An `Ed25519PrivateKey`, or PEM bytes, or a path to an unencrypted PEM file."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, (str, Path)):
        key = Path(key).read_bytes()
    if isinstance(key, (bytes, bytearray)):
        loaded = serialization.load_pem_private_key(bytes(key), password=None)
        if isinstance(loaded, Ed25519PrivateKey):
            return loaded
    raise InvalidParameterError(
        "signing_key", "AuditLog", "an Ed25519 private key (object, PEM bytes or PEM path)", key
    )


def _load_public(key: Any) -> Ed25519PublicKey:
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    if isinstance(key, (str, Path)):
        key = Path(key).read_bytes()
    if isinstance(key, (bytes, bytearray)):
        data = bytes(key)
        try:
            loaded = serialization.load_pem_public_key(data)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=None).public_key()
        if isinstance(loaded, Ed25519PublicKey):
            return loaded
    raise InvalidParameterError(
        "public_keys", "verify_audit_log", "Ed25519 public keys (objects, PEM bytes or paths)", key
    )


def load_public_keys(keys: Iterable[Any] | Mapping[str, Any] | None) -> dict[str, Ed25519PublicKey]:
    """Map key id -> public key, from an iterable of keys (or a mapping whose values are keys)."""
    if keys is None:
        return {}
    values = keys.values() if isinstance(keys, Mapping) else keys
    out: dict[str, Ed25519PublicKey] = {}
    for k in values:
        pk = _load_public(k)
        out[key_id(pk)] = pk
    return out


def sign_digest(private_key: Ed25519PrivateKey, digest_hex: str) -> str:
    """Hex Ed25519 signature over the 32 raw bytes of a hex SHA-256 digest."""
    return private_key.sign(bytes.fromhex(digest_hex)).hex()


def verify_digest(public_key: Ed25519PublicKey, digest_hex: str, sig_hex: str) -> bool:
    """True when ``sig_hex`` is a valid signature of ``digest_hex`` by ``public_key``."""
    try:
        public_key.verify(bytes.fromhex(sig_hex), bytes.fromhex(digest_hex))
    except (InvalidSignature, ValueError):
        return False
    return True


