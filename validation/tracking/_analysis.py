"""`track_analysis`: the one way an analysis is tracked (MLflow run + audit run records).

Every analysis kind (validation, MRMC, later ones) goes through this context manager, so each
tracked run has the same shape:

* an MLflow run with tag ``samd.kind`` and everything logged remembered (`TrackedRun`);
* in the audit trail: ``run.start`` (explicit, via `AnalysisRun.start`, or on entry), then
  either ``mlflow.run.end`` holding the run's integrity record (`AnalysisRun.end`, or on normal
  exit) or ``run.fail`` naming the error type when anything raises inside the block.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validation.audit import AuditLog, iter_records
from validation.tracking._audit_link import audit_run_end
from validation.tracking._run import TrackedRun, tracked_run

__all__ = ["RUN_FAIL_ACTION", "RUN_START_ACTION", "AnalysisRun", "record_run_failure", "track_analysis"]

#: Audit action written when a tracked analysis starts computing.
RUN_START_ACTION = "run.start"
#: Audit action written when a tracked analysis fails after it started.
RUN_FAIL_ACTION = "run.fail"
_MAX_FAIL_MESSAGE = 2000


def record_run_failure(audit: AuditLog, subject: Mapping[str, Any], exc: BaseException, *,
                       object_sha256: str | None = None, context: Mapping[str, Any] | None = None) -> None:
    """Append a ``run.fail`` record naming the error type and the first line of its message.

    The one writer of ``run.fail``: `track_analysis` calls it for failures inside a tracked run;
    an analysis calls it directly for a failure before its MLflow run exists (``subject`` then
    names the analysis, e.g. ``{"type": "validation_run", "id": "<protocol id> v<version>"}``).
    No traceback is written. If the record itself cannot be written, the original exception
    gets a note saying so (it is what the caller must see) and nothing is raised here.

    Parameters
    ----------
    audit : AuditLog
    subject : mapping
        The record's ``object``.
    exc : BaseException
        The failure.
    object_sha256 : str, optional
        The record's ``object_sha256`` (e.g. the protocol's).
    context : mapping, optional
        Extra context, written before ``error`` and ``message``.
    """
    text = str(exc)
    message = text.splitlines()[0][:_MAX_FAIL_MESSAGE] if text else ""
    try:
        audit.append(RUN_FAIL_ACTION, object=dict(subject), object_sha256=object_sha256,
                     context={**(context or {}), "error": type(exc).__name__, "message": message})
    except Exception as inner:  # noqa: BLE001 - the original failure is what the caller must see
        exc.add_note(f"the {RUN_FAIL_ACTION} audit record could not be written: {type(inner).__name__}")


@dataclass
class AnalysisRun:
    """A tracked analysis in progress; yielded by `track_analysis`.

    Attributes
    ----------
    run : TrackedRun
        The MLflow run (explicit run id); everything logged through it is remembered.
    audit : AuditLog or None
        Where the run records go (``None``: MLflow only).
    subject : dict
        The audit ``object`` of the run records (``{"type": "<kind>_run", "id": <run id>}``).
    end_context : dict
        Extra context for the ``mlflow.run.end`` record written on normal exit.
    fail_sha256 : str or None
        ``object_sha256`` of a ``run.fail`` record.
    fail_context : dict
        Extra context of a ``run.fail`` record.
    started, ended, failed : bool
        Which run records have been written.
    end_record : dict or None
        The ``mlflow.run.end`` record, once written.
    """

    run: TrackedRun
    audit: AuditLog | None
    subject: dict[str, Any]
    end_context: dict[str, Any] = field(default_factory=dict)
    fail_sha256: str | None = None
    fail_context: dict[str, Any] = field(default_factory=dict)
    started: bool = False
    ended: bool = False
    failed: bool = False
    end_record: dict[str, Any] | None = None

    @property
    def run_id(self) -> str:
        """The MLflow run id."""
        return self.run.run_id

    def log(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, Any] | None = None,
        artifacts: Sequence[str | Path] | Mapping[str, str | Path] | None = None,
        json_artifacts: Mapping[str, Any] | None = None,
    ) -> None:
        """Log params, metrics (floats), tags, files and JSON documents (``name -> object``) to the run."""
        if params:
            self.run.log_params(params)
        if metrics:
            self.run.log_metrics(metrics)
        if tags:
            self.run.set_tags(tags)
        if artifacts:
            self.run.log_artifacts(artifacts if isinstance(artifacts, Mapping) else list(artifacts))
        for name, obj in (json_artifacts or {}).items():
            self.run.log_json(obj, name)

    def start(self, *, object_sha256: str | None = None, context: Mapping[str, Any] | None = None) -> None:
        """Append the ``run.start`` record (once); call when the analysis starts computing."""
        if self.started or self.audit is None:
            self.started = True
            return
        self.audit.append(RUN_START_ACTION, object=self.subject, object_sha256=object_sha256,
                          context=dict(context) if context else None)
        self.started = True

    def fail(self, exc: BaseException) -> None:
        """Append the ``run.fail`` record (once) naming the error type and its message's first line.

        Also after `end`: a failure after the integrity record (e.g. writing the checkpoint) is
        still recorded (`record_run_failure`).
        """
        if self.failed or self.audit is None:
            self.failed = True
            return
        self.failed = True
        record_run_failure(self.audit, self.subject, exc, object_sha256=self.fail_sha256,
                           context=self.fail_context)

    def end(self, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Append the ``mlflow.run.end`` integrity record (once), after the last value is logged.

        Returns the record (``{}`` without an audit trail).
        """
        if not self.ended:
            self.ended = True
            if self.audit is not None:
                self.end_record = audit_run_end(self.audit, self.run, extra={**self.end_context, **(extra or {})})
        return self.end_record or {}

    def checkpoint(self) -> dict[str, Any]:
        """Append a (signed) audit checkpoint and log where it is as ``samd.audit_*`` run params.

        Call after `end`; the params name the checkpoint's sequence number, hash, signature and
        key id, the audit log's first record hash (its id) and the ``mlflow.run.end`` sequence
        number. Returns the checkpoint record (``{}`` without an audit trail).
        """
        if self.audit is None:
            return {}
        cp = self.audit.checkpoint()
        first = next(iter_records(self.audit.path))
        self.run.log_params({"samd.audit_checkpoint_seq": cp["seq"], "samd.audit_checkpoint_hash": cp["hash"],
                             "samd.audit_checkpoint_sig": cp["sig"] or "",
                             "samd.audit_checkpoint_key_id": cp["key_id"] or "",
                             "samd.audit_log_id": first["hash"],
                             "samd.audit_run_end_seq": (self.end_record or {}).get("seq")})
        return cp


@contextmanager
def track_analysis(
    *,
    kind: str,
    experiment: str,
    run_name: str,
    audit: AuditLog | None,
    tracking_uri: str | None = None,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    start: bool = True,
    start_sha256: str | None = None,
    start_context: Mapping[str, Any] | None = None,
    subject_type: str | None = None,
    fail_sha256: str | None = None,
    fail_context: Mapping[str, Any] | None = None,
) -> Iterator[AnalysisRun]:
    """Track one analysis: an MLflow run plus its run records in the audit trail.

    Parameters
    ----------
    kind : str
        One of `validation.tracking.KINDS` (tag ``samd.kind``; the run records' object type is
        ``"<kind>_run"``).
    experiment, run_name : str
        MLflow experiment (created when missing) and run name.
    audit : AuditLog or None
        Audit trail for ``run.start`` / ``run.fail`` / ``mlflow.run.end``; ``None`` tracks in
        MLflow only.
    tracking_uri : str, optional
        Default: ``MLFLOW_TRACKING_URI`` or ``sqlite:///<cwd>/mlflow.db``.
    tags, params : mapping, optional
        Logged when the run opens.
    start : bool
        Write ``run.start`` on entry (default). ``False`` when the caller has records to write
        first (e.g. a test-set access) and calls `AnalysisRun.start` itself.
    start_sha256, start_context
        ``object_sha256`` and ``context`` of the ``run.start`` record written on entry.
    subject_type : str, optional
        ``object.type`` of the run records (default ``"<kind>_run"``).
    fail_sha256, fail_context
        ``object_sha256`` and extra ``context`` of a ``run.fail`` record.

    Yields
    ------
    AnalysisRun
        Log through `AnalysisRun.log`; call `AnalysisRun.end` to write the integrity record
        before anything that must follow it (otherwise it is written on normal exit).

    Notes
    -----
    Any exception inside the block appends ``run.fail`` (error type and message, no
    traceback), ends the MLflow run FAILED and propagates.
    """
    with tracked_run(experiment=experiment, run_name=run_name, kind=kind, tracking_uri=tracking_uri,
                     tags=tags) as run:
        handle = AnalysisRun(run=run, audit=audit, subject={"type": subject_type or f"{kind}_run", "id": run.run_id},
                             fail_sha256=fail_sha256, fail_context=dict(fail_context or {}))
        try:
            if params:
                handle.log(params=params)
            if start:
                handle.start(object_sha256=start_sha256, context=start_context)
            yield handle
            handle.end()
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                handle.fail(exc)
            raise
