"""The orjson check of a stored audit line (issue 16, `samd audit verify` speed) never gives an
answer the reference check would not give.

Reference: `validation.audit._records._parse_reference`, the standard library's ``json.loads`` and
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` (`canonical_json`), which
define the on-disk format. `parse_line` must return exactly its record, or refuse exactly when it
refuses, for records the writer produces and for forged lines: orjson's own encoding of a record
(its float forms, its escapes), reordered or duplicated keys, blanks, a ``hash`` key inside the
body, misplaced tails, invalid UTF-8 and numbers outside 64 bits, each with a recomputed hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import validation.audit._records as records
from samd_core.hashing import canonical_json
from validation.audit._records import BadLine, _parse_fast, _parse_reference, encode_line, parse_line

DIGEST_SIG = "ab" * 64


def _reference(line: bytes) -> tuple[str, Any]:
    try:
        return "ok", _parse_reference(line)
    except BadLine as exc:
        return "bad", str(exc)


def _outcome(line: bytes) -> tuple[str, Any]:
    try:
        return "ok", parse_line(line)
    except BadLine as exc:
        return "bad", str(exc)


def _line_from_raw(raw: bytes, *, sig: str | None = None, digest: str | None = None) -> bytes:
    """A stored line whose body bytes are ``raw`` (any encoding) with a hash recomputed over them:
    what a forger who rewrites a record in another encoder's form would store."""
    d = digest if digest is not None else hashlib.sha256(raw).hexdigest()
    tail = b',"hash":"' + d.encode() + b'"' + (b',"sig":"' + sig.encode() + b'"' if sig else b"")
    return raw[:-1] + tail + b"}"


def _assert_agrees(line: bytes) -> None:
    got, want = _outcome(line), _reference(line)
    assert got == want, (line[:200], got, want)
    if got[0] == "ok":  # same record, same types (an int stays an int)
        assert [type(v) for v in got[1].values()] == [type(v) for v in want[1].values()]


# -- JSON values, with what separates the two encoders: floats of every magnitude, escapes,
# -- non-ASCII and astral characters, integers beyond 64 bits
_keys = st.text(alphabet=st.characters(codec="utf-8"), max_size=6)
_strings = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(["", "a\"b", "c\\d", "\n\t\b\f\r", "\x00\x1f\x7f", "\u2028\u2029", "é😀ｚ",
                     "2026-11-29T04:00:00.000000Z", ":1.5", '":1.5', ",2e3", "[0.1]"]),
)
_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-05, 1e-4, 0.00001234, 1e16, 1e15, 123456789012345678.0,
                     5e-324, 1.7976931348623157e308, 0.1, 1.0, -2.5e-7]),
)
_ints = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([2**63, 2**64 - 1, 2**64, -(2**63) - 1]))
_scalars = st.one_of(st.none(), st.booleans(), _ints, _floats, _strings)
_values = st.recursive(_scalars, lambda c: st.one_of(st.lists(c, max_size=4),
                                                      st.dictionaries(_keys, c, max_size=4)), max_leaves=12)
_bodies = st.dictionaries(_keys.filter(lambda k: k not in ("hash", "sig")), _values, min_size=1, max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_bodies, signed=st.booleans())
def test_written_lines_parse_to_the_reference_record(body: dict[str, Any], signed: bool) -> None:
    digest = hashlib.sha256(canonical_json(body)).hexdigest()
    line = encode_line(body, digest, DIGEST_SIG if signed else None)[:-1]
    _assert_agrees(line)
    assert _outcome(line)[0] == "ok"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_bodies, sort=st.booleans(), signed=st.booleans())
def test_orjson_encoded_lines_get_the_reference_answer(body: dict[str, Any], sort: bool, signed: bool) -> None:
    """A record re-encoded by orjson (its float and escape forms, any key order), hash recomputed:
    accepted only where it is also the reference encoding."""
    try:
        raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS if sort else 0)
    except TypeError:  # an integer beyond 64 bits: orjson cannot write it
        return
    _assert_agrees(_line_from_raw(raw, sig=DIGEST_SIG if signed else None))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_bodies, data=st.data())
def test_byte_edits_get_the_reference_answer(body: dict[str, Any], data: st.DataObject) -> None:
    """Any byte inserted, removed or replaced in the body, hash recomputed over the new body."""
    raw = bytearray(canonical_json(body))
    i = data.draw(st.integers(0, len(raw) - 1))
    op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
    b = data.draw(st.sampled_from([ord(c) for c in ' ,:{}[]"\\.e0-a']) | st.integers(0, 255))
    if op == "insert":
        raw.insert(i, b)
    elif op == "delete" and len(raw) > 2:
        del raw[i]
    else:
        raw[i] = b
    _assert_agrees(_line_from_raw(bytes(raw)))


def _raw(text: str) -> bytes:
    return text.encode("utf-8")


FORGED = {
    # orjson writes these floats differently from json.dumps; a line in orjson's form is refused
    "float 0.00001 (json.dumps writes 1e-05)": _raw('{"a":0.00001,"seq":1}'),
    "float in a list, orjson form": _raw('{"a":[1,0.00001]}'),
    "float first in a list, orjson form": _raw('{"a":[0.00001]}'),
    "float exponent without sign": _raw('{"a":1e16}'),
    "float exponent upper case": _raw('{"a":1E+16}'),
    "float trailing zeros": _raw('{"a":1.50}'),
    # integers
    "negative zero": _raw('{"a":-0}'),
    "leading zero": _raw('{"a":01}'),
    "infinity by overflow": _raw('{"a":1e400}'),
    "NaN": _raw('{"a":NaN}'),
    # keys and layout
    "duplicate key": _raw('{"a":1,"a":1}'),
    "duplicate nested key": _raw('{"a":{"b":1,"b":1}}'),
    "keys out of order": _raw('{"b":1,"a":2}'),
    "blank after colon": _raw('{"a": 1}'),
    "blank before brace": _raw('{"a":1 }'),
    "non-ASCII keys out of code-point order": _raw('{"😀":1,"ｚ":2}'),
    "byte order mark": b"\xef\xbb\xbf" + _raw('{"a":1}'),
    "hash key inside the body": _raw('{"a":1,"hash":"' + "0" * 64 + '"}'),
    "sig key inside the body": _raw('{"a":1,"sig":"' + "0" * 128 + '"}'),
    "not an object": _raw('[{"a":1}]'),
    "two objects": _raw('{"a":1},{"b":2}'),
    # strings
    "escaped solidus": _raw('{"a":"\\/"}'),
    "escaped non-ASCII": _raw('{"a":"\\u00e9"}'),
    "upper-case unicode escape": _raw('{"a":"\\u001F"}'),
    "lone surrogate escape": _raw('{"a":"\\ud800"}'),
    "raw control character": b'{"a":"\x01"}',
    "invalid UTF-8": b'{"a":"\xff"}',
    "overlong UTF-8": b'{"a":"\xc0\xaf"}',
    "UTF-8 encoded surrogate": b'{"a":"\xed\xa0\x80"}',
}


@pytest.mark.parametrize("name", sorted(FORGED))
@pytest.mark.parametrize("signed", [False, True])
def test_forged_encodings_are_refused_like_the_reference(name: str, signed: bool) -> None:
    line = _line_from_raw(FORGED[name], sig=DIGEST_SIG if signed else None)
    _assert_agrees(line)
    assert _outcome(line)[0] == "bad", name
    assert _parse_fast(line) is None, name


#: Canonical lines orjson cannot take (it reads these integers as floats): the reference accepts them.
BEYOND_ORJSON = {
    "integer beyond 64 bits": _raw('{"a":123456789012345678901234567890}'),
    "integer below -2**63": _raw('{"a":-9223372036854775809}'),
    "float with a fraction": _raw('{"a":0.5}'),
    "float exponent form": _raw('{"a":1e+16}'),
    "escaped quote": _raw('{"a":"\\""}'),
}


@pytest.mark.parametrize("name", sorted(BEYOND_ORJSON))
def test_canonical_lines_beyond_orjson_take_the_reference(name: str) -> None:
    line = _line_from_raw(BEYOND_ORJSON[name])
    _assert_agrees(line)
    assert _outcome(line)[0] == "ok" and _parse_fast(line) is None, name


def test_tail_variants_get_the_reference_answer() -> None:
    body = {"a": 1, "seq": 1}
    raw = canonical_json(body)
    good = hashlib.sha256(raw).hexdigest()
    cases = [
        _line_from_raw(raw, digest=good.upper()),              # upper-case hex digest
        _line_from_raw(raw, digest=good[:-1] + "g"),           # not hex
        _line_from_raw(raw, digest="0" * 64),                  # hash of something else
        _line_from_raw(raw, sig="AB" * 64),                    # upper-case signature
        _line_from_raw(raw, sig="ab" * 63),                    # short signature
        raw[:-1] + b',"hash":"' + good.encode() + b'" }',      # blank before the brace
        raw[:-1] + b',"sig":"' + DIGEST_SIG.encode() + b'","hash":"' + good.encode() + b'"}',  # swapped
        raw[:-1] + b',"hash":"' + good.encode() + b'"}\r',     # carriage return
        b'"}',                                                 # shorter than any tail
        b"",
        _line_from_raw(raw, digest="é" * 32),                  # 64 bytes that are not ASCII
    ]
    for line in cases:
        _assert_agrees(line)
        assert _outcome(line)[0] == "bad", line[-80:]
    ok = _line_from_raw(raw)
    _assert_agrees(ok)
    assert _parse_fast(ok) == _parse_reference(ok) == {"a": 1, "seq": 1, "hash": good}


def test_written_records_take_the_fast_path() -> None:
    """A validation run's records (no floats, no escapes) are checked by orjson, not the fallback."""
    body = {"action": "testset.access", "actor": {"user_id": "qa", "auth_method": "os-login"},
            "context": {"run": 3, "path": "cases/ct 1.dcm", "ok": True}, "key_id": None,
            "object": {"type": "test_set", "id": "manifest.csv"}, "prev_hash": "0" * 64,
            "reason": None, "schema": "samd-audit/1", "seq": 1, "ts_utc": "2026-11-29T04:00:00.000000Z",
            "note": "naïve 😀"}
    line = encode_line(body, hashlib.sha256(canonical_json(body)).hexdigest(), None)[:-1]
    fast = _parse_fast(line)
    assert fast is not None and fast == _parse_reference(line)
    signed = encode_line(body, hashlib.sha256(canonical_json(body)).hexdigest(), DIGEST_SIG)[:-1]
    assert _parse_fast(signed) == _parse_reference(signed)


def test_without_orjson_every_line_takes_the_reference() -> None:
    body = {"a": 0.00001, "b": "x"}
    line = encode_line(body, hashlib.sha256(canonical_json(body)).hexdigest(), None)[:-1]
    forged = _line_from_raw(orjson.dumps(body))
    with mock.patch.object(records, "_orjson", None):
        assert parse_line(line) == json.loads(line)
        with pytest.raises(BadLine, match="canonical"):
            parse_line(forged)
