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


def test_run_fail_names_the_first_line_and_carries_the_given_context(tmp_path: pathlib.Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    audit_path = tmp_path / "audit.jsonl"
    with pytest.raises(ValueError):
        with track_analysis(kind="validation", experiment="t", run_name="r", audit=AuditLog(audit_path),
                            tracking_uri=uri, fail_sha256="a" * 64, fail_context={"protocol_id": "P"}):
            raise ValueError("first line\nsecond line")
    fail = list(iter_records(audit_path))[-1]
    assert fail["action"] == "run.fail" and fail["object_sha256"] == "a" * 64
    assert fail["context"] == {"protocol_id": "P", "error": "ValueError", "message": "first line"}


def test_record_run_failure_before_a_run_exists_and_when_the_trail_is_unwritable(tmp_path: pathlib.Path) -> None:
    from validation.tracking import record_run_failure

    audit = AuditLog(tmp_path / "audit.jsonl")
    exc = RuntimeError("boom")
    record_run_failure(audit, {"type": "validation_run", "id": "P v1"}, exc, context={"protocol_id": "P"})
    rec = list(iter_records(tmp_path / "audit.jsonl"))[-1]
    assert rec["object"] == {"type": "validation_run", "id": "P v1"} and rec["context"]["message"] == "boom"

    class Broken:
        def append(self, *a: object, **k: object) -> None:
            raise OSError("disk full")

    exc2 = KeyError("k")
    record_run_failure(Broken(), {"type": "x", "id": "y"}, exc2)  # type: ignore[arg-type]
    assert any("could not be written: OSError" in n for n in exc2.__notes__)


def test_checkpoint_after_end_logs_where_the_checkpoint_is(tmp_path: pathlib.Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    audit_path = tmp_path / "audit.jsonl"
    with track_analysis(kind="mrmc", experiment="t", run_name="r", audit=AuditLog(audit_path),
                        tracking_uri=uri) as t:
        end = t.end()
        cp = t.checkpoint()
    recs = list(iter_records(audit_path))
    params = read_run(t.run_id, tracking_uri=uri)["params"]
    assert params["samd.audit_checkpoint_seq"] == str(cp["seq"]) and params["samd.audit_checkpoint_hash"] == cp["hash"]
    assert params["samd.audit_log_id"] == recs[0]["hash"] and params["samd.audit_run_end_seq"] == str(end["seq"])
    with track_analysis(kind="mrmc", experiment="t", run_name="r2", audit=None, tracking_uri=uri) as t2:
        assert t2.checkpoint() == {}
