"""Bundle manifest (SHA-256 of every file) and its optional Ed25519 signature.

``manifest.json`` = ``{"format": "samd-bundle-manifest/1", "algorithm": "sha256",
"files": {<relative posix name>: <hex sha256>}}``, written as canonical JSON (sorted keys,
compact separators, UTF-8, one trailing newline). ``manifest.sig`` holds the raw 64-byte
Ed25519 signature (RFC 8032) over the exact bytes of ``manifest.json``. Every other file in the
bundle directory must be listed; nothing listed may be missing.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from samd_core.bundle.errors import BundleIntegrityError
from samd_core.errors import InvalidParameterError
from samd_core.hashing import canonical_json as _canonical_bytes
from samd_core.hashing import sha256_bytes, sha256_file

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "SIGNATURE_NAME",
    "PublicKeyLike",
    "canonical_json",
    "read_verified_files",
    "sign_manifest",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
MANIFEST_FORMAT = "samd-bundle-manifest/1"

PublicKeyLike = Any  # Ed25519PublicKey | bytes (raw 32 or PEM) | str/PathLike to a PEM file


def canonical_json(obj: Any) -> bytes:
    """Bytes of a canonical JSON *file*: `samd_core.hashing.canonical_json` plus one ``\\n``.

    This is the byte format of ``manifest.json`` (and of every file a released bundle was
    hashed with); the encoding itself lives only in `samd_core.hashing`.
    """
    return _canonical_bytes(obj) + b"\n"


def _list_files(root: pathlib.Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in filenames:
            rel = (pathlib.Path(dirpath) / f).relative_to(root).as_posix()
            if rel not in (MANIFEST_NAME, SIGNATURE_NAME):
                out.append(rel)
    return sorted(out)


def write_manifest(root: str | os.PathLike[str]) -> bytes:
    """(Re)write ``manifest.json`` over every file in ``root``; removes a stale signature."""
    base = pathlib.Path(root)
    files = {}
    for rel in _list_files(base):
        if "__pycache__" in rel.split("/"):
            raise InvalidParameterError("root", "write_manifest", "a bundle directory without __pycache__", rel)
        files[rel] = sha256_file(base / rel)
    data = canonical_json({"format": MANIFEST_FORMAT, "algorithm": "sha256", "files": files})
    (base / MANIFEST_NAME).write_bytes(data)
    sig = base / SIGNATURE_NAME
    if sig.exists():
        sig.unlink()
    return data


def sign_manifest(root: str | os.PathLike[str], private_key: Any) -> None:
    """Write ``manifest.sig``: Ed25519 signature of ``manifest.json`` with ``private_key``.

    ``private_key`` is a ``cryptography`` ``Ed25519PrivateKey``.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not isinstance(private_key, Ed25519PrivateKey):
        raise InvalidParameterError("private_key", "sign_manifest", "an Ed25519PrivateKey", type(private_key).__name__)
    base = pathlib.Path(root)
    (base / SIGNATURE_NAME).write_bytes(private_key.sign((base / MANIFEST_NAME).read_bytes()))


def _public_key(key: PublicKeyLike) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, (str, os.PathLike)):
        key = pathlib.Path(key).read_bytes()
    if isinstance(key, bytes):
        if len(key) == 32:
            return Ed25519PublicKey.from_public_bytes(key)
        try:
            loaded = serialization.load_pem_public_key(key)
        except ValueError as exc:
            raise InvalidParameterError("public_key", "load_locked", "an Ed25519 public key", f"{len(key)} bytes") from exc
        if isinstance(loaded, Ed25519PublicKey):
            return loaded
    raise InvalidParameterError(
        "public_key", "load_locked", "an Ed25519PublicKey, 32 raw bytes, PEM bytes or a PEM file path", type(key).__name__
    )


def read_verified_files(
    root: str | os.PathLike[str], *, public_key: PublicKeyLike | None, require_signature: bool
) -> tuple[dict[str, bytes], bool, str]:
    """Read every bundle file into memory and verify it against the manifest (and signature).

    Returns the verified bytes by name, whether a signature was verified, and the SHA-256 of
    the manifest. Callers build
    only from these bytes, never by re-reading the files (no check/use race).
    """
    base = pathlib.Path(root)
    if not base.is_dir():
        raise BundleIntegrityError(f"bundle {base} is not a directory", kind="missing_file", file=str(base))
    mpath = base / MANIFEST_NAME
    if not mpath.is_file():
        raise BundleIntegrityError(f"bundle {base}: {MANIFEST_NAME} is missing", kind="missing_file", file=MANIFEST_NAME)
    mbytes = mpath.read_bytes()
    verified_sig = False
    spath = base / SIGNATURE_NAME
    if public_key is not None:
        key = _public_key(public_key)
        if not spath.is_file():
            raise BundleIntegrityError(
                f"bundle {base}: signature {SIGNATURE_NAME} is missing but a signature is required",
                kind="signature",
                file=SIGNATURE_NAME,
            )
        from cryptography.exceptions import InvalidSignature

        try:
            key.verify(spath.read_bytes(), mbytes)
        except InvalidSignature as exc:
            raise BundleIntegrityError(
                f"bundle {base}: the Ed25519 signature {SIGNATURE_NAME} does not verify for {MANIFEST_NAME} "
                "with the supplied public key (manifest changed, signature changed or wrong key)",
                kind="signature",
                file=SIGNATURE_NAME,
            ) from exc
        verified_sig = True
    elif require_signature:
        raise InvalidParameterError("public_key", "load_locked", "a public key when require_signature=True", None)
    try:
        manifest = json.loads(mbytes.decode("utf-8"))
        files = manifest["files"]
        ok = manifest.get("format") == MANIFEST_FORMAT and manifest.get("algorithm") == "sha256"
        ok = ok and isinstance(files, Mapping) and all(isinstance(v, str) and len(v) == 64 for v in files.values())
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise BundleIntegrityError(
            f"bundle {base}: {MANIFEST_NAME} is not a valid manifest ({exc})", kind="manifest", file=MANIFEST_NAME
        ) from exc
    if not ok or canonical_json(manifest) != mbytes:
        raise BundleIntegrityError(
            f"bundle {base}: {MANIFEST_NAME} is not a canonical {MANIFEST_FORMAT} manifest (edited?)",
            kind="manifest",
            file=MANIFEST_NAME,
        )
    present = set(_list_files(base))
    listed = set(files)
    for names, kind, what in (
        (sorted(listed - present), "missing_file", "file {!r} listed in " + MANIFEST_NAME + " is missing"),
        (sorted(present - listed), "extra_file", "extra file {!r} is not listed in " + MANIFEST_NAME),
    ):
        if names:
            raise BundleIntegrityError(
                f"bundle {base}: " + what.format(names[0])
                + (f" (and {len(names) - 1} more: {names[1:]})" if len(names) > 1 else ""),
                kind=kind,
                file=names[0],
            )
    contents: dict[str, bytes] = {}
    for name in sorted(listed):
        data = (base / name).read_bytes()
        found = sha256_bytes(data)
        if found != files[name]:
            raise BundleIntegrityError(
                f"bundle {base}: file {name!r} differs from the manifest: expected sha256 {files[name]}, "
                f"found {found}",
                kind="hash_mismatch",
                file=name,
                expected=files[name],
                found=found,
            )
        contents[name] = data
    return contents, verified_sig, sha256_bytes(mbytes)
