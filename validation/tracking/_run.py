"""The MLflow adapter: one explicit-run-id client wrapper used by every samd command.

Uses `mlflow.tracking.MlflowClient` only (no fluent, thread-local active-run state). Every
value logged through a `TrackedRun` is remembered, so that `TrackedRun.integrity_record`
can hand the exact logged params, metrics, tags and artifact SHA-256s to the audit trail;
`verify_tracked_run` later compares them with what the store holds now.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samd_core import __version__
from samd_core.hashing import canonical_json, sha256_file, sha256_json
from validation.errors import InvalidParameterError
from validation.stats import encode_float
from validation.tracking._uri import artifact_root_for, disable_telemetry, resolve_tracking_uri

__all__ = ["KINDS", "TrackedRun", "metric_key", "tracked_run"]

#: Values of the ``samd.kind`` tag.
KINDS: frozenset[str] = frozenset({"compare", "validation", "mrmc", "report"})
_BAD_KEY_CHARS = re.compile(r"[^/\w.\- :]")


def metric_key(*parts: str) -> str:
    """An MLflow-safe key from parts joined by ``/`` (other characters become ``_``).

    Idempotent (an already-joined key such as ``auc/value`` is kept). A part that MLflow would
    refuse or that would change the key's path (``Site A/``, ``a//b``, ``.``, ``..``, leading or
    trailing spaces) has its ``/`` replaced and a short hash of the original appended, so that
    distinct labels keep distinct keys (``Site A/`` -> ``Site A__2f22f5e2``); parts are shortened
    the same way when the key would exceed MLflow's 250 characters. Other keys are unchanged.
    """
    raw = [str(p) for p in parts if str(p)]
    out = [_key_part(p) for p in raw]
    if len("/".join(out)) > _MAX_KEY:
        out = [_hashed(p, o, 31) if len(o) > 40 else o for p, o in zip(raw, out, strict=True)]
    return "/".join(out).replace("..", "_.")


_MAX_KEY = 250


def _key_part(part: str) -> str:
    clean = _BAD_KEY_CHARS.sub("_", part)
    segments = clean.split("/")
    if any(s in ("", ".", "..") or s.strip(" ") != s for s in segments):
        return _hashed(part, clean, 200)
    return clean


def _hashed(part: str, clean: str, keep: int) -> str:
    digest = hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    body = clean.replace("/", "_").strip(" ")
    body = "_" if body in ("", ".", "..") else body
    return f"{body[:keep]}_{digest}"


def _client(tracking_uri: str) -> Any:
    disable_telemetry()
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


@dataclass
class TrackedRun:
    """A live MLflow run with explicit id; created by `tracked_run`.

    Attributes
    ----------
    run_id, experiment_id, tracking_uri : str
    params, metrics, tags : dict
        Everything logged so far through this object (metric values as strict-JSON floats).
    artifacts : dict
        Artifact path (inside the run) -> ``{"sha256", "size"}`` of each file logged.
    """

    client: Any
    run_id: str
    experiment_id: str
    tracking_uri: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float | str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params (write-once in MLflow). Values become strings."""
        from mlflow.entities import Param

        items = [(metric_key(str(k)), str(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):
            batch = items[i : i + 100]
            self.client.log_batch(self.run_id, params=[Param(k, v) for k, v in batch])
            self.params.update(batch)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Log metrics (step 0). Non-finite values are logged as MLflow stores them (NaN/inf)."""
        import time

        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        items = [(metric_key(str(k)), float(v)) for k, v in metrics.items()]
        for i in range(0, len(items), 1000):
            batch = items[i : i + 1000]
            self.client.log_batch(self.run_id, metrics=[Metric(k, v, ts, 0) for k, v in batch])
            self.metrics.update((k, encode_float(v)) for k, v in batch)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (mutable in MLflow; their values at integrity time go to the audit trail)."""
        from mlflow.entities import RunTag

        items = [(str(k), str(v)) for k, v in tags.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, tags=[RunTag(k, v) for k, v in items[i : i + 100]])
        self.tags.update(items)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> str:
        """Log one file; returns its path inside the run and remembers its SHA-256."""
        p = Path(local_path)
        if not p.is_file():
            raise InvalidParameterError("local_path", "TrackedRun.log_artifact", "an existing file", str(p))
        self.client.log_artifact(self.run_id, str(p), artifact_path)
        rel = f"{artifact_path}/{p.name}" if artifact_path else p.name
        self.artifacts[rel] = {"sha256": sha256_file(p), "size": p.stat().st_size}
        return rel

    def log_artifacts(self, paths: Mapping[str, str | Path] | list[str | Path],
                      artifact_path: str | None = None) -> list[str]:
        """Log several files (a list, or a mapping ``artifact_path -> files``)."""
        out: list[str] = []
        if isinstance(paths, Mapping):
            for sub, p in paths.items():
                out.append(self.log_artifact(p, sub or None))
        else:
            for p in paths:
                out.append(self.log_artifact(p, artifact_path))
        return out

    def log_json(self, obj: Any, name: str, artifact_path: str | None = None) -> str:
        """Write ``obj`` as canonical JSON to a file ``name`` and log it."""
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / name
            p.write_bytes(canonical_json(obj) + b"\n")
            return self.log_artifact(p, artifact_path)

    def integrity_record(self) -> dict[str, Any]:
        """What was logged, for the audit trail: params, metrics, tags, artifact SHA-256s."""
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "tracking_uri": self.tracking_uri,
            "params": dict(sorted(self.params.items())),
            "metrics": dict(sorted(self.metrics.items())),
            "tags": dict(sorted(self.tags.items())),
            "artifacts": dict(sorted(self.artifacts.items())),
        }

    def integrity_sha256(self) -> str:
        """SHA-256 of the canonical JSON of `integrity_record`."""
        return sha256_json(self.integrity_record())


def _experiment_id(client: Any, name: str, tracking_uri: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)
    try:
        return str(client.create_experiment(name, artifact_location=artifact_root_for(tracking_uri)))
    except Exception:  # noqa: BLE001 - a concurrent creator won the race
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


@contextmanager
def tracked_run(
    *,
    experiment: str,
    run_name: str,
    kind: str,
    tracking_uri: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> Iterator[TrackedRun]:
    """Open an MLflow run, yield a `TrackedRun`, end it FINISHED (or FAILED on exception).

    Parameters
    ----------
    experiment : str
        Experiment name (created when missing; local stores get an explicit artifact root).
    run_name : str
    kind : {"compare", "validation", "mrmc", "report"}
        Stored as tag ``samd.kind``.
    tracking_uri : str, optional
        Default: ``MLFLOW_TRACKING_URI`` or ``sqlite:///<cwd>/mlflow.db`` (`resolve_tracking_uri`).
    tags : mapping, optional
        Extra tags. ``samd.version`` and ``samd.kind`` are always set.
    """
    if kind not in KINDS:
        raise InvalidParameterError("kind", "tracked_run", f"one of {sorted(KINDS)}", kind, KINDS)
    if not isinstance(experiment, str) or not experiment:
        raise InvalidParameterError("experiment", "tracked_run", "a non-empty string", experiment)
    uri = resolve_tracking_uri(tracking_uri)
    client = _client(uri)
    exp_id = _experiment_id(client, experiment, uri)
    all_tags = {"samd.kind": kind, "samd.version": __version__, **{str(k): str(v) for k, v in (tags or {}).items()}}
    run = client.create_run(exp_id, run_name=run_name, tags=all_tags)
    tr = TrackedRun(client=client, run_id=run.info.run_id, experiment_id=exp_id, tracking_uri=uri)
    tr.tags.update(all_tags)
    try:
        yield tr
    except BaseException:
        client.set_terminated(tr.run_id, "FAILED")
        raise
    client.set_terminated(tr.run_id, "FINISHED")
