"""Strict reading of one stored audit line, and reading a log record by record.

A stored line is valid only when it is *exactly* the bytes the writer produces for its parsed
record (`encode_line`): UTF-8, strict JSON (no duplicate keys at any depth, no ``NaN``), the
canonical encoding of the record without ``hash``/``sig``, then ``hash`` and optional ``sig``.
So two byte strings can never stand for one record (a duplicate ``"reason"`` key, reordered keys
or extra blanks with a recomputed hash all fail), and what a reader parses is what was hashed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from samd_core.hashing import canonical_json, sha256_bytes
from validation.errors import AuditError

__all__ = ["MAX_LINE_BYTES", "BadLine", "encode_line", "iter_lines", "iter_records", "parse_line"]

#: Longest stored line accepted (bytes); longer lines are findings, never read whole.
MAX_LINE_BYTES = 16 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


class BadLine(Exception):
    """A stored line that is not a well-formed record; ``str()`` says why (no content quoted)."""


def encode_line(body: Mapping[str, Any], digest: str, sig: str | None) -> bytes:
    """The on-disk bytes of one record: canonical body, then ``hash`` and optional ``sig``."""
    raw = canonical_json(dict(body))
    tail = b',"hash":"' + digest.encode("ascii") + b'"'
    if sig is not None:
        tail += b',"sig":"' + sig.encode("ascii") + b'"'
    return raw[:-1] + tail + b"}\n"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise BadLine(f"duplicate key {k[:40]!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise BadLine(f"non-standard JSON constant {name}")


def parse_line(line: bytes) -> dict[str, Any]:
    """Parse one stored line (without its newline) strictly; return the record with ``hash``/``sig``.

    Raises
    ------
    BadLine
        Not UTF-8, not JSON, duplicate keys, not a JSON object, no valid ``hash``/``sig``, not the
        canonical encoding of its record, or a hash that does not match the record.
    """
    if len(line) > MAX_LINE_BYTES:
        raise BadLine(f"longer than {MAX_LINE_BYTES} bytes")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise BadLine("not UTF-8") from None
    try:
        rec = json.loads(text)  # fast C parser; strictness comes from the byte comparison below
    except RecursionError:
        raise BadLine("nested too deeply") from None
    except ValueError:
        raise BadLine("not JSON") from None
    if not isinstance(rec, dict):
        raise BadLine("not a JSON object")
    digest, sig = rec.pop("hash", None), rec.pop("sig", None)
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise BadLine("no valid `hash` field")
    if sig is not None and (not isinstance(sig, str) or not _HEX128.match(sig)):
        raise BadLine("malformed `sig` field")
    try:
        raw = canonical_json(rec)
    except (TypeError, ValueError):
        raise BadLine("not encodable canonically") from None
    tail = b',"hash":"' + digest.encode("ascii") + (b'","sig":"' + sig.encode("ascii") if sig is not None else b"")
    if raw[:-1] + tail + b'"}' != line:
        # a duplicate key is dropped by the parser, so it shows up here; name it precisely
        try:
            json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        except BadLine:
            raise
        except (ValueError, RecursionError):
            pass
        raise BadLine("not the canonical encoding of its record")
    if sha256_bytes(raw) != digest:
        raise BadLine("hash mismatch")
    rec["hash"] = digest
    if sig is not None:
        rec["sig"] = sig
    return rec  # type: ignore[no-any-return]


def iter_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line number, bytes without newline, terminated)``; a line over `MAX_LINE_BYTES`
    is yielded as its first bytes (so `parse_line` reports it) and the rest is skipped unread."""
    return _iter_line_range(path, 0, None)


def _iter_line_range(path: str | os.PathLike[str], start: int,
                     end: int | None) -> Iterator[tuple[int, bytes, bool]]:
    """`iter_lines` over the bytes ``[start, end)`` (``end`` None: to the end of the file), line
    numbers counted from 1 at ``start``. ``start`` must begin a line and ``end`` must follow a
    newline (or be the end of the file), so the lines are exactly those `iter_lines` yields there."""
    with open(path, "rb") as fh:
        fh.seek(start)
        pos = start
        n = 0
        while end is None or pos < end:
            raw = fh.readline(MAX_LINE_BYTES + 2)
            if not raw:
                return
            pos += len(raw)
            n += 1
            if raw.endswith(b"\n"):
                yield n, raw[:-1], True
                continue
            if len(raw) <= MAX_LINE_BYTES + 1:  # end of file without newline
                yield n, raw, False
                return
            while raw and not raw.endswith(b"\n"):  # skip the rest of an over-long line
                raw = fh.readline(1 << 20)
                pos += len(raw)
            yield n, b"\0" * (MAX_LINE_BYTES + 1), bool(raw)


def iter_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the records of a log in order (each with ``hash`` and, when signed, ``sig``).

    Every line is parsed strictly (`parse_line`) but the chain is not checked (use
    `verify_audit_log`). A torn fragment that the next record acknowledges (``recover``), and an
    unterminated last line (a write in progress or torn), are skipped; a complete last record
    that only lacks its newline is yielded.

    Raises
    ------
    AuditError
        Any other unreadable line, naming its line number (its content is never quoted).
    """
    name = Path(path).name
    pending: tuple[int, bytes, str] | None = None
    for n, line, terminated in iter_lines(path):
        try:
            rec = parse_line(line)
        except BadLine as exc:
            if not terminated:
                return
            if pending is not None:
                break
            pending = (n, line, str(exc))
            continue
        if pending is not None:
            if rec.get("action") != "recover" or rec.get("object_sha256") != sha256_bytes(pending[1]):
                break
            pending = None
        yield rec
    if pending is not None:
        raise AuditError(f"audit log {name} line {pending[0]}: unreadable record ({pending[2]}); "
                         "`samd audit verify` locates the damage")
