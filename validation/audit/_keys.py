"""Ed25519 keys for signing audit records: loading, fingerprints, signing, checking."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from validation.errors import InvalidParameterError

__all__ = [
    "key_id",
    "key_is_encrypted",
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
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def load_private_key(key: Any, *, passphrase: str | bytes | None = None) -> Ed25519PrivateKey:
    """An `Ed25519PrivateKey`, or PEM bytes, or a path to a PEM file (PKCS#8).

    Parameters
    ----------
    key : Ed25519PrivateKey or bytes or path
        The key.
    passphrase : str or bytes, optional
        Decrypts an encrypted PEM (as written by `add_signer`). Needed for encrypted keys.

    Raises
    ------
    InvalidParameterError
        Not an Ed25519 private key, an encrypted key without (or with a wrong) passphrase. The
        message never quotes the key's bytes.
    """
    fn = "load_private_key"
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, (str, Path)):
        p = Path(key)
        if not p.is_file():
            raise InvalidParameterError("key", fn, "a readable PEM file", p.name)
        if p.stat().st_size > 64 * 1024:
            raise InvalidParameterError("key", fn, "a PEM file of at most 64 KiB", p.name)
        key = p.read_bytes()
    if isinstance(key, (bytes, bytearray)):
        pw = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
        try:
            loaded = serialization.load_pem_private_key(bytes(key), password=pw or None)
        except TypeError:
            if pw:
                raise InvalidParameterError("passphrase", fn, "None for an unencrypted key",
                                            "<a passphrase>") from None
            raise InvalidParameterError("passphrase", fn, "given: the private key is encrypted",
                                        None) from None
        except ValueError:
            if pw:
                raise InvalidParameterError("passphrase", fn, "the key's passphrase (decryption failed)",
                                            "<hidden>") from None
            loaded = None
        except Exception:  # noqa: BLE001 - cryptography raises its own types on garbage
            loaded = None
        if isinstance(loaded, Ed25519PrivateKey):
            return loaded
    raise InvalidParameterError("key", fn, "an Ed25519 private key (object, PEM bytes or PEM path)",
                                "<not an Ed25519 private key>")


def _load_public(key: Any) -> Ed25519PublicKey:
    fn = "verify_audit_log"
    allowed = "Ed25519 public keys (objects, PEM bytes or PEM paths)"
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    shown: Any = "<not an Ed25519 key>"
    if isinstance(key, (str, Path)):
        p = Path(key)
        shown = p.name
        if not p.is_file():
            raise InvalidParameterError("public_keys", fn, "readable PEM files", p.name)
        if p.stat().st_size > 64 * 1024:
            raise InvalidParameterError("public_keys", fn, "PEM files of at most 64 KiB", p.name)
        key = p.read_bytes()
    if isinstance(key, (bytes, bytearray)):
        data = bytes(key)
        loaded: Any = None
        try:
            loaded = serialization.load_pem_public_key(data)
        except Exception:  # noqa: BLE001 - cryptography raises several types on garbage
            try:
                loaded = serialization.load_pem_private_key(data, password=None).public_key()
            except Exception:  # noqa: BLE001
                loaded = None
        if isinstance(loaded, Ed25519PublicKey):
            return loaded
    raise InvalidParameterError("public_keys", fn, allowed, shown)


def key_is_encrypted(path: str | Path) -> bool:
    """True when a PEM file holds an encrypted private key (a passphrase is needed)."""
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(4096)
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in head


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


