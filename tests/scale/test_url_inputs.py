"""Test-case files given as fsspec URLs: ``file://``, ``memory://``, a chained ``zip://...::file://``
archive and a real HTTP server (``http://``, fsspec's HTTP file system over aiohttp).

Reference for every hash: `samd_core.hashing.sha256_file` / `sha256_tree` of the same bytes on a
local path (the manifest's format). A validation run whose manifest names its DICOM series by URL
gives the same results as the run on the local paths, in-process and on two Dask workers; a URL
that cannot be read, or whose bytes changed after the run's check, is one clear error that never
shows a credential.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from samd_core.hashing import sha256_file, sha256_tree
from tests.scale._protocols import nodule_protocol
from validation._locations import is_url, location_sha256, shown, staged
from validation.errors import LocationError

ROOT = Path(__file__).resolve().parents[2]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # noqa: D102
        pass


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like a DICOM series (nested names, binary content) and a single file beside it."""
    base = tmp_path_factory.mktemp("store")
    d = base / "case01" / "ct"
    (d / "sub").mkdir(parents=True)
    for i in range(5):
        (d / f"IM{i:05d}.dcm").write_bytes(bytes(range(256)) * (i + 1))
    (d / "sub" / "extra.bin").write_bytes(b"\x00\xff" * 100)
    (base / "single.nii.gz").write_bytes(b"not really gzip" * 50)
    with zipfile.ZipFile(base / "store.zip", "w") as z:
        for f in sorted((base / "case01").rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(base).as_posix())
        z.write(base / "single.nii.gz", "single.nii.gz")
    return base


@pytest.fixture(scope="module")
def http_root(series: Path) -> Iterator[str]:
    """A real HTTP server (standard library, directory listings on) serving ``series``' folder."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(series)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize(("text", "url", "display"), [
    ("/data/ct/case01", False, "/data/ct/case01"),
    ("relative/case01", False, "relative/case01"),
    ("C:/data/case01", False, "C:/data/case01"),
    ("file:///data/ct/case01", True, "file:///data/ct/case01"),
    ("s3://bucket/ct/case01/", True, "s3://bucket/ct/case01/"),
    ("https://user:secret@host/ct/x.dcm?X-Amz-Signature=abc#frag", True, "https://host/ct/x.dcm"),
    ("zip://case01::s3://key:secret@bucket/set.zip", True, "zip://case01::s3://bucket/set.zip"),
])
def test_url_detection_and_display_without_credentials(text: str, url: bool, display: str) -> None:
    assert is_url(text) is url
    assert shown(text) == display


def test_a_local_path_is_used_in_place(series: Path) -> None:
    with staged(series / "case01" / "ct") as p:
        assert p == series / "case01" / "ct"
    assert (series / "case01" / "ct").is_dir()


@pytest.mark.parametrize("kind", ["file", "zip", "http", "memory"])
def test_a_url_hashes_like_the_same_bytes_on_a_local_path(kind: str, series: Path, http_root: str) -> None:
    local_dir, local_file = series / "case01" / "ct", series / "single.nii.gz"
    if kind == "memory":
        import fsspec

        mem = fsspec.filesystem("memory")
        for f in sorted(local_dir.rglob("*")):
            if f.is_file():
                mem.pipe(f"/samdtest/ct/{f.relative_to(local_dir).as_posix()}", f.read_bytes())
        mem.pipe("/samdtest/single.nii.gz", local_file.read_bytes())
        urls = ("memory://samdtest/ct", "memory://samdtest/single.nii.gz")
    else:
        urls = {"file": (local_dir.as_uri(), local_file.as_uri()),
                "zip": (f"zip://case01/ct::{(series / 'store.zip').as_uri()}",
                        f"zip://single.nii.gz::{(series / 'store.zip').as_uri()}"),
                "http": (f"{http_root}/case01/ct/", f"{http_root}/single.nii.gz")}[kind]
    assert location_sha256(urls[0]) == sha256_tree(local_dir)
    assert location_sha256(urls[1]) == sha256_file(local_file)
    with staged(urls[0], expected_sha256=sha256_tree(local_dir)) as p:
        assert p.name == "ct" and p.is_dir()  # the folder's own name, so readers see the same layout
        assert sorted(f.relative_to(p).as_posix() for f in p.rglob("*") if f.is_file()) == sorted(
            f.relative_to(local_dir).as_posix() for f in local_dir.rglob("*") if f.is_file())
    with staged(urls[1]) as p:
        assert p.name == "single.nii.gz" and p.read_bytes() == local_file.read_bytes()


@pytest.fixture(autouse=True)
def _private_tempdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test stages into a temporary folder of its own, so what it finds there after staging is
    its own doing, not a test running beside it (the suite runs on two processes)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("tempdir")))


def _stages() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("samd-stage-*")}


@pytest.mark.parametrize("tail", ["..", ".", "case01/ct/..", "case01/ct/../.."])
def test_a_url_ending_in_dots_is_staged_inside_the_private_folder(tail: str, series: Path, http_root: str) -> None:
    before = {p.name for p in Path(tempfile.gettempdir()).iterdir()}
    try:
        with staged(f"{http_root}/{tail}") as p:
            assert p.parent.name.startswith("samd-stage-") and p.name not in ("", ".", "..")
    except LocationError:
        pass  # refused is fine too; writing outside the private folder is not
    assert {p.name for p in Path(tempfile.gettempdir()).iterdir()} == before


def test_a_staged_copy_is_removed_after_use_and_after_an_error(series: Path) -> None:
    before = _stages()
    url = (series / "case01" / "ct").as_uri()
    with staged(url) as p:
        assert p.is_dir()
    assert not p.exists() and _stages() == before
    with pytest.raises(RuntimeError), staged(url) as p:
        raise RuntimeError("reader failed")
    assert not p.exists() and _stages() == before
    with pytest.raises(LocationError):
        with staged(url, expected_sha256="0" * 64):
            pass
    assert _stages() == before


def test_bytes_changed_after_the_check_are_refused_before_they_are_read(series: Path, tmp_path: Path) -> None:
    d = tmp_path / "ct"
    shutil.copytree(series / "case01" / "ct", d)
    locked = sha256_tree(d)
    (d / "IM00002.dcm").write_bytes(b"replaced")
    with pytest.raises(LocationError, match=r"sha256 [0-9a-f]{64} != manifest " + locked):
        with staged(d.as_uri(), expected_sha256=locked):
            pytest.fail("a changed copy must not be handed to a reader")


def _refusals(series: Path, tmp_path: Path) -> list[tuple[str, str]]:
    (tmp_path / "fifo").mkdir()
    (tmp_path / "fifo" / "a.dcm").write_bytes(b"x")
    os.mkfifo(tmp_path / "fifo" / "pipe")  # would block a reader for ever
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "a.dcm").write_bytes(b"x")
    (tmp_path / "link" / "b.dcm").symlink_to("/etc/hostname")
    return [
        ("unknown protocol", "nosuchproto://bucket/ct", "not a URL fsspec can open"),
        ("nothing there", (tmp_path / "absent").as_uri(), "no file or folder at this URL"),
        ("a FIFO named directly", (tmp_path / "fifo" / "pipe").as_uri(), "no file or folder at this URL"),
        ("a FIFO in the folder", (tmp_path / "fifo").as_uri(), "not a regular file"),
        ("a link in the folder", (tmp_path / "link").as_uri(), "not a regular file"),
        ("missing archive", f"zip://ct::{(tmp_path / 'absent.zip').as_uri()}", "cannot be read"),
        ("absent in archive", f"zip://nope::{(series / 'store.zip').as_uri()}", "no file or folder"),
        ("refused connection", "http://127.0.0.1:9/ct/?token=t0ps3cret", "cannot be read"),
        ("a password in the URL", "http://user:secret@127.0.0.1:9/ct/?token=t0ps3cret", "carries a password"),
        ("a password in a chained URL", "zip://ct::s3://key:secret@bucket/set.zip", "carries a password"),
    ]


def test_unreadable_urls_are_one_clear_line_without_credentials(series: Path, tmp_path: Path) -> None:
    for what, url, expected in _refusals(series, tmp_path):
        with pytest.raises(LocationError) as info:
            location_sha256(url)
        msg = str(info.value)
        assert expected in msg, what
        assert "\n" not in msg and "secret" not in msg and "t0ps3cret" not in msg, what
        assert msg.startswith(shown(url)), what


def test_a_protocol_whose_backend_is_not_installed_says_so() -> None:
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("s3fs is installed here")
    with pytest.raises(LocationError, match="backend for this protocol is not installed"):
        location_sha256("s3://bucket/ct/case01/")


# -- validation runs whose manifest names the series by URL ---------------------------------------------

@pytest.fixture(scope="module")
def ct_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reference_devices.phantom import write_cohort

    return write_cohort(tmp_path_factory.mktemp("ct") / "cohort", n_cases=6, seed=41, prevalence=0.5)


def _run(manifest: Path, d: Path, **kw: object) -> dict:
    from validation.harness import run_validation

    proto = d / "protocol.yaml"
    d.mkdir(parents=True)
    proto.write_text(nodule_protocol(manifest, "SAP-URL-001", "test cases read by URL", seed=3, replicates=100),
                     encoding="utf-8")
    o = run_validation(proto, out_dir=d / "out", tracking_uri=f"sqlite:///{d / 'mlflow.db'}",
                       audit_log=d / "audit.jsonl", progress=False, **kw)
    result = json.loads((o.out_dir / "result.json").read_text(encoding="utf-8"))
    # the manifest's text (hence its hash and the protocol naming it) is all that differs
    return {k: v for k, v in result.items() if k not in {"manifest_sha256", "protocol_sha256", "mlflow_run_id",
                                                         "mlflow_experiment_id", "warnings"}}


def _url_manifest(manifest: Path, urls: list[str], name: str) -> Path:
    t = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    t["series_dir"] = urls
    out = manifest.parent / name
    t.to_csv(out, index=False)
    return out


@pytest.mark.slow
def test_a_run_on_urls_equals_the_run_on_local_paths(ct_cohort: Path, tmp_path: Path) -> None:
    t = pd.read_csv(ct_cohort, dtype=str, keep_default_na=False)
    root = ct_cohort.parent
    archive = tmp_path / "testset.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for rel in t["series_dir"]:
            for f in sorted((root / rel).rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(root).as_posix())
    ref = _run(ct_cohort, tmp_path / "local")
    assert ref["n_cases"] == 6 and ref["device"]["cases_computed"] == 6
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        http_manifest = _url_manifest(ct_cohort, [f"http://127.0.0.1:{srv.server_port}/{r}/" for r in t["series_dir"]],
                                      "manifest_http.csv")
        assert _run(http_manifest, tmp_path / "http") == ref
    finally:
        srv.shutdown()
        srv.server_close()
    zip_manifest = _url_manifest(ct_cohort, [f"zip://{r}::{archive.as_uri()}" for r in t["series_dir"]],
                                 "manifest_zip.csv")
    assert _run(zip_manifest, tmp_path / "zip") == ref
    assert _run(zip_manifest, tmp_path / "zip2", workers=2) == ref


@pytest.mark.slow
def test_a_worker_refuses_a_series_changed_after_the_check(ct_cohort: Path, tmp_path: Path) -> None:
    from validation._casework import predict_case

    t = pd.read_csv(ct_cohort, dtype=str, keep_default_na=False)
    rel, locked = t["series_dir"][0], t["series_sha256"][0]
    copy = tmp_path / "ct"
    shutil.copytree(ct_cohort.parent / rel, copy)
    bundle = str(ROOT / "samd_core" / "bundles" / "nodule_v1")
    import samd_core

    sha = samd_core.load_locked(bundle).manifest_sha256
    assert "score" in predict_case(bundle, sha, copy.as_uri(), False, locked)
    first = sorted(copy.iterdir())[0]
    first.write_bytes(first.read_bytes()[:-1] + b"\x01")
    with pytest.raises(LocationError, match="changed after the run's check"):
        predict_case(bundle, sha, copy.as_uri(), False, locked)


@pytest.mark.slow
def test_the_cli_reports_an_unreadable_url_as_one_line(ct_cohort: Path, tmp_path: Path) -> None:
    t = pd.read_csv(ct_cohort, dtype=str, keep_default_na=False)
    urls = [(ct_cohort.parent / r).as_uri() for r in t["series_dir"]]
    urls[2] = "nosuchproto://bucket/ct/?sig=secret"
    manifest = _url_manifest(ct_cohort, urls, "manifest_bad.csv")
    proto = tmp_path / "protocol.yaml"
    proto.write_text(nodule_protocol(manifest, "SAP-URL-001", "test cases read by URL", seed=3, replicates=100),
                     encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    r = subprocess.run([sys.executable, "-m", "samd", "validate", str(proto), "--out", str(tmp_path / "out"),
                        "--audit-log", str(tmp_path / "audit.jsonl")],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 2, r.stderr
    bars = [ln for ln in r.stderr.splitlines() if ln.startswith("files: ")]  # the pre-run check's progress
    assert bars and "12/12" in bars[-1] and "in flight 0, failed 0" in bars[-1], r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and "INFO" not in ln and ln not in bars]
    assert len(lines) == 1, r.stderr
    assert t["case_id"][2] in lines[0] and "not a URL fsspec can open" in lines[0]
    assert "secret" not in r.stderr + r.stdout and "Traceback" not in r.stderr


# -- the pre-run check of every manifest file, in-process and on the run's cluster --------------------

@pytest.mark.slow
def test_the_pre_run_check_on_workers_reports_exactly_what_in_process_reports(series: Path, tmp_path: Path) -> None:
    import fsspec

    from validation.executor import ExecutorSpec, executor_session
    from validation.harness import check_manifest_files, read_manifest
    from validation.errors import IntegrityError

    good = series / "case01" / "ct"
    tampered = tmp_path / "tampered.bin"
    tampered.write_bytes(b"after the lock")
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "a.dcm").symlink_to(good / "IM00000.dcm")
    rows = [
        ("c1", str(good), sha256_tree(good)),
        ("c2", f"zip://case01/ct::{(series / 'store.zip').as_uri()}", sha256_tree(good)),
        ("c3", str(tampered), "0" * 64),
        ("c4", str(tmp_path / "absent"), "1" * 64),
        ("c5", "nosuchproto://bucket/x?sig=secret", "2" * 64),
        ("c6", str(tmp_path / "links"), "3" * 64),
    ]
    pd.DataFrame(rows, columns=["case_id", "image_path", "image_path_sha256"]).to_csv(tmp_path / "m.csv", index=False)
    manifest = read_manifest(tmp_path / "m.csv")

    def message(executor: object) -> str:
        with pytest.raises(IntegrityError) as info:
            check_manifest_files(manifest, executor=executor)
        return str(info.value)

    here = message(None)
    assert "4 file(s) do not match" in here and "secret" not in here
    for case, what in [("c3", "sha256 "), ("c4", "file missing"), ("c5", "not a URL fsspec can open"),
                       ("c6", "symbolic link")]:
        assert any(ln.strip().startswith(f"case {case} ") and what in ln for ln in here.splitlines()), (case, here)
    with executor_session(ExecutorSpec(workers=2)) as cluster:
        assert cluster.kind == "scheduler"
        assert message(cluster) == here
        # proof that the hashing ran in the worker processes: an in-memory file system exists only here
        fsspec.filesystem("memory").pipe("/samdtest-precheck/x.bin", b"only in this process")
        pd.DataFrame([("m1", "memory://samdtest-precheck/x.bin", sha256_file(tampered))],
                     columns=["case_id", "image_path", "image_path_sha256"]).to_csv(tmp_path / "mem.csv", index=False)
        mem = read_manifest(tmp_path / "mem.csv")
        with pytest.raises(IntegrityError, match="no file or folder at this URL"):
            check_manifest_files(mem, executor=cluster)
    with pytest.raises(IntegrityError, match="sha256 "):  # in-process the memory file is there (other bytes)
        check_manifest_files(mem)


@pytest.mark.timeout(120)
def test_an_http_server_that_never_answers_is_an_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tarpit (accepts the connection, never replies): one line after the read timeout
    (`HTTP_TIMEOUTS_S`, shortened here), where aiohttp's default would wait 5 minutes."""
    import socket

    import validation._locations as loc

    monkeypatch.setattr(loc, "HTTP_TIMEOUTS_S", (2.0, 2.0))
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{srv.getsockname()[1]}/ct/case01/"
        with pytest.raises(LocationError, match="cannot be read") as info:
            location_sha256(url)
        assert "\n" not in str(info.value)
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        srv.close()


@pytest.mark.slow
def test_reference_masks_by_url_give_the_same_segmentation_endpoints(tmp_path: Path) -> None:
    """Predictions mode: the manifest's reference masks (truth) named by ``zip://`` URLs give the
    endpoint values, intervals and subgroup tests of the same masks on local paths."""
    from tests.harness.test_harness_segmentation import _study
    from validation.harness import run_validation

    _study(tmp_path)

    def endpoints(name: str) -> dict:
        d = tmp_path / name
        o = run_validation(tmp_path / "protocol.yaml", out_dir=d / "out", audit_log=d / "a.jsonl",
                           tracking_uri=f"sqlite:///{d / 'mlflow.db'}", progress=False)
        return {k: o.result[k] for k in ("endpoints", "subgroups", "interaction_tests", "verdict")}

    ref = endpoints("local")
    t = pd.read_csv(tmp_path / "manifest.csv", dtype=str, keep_default_na=False)
    with zipfile.ZipFile(tmp_path / "refs.zip", "w") as z:
        for rel in t["ref"]:
            z.write(tmp_path / rel, rel)
    t["ref"] = [f"zip://{rel}::{(tmp_path / 'refs.zip').as_uri()}" for rel in t["ref"]]
    t.to_csv(tmp_path / "manifest.csv", index=False)
    assert endpoints("zip") == ref


class _Hostile(http.server.BaseHTTPRequestHandler):
    """A server whose replies a store could send: endless, lying about their size, or untyped."""

    protocol_version = "HTTP/1.0"  # no Content-Length: the body ends when the connection closes
    mode = "endless-untyped"

    def log_message(self, *args: object) -> None:  # noqa: D102
        pass

    def _headers(self) -> None:
        self.send_response(200)
        if self.mode != "endless-untyped":
            self.send_header("Content-Type", "application/octet-stream")
        if self.mode == "huge-length":
            self.send_header("Content-Length", str(10**12))
        self.end_headers()

    def do_HEAD(self) -> None:  # noqa: N802
        self._headers()

    def do_GET(self) -> None:  # noqa: N802
        self._headers()
        block = b"\0" * (1 << 16)
        try:
            for _ in range(1 << 20):  # 64 GiB at most, far past every limit under test
                self.wfile.write(block)
        except OSError:  # the client hung up at its limit
            pass


@pytest.fixture
def hostile_server() -> Iterator[type[_Hostile]]:
    handler = type("Handler", (_Hostile,), {})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    handler.url = f"http://127.0.0.1:{srv.server_port}/ct/case01.dcm"  # type: ignore[attr-defined]
    yield handler
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize(("mode", "limit"), [
    ("endless-untyped", "MAX_LISTING_BYTES"),  # read whole to look for links: bounded memory
    ("endless-typed", "MAX_STAGED_BYTES"),      # streamed to disk: bounded disk
    ("huge-length", "MAX_STAGED_BYTES"),        # refused on its stated size, before the copy
])
def test_an_endless_or_huge_http_reply_is_refused_at_its_limit(
        hostile_server: type[_Hostile], monkeypatch: pytest.MonkeyPatch, mode: str, limit: str) -> None:
    import validation._locations as loc

    monkeypatch.setattr(loc, "MAX_LISTING_BYTES", 1 << 20)
    monkeypatch.setattr(loc, "MAX_STAGED_BYTES", 2 << 20)
    hostile_server.mode = mode
    before = set(Path(tempfile.gettempdir()).glob("samd-stage-*"))
    with pytest.raises(LocationError, match=limit) as info:
        location_sha256(hostile_server.url)  # type: ignore[attr-defined]
    assert "\n" not in str(info.value) and "http://127.0.0.1" in str(info.value)
    assert set(Path(tempfile.gettempdir()).glob("samd-stage-*")) == before  # nothing kept


def test_a_folder_over_the_byte_or_file_limit_is_refused_before_any_copy(
        series: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sizes and counts the store reports are checked before a byte is copied."""
    import validation._locations as loc

    url = (series / "case01" / "ct").as_uri()
    total = sum(f.stat().st_size for f in (series / "case01" / "ct").rglob("*") if f.is_file())
    copied: list[str] = []
    real_get = loc._get
    monkeypatch.setattr(loc, "_get", lambda *a: (copied.append(a[1]), real_get(*a)))
    monkeypatch.setattr(loc, "MAX_STAGED_BYTES", total - 1)
    with pytest.raises(LocationError, match=f"MAX_STAGED_BYTES = {total - 1} bytes"):
        location_sha256(url)
    assert copied == []
    monkeypatch.setattr(loc, "MAX_STAGED_BYTES", total)  # exactly at the limit: accepted
    assert location_sha256(url) == sha256_tree(series / "case01" / "ct")
    monkeypatch.setattr(loc, "MAX_STAGED_FILES", 5)  # the folder holds 6 files
    copied.clear()
    with pytest.raises(LocationError, match="6 entries, more than MAX_STAGED_FILES = 5"):
        location_sha256(url)
    assert copied == []


def test_a_single_file_over_the_byte_limit_is_refused(series: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import validation._locations as loc

    f = series / "single.nii.gz"
    monkeypatch.setattr(loc, "MAX_STAGED_BYTES", f.stat().st_size - 1)
    for url in (f.as_uri(), f"zip://single.nii.gz::{(series / 'store.zip').as_uri()}"):
        with pytest.raises(LocationError, match="MAX_STAGED_BYTES"):
            location_sha256(url)
    monkeypatch.setattr(loc, "MAX_STAGED_BYTES", f.stat().st_size)
    assert location_sha256(f.as_uri()) == sha256_file(f)
