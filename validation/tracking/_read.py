"""Reading runs back, and checking them against the values recorded in the audit trail."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samd_core.hashing import sha256_file
from validation.stats import encode_float
from validation.tracking._run import _client
from validation.tracking._uri import resolve_tracking_uri

__all__ = [
    "RUN_END_ACTION",
    "RunCheckResult",
    "download_artifact",
    "find_runs",
    "load_json_artifact",
    "mlflow_checkpoints",
    "read_run",
    "verify_tracked_run",
    "verify_tracked_runs",
]

#: Audit action that carries a run's integrity record in ``context["mlflow"]``.
RUN_END_ACTION = "mlflow.run.end"


def read_run(run_id: str, *, tracking_uri: str | None = None) -> dict[str, Any]:
    """A run as plain data: info, params, latest metrics, tags, artifact paths."""
    client = _client(resolve_tracking_uri(tracking_uri))
    run = client.get_run(run_id)
    return {
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "artifact_uri": run.info.artifact_uri,
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "tags": dict(run.data.tags),
        "kind": run.data.tags.get("samd.kind"),
        "artifacts": _list_all(client, run_id),
    }


def _list_all(client: Any, run_id: str, path: str | None = None) -> list[str]:
    out: list[str] = []
    for fi in client.list_artifacts(run_id, path):
        if fi.is_dir:
            out.extend(_list_all(client, run_id, fi.path))
        else:
            out.append(fi.path)
    return sorted(out)


def download_artifact(run_id: str, path: str, dst: str | Path, *, tracking_uri: str | None = None) -> Path:
    """Download one artifact of a run into folder ``dst``; returns the local file path."""
    client = _client(resolve_tracking_uri(tracking_uri))
    Path(dst).mkdir(parents=True, exist_ok=True)
    return Path(client.download_artifacts(run_id, path, str(dst)))


def load_json_artifact(run_id: str, path: str = "result.json", *, tracking_uri: str | None = None) -> Any:
    """Parse a JSON artifact of a run (e.g. a validation run's ``result.json``)."""
    with tempfile.TemporaryDirectory() as tmp:
        return json.loads(download_artifact(run_id, path, tmp, tracking_uri=tracking_uri).read_text("utf-8"))


def find_runs(*, kind: str | None = None, experiment: str | None = None,
              tracking_uri: str | None = None, max_results: int = 1000) -> list[dict[str, Any]]:
    """Runs (newest first) filtered by ``samd.kind`` tag and/or experiment name."""
    client = _client(resolve_tracking_uri(tracking_uri))
    if experiment is not None:
        exp = client.get_experiment_by_name(experiment)
        exp_ids = [exp.experiment_id] if exp is not None else []
    else:
        exp_ids = [e.experiment_id for e in client.search_experiments()]
    if not exp_ids:
        return []
    flt = f"tags.`samd.kind` = '{kind}'" if kind else ""
    runs = client.search_runs(exp_ids, filter_string=flt, max_results=max_results,
                              order_by=["attributes.start_time DESC"])
    return [{"run_id": r.info.run_id, "run_name": r.info.run_name, "status": r.info.status,
             "experiment_id": r.info.experiment_id, "tags": dict(r.data.tags),
             "params": dict(r.data.params)} for r in runs]


def mlflow_checkpoints(log_id: str, *, tracking_uri: str | None = None) -> list[dict[str, Any]]:
    """Audit checkpoints stored as params of validation runs for the log whose first record
    has hash ``log_id`` (params ``samd.audit_log_id``, ``samd.audit_checkpoint_*``)."""
    out = []
    for r in find_runs(kind="validation", tracking_uri=tracking_uri, max_results=50000):
        p = r["params"]
        if p.get("samd.audit_log_id") == log_id and "samd.audit_checkpoint_seq" in p:
            out.append({"seq": int(p["samd.audit_checkpoint_seq"]), "hash": p["samd.audit_checkpoint_hash"],
                        "sig": p.get("samd.audit_checkpoint_sig") or None,
                        "key_id": p.get("samd.audit_checkpoint_key_id") or None, "run_id": r["run_id"]})
    return out


@dataclass(frozen=True, slots=True)
class RunCheckResult:
    """Whether one MLflow run still matches its audit record."""

    run_id: str
    ok: bool
    problems: tuple[str, ...]
    audit_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {"run_id": self.run_id, "ok": self.ok, "problems": list(self.problems),
                "audit_seq": self.audit_seq}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def verify_tracked_run(expected: Mapping[str, Any], *, tracking_uri: str | None = None,
                       audit_seq: int | None = None) -> RunCheckResult:
    """Compare a run in the store with its integrity record (from `TrackedRun.integrity_record`).

    Reports changed, missing params/metrics/tags and artifacts whose SHA-256 differs or
    that are gone. Extra keys added later are not reported (they carry no evidence).
    """
    run_id = str(expected["run_id"])
    uri = tracking_uri or expected.get("tracking_uri")
    problems: list[str] = []
    try:
        client = _client(resolve_tracking_uri(uri))
        run = client.get_run(run_id)
    except Exception as exc:  # noqa: BLE001 - any store error is a finding here
        return RunCheckResult(run_id, False, (f"run not readable: {type(exc).__name__}: {exc}",), audit_seq)
    if run.info.lifecycle_stage == "deleted":
        problems.append("run is deleted")
    for k, v in expected.get("params", {}).items():
        now = run.data.params.get(k)
        if now != v:
            problems.append(f"param {k!r}: audit {v!r}, store {now!r}")
    for k, v in expected.get("metrics", {}).items():
        now = run.data.metrics.get(k)
        if now is None or not _same(encode_float(now), v):
            problems.append(f"metric {k!r}: audit {v!r}, store {now!r}")
        else:
            hist = client.get_metric_history(run_id, k)
            if len(hist) != 1:
                problems.append(f"metric {k!r}: {len(hist)} values in history (1 logged)")
    for k, v in expected.get("tags", {}).items():
        now = run.data.tags.get(k)
        if now != v:
            problems.append(f"tag {k!r}: audit {v!r}, store {now!r}")
    arts = expected.get("artifacts", {})
    if arts:
        with tempfile.TemporaryDirectory() as tmp:
            for path, meta in arts.items():
                try:
                    local = client.download_artifacts(run_id, path, tmp)
                except Exception:  # noqa: BLE001
                    problems.append(f"artifact {path!r} missing")
                    continue
                digest = sha256_file(local)
                if digest != meta["sha256"]:
                    problems.append(f"artifact {path!r}: sha256 {digest[:12]}… != audit {meta['sha256'][:12]}…")
    return RunCheckResult(run_id, not problems, tuple(problems), audit_seq)


def verify_tracked_runs(records: Iterable[Mapping[str, Any]], *,
                        tracking_uri: str | None = None) -> list[RunCheckResult]:
    """Check every run named by a ``mlflow.run.end`` audit record (``context["mlflow"]``)."""
    out = []
    for rec in records:
        if rec.get("action") != RUN_END_ACTION:
            continue
        ctx = rec.get("context") or {}
        if "mlflow" in ctx:
            out.append(verify_tracked_run(ctx["mlflow"], tracking_uri=tracking_uri,
                                          audit_seq=rec.get("seq")))
    return out
