"""A ``--scheduler`` address that is not a running Dask scheduler is one clear line (exit 2), fast
and in bounded memory: nothing listening, a silent service, a web server, a banner-sending service
(SSH-like), a service that sends a plausible frame length and hangs up. Before this check a web
server's reply was read as a 3 EiB frame length (``internal error: MemoryError``, then a traceback
from the half-made client)."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dask
import distributed  # noqa: F401 - its config defaults must exist before dask.config.set (restored on exit)
import pytest

from tests.harness._factory import make_study
from tests.scale.test_chunked_bootstrap import CHUNKED
from validation.errors import ExecutorError
from validation.executor import ExecutorSpec, check_scheduler, map_cases

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = "2s"  # Dask's connect timeout for these tests (the default is 30 s)


def _http(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")


def _banner(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    time.sleep(0.5)


def _plausible_then_close(conn: socket.socket) -> None:
    conn.sendall(struct.pack("Q", 1 << 20) + b"\x00" * 64)  # promises 1 MiB of frames, sends 64 bytes


def _huge_plausible(conn: socket.socket) -> None:
    conn.sendall(struct.pack("Q", 1 << 40))  # promises 1 TiB: must not be allocated and waited for
    time.sleep(5)


def _silent(conn: socket.socket) -> None:
    time.sleep(5)


def _serve(handler: Callable[[socket.socket], None]) -> Iterator[str]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                try:
                    handler(conn)
                except OSError:
                    pass

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        stop.set()
        t.join(2)
        srv.close()


def _closed_port() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"tcp://127.0.0.1:{port}"


SERVICES = {"web server": _http, "banner": _banner, "plausible length, then hang-up": _plausible_then_close,
            "1 TiB frame length": _huge_plausible, "silent": _silent}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_service_that_is_not_a_scheduler_is_one_line(name: str) -> None:
    for addr in _serve(SERVICES[name]):
        t = time.monotonic()
        with dask.config.set({"distributed.comm.timeouts.connect": TIMEOUT}), \
                pytest.raises(ExecutorError) as info:
            check_scheduler(addr)
        assert time.monotonic() - t < 15
        msg = str(info.value)
        assert "\n" not in msg and addr in msg and "must be a running Dask scheduler" in msg


def test_nothing_listening_is_one_line_within_the_connect_timeout() -> None:
    addr = _closed_port()
    t = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": TIMEOUT}), pytest.raises(ExecutorError) as info:
        check_scheduler(addr)
    assert time.monotonic() - t < 15
    assert addr in str(info.value) and "\n" not in str(info.value)


def test_map_cases_checks_the_scheduler_first() -> None:
    for addr in _serve(_http):
        with pytest.raises(ExecutorError, match="did not answer with Dask's protocol"):
            map_cases(len, [("a", ("x",))], spec=ExecutorSpec(scheduler=addr), on_result=lambda k, v: None)


def test_a_real_scheduler_passes(dask_cluster) -> None:  # noqa: F811 - fixture
    addr, _ = dask_cluster
    check_scheduler(addr)


@pytest.mark.parametrize("name", ["web server", "nothing listening"])
def test_samd_validate_with_a_bad_scheduler_exits_2_with_one_line(name: str, tmp_path: Path) -> None:
    proto = make_study(tmp_path / "study", n=40, files=False)
    proto.write_text(CHUNKED.replace("CHUNK", "50"))
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": TIMEOUT,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def run(addr: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "samd", "validate", str(proto), "--out", str(tmp_path / "out"),
                               "--audit-log", str(tmp_path / "audit.jsonl"), "--tracking-uri",
                               f"sqlite:///{tmp_path / 'm.db'}", "--scheduler", addr],
                              capture_output=True, text=True, env=env, timeout=120)

    if name == "web server":
        for addr in _serve(_http):
            p = run(addr)
    else:
        addr = _closed_port()
        p = run(addr)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip() and " INFO " not in ln]
    assert lines == [lines[0]] and lines[0].startswith("error: `scheduler`") and addr in lines[0], p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "out" / "result.json").exists()


from tests.scale.test_executor import dask_cluster  # noqa: E402,F401 - fixture


def test_a_scheduler_without_workers_is_one_line_not_a_hang(tmp_path: Path) -> None:
    """A real ``dask scheduler`` that no worker has joined: every task would wait for ever."""
    import signal

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                             "--port", str(port), "--dashboard-address", ":0", "--no-show"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    addr = f"tcp://127.0.0.1:{port}"
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": "20s"}):
            deadline = time.monotonic() + 30  # wait for the scheduler to listen
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
        with dask.config.set({"distributed.comm.timeouts.connect": TIMEOUT}), pytest.raises(ExecutorError) as info:
            check_scheduler(addr)
        msg = str(info.value)
        assert "must have at least one worker" in msg and addr in msg and "\n" not in msg
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
