"""Deterministic DICOM UIDs derived from a seed (same seed and parts, same UID)."""

from __future__ import annotations

import hashlib
import re

from samd_core.errors import InvalidParameterError

__all__ = ["derive_uid"]

_PREFIX_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\.$")


def derive_uid(prefix: str, seed: str, *parts: object) -> str:
    """A DICOM UID ``prefix + digits``; digits are a SHA-256 of ``seed`` and ``parts``.

    Parameters
    ----------
    prefix : str
        Organisation root ending in ``"."``, e.g. ``"2.25."`` (the UUID-derived root of
        ISO/IEC 9834-8, the default) or a registered root.
    seed : str
        Any text; the same seed and parts always give the same UID.
    *parts
        Further components (e.g. ``"series", 3``) that make the UID unique within the seed.

    Returns
    -------
    str
        A UID of at most 64 characters with no leading zero in any component (PS3.5 §9.1).
    """
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix) or len(prefix) > 40:
        raise InvalidParameterError(
            "uid_prefix", "derive_uid", "dotted digits ending in '.' (at most 40 characters)", prefix
        )
    digest = hashlib.sha256("\x1f".join([seed, *map(str, parts)]).encode()).digest()
    room = 64 - len(prefix)
    number = str(int.from_bytes(digest[:16], "big") or 1)[:room].lstrip("0") or "1"
    return prefix + number
