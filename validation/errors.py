"""Exceptions of the validation package (same template as `samd_core.errors`)."""

from __future__ import annotations

from samd_core.errors import (
    IntegrityError,
    InvalidParameterError,
    SamdError,
    format_invalid,
)

__all__ = [
    "AuditError",
    "CaseInferenceError",
    "CaseInputError",
    "ExecutorError",
    "IntegrityError",
    "InvalidParameterError",
    "LocationError",
    "ProtocolError",
    "SamdError",
    "TrainingOverlapError",
    "format_invalid",
]


class ProtocolError(SamdError, ValueError):
    """A validation protocol (statistical analysis plan) is malformed or was changed after locking."""


class AuditError(SamdError, ValueError):
    """The audit trail is broken, tampered with, or cannot be written."""


class CaseInferenceError(SamdError, RuntimeError):
    """Some cases of a bundle-mode run failed on every attempt; ``case_ids`` names them.

    The cases that succeeded are stored, so a rerun resumes; a failed case is never dropped.
    """

    def __init__(self, message: str, *, case_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.case_ids = case_ids


class CaseInputError(SamdError, ValueError):
    """A test case's input could not be read on a worker; the message names it by manifest case id
    (the error raised there, which may not travel between processes, as one line)."""


class LocationError(IntegrityError):
    """A test case's file given as a URL cannot be read: an unknown protocol, a missing fsspec
    backend, nothing at the URL, or a staged copy whose SHA-256 is not the manifest's. The message
    shows the URL without credentials, query string or fragment."""


class ExecutorError(SamdError, ConnectionError):
    """The Dask cluster cannot do the run's work: the scheduler named by ``scheduler`` could not be
    reached, did not answer as a Dask scheduler (nothing listening, a firewall, a web server or
    another service at that address) or has no worker; or the cluster cancelled a task."""


class TrainingOverlapError(ProtocolError):
    """Test cases overlap the model's training set (a shared patient, study, series or image).

    ``by_kind`` counts overlapping cases per identifier kind; ``case_ids`` lists them all
    (manifest ids only: never a patient id, a UID or a file name).
    """

    def __init__(self, message: str, *, case_ids: tuple[str, ...] = (), by_kind: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.case_ids = case_ids
        self.by_kind = dict(by_kind or {})
