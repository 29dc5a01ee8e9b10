"""Strict reading of one stored audit line, and reading a log record by record.

A stored line is valid only when it is *exactly* the bytes the writer produces for its parsed
record (`encode_line`): UTF-8, strict JSON (no duplicate keys at any depth, no ``NaN``), the
canonical encoding of the record without ``hash``/``sig``, then ``hash`` and optional ``sig``.
So two byte strings can never stand for one record (a duplicate ``"reason"`` key, reordered keys
or extra blanks with a recomputed hash all fail), and what a reader parses is what was hashed.

The reference check is the standard library's: ``json.loads`` and `canonical_json` (``json.dumps``).
It costs about 12 µs of CPU for a 650-byte record, ten times the SHA-256. Most records are
checked first by orjson (parse and sorted compact re-encoding in about 2 µs), and that answer
is taken only when it is provably the reference's answer (see `_parse_fast`); every other line,
and every line orjson does not accept, takes the reference path.
"""

from __future__ import annotations

import hashlib
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

try:  # declared by the validation extra; without it every line takes the reference path
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by tests that hide the module
    _orjson = None

#: ``,"hash":"`` + 64 hex + ``"}``, and the same with ``,"sig":"`` + 128 hex before ``"}``.
_TAIL_PLAIN, _TAIL_SIGNED = 75, 212
#: A number with a fraction or an exponent as an object value (after ``":``) or an array element
#: (after ``[`` or ``,``) in compact JSON: the text of a float. It may also match inside a string
#: (only sending that line to the reference path), and it finds every float token.
_FLOAT_VALUE = re.compile(rb'":-?[0-9]+[.eE]')
_FLOAT_ITEM = re.compile(rb"[\[,]-?[0-9]+[.eE]")


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


def _parse_fast(line: bytes) -> dict[str, Any] | None:
    """The record of a valid stored line, by orjson; None sends the line to the reference path.

    A record is returned only when the reference path would return the same record, because:

    * the line ends in the fixed-width tail (``hash``, optional ``sig``, lowercase hex of the
      right length) and ``raw``, the line without it plus ``}``, is what the reference hashes
      and re-encodes (a ``hash`` or ``sig`` key inside ``raw`` is sent to the reference path);
    * orjson re-encodes what it parsed from ``raw`` (sorted keys, compact) to ``raw`` itself, so
      ``raw`` is one JSON object without duplicate keys or blanks, in orjson's encoding;
    * ``raw`` holds no backslash and no float: orjson and ``json.dumps(ensure_ascii=False)``
      differ only in float formatting (``0.00001`` against ``1e-05``) and escapes. Without them
      both write every string verbatim, integers in plain decimal (an integer orjson reads as
      a float re-encodes with ``.`` or ``e`` and fails the comparison), and keys in code-point
      order (UTF-8 byte order is code-point order), so ``raw`` is also the reference encoding,
      and ``json.loads`` reads the same record from it.
    """
    n = len(line)
    if line[n - 2:] != b'"}':
        return None
    if line[n - 75:n - 66] == b',"hash":"':
        cut, digest, sig = _TAIL_PLAIN, line[n - 66:n - 2], None
    elif line[n - 212:n - 203] == b',"hash":"' and line[n - 139:n - 130] == b'","sig":"':
        cut, digest, sig = _TAIL_SIGNED, line[n - 203:n - 139], line[n - 130:n - 2]
        if not _HEX128.match(sig.decode("latin-1")):  # 128 bytes: no room for a trailing newline
            return None
    else:
        return None
    raw = line[:n - cut] + b"}"
    if b"\\" in raw or _FLOAT_VALUE.search(raw) is not None or (b"[" in raw and _FLOAT_ITEM.search(raw)):
        return None
    try:
        rec = _orjson.loads(raw)  # type: ignore[union-attr]
    except _orjson.JSONDecodeError:  # type: ignore[union-attr]
        return None
    if type(rec) is not dict or "hash" in rec or "sig" in rec:
        return None
    if _orjson.dumps(rec, option=_orjson.OPT_SORT_KEYS) != raw:  # type: ignore[union-attr]
        return None
    hexdigest = hashlib.sha256(raw).hexdigest()
    if hexdigest != digest.decode("latin-1"):  # equal only to 64 lowercase hex digits
        return None
    rec["hash"] = hexdigest
    if sig is not None:
        rec["sig"] = sig.decode("ascii")
    return rec


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
    if _orjson is not None:
        rec = _parse_fast(line)
        if rec is not None:
            return rec
    return _parse_reference(line)


def _parse_reference(line: bytes) -> dict[str, Any]:
    """`parse_line` by the standard library alone (the reference every line can take)."""
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
