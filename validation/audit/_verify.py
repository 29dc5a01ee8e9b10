"""Verification of an audit log: canonical records, hashes, chain links, sequence, time,
signatures and signer identity, checkpoints."""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from samd_core.hashing import sha256_bytes
from validation.audit._keys import load_public_keys, verify_digest
from validation.audit._log import GENESIS_HASH, TS_FORMAT, checkpoint_path
from validation.audit._records import BadLine, _iter_line_range, iter_lines, parse_line
from validation.audit._signers import SignerRegistry, load_signers
from validation.errors import InvalidParameterError

__all__ = ["DEFAULT_FUTURE_TOLERANCE_S", "PARALLEL_MIN_BYTES", "AuditVerification", "verify_audit_log"]

#: Default allowed clock skew (seconds) before a record's time counts as "in the future".
DEFAULT_FUTURE_TOLERANCE_S = 300.0


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """Outcome of `verify_audit_log`.

    Attributes
    ----------
    ok : bool
        True when every check passed.
    n_records : int
        Number of intact records read before the first failure (all of them when ``ok``).
    first_bad_seq : int or None
        Sequence number at which the chain first fails (the expected ``seq`` at that line;
        ``last seq + 1`` for a truncated tail), None when ``ok``.
    message : str
        What failed, or a one-line summary.
    head_hash : str
        Hash of the last intact record (64 zeros for an empty log).
    n_signed, n_signatures_verified : int
        Records carrying a signature, and those checked against a registered key.
    n_checkpoints : int
        External checkpoints (side file and ``checkpoints=``) that were checked.
    warnings : tuple of str
        Non-fatal findings (acknowledged torn records, unverified signatures).
    authenticity_verified : bool
        True when a signer registry was given (``signers``): then every check of who signed
        was made. False: integrity only ("authenticity not verified").
    """

    ok: bool
    n_records: int
    first_bad_seq: int | None
    message: str
    head_hash: str = GENESIS_HASH
    n_signed: int = 0
    n_signatures_verified: int = 0
    n_checkpoints: int = 0
    warnings: tuple[str, ...] = field(default=())
    authenticity_verified: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict."""
        return {
            "ok": self.ok,
            "n_records": self.n_records,
            "first_bad_seq": self.first_bad_seq,
            "message": self.message,
            "head_hash": self.head_hash,
            "n_signed": self.n_signed,
            "n_signatures_verified": self.n_signatures_verified,
            "n_checkpoints": self.n_checkpoints,
            "warnings": list(self.warnings),
            "authenticity_verified": self.authenticity_verified,
        }


def _load_checkpoints(path: Path, extra: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    side = checkpoint_path(path)
    if side.exists():
        if not side.is_file():
            return [{"seq": None, "hash": None, "where": f"{side.name} (not a regular file)"}]
        for n, raw, _ in iter_lines(side):
            if not raw.strip():
                continue
            try:
                if len(raw) > 4096:
                    raise ValueError("too long")
                cp = json.loads(raw)
                out.append({"seq": int(cp["seq"]), "hash": str(cp["hash"]),
                            "key_id": cp.get("key_id"), "sig": cp.get("sig"),
                            "where": f"{side.name} line {n}"})
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                out.append({"seq": None, "hash": None, "where": f"{side.name} line {n}"})
    for n, cp in enumerate(extra or (), start=1):
        try:
            where = f"MLflow run {cp['run_id']}" if cp.get("run_id") else f"checkpoint argument {n}"
            out.append({"seq": int(cp["seq"]), "hash": str(cp["hash"]), "key_id": cp.get("key_id"),
                        "sig": cp.get("sig") or None, "where": where})
        except (ValueError, KeyError, TypeError, AttributeError):
            out.append({"seq": None, "hash": None, "where": f"checkpoint argument {n}"})
    return out


#: `TS_FORMAT` in ASCII digits with hours < 24, minutes and seconds < 60, matched whole (``$``
#: would let a trailing newline through, and ``\d`` any script's digits, which sort differently).
_TS_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z")


@functools.lru_cache(maxsize=4096)
def _valid_date(day: str) -> bool:
    try:
        datetime.strptime(day, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def _valid_ts(value: Any) -> bool:
    """``ts_utc`` in `TS_FORMAT` and a real calendar time. In this fixed-width form, string order is
    time order, so the chain's time checks compare strings."""
    return type(value) is str and _TS_RE.fullmatch(value) is not None and _valid_date(value[:10])


def _parse_ts(value: str) -> datetime:
    return datetime.strptime(value, TS_FORMAT).replace(tzinfo=timezone.utc)


#: Logs smaller than this (bytes) are verified in-process: starting workers costs more.
PARALLEL_MIN_BYTES = 8 << 20
#: Bytes of log per work chunk (a chunk ends after a newline; memory per chunk is bounded by it).
_CHUNK_BYTES = 4 << 20
_LINE, _RUN = 0, 1
_SPECIAL_ACTIONS = frozenset({"checkpoint", "recover", "sign"})


class _Chain:
    """The sequential checks of `verify_audit_log`, fed one item at a time.

    An item is ``(_LINE, n, terminated, rec, err, line_sha)``: line ``n`` parsed into ``rec`` or
    refused with ``err`` (``line_sha``: SHA-256 of its bytes); or ``(_RUN, n, rec, count,
    last_hash, last_ts)``: ``count`` consecutive plain records from line ``n`` on, of which the
    first is ``rec`` and every later one was already found (by `_scan_chunk`) to pass every check
    given its predecessor, so only the first needs checking against the chain."""

    def __init__(self, registry: SignerRegistry | None, keys: dict[str, Any], by_signer: dict[str, Any],
                 by_seq: dict[int, list[dict[str, Any]]], horizon_s: str, now: datetime,
                 future_tolerance_s: float, require_all_signed: bool, warnings: list[str]) -> None:
        self.registry, self.keys, self.by_signer, self.by_seq = registry, keys, by_signer, by_seq
        self.horizon_s, self.now, self.tol = horizon_s, now, future_tolerance_s
        self.require_all_signed, self.warnings = require_all_signed, warnings
        self.expected = 1
        self.prev = GENESIS_HASH
        self.prev_ts: str | None = None
        self.n_signed = self.n_verified = 0
        self.pending: tuple[int, str, str] | None = None

    def fail(self, seq: int, msg: str) -> AuditVerification:
        return AuditVerification(False, self.expected - 1, seq, msg, self.prev, self.n_signed,
                                 self.n_verified, 0, tuple(self.warnings), self.registry is not None)

    def feed(self, item: tuple[Any, ...]) -> AuditVerification | None:
        if item[0] == _RUN:
            _, n, rec, count, last_hash, last_ts = item
            bad = self.record(n, True, rec, None, "")
            if bad is None and count > 1:
                self.prev, self.prev_ts = last_hash, last_ts
                self.expected += count - 1
            return bad
        _, n, terminated, rec, err, line_sha = item
        return self.record(n, terminated, rec, err, line_sha)

    def record(self, n: int, terminated: bool, rec: dict[str, Any] | None, err: str | None,
               line_sha: str) -> AuditVerification | None:
        expected, fail = self.expected, self.fail
        if rec is None:
            if not terminated:
                return fail(expected, f"torn (incomplete) record at line {n}, after seq {expected - 1}; "
                                      "`samd audit recover` acknowledges it with a reason")
            if self.pending is not None:
                return fail(expected, f"record at seq {expected} (line {self.pending[0]}): unreadable or "
                                      f"hash mismatch ({self.pending[2]})")
            self.pending = (n, line_sha, str(err))
            return None
        seq = rec.get("seq")
        if not terminated:
            if self.pending is None and seq == expected and rec.get("prev_hash") == self.prev:
                return fail(expected, f"record at seq {expected} (line {n}) is complete but lost its "
                                      "final newline; `samd audit recover` restores it")
            return fail(expected, f"torn (incomplete) record at line {n}, after seq {expected - 1}")
        if self.pending is not None:
            if rec.get("action") != "recover" or rec.get("object_sha256") != self.pending[1]:
                return fail(expected, f"record at seq {expected} (line {self.pending[0]}): unreadable or "
                                      f"hash mismatch ({self.pending[2]})")
            self.warnings.append(f"torn record at line {self.pending[0]} before seq {seq} acknowledged: "
                                 f"{rec.get('reason')!r}")
            self.pending = None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq != expected:
            return fail(expected, f"sequence break at line {n}: expected seq {expected}, found {seq!r} "
                                  "(record deleted, inserted or reordered)")
        if rec.get("prev_hash") != self.prev:
            return fail(expected, f"chain break at seq {seq}: prev_hash does not match "
                                  "the previous record's hash")
        ts = rec.get("ts_utc")
        if not _valid_ts(ts):
            return fail(seq, f"record at seq {seq}: `ts_utc` is not a UTC time of the form "
                             "YYYY-MM-DDTHH:MM:SS.ffffffZ")
        if self.prev_ts is not None and ts < self.prev_ts:
            return fail(seq, f"record at seq {seq}: time {ts} goes backwards (seq {seq - 1} "
                             f"is {self.prev_ts})")
        if ts > self.horizon_s:
            return fail(seq, f"record at seq {seq}: time {rec['ts_utc']} lies in the future (later than "
                             f"{self.now.strftime(TS_FORMAT)} plus {self.tol:g} s tolerance)")
        sig, kid = rec.get("sig"), rec.get("key_id")
        registry, keys = self.registry, self.keys
        if sig is None and kid is not None:
            return fail(seq, f"record at seq {seq} names key {kid} but is not signed")
        if sig is None and registry is not None and (rec.get("action") == "sign" or self.require_all_signed):
            return fail(seq, f"{rec.get('action')} record at seq {seq} is not signed")
        if sig is not None:
            self.n_signed += 1
            if keys:
                if kid not in keys:
                    return fail(seq, f"record at seq {seq} is signed by unregistered key {kid}")
                if not verify_digest(keys[kid], rec["hash"], sig):
                    return fail(seq, f"bad signature at seq {seq}")
                signer = self.by_signer.get(kid)
                if registry is not None and signer is None:
                    return fail(seq, f"record at seq {seq} is signed by key {kid}, which is not in the "
                                     "signer registry (a --public-key alone names no signer)")
                if signer is not None:
                    why = signer.invalid_at(_parse_ts(ts))
                    if why:
                        return fail(seq, f"record at seq {seq} is signed by key {kid} of user "
                                         f"{signer.user_id}, {why} at {rec['ts_utc']}")
                    actor = rec.get("actor")
                    uid = actor.get("user_id") if isinstance(actor, dict) else None
                    if uid != signer.user_id:
                        return fail(seq, f"record at seq {seq}: user id {uid!r} does not match the "
                                         f"signer's {signer.user_id!r} (key {kid})")
                self.n_verified += 1
        if rec.get("action") == "checkpoint":
            obj = rec.get("object") or {}
            if not isinstance(obj, dict) or obj.get("seq") != seq - 1 or obj.get("hash") != self.prev:
                return fail(seq, f"checkpoint at seq {seq} does not name the previous head")
        for cp in self.by_seq.get(seq, ()):
            if cp["hash"] != rec["hash"]:
                return fail(seq, f"record at seq {seq} differs from the checkpoint in {cp['where']}")
        self.prev = rec["hash"]
        self.prev_ts = ts
        self.expected += 1
        return None


def _line_item(n: int, line: bytes, terminated: bool) -> tuple[Any, ...]:
    try:
        return (_LINE, n, terminated, parse_line(line), None, "")
    except BadLine as exc:
        return (_LINE, n, terminated, None, str(exc), sha256_bytes(line))


def _serial_items(path: Path) -> Iterator[tuple[Any, ...]]:
    for n, line, terminated in iter_lines(path):
        yield _line_item(n, line, terminated)


def _n_workers(workers: int | None, path: Path) -> int:
    import multiprocessing

    if multiprocessing.current_process().daemon:
        return 1  # a daemonic process (e.g. a pool or cluster worker) may not start processes
    if workers is not None:
        return workers
    try:
        size = path.stat().st_size
    except OSError:
        return 1
    if size < PARALLEL_MIN_BYTES:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, -(-size // _CHUNK_BYTES)))


def _chunk_bounds(path: Path) -> Iterator[tuple[int, int]]:
    """Byte ranges of about `_CHUNK_BYTES`, each starting a line and ending after a newline (or at
    the end of the file); found by scanning forward in fixed blocks, so memory stays bounded and
    the whole file is scanned at most once even when one line is very long."""
    size = path.stat().st_size
    start = 0
    with open(path, "rb") as fh:
        while start < size:
            pos = start + _CHUNK_BYTES
            if pos >= size:
                yield start, size
                return
            fh.seek(pos - 1)  # a newline right before `pos` ends a chunk at `pos`
            end = size
            while True:
                block = fh.read(1 << 16)
                if not block:
                    break
                i = block.find(b"\n")
                if i >= 0:
                    end = fh.tell() - len(block) + i + 1
                    break
            yield start, end
            start = end


_WORKER_ARGS: tuple[str, frozenset[int], bool] = ("", frozenset(), False)


def _init_worker(horizon_s: str, cp_seqs: frozenset[int], strict_unsigned: bool) -> None:
    global _WORKER_ARGS
    _WORKER_ARGS = (horizon_s, cp_seqs, strict_unsigned)


#: Longest chunk read into memory at once (bytes); a longer one (it holds a very long line) is
#: read line by line, so memory stays bounded by `MAX_LINE_BYTES`-sized reads.
_READ_WHOLE_MAX = 4 * _CHUNK_BYTES


def _chunk_lines(path: str, start: int, end: int) -> Iterable[tuple[int, bytes, bool]]:
    """The lines of ``[start, end)`` as `_iter_line_range` yields them; a chunk of at most
    `_READ_WHOLE_MAX` bytes is read with one call and split (several times faster per line)."""
    if end - start > _READ_WHOLE_MAX:
        return _iter_line_range(path, start, end)
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    lines = data.split(b"\n")
    last = lines.pop()  # b"" when the chunk ends with a newline
    out: list[tuple[int, bytes, bool]] = [(n, line, True) for n, line in enumerate(lines, 1)]
    if last:
        out.append((len(out) + 1, last, False))
    return out


def _scan_chunk(path: str, start: int, end: int) -> tuple[int, list[tuple[Any, ...]]]:
    """Parse, re-encode and hash every line of ``[start, end)`` (line numbers from 1); return the
    number of lines and the items for `_Chain`: plain records that chain to their predecessor
    (same checks as `_Chain.record`) are folded into runs, every other line is an item of its own."""
    horizon_s, cp_seqs, strict_unsigned = _WORKER_ARGS
    items: list[tuple[Any, ...]] = []
    run: list[Any] | None = None  # [n, first rec, count, last seq, last hash, last ts]
    n = 0
    for n, line, terminated in _chunk_lines(path, start, end):
        item = _line_item(n, line, terminated)
        rec = item[3]
        if rec is not None and terminated and not strict_unsigned:
            seq, ts = rec.get("seq"), rec.get("ts_utc")
            if (type(seq) is int and rec.get("sig") is None and rec.get("key_id") is None
                    and rec.get("action") not in _SPECIAL_ACTIONS and seq not in cp_seqs
                    and _valid_ts(ts) and ts <= horizon_s):
                if (run is not None and seq == run[3] + 1 and rec.get("prev_hash") == run[4]
                        and ts >= run[5]):
                    run[2] += 1
                    run[3], run[4], run[5] = seq, rec["hash"], ts
                else:
                    if run is not None:
                        items.append((_RUN, run[0], run[1], run[2], run[4], run[5]))
                    run = [n, rec, 1, seq, rec["hash"], ts]
                continue
        if run is not None:
            items.append((_RUN, run[0], run[1], run[2], run[4], run[5]))
            run = None
        items.append(item)
    if run is not None:
        items.append((_RUN, run[0], run[1], run[2], run[4], run[5]))
    return n, items


def _parallel_items(path: Path, n_workers: int, horizon_s: str, cp_seqs: frozenset[int],
                    strict_unsigned: bool) -> Iterator[tuple[Any, ...]]:
    """Items of the whole log, in order, computed chunk by chunk in ``n_workers`` processes; at
    most ``2 * n_workers`` chunks are in flight (bounded memory). Closing the generator cancels
    the chunks not yet started."""
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    import threading

    methods = multiprocessing.get_all_start_methods()
    # fork (no re-import, fast start) only while this process runs a single thread: forking a
    # multi-threaded process can copy a lock held by another thread
    if "fork" in methods and threading.active_count() == 1:
        ctx = multiprocessing.get_context("fork")
    else:
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    pool = ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(horizon_s, cp_seqs, strict_unsigned))
    queue: deque[Future[tuple[int, list[tuple[Any, ...]]]]] = deque()
    bounds = _chunk_bounds(path)
    offset = 0
    try:
        for start, end in bounds:
            queue.append(pool.submit(_scan_chunk, str(path), start, end))
            if len(queue) < 2 * n_workers:
                continue
            n_lines, items = queue.popleft().result()
            for item in items:
                yield (item[0], item[1] + offset, *item[2:])
            offset += n_lines
        while queue:
            n_lines, items = queue.popleft().result()
            for item in items:
                yield (item[0], item[1] + offset, *item[2:])
            offset += n_lines
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def verify_audit_log(
    path: str | os.PathLike[str],
    *,
    public_keys: Iterable[Any] | Mapping[str, Any] | None = None,
    checkpoints: Iterable[Mapping[str, Any]] | None = None,
    signers: SignerRegistry | str | os.PathLike[str] | None = None,
    future_tolerance_s: float = DEFAULT_FUTURE_TOLERANCE_S,
    require_all_signed: bool = False,
    now: datetime | None = None,
    workers: int | None = None,
) -> AuditVerification:
    """Check an audit log end to end; stop at the first failure.

    Integrity (always): every line is exactly the canonical encoding of its parsed record
    (strict UTF-8 JSON, duplicate keys refused; see `parse_line`) and its ``hash`` is the
    SHA-256 of that encoding; ``seq`` is 1, 2, 3, ... with no gap; ``prev_hash`` equals the
    previous ``hash``; ``ts_utc`` never goes backwards and never lies more than
    ``future_tolerance_s`` after ``now``; a record naming a ``key_id`` carries a ``sig``; a final
    line without newline fails (torn, or a complete record whose newline was lost: `AuditLog.recover`
    repairs both). Checkpoints from the side file ``<log>.checkpoints`` and from ``checkpoints`` must
    name a ``(seq, hash)`` present in the log: this detects deletion of the tail up to the last
    checkpoint.

    Authenticity (only with ``signers``): every ``sign`` record is signed; every signature is by a
    registered signer whose key was valid at the record's ``ts_utc`` (status ``active``,
    ``valid_from <= ts < valid_until``); the record's ``actor.user_id`` is that signer's
    ``user_id``; every signed checkpoint is signed by a registered, non-revoked key (unsigned
    checkpoints are refused only with ``require_all_signed`` or ``public_keys``); at least one
    record is signed (an unsigned chain proves nothing about who wrote it); a key given only in
    ``public_keys`` names no signer, so its signatures then fail. With ``public_keys`` alone,
    signatures are checked against those keys but no identity is established.

    Parameters
    ----------
    path : path-like
        The audit log.
    public_keys : iterable or mapping of Ed25519 public keys (objects, PEM bytes or paths)
        Accepted signing keys (no identity). None: signatures are not checked without ``signers``.
    checkpoints : iterable of dicts with ``seq`` and ``hash`` (and ``key_id``, ``sig``)
        Checkpoints kept elsewhere (e.g. MLflow params, a rendered document).
    signers : SignerRegistry or path, optional
        The signer registry (`load_signers`).
    future_tolerance_s : float
        Allowed clock skew, seconds: a ``ts_utc`` later than ``now`` plus this fails.
    require_all_signed : bool
        With ``signers``, also require every record (not only ``sign`` records) to be signed.
    now : datetime, optional
        The reference time (UTC); default the system clock.
    workers : int, optional
        Processes that parse, re-encode and hash the lines (in chunks of 4 MiB; the chain is
        then checked in order, so the result is identical for any number). None: every core
        available for logs of `PARALLEL_MIN_BYTES` or more, in-process below; 1: in-process.
        A daemonic process (a pool or cluster worker) always verifies in-process.

    Returns
    -------
    AuditVerification
    """
    fn = "verify_audit_log"
    path = Path(path)
    if not isinstance(future_tolerance_s, (int, float)) or isinstance(future_tolerance_s, bool) \
            or not math.isfinite(future_tolerance_s) or future_tolerance_s < 0:
        raise InvalidParameterError("future_tolerance_s", fn, "a finite number of seconds >= 0",
                                    future_tolerance_s)
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise InvalidParameterError("workers", fn, "an integer >= 1 or None", workers)
    registry = load_signers(signers) if isinstance(signers, (str, os.PathLike)) else signers
    keys = load_public_keys(public_keys)
    if registry is not None:
        keys.update({kid: s.public_key for kid, s in registry.by_key_id().items()})
    by_signer = registry.by_key_id() if registry is not None else {}
    now = now or datetime.now(timezone.utc)
    horizon = now + timedelta(seconds=float(future_tolerance_s))
    horizon_s = horizon.astimezone(timezone.utc).strftime(TS_FORMAT)
    if not path.is_file():
        return AuditVerification(False, 0, 1, f"audit log {path.name} does not exist")
    cps = _load_checkpoints(path, checkpoints)
    by_seq: dict[int, list[dict[str, Any]]] = {}
    warnings: list[str] = []
    # with public keys (or --require-all-signed) every checkpoint must be signed; with a signer
    # registry alone, unsigned checkpoints (runs made without a key) are plain integrity anchors
    strict_cps = bool(public_keys) or (registry is not None and require_all_signed)
    for cp in cps:
        if cp["seq"] is None:
            return AuditVerification(False, 0, None, f"unreadable checkpoint at {cp['where']}")
        if keys and (strict_cps or cp.get("sig") or cp.get("key_id")):
            kid, sig = cp.get("key_id"), cp.get("sig")
            if not sig or kid not in keys or not verify_digest(keys[kid], cp["hash"], sig):
                return AuditVerification(
                    False, 0, cp["seq"],
                    f"checkpoint at {cp['where']} (seq {cp['seq']}) is not signed by a registered key",
                )
            if kid in by_signer and by_signer[kid].status != "active":
                return AuditVerification(
                    False, 0, cp["seq"],
                    f"checkpoint at {cp['where']} (seq {cp['seq']}) is signed by revoked key {kid}",
                )
        by_seq.setdefault(cp["seq"], []).append(cp)

    chain = _Chain(registry, keys, by_signer, by_seq, horizon_s, now, future_tolerance_s,
                   require_all_signed, warnings)
    n_workers = _n_workers(workers, path)
    if n_workers <= 1:
        items: Iterable[tuple[Any, ...]] = _serial_items(path)
    else:
        strict_unsigned = registry is not None and require_all_signed
        items = _parallel_items(path, n_workers, horizon_s, frozenset(by_seq), strict_unsigned)
    try:
        for item in items:
            bad = chain.feed(item)
            if bad is not None:
                return bad
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()  # stops the workers early after a failure
    expected, prev, pending = chain.expected, chain.prev, chain.pending
    n_signed, n_verified, fail = chain.n_signed, chain.n_verified, chain.fail
    last = expected - 1
    if pending is not None:
        return fail(expected, f"record at seq {expected} (line {pending[0]}): unreadable or hash "
                              f"mismatch ({pending[2]})")
    beyond = [cp for cp in cps if cp["seq"] > last]
    if beyond:
        cp = max(beyond, key=lambda c: c["seq"])
        return fail(last + 1, f"log truncated: {cp['where']} names seq {cp['seq']} but the log "
                              f"ends at seq {last}")
    if registry is not None and n_verified == 0:
        return fail(last + 1, "no record is signed by a registered signer: authenticity cannot be "
                              "established (a chain rewritten without signatures looks like this)")
    if n_signed and not keys:
        warnings.append(f"{n_signed} signed records not checked (no public keys given)")
    return AuditVerification(True, last, None, f"intact: {last} records, head {prev[:16]}",
                             prev, n_signed, n_verified, len(cps), tuple(warnings),
                             registry is not None)
