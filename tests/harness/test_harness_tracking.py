"""The MLflow adapter: local sqlite default, integrity records, and a real `mlflow server`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from validation.audit import AuditLog, iter_records
from validation.errors import InvalidParameterError
from validation.tracking import (
    audit_run_end,
    find_runs,
    load_json_artifact,
    metric_key,
    read_run,
    resolve_tracking_uri,
    tracked_run,
    verify_tracked_runs,
)


@pytest.mark.verifies("SRS-HARNESS-040")
def test_harness_tracking_uri_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert resolve_tracking_uri() == "http://127.0.0.1:5999"
    assert resolve_tracking_uri("sqlite:///x.db") == f"sqlite:///{tmp_path.resolve()}/x.db"
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] in ("true", "True", "1")
    assert metric_key("subgroup", "age", "[0, 60)", "auc", "value") == "subgroup/age/_0_ 60_/auc/value"
    with pytest.raises(InvalidParameterError, match="`kind` of `tracked_run`"):
        with tracked_run(experiment="e", run_name="r", kind="validaton"):
            pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.verifies("SRS-HARNESS-040", "SRS-HARNESS-023")
def test_harness_tracking_real_mlflow_server(tmp_path: Path) -> None:
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    if not mlflow_bin.exists() and shutil.which("mlflow") is None:
        pytest.skip("mlflow server executable not found")
    port = _free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    log = open(tmp_path / "server.log", "wb")
    srv = subprocess.Popen(
        [str(mlflow_bin if mlflow_bin.exists() else shutil.which("mlflow")), "server", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path}/server.db",
         "--default-artifact-root", (tmp_path / "server-artifacts").as_uri()],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert srv.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow server did not become healthy"
            time.sleep(0.5)
        audit = AuditLog(tmp_path / "audit.jsonl", fsync=False)
        with tracked_run(experiment="samd-validation", run_name="server-smoke", kind="validation",
                         tracking_uri=uri, tags={"samd.verdict": "pass"}) as run:
            run.log_params({"protocol_sha256": "ab" * 32})
            run.log_metrics({"auc/value": 0.7313685636856369, "auc/ci_low": 0.6301182117616226})
            run.log_json({"verdict": "pass", "auc": 0.7313685636856369}, "result.json")
            audit_run_end(audit, run)
        back = read_run(run.run_id, tracking_uri=uri)
        assert back["status"] == "FINISHED" and back["kind"] == "validation"
        assert back["metrics"]["auc/value"] == 0.7313685636856369
        assert back["params"]["protocol_sha256"] == "ab" * 32
        assert load_json_artifact(run.run_id, "result.json", tracking_uri=uri)["auc"] == 0.7313685636856369
        assert [r["run_id"] for r in find_runs(kind="validation", tracking_uri=uri)] == [run.run_id]
        assert all(c.ok for c in verify_tracked_runs(iter_records(audit.path)))
        from mlflow.tracking import MlflowClient

        MlflowClient(uri).log_metric(run.run_id, "auc/value", 0.99)
        checks = verify_tracked_runs(iter_records(audit.path))
        assert not checks[0].ok and "metric 'auc/value'" in checks[0].problems[0]
    finally:
        os.killpg(srv.pid, signal.SIGTERM)
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(srv.pid, signal.SIGKILL)
            srv.wait()
        log.close()
