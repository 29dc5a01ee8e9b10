"""Fan per-case work out to Dask workers, or run it in-process, with one coordinator.

samd never schedules work itself: with ``workers=N`` it starts a local Dask cluster
(`distributed.LocalCluster`, N worker processes, one thread each); with ``scheduler="tcp://host:port"``
it joins an existing cluster started with ``dask scheduler`` / ``dask worker`` (or dask-kubernetes,
dask-jobqueue, ...); with neither it runs in the calling process. The work function must be a
module-level (picklable) function and must be importable on the workers.

The coordinator (the calling process) alone receives results, in completion order, through
``on_result``: it alone writes the per-case store, MLflow and the audit trail, so a ``kill -9`` of
any worker loses at most the cases in flight (Dask re-runs a task whose worker died), and a
``kill -9`` of the coordinator loses nothing already handed to ``on_result``. A case whose function
raises on every attempt (``1 + retries``) is returned as a `CaseFailure` with its key: never dropped.
Results never depend on the executor, because each case's computation is deterministic and the
caller assembles results in its own (manifest) order, not in completion order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from samd_core.errors import InvalidParameterError
from validation.errors import ExecutorError

__all__ = ["CaseFailure", "ExecutorSpec", "Progress", "check_scheduler", "chunk_mapper", "executor_session",
           "executor_spec", "map_cases"]


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    """Where per-case work runs: in-process (both None), a local cluster, or an existing scheduler."""

    workers: int | None = None
    scheduler: str | None = None
    retries: int = 2

    @property
    def kind(self) -> str:
        """``"in-process"``, ``"local-cluster"`` or ``"scheduler"``."""
        if self.scheduler is not None:
            return "scheduler"
        return "local-cluster" if self.workers is not None else "in-process"


def executor_spec(workers: Any = None, scheduler: Any = None, retries: Any = 2, *,
                  function: str = "run_validation") -> ExecutorSpec:
    """Validate executor options (one error template) and return an `ExecutorSpec`.

    Parameters
    ----------
    workers : int, optional
        Number of local Dask worker processes (1 to 512).
    scheduler : str, optional
        Address of a running Dask scheduler, ``tcp://HOST:PORT`` (or ``tls://``, ``inproc://``).
    retries : int
        Further attempts of a case after its first failure (0 to 10).
    """
    if workers is not None and scheduler is not None:
        raise InvalidParameterError("workers", function, "omitted when `scheduler` is given", workers)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 512):
        raise InvalidParameterError("workers", function, "an integer from 1 to 512", workers)
    if scheduler is not None:
        ok = isinstance(scheduler, str) and scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")) \
            and len(scheduler) <= 512 and "\n" not in scheduler
        if not ok:
            raise InvalidParameterError("scheduler", function, "a Dask scheduler address such as tcp://HOST:PORT",
                                        scheduler)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise InvalidParameterError("retries", function, "an integer from 0 to 10", retries)
    return ExecutorSpec(workers=workers, scheduler=scheduler, retries=retries)


@dataclass(frozen=True, slots=True)
class CaseFailure:
    """A case whose work raised on every attempt."""

    key: str
    error: str
    message: str


@dataclass(frozen=True, slots=True)
class Progress:
    """Counts of a fan-out in progress; ``eta_s`` is None until one case has finished."""

    total: int
    done: int
    in_flight: int
    failed: int
    elapsed_s: float
    eta_s: float | None

    def line(self) -> str:
        """One human-readable line: ``12/64 done, 2 in flight, 0 failed, ETA 41 s``."""
        eta = "ETA ?" if self.eta_s is None else f"ETA {self.eta_s:.0f} s"
        return f"{self.done}/{self.total} done, {self.in_flight} in flight, {self.failed} failed, {eta}"


#: A chunk of finished cases is fetched from the workers when it holds this many cases ...
_FLUSH_CASES = 256
#: ... or when this many seconds have passed since the last chunk.
_FLUSH_S = 0.5


def _progress(total: int, done: int, in_flight: int, failed: int, t0: float) -> Progress:
    elapsed = time.monotonic() - t0
    finished = done + failed
    eta = None if finished == 0 else elapsed / finished * (total - finished)
    return Progress(total, done, in_flight, failed, elapsed, eta)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


def _local_cluster(workers: int) -> Any:
    """A `distributed.LocalCluster` of ``workers`` single-threaded worker processes on 127.0.0.1."""
    import dask
    from distributed import LocalCluster

    # Dask's default MALLOC_TRIM_THRESHOLD_ makes glibc hand every large array back to the OS and
    # page-fault it in again on the next allocation (it disables the dynamic mmap threshold):
    # numpy work that allocates large temporaries per case or chunk then runs about 1.4x slower on
    # a worker than in-process. The other variables (one BLAS/OpenMP thread per worker) are kept.
    environ = {k: v for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ", None) or {}).items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        # the scheduler always serves HTTP (health, metrics): on a free loopback port, so that
        # another service on Dask's default 8787 is no warning on stderr and nothing is exposed
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, host="127.0.0.1", silence_logs=40,
                            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})


def _connect_timeout_s() -> float:
    import dask
    from dask.utils import parse_timedelta

    return float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds"))


def check_scheduler(address: str) -> None:
    """Connect to the scheduler at ``address``, complete Dask's handshake and see a worker, or raise
    one line.

    The handshake comes before a `distributed.Client` is made, so that an address where nothing
    listens, or where another service answers (a web server, a proxy), is a clear error within the
    connect timeout (Dask's ``distributed.comm.timeouts.connect``, 30 s by default; environment
    variable ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``), not a hang or a traceback. A scheduler
    must also have a worker (waiting as long again for one to join): without one, every task would
    wait for ever. The security settings (TLS) are Dask's configured ones, as for the client.

    Raises
    ------
    ExecutorError
        Naming the address, the expectation and the reason (one line).
    """
    with _scheduler_client(address):
        pass


def _handshake(address: str, timeout: float) -> None:
    """Dask's connect and handshake with ``address``, in a thread of its own (the caller may
    already run an event loop); any failure is `ExecutorError`."""
    import asyncio
    import threading

    from distributed.comm import connect
    from distributed.security import Security

    args = Security().get_connection_args("client")

    async def handshake() -> None:
        comm = await connect(address, timeout=timeout, **args)  # connects, then exchanges handshakes
        await comm.close()

    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(handshake(), timeout + 1.0))
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported below as one line
            outcome.append(exc)

    t = threading.Thread(target=run, name="samd-check-scheduler", daemon=True)
    t.start()
    t.join(timeout + 10.0)
    err = outcome[0] if outcome else TimeoutError("no answer")
    if err is None:
        return
    if isinstance(err, (asyncio.TimeoutError, TimeoutError)):
        reason = f"no answer within {timeout:g} s"
    elif isinstance(err, (MemoryError, OverflowError, ValueError, TypeError, EOFError)) or \
            type(err).__name__ in ("CommClosedError", "StreamClosedError"):
        reason = "the service there did not answer with Dask's protocol"
    else:
        reason = _one_line(err)
    raise ExecutorError(f"`scheduler` {address!r} must be a running Dask scheduler; {reason[:300]}")


@contextmanager
def _scheduler_client(address: str) -> Iterator[Any]:
    """A `distributed.Client` of the scheduler at ``address``, checked (`check_scheduler`) first."""
    from distributed import Client

    timeout = _connect_timeout_s()
    _handshake(address, timeout)
    client = Client(address, timeout=f"{timeout:g}s", set_as_default=False)
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except Exception:  # noqa: BLE001 - Dask's or asyncio's TimeoutError, or a lost connection
            raise ExecutorError(f"`scheduler` {address!r} must have at least one worker; none joined within "
                                f"{timeout:g} s (start them with `dask worker {address}`)") from None
        yield client
    finally:
        client.close()


@contextmanager
def executor_session(spec: ExecutorSpec, *, needed: bool = True) -> Iterator[ExecutorSpec]:
    """Hold one local cluster for a whole run: yields a spec naming its scheduler.

    With ``workers=N`` (and ``needed``) the cluster is started once here and every `map_cases`
    and `chunk_mapper` given the yielded spec joins it, instead of starting a cluster of its own
    for each fan-out; it is closed on exit. Any other spec is yielded unchanged.
    """
    if spec.kind == "scheduler" and needed:
        check_scheduler(spec.scheduler)  # type: ignore[arg-type] # before the run does any work
    if spec.kind != "local-cluster" or not needed:
        yield spec
        return
    cluster = _local_cluster(spec.workers)  # type: ignore[arg-type]
    try:
        yield ExecutorSpec(scheduler=cluster.scheduler_address, retries=spec.retries)
    finally:
        cluster.close()


@contextmanager
def _client(spec: ExecutorSpec) -> Iterator[Any]:
    from distributed import Client

    if spec.scheduler is not None:
        with _scheduler_client(spec.scheduler) as client:
            yield client
        return
    cluster = _local_cluster(spec.workers)  # type: ignore[arg-type]
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


def _unpickle(blob: bytes) -> Any:
    import cloudpickle

    return cloudpickle.loads(blob)


@contextmanager
def chunk_mapper(spec: ExecutorSpec | None) -> Iterator[Callable[[Callable[[Any], Any], Any], list[Any]] | None]:
    """A map-like callable running on the cluster ``spec`` names, or None (in-process, or no spec).

    ``cluster_map(fn, items)`` returns ``[fn(item) for item in items]``, computed on the workers:
    ``fn`` (with any data it closes over, e.g. a `functools.partial` of a statistic and its
    arrays) is sent to the cluster once, as a task whose result every worker fetches (recomputed
    if the worker holding it is killed), each item is one task retried up to ``spec.retries``
    times (a killed worker's task is re-run), and
    the results come back in the order of ``items``. For `validation.stats.ChunkedStreams`, whose
    chunks are deterministic, so the result never depends on the executor. A task that fails on
    every attempt raises its exception in the caller: a statistic is never computed from fewer
    chunks than declared.
    """
    if spec is None or spec.kind == "in-process":
        yield None
        return
    import warnings

    import cloudpickle

    with _client(spec) as client:
        def cluster_map(fn: Callable[[Any], Any], items: Any) -> list[Any]:
            items = list(items)
            if not items:
                return []
            # `fn` travels once, as a task of its own, and each worker fetches it from a peer: unlike
            # scattered data, a task's result the cluster loses with a killed worker is recomputed
            # (pickled here: the scheduler then handles bytes, not the arrays `fn` closes over)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
                shared = client.submit(_unpickle, cloudpickle.dumps(fn), pure=False, retries=spec.retries)
            futures = client.map(_apply, [shared] * len(items), items, pure=False, retries=spec.retries)
            try:
                return list(client.gather(futures))
            except CancelledError as exc:
                raise ExecutorError(f"the Dask cluster cancelled a task of {len(items)} ({_one_line(exc)}); "
                                    "nothing is computed from fewer tasks than declared") from None
            finally:
                for f in futures:
                    f.release()
                shared.release()

        yield cluster_map


def map_cases(
    fn: Callable[..., Any],
    cases: Sequence[tuple[str, tuple[Any, ...]]],
    *,
    spec: ExecutorSpec,
    on_result: Callable[[str, Any], None],
    on_progress: Callable[[Progress], None] | None = None,
) -> list[CaseFailure]:
    """Run ``fn(*args)`` for every ``(key, args)`` in ``cases`` where ``spec`` says.

    ``on_result(key, value)`` is called in the calling process for each case that succeeded, in
    completion order (the caller orders results itself). Returns the cases that failed on every
    attempt, in the order of ``cases``.

    Raises
    ------
    InvalidParameterError
        When two cases share a key.
    """
    keys = [k for k, _ in cases]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise InvalidParameterError("cases", "map_cases", "unique keys", dup)
    t0 = time.monotonic()
    failures: dict[str, CaseFailure] = {}
    done = 0
    if spec.kind == "in-process":
        for i, (key, args) in enumerate(cases):
            if on_progress is not None:
                on_progress(_progress(len(cases), done, 1, len(failures), t0))
            err: BaseException | None = None
            for _ in range(1 + spec.retries):
                try:
                    value = fn(*args)
                except Exception as exc:  # noqa: BLE001 - reported per case, never dropped
                    err = exc
                    continue
                err = None
                break
            if err is None:
                on_result(key, value)
                done += 1
            else:
                failures[key] = CaseFailure(key, type(err).__name__, _one_line(err))
        if on_progress is not None:
            on_progress(_progress(len(cases), done, 0, len(failures), t0))
        return [failures[k] for k in keys if k in failures]

    from distributed import as_completed

    with _client(spec) as client, client.as_current():
        columns = list(zip(*(args for _, args in cases), strict=True)) if cases else []
        submitted = client.map(fn, *columns, key=[f"samd-case-{i}-{k}" for i, k in enumerate(keys)],
                               retries=spec.retries, pure=False) if cases else []
        futures = dict(zip(submitted, keys, strict=True))
        pending = len(futures)
        buffer: list[Any] = []
        last = time.monotonic()

        def flush() -> None:
            nonlocal pending, done, last
            ok = [f for f in buffer if f.status == "finished"]
            for fut, value in zip(ok, client.gather(ok) if ok else [], strict=True):
                on_result(futures.pop(fut), value)
                done += 1
            settled = len(ok)
            for fut in buffer:
                if fut not in futures:
                    fut.release()
                elif fut.status in ("error", "cancelled"):  # failed on every attempt, or cancelled
                    exc = fut.exception() if fut.status == "error" else None
                    key = futures.pop(fut)
                    failures[key] = CaseFailure(key, type(exc).__name__ if exc is not None else "Cancelled",
                                                _one_line(exc) if exc is not None else "the task was cancelled")
                    fut.release()
                    settled += 1
                else:  # its result was lost with a killed worker after it finished: Dask recomputes it
                    ac.add(fut)
            pending -= settled
            buffer.clear()
            last = time.monotonic()
            if on_progress is not None:
                on_progress(_progress(len(cases), done, pending, len(failures), t0))

        # Finished futures are fetched in chunks (one gather per chunk, not a round trip per case),
        # at least every `_FLUSH_S` seconds so that results reach the store while work goes on.
        ac = as_completed(list(futures))
        for batch in ac.batches():
            buffer += batch
            if len(buffer) >= _FLUSH_CASES or time.monotonic() - last >= _FLUSH_S or ac.is_empty():
                flush()
        if buffer:
            flush()
    return [failures[k] for k in keys if k in failures]

