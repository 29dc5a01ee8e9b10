"""`validation.tracking.track_analysis`: one tracking path for every analysis kind (issue #12)."""

from __future__ import annotations

import pathlib

import pytest

from validation.audit import AuditLog, iter_records, verify_audit_log
from validation.tracking import read_run, track_analysis, verify_tracked_runs


def _actions(path: pathlib.Path) -> list[str]:
    return [r["action"] for r in iter_records(path)]


def test_records_start_values_and_end(tmp_path: pathlib.Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    audit_path = tmp_path / "audit.jsonl"
    (tmp_path / "a.txt").write_text("artifact\n")
    with track_analysis(kind="mrmc", experiment="t", run_name="r", audit=AuditLog(audit_path, actor="t"),
                        tracking_uri=uri, tags={"x": "1"}, params={"p": 3}, start_context={"k": "v"}) as t:
        t.log(metrics={"m": 0.25}, json_artifacts={"res.json": {"a": 1}}, artifacts=[tmp_path / "a.txt"])
    assert _actions(audit_path) == ["run.start", "mlflow.run.end"]
    recs = list(iter_records(audit_path))
    assert recs[0]["object"] == {"type": "mrmc_run", "id": t.run_id} and recs[0]["context"] == {"k": "v"}
    logged = recs[1]["context"]["mlflow"]
    assert logged["params"] == {"p": "3"} and logged["metrics"] == {"m": 0.25}
    assert set(logged["artifacts"]) == {"res.json", "a.txt"} and logged["tags"]["samd.kind"] == "mrmc"
    run = read_run(t.run_id, tracking_uri=uri)
    assert run["status"] == "FINISHED" and run["params"] == {"p": "3"} and run["tags"]["x"] == "1"
    assert verify_audit_log(audit_path).ok
    assert all(c.ok for c in verify_tracked_runs(recs, tracking_uri=uri))


def test_failure_writes_run_fail_and_marks_the_run_failed(tmp_path: pathlib.Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    audit_path = tmp_path / "audit.jsonl"
    with pytest.raises(KeyError):
        with track_analysis(kind="validation", experiment="t", run_name="r", audit=AuditLog(audit_path),
                            tracking_uri=uri, start=False) as t:
            t.start(object_sha256="0" * 64)
            raise KeyError("boom")
    assert _actions(audit_path) == ["run.start", "run.fail"]
    fail = list(iter_records(audit_path))[-1]
    assert fail["context"]["error"] == "KeyError" and fail["object"]["id"] == t.run_id
    assert read_run(t.run_id, tracking_uri=uri)["status"] == "FAILED"


def test_explicit_end_is_written_once_and_without_audit_nothing_is_written(tmp_path: pathlib.Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    audit_path = tmp_path / "audit.jsonl"
    with track_analysis(kind="mrmc", experiment="t", run_name="r", audit=AuditLog(audit_path),
                        tracking_uri=uri) as t:
        rec = t.end(extra={"verdict": "pass"})
        assert rec["context"]["verdict"] == "pass"
    assert _actions(audit_path) == ["run.start", "mlflow.run.end"]
    with track_analysis(kind="mrmc", experiment="t", run_name="r2", audit=None, tracking_uri=uri) as t2:
        assert t2.end() == {}
    assert _actions(audit_path) == ["run.start", "mlflow.run.end"]


def test_unknown_kind_is_refused(tmp_path: pathlib.Path) -> None:
    from validation.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="kind"):
        with track_analysis(kind="nope", experiment="t", run_name="r", audit=None,
                            tracking_uri=f"sqlite:///{tmp_path / 'm.db'}"):
            pass
