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
import stat
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from samd_core.bundle.errors import BundleIntegrityError
from samd_core.errors import InvalidParameterError
from samd_core.hashing import CHUNK_BYTES, sha256_bytes, sha256_file
from samd_core.hashing import canonical_json as _canonical_bytes

__all__ = [
    "MANIFEST_FORMAT",
    "MAX_DATA_BYTES",
    "MAX_MANIFEST_BYTES",
    "MAX_TEXT_BYTES",
    "MANIFEST_NAME",
    "SIGNATURE_NAME",
    "PublicKeyLike",
    "canonical_json",
    "default_size_limit",
    "read_verified_files",
    "sign_manifest",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
MANIFEST_FORMAT = "samd-bundle-manifest/1"
#: Size limits (bytes): the manifest, each text file (JSON, Markdown), each data file without a
#: content-derived limit (reference inputs, goldens, ONNX models), and the number of files.
MAX_MANIFEST_BYTES = 1 << 20
MAX_TEXT_BYTES = 4 << 20
MAX_DATA_BYTES = 1 << 30
MAX_FILES = 10_000

PublicKeyLike = Any  # Ed25519PublicKey | bytes (raw 32 or PEM) | str/PathLike to a PEM file


def canonical_json(obj: Any) -> bytes:
    """Bytes of a canonical JSON *file*: `samd_core.hashing.canonical_json` plus one ``\\n``.

    This is the byte format of ``manifest.json`` (and of every file a released bundle was
    hashed with); the encoding itself lives only in `samd_core.hashing`.
    """
    return _canonical_bytes(obj) + b"\n"


def _list_files(root: pathlib.Path) -> list[str]:
    """Every entry under ``root`` that is not a real directory (files, links, FIFOs, devices)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for d in list(dirnames):
            if (pathlib.Path(dirpath) / d).is_symlink():  # os.walk does not descend: list it
                filenames.append(d)
                dirnames.remove(d)
        for f in filenames:
            rel = (pathlib.Path(dirpath) / f).relative_to(root).as_posix()
            if rel not in (MANIFEST_NAME, SIGNATURE_NAME):
                out.append(rel)
    return sorted(out)


def write_manifest(root: str | os.PathLike[str]) -> bytes:
    """(Re)write ``manifest.json`` over every file in ``root``; removes a stale signature.

    Only regular files are hashed (streamed, `samd_core.hashing.sha256_file`); a symbolic
    link, FIFO or device inside the bundle is refused.
    """
    base = pathlib.Path(root)
    files = {}
    for rel in _list_files(base):
        if "__pycache__" in rel.split("/"):
            raise InvalidParameterError("root", "write_manifest", "a bundle directory without __pycache__", rel)
        if (base / rel).is_symlink():
            raise InvalidParameterError("root", "write_manifest", "a bundle of regular files (no symbolic links)", rel)
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


def _check_name(base: pathlib.Path, name: Any) -> str:
    """A manifest entry must name a regular file strictly inside the bundle, reached without links."""
    ok = isinstance(name, str) and 0 < len(name) <= 255 and "\\" not in name and "\0" not in name
    parts = pathlib.PurePosixPath(name).parts if ok else ()
    ok = ok and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)
    ok = ok and name == "/".join(parts) and name not in (MANIFEST_NAME, SIGNATURE_NAME)
    if not ok:
        raise BundleIntegrityError(
            f"bundle {base.name}: {MANIFEST_NAME} entry {str(name)[:80]!r} is not a relative path strictly inside "
            "the bundle",
            kind="path",
            file=str(name)[:80],
        )
    cur = base
    for i, part in enumerate(parts):
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            return name  # reported as missing below
        last = i == len(parts) - 1
        if (last and not stat.S_ISREG(st.st_mode)) or (not last and not stat.S_ISDIR(st.st_mode)):
            raise BundleIntegrityError(
                f"bundle {base.name}: {MANIFEST_NAME} entry {name!r} is not a regular file inside the bundle "
                f"({stat.filemode(st.st_mode)} at {'/'.join(parts[: i + 1])!r}; links, FIFOs, devices and "
                "directories are refused)",
                kind="not_regular",
                file=name,
            )
    return name


def _read_bounded(base: pathlib.Path, name: str, limit: int) -> bytes:
    """Read a regular file (no link followed, never blocking) of at most ``limit`` bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(base / name, flags)
    except OSError as exc:
        raise BundleIntegrityError(
            f"bundle {base.name}: file {name!r} cannot be opened as a regular file ({exc.strerror})",
            kind="not_regular",
            file=name,
        ) from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise BundleIntegrityError(
                f"bundle {base.name}: file {name!r} is not a regular file", kind="not_regular", file=name
            )
        if st.st_size > limit:
            raise BundleIntegrityError(
                f"bundle {base.name}: file {name!r} has {st.st_size} bytes, more than the {limit} its declared "
                "content allows",
                kind="too_large",
                file=name,
                expected=str(limit),
                found=str(st.st_size),
            )
        chunks, seen = [], 0
        while block := fh.read(min(CHUNK_BYTES, limit + 1 - seen)):
            seen += len(block)
            chunks.append(block)
            if seen > limit:
                raise BundleIntegrityError(
                    f"bundle {base.name}: file {name!r} grew beyond the {limit} bytes allowed",
                    kind="too_large",
                    file=name,
                )
    return b"".join(chunks)


def default_size_limit(name: str) -> int:
    """Size limit (bytes) of a bundle file with no content-derived limit: small JSON/text, or bulk data
    (``training_set.json``, hashes of a whole training set, is bulk data)."""
    if name == "training_set.json":
        from samd_core.bundle._training_set import MAX_TRAINING_SET_BYTES

        return MAX_TRAINING_SET_BYTES
    if name.endswith((".json", ".md", ".txt", ".yaml")):
        return MAX_TEXT_BYTES
    return MAX_DATA_BYTES


def read_verified_files(
    root: str | os.PathLike[str],
    *,
    public_key: PublicKeyLike | None,
    require_signature: bool,
    expected_sha256: str | None = None,
    size_limit: Callable[[str, Mapping[str, bytes]], int] | None = None,
) -> tuple[dict[str, bytes], bool, str]:
    """Read every bundle file into memory and verify it against the manifest (and pin, signature).

    Returns the verified bytes by name, whether a signature was verified, and the SHA-256 of
    the manifest. Callers build only from these bytes, never by re-reading the files (no
    check/use race). Only regular files strictly inside the bundle are read (no symbolic link
    is followed; FIFOs, devices and directories are refused before any byte is read), each
    streamed up to its size limit: text files (``.json``, ``.md``) are read first, then
    ``size_limit(name, text_contents)`` (default `default_size_limit`) bounds the others.

    Parameters
    ----------
    expected_sha256 : str, optional
        The pinned SHA-256 of ``manifest.json``; any other manifest is refused (kind ``"pin"``).
    """
    base = pathlib.Path(root)
    if not base.is_dir():
        raise BundleIntegrityError(f"bundle {base} is not a directory", kind="missing_file", file=str(base))
    pin = None
    if expected_sha256 is not None:
        pin = str(expected_sha256).strip().lower()
        if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
            raise InvalidParameterError("expected_sha256", "load_locked", "64 hex digits", expected_sha256)
    mpath = base / MANIFEST_NAME
    if not mpath.exists() and not mpath.is_symlink():
        raise BundleIntegrityError(f"bundle {base}: {MANIFEST_NAME} is missing", kind="missing_file", file=MANIFEST_NAME)
    mbytes = _read_bounded(base, MANIFEST_NAME, MAX_MANIFEST_BYTES)
    manifest_sha = sha256_bytes(mbytes)
    if pin is not None and manifest_sha != pin:
        raise BundleIntegrityError(
            f"bundle {base.name}: identity differs from the pin: expected manifest sha256 {pin}, found "
            f"{manifest_sha} (a changed, re-manifested or different bundle)",
            kind="pin",
            file=MANIFEST_NAME,
            expected=pin,
            found=manifest_sha,
        )
    verified_sig = False
    spath = base / SIGNATURE_NAME
    if public_key is not None:
        key = _public_key(public_key)
        if not spath.exists():
            raise BundleIntegrityError(
                f"bundle {base}: signature {SIGNATURE_NAME} is missing but a signature is required",
                kind="signature",
                file=SIGNATURE_NAME,
            )
        from cryptography.exceptions import InvalidSignature

        try:
            key.verify(_read_bounded(base, SIGNATURE_NAME, 1024), mbytes)
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
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise BundleIntegrityError(
            f"bundle {base}: {MANIFEST_NAME} is not a valid manifest ({type(exc).__name__})",
            kind="manifest",
            file=MANIFEST_NAME,
        ) from exc
    if not ok or canonical_json(manifest) != mbytes:
        raise BundleIntegrityError(
            f"bundle {base}: {MANIFEST_NAME} is not a canonical {MANIFEST_FORMAT} manifest (edited?)",
            kind="manifest",
            file=MANIFEST_NAME,
        )
    if len(files) > MAX_FILES:
        raise BundleIntegrityError(
            f"bundle {base}: {MANIFEST_NAME} lists {len(files)} files, more than {MAX_FILES}", kind="manifest",
            file=MANIFEST_NAME,
        )
    for name in sorted(files):
        _check_name(base, name)
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
    text = sorted(n for n in listed if default_size_limit(n) == MAX_TEXT_BYTES)
    for name in text + sorted(listed - set(text)):
        if name in text or size_limit is None:
            limit = default_size_limit(name)
        else:
            limit = int(size_limit(name, MappingProxyType(contents)))
        data = _read_bounded(base, name, limit)
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
    return contents, verified_sig, manifest_sha
