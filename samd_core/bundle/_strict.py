"""Strict JSON for bundle files: UTF-8, no NaN/Infinity, no duplicate keys, bounded nesting."""

from __future__ import annotations

import json
from typing import Any

from samd_core.bundle.errors import BundleIntegrityError

__all__ = ["strict_json"]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k[:40]!r}")
        out[k] = v
    return out


def strict_json(data: bytes, name: str) -> Any:
    """Parse a bundle file as strict JSON: UTF-8, no NaN/Infinity, no duplicate keys, bounded nesting."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise BundleIntegrityError(
            f"bundle file {name!r} is not UTF-8 text (invalid byte at offset {exc.start})", kind="content", file=name
        ) from exc
    except (ValueError, RecursionError) as exc:
        msg = str(exc)[:120] if isinstance(exc, ValueError) else "nested too deeply"
        raise BundleIntegrityError(f"bundle file {name!r} is not valid JSON: {msg}", kind="content", file=name) from exc
