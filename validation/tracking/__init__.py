"""The single MLflow adapter of samd (explicit run ids, local sqlite default, telemetry off).

See ``docs/harness.md`` ("Tracking") for conventions: tag ``samd.kind``, the
``result.json``-style structured artifact, and integrity records in the audit trail.
"""

from validation.tracking._analysis import (
    RUN_FAIL_ACTION,
    RUN_START_ACTION,
    AnalysisRun,
    record_run_failure,
    track_analysis,
)
from validation.tracking._audit_link import audit_run_end
from validation.tracking._env import environment_info, key_package_versions
from validation.tracking._read import (
    RUN_END_ACTION,
    RunCheckResult,
    download_artifact,
    find_runs,
    load_json_artifact,
    mlflow_checkpoints,
    read_run,
    verify_tracked_run,
    verify_tracked_runs,
)
from validation.tracking._run import KINDS, TrackedRun, metric_key, tracked_run
from validation.tracking._trail import TrailVerificationResult, record_trail_verification, verify_trail
from validation.tracking._uri import artifact_root_for, disable_telemetry, resolve_tracking_uri

__all__ = [
    "AnalysisRun",
    "KINDS",
    "RUN_END_ACTION",
    "RUN_FAIL_ACTION",
    "RUN_START_ACTION",
    "RunCheckResult",
    "TrackedRun",
    "TrailVerificationResult",
    "artifact_root_for",
    "audit_run_end",
    "disable_telemetry",
    "download_artifact",
    "environment_info",
    "find_runs",
    "key_package_versions",
    "load_json_artifact",
    "metric_key",
    "mlflow_checkpoints",
    "read_run",
    "record_run_failure",
    "record_trail_verification",
    "resolve_tracking_uri",
    "track_analysis",
    "tracked_run",
    "verify_tracked_run",
    "verify_tracked_runs",
    "verify_trail",
]

#: Names of release 0.1.0, importable until 1.0 with a DeprecationWarning.
_DEPRECATED = {"RunCheck": "RunCheckResult"}


def __getattr__(name: str) -> object:
    if name in _DEPRECATED:
        import warnings

        new = _DEPRECATED[name]
        warnings.warn(f"validation.tracking.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
