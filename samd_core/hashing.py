"""Canonical JSON and SHA-256: the one home every samd package hashes through.

Canonical JSON (fixed and documented, so anyone can recompute a hash by hand)
----------------------------------------------------------------------------
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)``
encoded as UTF-8, with no trailing newline. Non-finite floats are refused: encode them as
strings first (``"nan"``, ``"inf"``, ``"-inf"``). Files that store canonical JSON (a bundle's
``manifest.json``) append one ``\\n``; audit records are one canonical line each. These byte
formats are what released bundles and audit logs were hashed and signed with; they never change.

File hashing streams the bytes in fixed-size blocks, so memory stays bounded whatever the size,
and by default refuses anything that is not a regular file (a FIFO, a device such as
``/dev/zero``, a directory), which could otherwise block or never end.

Identifier and pixel-data hashes (training/test overlap)
--------------------------------------------------------
`sha256_identifier` hashes one identifier of a kind (a patient pseudonym, a Study or Series
Instance UID) as ``sha256(UTF-8 of "<kind>:<value>")``, the value stripped of surrounding
whitespace (and of the trailing NUL padding DICOM allows in UIDs); the kind prefix keeps equal
strings of different kinds apart. `sha256_pixels` hashes decoded pixel data as
``sha256("samd-pixels/1\\0" + canonical JSON of the shape + "\\0" + the values as little-endian
float64, C order)``: every value a reader produces (HU for CT, presentation values for
radiographs) is exactly representable in float64, so the digest depends on the image values and
shape only, never on the stored dtype, the file container (DICOM, NIfTI, MHA), the transfer
syntax, the rescale slope/intercept a writer chose, or MONOCHROME1/2 storage. These hashes are
pseudonymous, not anonymous: a low-entropy identifier (a medical record number) can be found by
trying candidates, so hash pseudonyms, never raw record numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import stat
from collections.abc import Iterable
from typing import Any

from samd_core.errors import IntegrityError

__all__ = [
    "CHUNK_BYTES",
    "IDENTIFIER_KINDS",
    "PIXEL_HASH_FORMAT",
    "canonical_json",
    "sha256_bytes",
    "sha256_file",
    "sha256_identifier",
    "sha256_json",
    "sha256_listing",
    "sha256_pixels",
    "sha256_tree",
]

#: Block size of streamed hashing (bytes).
CHUNK_BYTES = 1 << 20
#: Identifier kinds `sha256_identifier` accepts (the namespace prefix of the hashed text).
IDENTIFIER_KINDS = ("patient_id", "study_instance_uid", "series_instance_uid")
#: Version prefix of `sha256_pixels` (part of the hashed bytes).
PIXEL_HASH_FORMAT = "samd-pixels/1"


def canonical_json(obj: Any) -> bytes:
    """UTF-8 bytes of the canonical JSON encoding of ``obj`` (sorted keys, compact, no newline).

    Raises
    ------
    ValueError
        When ``obj`` holds a non-finite float (``allow_nan=False``).
    TypeError
        When ``obj`` holds a value JSON cannot encode.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 (64 lowercase digits) of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of the canonical JSON encoding of ``obj`` (see `canonical_json`)."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def sha256_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    regular_only: bool = True,
    chunk_size: int = CHUNK_BYTES,
) -> str:
    """Hex SHA-256 of a file's bytes, streamed in blocks of ``chunk_size`` bytes.

    Parameters
    ----------
    path : path-like
        The file. With ``regular_only`` (default) it must be a regular file after following
        links: FIFOs, sockets, character or block devices and directories are refused before
        any byte is read, so hashing cannot block or run forever.
    max_bytes : int, optional
        Refuse a file larger than this many bytes (checked from ``stat`` before reading and
        again while reading, in case the file grows).
    regular_only : bool
        See ``path``.
    chunk_size : int
        Block size in bytes.

    Raises
    ------
    IntegrityError
        When the file is not a regular file or is larger than ``max_bytes``.
    OSError
        When the file cannot be opened or read.
    """
    p = pathlib.Path(path)
    if regular_only:
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode):
            raise IntegrityError(f"{p.name}: not a regular file (mode {stat.filemode(st.st_mode)}); refusing to hash it")
        if max_bytes is not None and st.st_size > max_bytes:
            raise IntegrityError(f"{p.name}: {st.st_size} bytes, more than the {max_bytes} allowed")
    h = hashlib.sha256()
    seen = 0
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) if regular_only else os.O_RDONLY
    fd = os.open(p, flags)
    with os.fdopen(fd, "rb") as fh:
        if regular_only and not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped after the stat
            raise IntegrityError(f"{p.name}: not a regular file; refusing to hash it")
        while block := fh.read(chunk_size):
            seen += len(block)
            if max_bytes is not None and seen > max_bytes:
                raise IntegrityError(f"{p.name}: more than the {max_bytes} bytes allowed")
            h.update(block)
    return h.hexdigest()


def sha256_tree(
    root: str | os.PathLike[str],
    *,
    exclude: Iterable[str] = (),
    max_bytes: int | None = None,
) -> str:
    """SHA-256 of a directory tree: every regular file's relative name and content hash.

    Canonical order: the ``/``-separated names relative to ``root``, sorted by their UTF-8
    bytes; for each, ``<name>\\0<sha256 hex of its bytes>\\n`` is fed into one SHA-256. Hidden
    entries are included; ``__pycache__`` directories and the relative names in ``exclude`` are
    not. A symbolic link, FIFO or device inside the tree is refused (`IntegrityError`).

    Parameters
    ----------
    root : path-like
        The directory.
    exclude : iterable of str
        Relative posix names to leave out.
    max_bytes : int, optional
        Per-file size limit passed to `sha256_file`.
    """
    base = pathlib.Path(root)
    if not base.is_dir():
        raise IntegrityError(f"{base.name}: not a directory")
    skip = set(exclude)
    names: list[str] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for d in dirnames:
            if (pathlib.Path(dirpath) / d).is_symlink():
                raise IntegrityError(f"{(pathlib.Path(dirpath) / d).relative_to(base).as_posix()}: a symbolic link "
                                     "inside a hashed tree is refused")
        for f in filenames:
            full = pathlib.Path(dirpath) / f
            rel = full.relative_to(base).as_posix()
            if rel in skip:
                continue
            if full.is_symlink():
                raise IntegrityError(f"{rel}: a symbolic link inside a hashed tree is refused")
            names.append(rel)
    return sha256_listing(base, names, max_bytes=max_bytes)


def sha256_listing(
    root: str | os.PathLike[str],
    names: Iterable[str],
    *,
    max_bytes: int | None = None,
) -> str:
    """SHA-256 of the named files under ``root``, in the canonical order of `sha256_tree`.

    The names (``/``-separated, relative to ``root``) are sorted by their UTF-8 bytes; for
    each, ``<name>\\0<sha256 hex of its bytes>\\n`` (UTF-8) is fed into one SHA-256. This is
    the digest format of `sha256_tree` and of the core code fingerprint
    (`samd_core.fingerprint.core_fingerprint`), for callers that choose the files themselves.

    Parameters
    ----------
    root : path-like
        The directory the names are relative to.
    names : iterable of str
        Relative posix names of regular files.
    max_bytes : int, optional
        Per-file size limit passed to `sha256_file`.
    """
    base = pathlib.Path(root)
    h = hashlib.sha256()
    for name in sorted(names, key=lambda s: s.encode("utf-8")):
        h.update(f"{name}\0{sha256_file(base / name, max_bytes=max_bytes)}\n".encode())
    return h.hexdigest()


def sha256_identifier(kind: str, value: str) -> str:
    """Namespaced SHA-256 of one identifier: ``sha256(UTF-8 of f"{kind}:{value}")``.

    Parameters
    ----------
    kind : {"patient_id", "study_instance_uid", "series_instance_uid"}
        The identifier's kind (`IDENTIFIER_KINDS`), the namespace prefix.
    value : str
        The identifier; surrounding whitespace and trailing NUL padding are removed first.

    Raises
    ------
    InvalidParameterError
        An unknown ``kind``, a non-string or an empty ``value`` (the value is never echoed).

    Examples
    --------
    >>> sha256_identifier("patient_id", "PSEUDO-0001") == sha256_bytes(b"patient_id:PSEUDO-0001")
    True
    """
    from samd_core.errors import InvalidParameterError

    if kind not in IDENTIFIER_KINDS:
        raise InvalidParameterError("kind", "sha256_identifier", f"one of {list(IDENTIFIER_KINDS)}", kind,
                                    IDENTIFIER_KINDS)
    text = value.strip().rstrip("\0").strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidParameterError("value", "sha256_identifier", "a non-empty string",
                                    type(value).__name__ if not isinstance(value, str) else "an empty string")
    return hashlib.sha256(f"{kind}:{text}".encode()).hexdigest()


def sha256_pixels(array: Any) -> str:
    """SHA-256 of decoded pixel data, independent of dtype, container and transfer syntax.

    ``sha256(b"samd-pixels/1\\0" + canonical_json(list(shape)) + b"\\0" + bytes)`` where
    ``bytes`` are the values as little-endian float64 in C order (``-0.0`` written as ``0.0``;
    every NaN as the one canonical quiet NaN). Hash the array a reader returns (a `Volume`'s
    ``array``: HU for CT, presentation values for projection images), so the same image stored
    as DICOM, NIfTI or MHA, compressed or not, hashes the same; spacing and position are not
    part of the digest (the same pixels on another grid are the same pixels).

    Parameters
    ----------
    array : array_like
        Numeric pixel data (any shape, any real dtype).

    Raises
    ------
    InvalidParameterError
        A non-numeric or complex array.
    """
    import numpy as np

    from samd_core.errors import InvalidParameterError

    arr = np.asarray(array)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
            or arr.dtype == np.bool_):
        raise InvalidParameterError("array", "sha256_pixels", "a real numeric array", str(arr.dtype))
    vals = np.ascontiguousarray(arr, dtype="<f8") + 0.0  # + 0.0 turns -0.0 into 0.0
    nan = np.isnan(vals)
    if nan.any():
        vals[nan] = np.nan
    h = hashlib.sha256(PIXEL_HASH_FORMAT.encode() + b"\0" + canonical_json([int(n) for n in arr.shape]) + b"\0")
    flat = vals.reshape(-1)
    step = max(1, CHUNK_BYTES // 8)
    for i in range(0, flat.size, step):
        h.update(flat[i:i + step].tobytes())
    return h.hexdigest()
