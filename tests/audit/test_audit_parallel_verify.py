"""Parallel audit verification (issue 16): the chunked, multi-process path of `verify_audit_log`
gives exactly the `AuditVerification` of the in-process path (same ``ok``, first failure, seq,
message, head, counts and warnings), on valid logs and on logs damaged at random positions.

Reference: the in-process verifier (``workers=1``), whose checks the other audit tests pin to the
record format; here every field of the result must match it, for every chunk size."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import validation.audit._verify as verify_mod
from tests.audit._util import KEY, body_of, rehash
from validation.audit import AuditLog, verify_audit_log
from validation.errors import InvalidParameterError

NOW = datetime(2100, 1, 1, tzinfo=timezone.utc)
N = 40


def _both(path: Path, chunk: int, **kw: object) -> tuple[object, object]:
    serial = verify_audit_log(path, workers=1, now=NOW, **kw)
    with mock.patch.object(verify_mod, "_CHUNK_BYTES", chunk):
        parallel = verify_audit_log(path, workers=2, now=NOW, **kw)
    return serial, parallel


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of plain, signed and checkpoint records, with a checkpoint side file."""
    p = tmp_path_factory.mktemp("par") / "audit.jsonl"
    plain = AuditLog(p, fsync=False, actor="alice")
    signed = AuditLog(p, fsync=False, actor="alice", signing_key=KEY)
    for i in range(N):
        log = signed if i % 9 == 4 else plain
        log.append("run.start", object={"type": "run", "id": f"r{i}"}, reason="ok", context={"i": i})
        if i % 13 == 7:
            plain.checkpoint(reason="periodic")
    return p


def test_valid_log_identical_for_every_chunk_size(base: Path) -> None:
    for chunk in (1, 50, 400, 1000, 5000, 1 << 22):
        serial, parallel = _both(base, chunk)
        assert serial.ok and serial == parallel, chunk
        serial, parallel = _both(base, chunk, public_keys=[KEY.public_key()])
        assert serial == parallel, chunk


def test_bench_sized_log_parallel_by_default(tmp_path: Path) -> None:
    """10^4 plain records (the bench format): automatic choice goes parallel, same result."""
    from samd_core.hashing import canonical_json, sha256_bytes
    from validation.audit._records import encode_line

    p = tmp_path / "big.jsonl"
    prev = "0" * 64
    out = []
    for seq in range(1, 10_001):
        body = {"action": "testset.access", "actor": {"user_id": "u", "auth_method": "os-login"},
                "key_id": None, "object": {"id": seq}, "prev_hash": prev, "reason": None,
                "schema": 1, "seq": seq, "ts_utc": "2026-11-29T04:00:00.000000Z"}
        prev = sha256_bytes(canonical_json(body))
        out.append(encode_line(body, prev, None))
    p.write_bytes(b"".join(out))
    serial = verify_audit_log(p, workers=1, now=NOW)
    with mock.patch.object(verify_mod, "PARALLEL_MIN_BYTES", 0), \
            mock.patch.object(verify_mod, "_CHUNK_BYTES", 64 << 10):
        assert verify_mod._n_workers(None, p) >= 1
        auto = verify_audit_log(p, now=NOW)
    assert serial.ok and serial.n_records == 10_000 and auto == serial


DEFECTS = ("flip", "delete", "swap", "duplicate", "truncate", "no_newline", "garbage",
           "ts_back", "ts_future", "reseq", "torn_ack", "blank")


def _damage(lines: list[bytes], kind: str, i: int, j: int) -> bytes:
    lines = list(lines)
    i %= len(lines)
    if kind == "flip":
        b = bytearray(lines[i])
        b[j % (len(b) - 1)] ^= 0x01
        lines[i] = bytes(b)
    elif kind == "delete":
        del lines[i]
    elif kind == "swap":
        k = (i + 1) % len(lines)
        lines[i], lines[k] = lines[k], lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "truncate":
        data = b"".join(lines)
        return data[: j % len(data)]
    elif kind == "no_newline":
        return b"".join(lines[: i + 1])[:-1]
    elif kind == "garbage":
        lines.insert(i, b'{"not": "a record"}\n')
    elif kind == "blank":
        lines.insert(i, b"\n")
    elif kind in ("ts_back", "ts_future", "reseq"):
        body = body_of(lines[i])
        if kind == "ts_back":
            body["ts_utc"] = "2000-01-01T00:00:00.000000Z"
        elif kind == "ts_future":
            body["ts_utc"] = "2999-01-01T00:00:00.000000Z"
        else:
            body["seq"] = body["seq"] + 1 + j % 3
        body.pop("key_id", None)
        body["key_id"] = None
        lines[i] = rehash(body)
    elif kind == "torn_ack":  # a torn fragment acknowledged by a recover record: a warning, not a failure
        frag = lines[i][: max(1, j % len(lines[i]) - 1)] + b"\n"
        lines.insert(i, frag)
    return b"".join(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(DEFECTS), i=st.integers(0, 10_000), j=st.integers(0, 10_000),
       chunk=st.sampled_from([1, 120, 700, 3000, 1 << 22]), keyed=st.booleans())
def test_damaged_log_identical(base: Path, tmp_path_factory: pytest.TempPathFactory, kind: str, i: int,
                               j: int, chunk: int, keyed: bool) -> None:
    d = tmp_path_factory.mktemp("dmg")
    p = d / "audit.jsonl"
    shutil.copy(base.with_name(base.name + ".checkpoints"), p.with_name(p.name + ".checkpoints")) \
        if base.with_name(base.name + ".checkpoints").exists() else None
    p.write_bytes(_damage(base.read_bytes().splitlines(keepends=True), kind, i, j))
    kw = {"public_keys": [KEY.public_key()]} if keyed else {}
    serial, parallel = _both(p, chunk, **kw)
    assert serial == parallel
    if kind in ("flip", "duplicate", "garbage", "swap", "ts_future", "reseq"):
        assert not serial.ok  # the damage is detected at all (tail deletions may not be)


def test_torn_fragment_acknowledged_same_warning(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    log = AuditLog(p, fsync=False, actor="alice")
    for i in range(5):
        log.append("run.start", object={"type": "run", "id": f"r{i}"}, reason="ok")
    with open(p, "ab") as fh:
        fh.write(b'{"seq": 6, "tor')
    log.recover(reason="power cut")
    for i in range(5):
        log.append("run.start", object={"type": "run", "id": f"s{i}"}, reason="ok")
    for chunk in (1, 200, 1 << 22):
        serial, parallel = _both(p, chunk)
        assert serial.ok and serial.warnings and serial == parallel
    assert json.loads(p.read_bytes().splitlines()[-1])["seq"] == 11


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_workers_refused(base: Path, bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="workers"):
        verify_audit_log(base, workers=bad)  # type: ignore[arg-type]


def test_identical_when_other_threads_run(base: Path) -> None:
    """With another thread alive the workers are not forked (forkserver/spawn): same result."""
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        serial, parallel = _both(base, 2000)
    finally:
        stop.set()
        t.join()
    assert serial.ok and serial == parallel


BAD_TIMES = {
    "trailing newline": "2026-11-29T04:00:00.000000Z\n",
    "Arabic-Indic digits": "\u0662\u0660\u0662\u0666-11-29T04:00:00.000000Z",
    "full-width digits": "２026-11-29T04:00:00.000000Z",
    "hour 24": "2026-11-29T24:00:00.000000Z",
    "minute 60": "2026-11-29T04:60:00.000000Z",
    "leap second": "2026-12-31T23:59:60.000000Z",
    "31 November": "2026-11-31T04:00:00.000000Z",
    "29 February 2026": "2026-02-29T04:00:00.000000Z",
    "no fraction": "2026-11-29T04:00:00Z",
    "offset instead of Z": "2026-11-29T04:00:00.000000+00:00",
    "lower-case z": "2026-11-29T04:00:00.000000z",
    "a number": 1764388800,
}


@pytest.mark.parametrize("name", sorted(BAD_TIMES))
def test_malformed_record_time_fails_on_both_paths(tmp_path: Path, name: str) -> None:
    """Reference: the `TS_FORMAT` contract (ISO 8601 UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ASCII
    digits, a real calendar time): a record whose time is anything else, re-chained by a forger,
    fails in-process and in parallel at that record."""
    from tests.audit._util import make_log, rechain

    p = tmp_path / "audit.jsonl"
    bodies = [body_of(line) for line in make_log(p, n=6)]
    bodies[3]["ts_utc"] = BAD_TIMES[name]
    p.write_bytes(rechain(bodies))
    for chunk in (200, 1 << 22):
        serial, parallel = _both(p, chunk)
        assert serial == parallel, (name, chunk)
        assert not serial.ok and serial.first_bad_seq == 4, (name, serial.message)
        assert "`ts_utc` is not a UTC time" in serial.message, serial.message


def test_leap_day_and_last_microsecond_are_valid_times(tmp_path: Path) -> None:
    from tests.audit._util import make_log, rechain

    p = tmp_path / "audit.jsonl"
    bodies = [body_of(line) for line in make_log(p, n=3)]
    for b, ts in zip(bodies, ("2024-02-29T00:00:00.000000Z", "2024-02-29T23:59:59.999999Z",
                              "2025-01-01T00:00:00.000000Z")):
        b["ts_utc"] = ts
    p.write_bytes(rechain(bodies))
    serial, parallel = _both(p, 200)
    assert serial.ok and serial == parallel, serial.message
