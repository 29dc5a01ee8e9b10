"""`verify_trail`: an audit trail and, optionally, every MLflow run it names (``samd audit verify``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validation.audit import DEFAULT_FUTURE_TOLERANCE_S, AuditLog, AuditVerification, iter_records, verify_audit_log
from validation.tracking._read import RunCheckResult, mlflow_checkpoints, verify_tracked_runs

__all__ = ["TrailVerificationResult", "record_trail_verification", "verify_trail"]


@dataclass(frozen=True, slots=True)
class TrailVerificationResult:
    """Outcome of `verify_trail`.

    Attributes
    ----------
    audit : AuditVerification
        The chain, signatures and checkpoints (including those found in MLflow params).
    mlflow_checked : bool
        Whether the MLflow runs were checked (only when asked and the chain is intact).
    mlflow_checkpoints : int
        Checkpoints collected from MLflow params of validation runs of this log.
    runs : tuple of RunCheckResult
        One per run named by an ``mlflow.run.end`` record (when checked).
    """

    audit: AuditVerification
    mlflow_checked: bool
    mlflow_checkpoints: int
    runs: tuple[RunCheckResult, ...]

    @property
    def bad_runs(self) -> tuple[RunCheckResult, ...]:
        """Runs whose stored values no longer match their audit record."""
        return tuple(c for c in self.runs if not c.ok)

    @property
    def ok(self) -> bool:
        """True when the chain is intact and every checked run matches."""
        return self.audit.ok and not self.bad_runs

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"audit": self.audit.to_dict(), "mlflow_checkpoints": self.mlflow_checkpoints}
        if self.mlflow_checked:
            out["mlflow"] = [c.to_dict() for c in self.runs]
        return out


def verify_trail(
    path: str | os.PathLike[str],
    *,
    public_keys: Sequence[str | os.PathLike[str]] | None = None,
    signers: str | os.PathLike[str] | None = None,
    future_tolerance_s: float = DEFAULT_FUTURE_TOLERANCE_S,
    require_all_signed: bool = False,
    mlflow: bool = False,
    tracking_uri: str | None = None,
) -> TrailVerificationResult:
    """Verify an audit trail; with ``mlflow=True`` also every MLflow run it records.

    Parameters
    ----------
    path
        The audit log.
    public_keys
        Registered signer public keys (PEM files); signatures are checked when given.
    signers, future_tolerance_s, require_all_signed
        Authenticity against a signer registry, as in `validation.audit.verify_audit_log`.
    mlflow
        Also collect the checkpoints stored as MLflow params, and check every run named by an
        ``mlflow.run.end`` record against the values recorded there (only if the chain is intact).
    tracking_uri
        MLflow tracking URI (default: the one each record names).
    """
    extra: list[dict[str, Any]] = []
    if mlflow:
        first = next(iter(iter_records(path)), None)
        if first is not None:
            extra = mlflow_checkpoints(first["hash"], tracking_uri=tracking_uri)
    res = verify_audit_log(path, public_keys=list(public_keys) if public_keys else None, checkpoints=extra,
                           signers=signers, future_tolerance_s=future_tolerance_s,
                           require_all_signed=require_all_signed)
    runs: tuple[RunCheckResult, ...] = ()
    if mlflow and res.ok:
        runs = tuple(verify_tracked_runs(iter_records(path), tracking_uri=tracking_uri))
    return TrailVerificationResult(audit=res, mlflow_checked=mlflow and res.ok, mlflow_checkpoints=len(extra),
                                   runs=runs)


def record_trail_verification(
    path: str | os.PathLike[str], result: TrailVerificationResult, *, n_public_keys: int, actor: str | None = None
) -> dict[str, Any] | None:
    """Append an ``audit.verify`` record with the outcome to the log, only when the chain is intact.

    Returns the record, or ``None`` when nothing was appended (a broken chain is never extended).
    """
    if not result.audit.ok:
        return None
    return AuditLog(path, actor=actor).append(
        "audit.verify", object={"type": "audit_log", "id": Path(path).name, "n_records": result.audit.n_records},
        object_sha256=result.audit.head_hash,
        context={"ok": True, "public_keys": n_public_keys,
                 "authenticity_verified": result.audit.authenticity_verified, "mlflow_runs_checked": len(result.runs),
                 "mlflow_runs_not_matching": [c.run_id for c in result.bad_runs]})
