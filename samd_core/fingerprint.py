"""The code fingerprint of ``samd_core``: one SHA-256 that changes when any core source changes.

Canonical order (documented, so anyone can recompute it by hand)
----------------------------------------------------------------
1. Collect every regular file under the ``samd_core`` package directory whose suffix is one of
   `FINGERPRINT_SUFFIXES`, except
   * anything inside a ``__pycache__`` directory,
   * the released-fingerprint record itself (`RELEASED_FILENAME`, it cannot hash itself),
   * shipped model bundles under ``samd_core/bundles/`` (data locked by their own manifest).
2. Name each file by its path relative to the package directory, with ``/`` separators
   (e.g. ``bundle/_manifest.py``), and sort the names by their UTF-8 bytes.
3. For each file in that order feed ``<name>\\0<sha256 hex of the file bytes>\\n`` (UTF-8) into
   one SHA-256. The hex digest is the fingerprint.

The file bytes are hashed as they are on disk (no newline normalisation): a checkout must not
rewrite line endings of ``samd_core`` (the repository's ``.gitattributes`` should keep ``eol=lf``).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from typing import Any

from samd_core.errors import IntegrityError
from samd_core.hashing import sha256_file, sha256_listing  # sha256_file: re-exported, public since 0.1.0

__all__ = [
    "FINGERPRINT_SUFFIXES",
    "RELEASED_FILENAME",
    "core_fingerprint",
    "core_files",
    "released_fingerprint",
    "sha256_file",
]

#: Suffixes of the files that make up the core's behaviour.
FINGERPRINT_SUFFIXES: frozenset[str] = frozenset({".py", ".pyi", ".json", ".yaml", ".yml", ".typed"})
#: Name of the committed record of released (version, fingerprint) pairs, in the package directory.
RELEASED_FILENAME = "RELEASED_FINGERPRINT.json"
_EXCLUDED_DIRS = ("bundles",)


def _package_dir() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parent


def core_files(root: str | pathlib.Path | None = None) -> list[str]:
    """Relative names (``/``-separated, canonical order) of the files the fingerprint covers.

    Parameters
    ----------
    root : path, optional
        A ``samd_core`` package directory; default: the one this module was imported from.
    """
    base = pathlib.Path(root) if root is not None else _package_dir()
    names = []
    for p in base.rglob("*"):
        if not p.is_file() or p.suffix not in FINGERPRINT_SUFFIXES:
            continue
        rel = p.relative_to(base)
        parts = rel.parts
        if "__pycache__" in parts or (len(parts) > 1 and parts[0] in _EXCLUDED_DIRS):
            continue
        if rel.as_posix() == RELEASED_FILENAME:
            continue
        names.append(rel.as_posix())
    return sorted(names, key=lambda s: s.encode("utf-8"))


def core_fingerprint(root: str | pathlib.Path | None = None) -> str:
    """SHA-256 fingerprint of the ``samd_core`` sources (see the module docstring for the order).

    Parameters
    ----------
    root : path, optional
        A ``samd_core`` package directory; default: the installed one.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    base = pathlib.Path(root) if root is not None else _package_dir()
    return sha256_listing(base, core_files(base))


def released_fingerprint(root: str | pathlib.Path | None = None) -> Mapping[str, Any]:
    """The latest entry of the committed release record: ``{"version", "fingerprint", ...}``.

    Raises
    ------
    IntegrityError
        When the record is missing or malformed.
    """
    base = pathlib.Path(root) if root is not None else _package_dir()
    path = base / RELEASED_FILENAME
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        latest = record["releases"][-1]
        return {"version": str(latest["version"]), "fingerprint": str(latest["fingerprint"]), **latest}
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise IntegrityError(f"released core fingerprint record {path} is missing or malformed: {exc}") from exc
