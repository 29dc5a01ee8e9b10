"""`validation.executor`: the same results in-process, on a local Dask cluster and on a scheduler
started with the ``dask scheduler`` / ``dask worker`` commands; failures reported by key; a worker
killed mid-run loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scale import _work
from validation.executor import CaseFailure, ExecutorSpec, Progress, executor_spec, map_cases

ROOT = Path(__file__).resolve().parents[2]


def _collect(spec: ExecutorSpec, cases, fn=_work.digest):
    got: dict[str, object] = {}
    progress: list[Progress] = []
    failures = map_cases(fn, cases, spec=spec, on_result=got.__setitem__, on_progress=progress.append)
    return got, failures, progress


CASES = [(f"case-{i:03d}", (i, 2000)) for i in range(24)]


def test_in_process_matches_plain_calls():
    got, failures, progress = _collect(ExecutorSpec(), CASES)
    assert failures == []
    assert got == {k: _work.digest(*a) for k, a in CASES}
    assert progress[-1].done == len(CASES) and progress[-1].failed == 0 and progress[-1].in_flight == 0


@pytest.mark.slow
def test_local_cluster_results_equal_in_process():
    ref, _, _ = _collect(ExecutorSpec(), CASES)
    got, failures, progress = _collect(ExecutorSpec(workers=2), CASES)
    assert failures == [] and got == ref
    assert progress[-1].done == len(CASES) and "ETA" in progress[-1].line()


@pytest.mark.parametrize("spec", [ExecutorSpec(retries=1), pytest.param(ExecutorSpec(workers=1, retries=1),
                                                                        marks=pytest.mark.slow)])
def test_a_failing_case_is_reported_by_key_never_dropped(spec):
    cases = [(k, (k, "b")) for k in ("a", "b", "c")]
    got, failures, _ = _collect(spec, cases, fn=_work.fail_on)
    assert got == {"a": "A", "c": "C"}
    assert failures == [CaseFailure("b", "ValueError", "case b is unreadable")]


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError, match="unique keys"):
        map_cases(_work.digest, [("a", (1, 1)), ("a", (2, 1))], spec=ExecutorSpec(), on_result=lambda k, v: None)


@pytest.mark.parametrize("kwargs, field", [
    ({"workers": 0}, "workers"), ({"workers": True}, "workers"), ({"workers": 2.0}, "workers"),
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "workers"), ({"scheduler": "127.0.0.1:8786"}, "scheduler"),
    ({"scheduler": "tcp://x\nrm"}, "scheduler"), ({"retries": -1}, "retries"), ({"retries": 11}, "retries"),
])
def test_bad_executor_options_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        executor_spec(**kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def dask_cluster(tmp_path):
    """A real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0",
                               "--no-show"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    addr = f"tcp://127.0.0.1:{port}"
    for _ in range(2):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1",
                                       "--nworkers", "1", "--no-dashboard", "--local-directory", str(tmp_path)],
                                      env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
    from distributed import Client

    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(addr, timeout="5s") as c:
                c.wait_for_workers(2, timeout=30)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    yield addr, procs
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)


@pytest.mark.slow
def test_existing_scheduler_results_equal_in_process(dask_cluster):
    addr, _ = dask_cluster
    ref, _, _ = _collect(ExecutorSpec(), CASES)
    got, failures, _ = _collect(executor_spec(scheduler=addr), CASES)
    assert failures == [] and got == ref


@pytest.mark.slow
def test_worker_killed_mid_run_loses_no_case(dask_cluster):
    """kill -9 of a worker while cases run: Dask re-runs its cases elsewhere; every case arrives once."""
    addr, procs = dask_cluster
    cases = [(f"c{i}", (i, 0.3)) for i in range(16)]
    got: dict[str, tuple[int, int]] = {}
    killed: list[int] = []

    def on_result(key, value):
        assert key not in got  # never delivered twice
        got[key] = value
        if len(got) == 3 and not killed:
            victim = procs[1]
            os.killpg(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    failures = map_cases(_work.slow_pid, cases, spec=executor_spec(scheduler=addr, retries=2), on_result=on_result)
    assert killed and failures == []
    assert sorted(got) == sorted(k for k, _ in cases)
    assert {v[0] for v in got.values()} == set(range(16))


def test_a_local_cluster_warns_nothing_when_dasks_default_port_is_taken():
    """Another service on 8787 (Dask's default HTTP port) must not print a warning through
    `samd validate --workers`: the local cluster's scheduler serves HTTP on a free loopback port."""
    holder = subprocess.Popen([sys.executable, "-c", "import socket, time\n"
                               "s = socket.socket()\n"
                               "try:\n    s.bind(('0.0.0.0', 8787)); s.listen(1)\nexcept OSError:\n    pass\n"
                               "print('ready', flush=True); time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"  # 8787 is now taken (by it, or already)
        code = ("from validation.executor import _local_cluster\n"
                "if __name__ == '__main__':\n    c = _local_cluster(1); print(c.scheduler_address); c.close()")
        out = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "already in use" not in out.stderr and "8787" not in out.stderr, out.stderr
    finally:
        holder.kill()
        holder.wait()
