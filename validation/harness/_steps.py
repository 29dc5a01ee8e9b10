"""Steps every protocol-driven analysis shares (``samd validate``, ``samd compare``).

One home for: opening a run (output folder, audit trail, manifest, protocol lock), the test-set file check with its ``testset.integrity_failure`` record, the
strict-JSON ``result.json`` bytes, the MLflow metrics of a result and the logging of a
finished result to its tracked run. `run_validation` and `run_comparison` both call these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from samd_core.hashing import sha256_json
from validation.audit import AuditLog
from validation.errors import IntegrityError
from validation.harness._lock import LockState, ensure_locked
from validation.harness._manifest import Manifest, check_manifest_files, read_manifest
from validation.harness._protocol import Protocol
from validation.stats import encode_float
from validation.tracking import AnalysisRun, metric_key

__all__ = ["check_test_set", "open_locked_run", "log_result", "result_json_bytes", "result_metrics", "strict_result"]

_MAX_DETAIL = 4000


def open_locked_run(protocol: Protocol, manifest_path: Path, *, out_dir: str | Path,
                    audit_log: str | Path | None, actor: str | None, signing_key: Any,
                    relock_reason: str | None) -> tuple[Path, AuditLog, Manifest, LockState]:
    """Create the output folder, open the audit trail, read the manifest and lock the protocol
    together with its test set (the whole manifest file).

    Parameters
    ----------
    protocol : Protocol
        Anything `ensure_locked` accepts (a comparison passes ``as_lockable()``).
    manifest_path : Path
        The test-set manifest (resolved against the protocol's folder by the caller).
    out_dir : str or Path
        Created when missing; returned resolved.
    audit_log : str or Path, optional
        Default: ``./samd-audit.jsonl``.
    actor, signing_key, relock_reason
        See `validation.audit.AuditLog` and `ensure_locked`.

    Returns
    -------
    tuple
        ``(out_dir, audit, manifest, lock)``.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    audit_path = Path(audit_log) if audit_log is not None else Path.cwd() / "samd-audit.jsonl"
    audit = AuditLog(audit_path, actor=actor, signing_key=signing_key)
    manifest = read_manifest(manifest_path)
    lock, _ = ensure_locked(audit, protocol, relock_reason=relock_reason,
                            testset_sha256=manifest.sha256, testset_id=manifest.path.name)
    return out, audit, manifest, lock


def check_test_set(audit: AuditLog, manifest: Manifest, *, context: Mapping[str, Any], executor: Any = None,
                   progress: bool = False) -> int:
    """Check every listed file's SHA-256 against the manifest; return how many were checked.

    A mismatch appends ``testset.integrity_failure`` (object: the test set; context:
    ``context`` plus ``detail``) and re-raises the `IntegrityError`. With ``executor`` (the run's
    cluster) the files are hashed on its workers (`check_manifest_files`); ``progress`` shows a bar.
    """
    try:
        return check_manifest_files(manifest, executor=executor, progress=progress)
    except IntegrityError as exc:
        audit.append("testset.integrity_failure", object={"type": "test_set", "id": manifest.path.name},
                     object_sha256=manifest.sha256, context={**context, "detail": str(exc)[:_MAX_DETAIL]})
        raise


def strict_result(obj: Any) -> Any:
    """Strict-JSON copy: non-finite floats become ``"nan"``/``"inf"``/``"-inf"`` (`encode_float`),
    numpy scalars become Python numbers and booleans, tuples become lists."""
    if isinstance(obj, dict):
        return {k: strict_result(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_result(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return encode_float(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def result_json_bytes(result: Mapping[str, Any]) -> bytes:
    """The bytes of ``result.json``: UTF-8, 2-space indent, sorted keys, strict JSON, final newline."""
    return json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n"


def result_metrics(result: Mapping[str, Any], *, endpoint_tests: bool = False,
                   subgroup_n: bool = False) -> dict[str, float]:
    """MLflow metrics of a result; keys sanitised by `metric_key` (labels stay as written in
    ``result.json``).

    Every endpoint's ``value``/``ci_low``/``ci_high``/``n``/``passed``, every subgroup
    endpoint's ``value``/``ci_low``/``ci_high`` (and ``n`` with ``subgroup_n``), every
    interaction test's ``pvalue``/``pvalue_adjusted``; with ``endpoint_tests``, the ``pvalue``
    of each endpoint's ``test``.
    """
    metrics: dict[str, float] = {}
    for e in result["endpoints"]:
        for f in ("value", "ci_low", "ci_high"):
            metrics[metric_key(e["id"], f)] = float(e[f])
        if endpoint_tests and "test" in e:
            metrics[metric_key(e["id"], "pvalue")] = float(e["test"]["pvalue"])
        metrics[metric_key(e["id"], "n")] = float(e["n"])
        metrics[metric_key(e["id"], "passed")] = 1.0 if e["passed"] else 0.0
    for g in result["subgroups"]:
        for eid, e in g["endpoints"].items():
            for f in ("value", "ci_low", "ci_high"):
                metrics[metric_key("subgroup", g["variable"], g["level"], eid, f)] = float(e[f])
            if subgroup_n:
                metrics[metric_key("subgroup", g["variable"], g["level"], eid, "n")] = float(e["n"])
    for t in result["interaction_tests"]:
        metrics[metric_key("interaction", t["variable"], t["endpoint"], "pvalue")] = float(t["pvalue"])
        metrics[metric_key("interaction", t["variable"], t["endpoint"], "pvalue_adjusted")] = float(
            t["pvalue_adjusted"])
    return metrics


def log_result(tracked: AnalysisRun, *, params: Mapping[str, Any], metrics: Mapping[str, float],
               tags: Mapping[str, Any], files: Mapping[str, list[Path]], result_sha256: str) -> None:
    """Log a finished result to its run: params, metrics, tags, files, then ``integrity.json``.

    ``files`` maps an artifact folder (``""`` the run's root, ``"inputs"``, ``"plots"``) to the
    files logged there. ``integrity.json`` holds ``result_sha256`` and the SHA-256 of the
    metrics (strict-JSON encoded).
    """
    tracked.log(params=params, metrics=metrics, tags=tags)
    for folder, paths in files.items():
        for p in paths:
            tracked.run.log_artifact(p, folder) if folder else tracked.run.log_artifact(p)
    tracked.log(json_artifacts={"integrity.json": {
        "result_sha256": result_sha256,
        "values_sha256": sha256_json({k: encode_float(v) for k, v in metrics.items()})}})
