"""Writing a finished run's integrity record into the audit trail."""

from __future__ import annotations

from typing import Any

from validation.audit._log import AuditLog
from validation.tracking._read import RUN_END_ACTION
from validation.tracking._run import TrackedRun

__all__ = ["audit_run_end"]


def audit_run_end(audit: AuditLog, run: TrackedRun, *, reason: str | None = None,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Append a ``mlflow.run.end`` record holding everything the run logged (and its hash).

    Call after the last value/artifact is logged. `verify_tracked_runs` (``samd audit verify
    --mlflow``) later reports any run whose stored values no longer match this record.
    """
    rec = run.integrity_record()
    ctx: dict[str, Any] = {"mlflow": rec}
    if extra:
        ctx.update(extra)
    return audit.append(
        RUN_END_ACTION,
        object={"type": "mlflow_run", "id": run.run_id, "uri": f"runs:/{run.run_id}"},
        object_sha256=run.integrity_sha256(),
        reason=reason,
        context=ctx,
    )
