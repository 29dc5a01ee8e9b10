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
    "IntegrityError",
    "InvalidParameterError",
    "ProtocolError",
    "SamdError",
    "format_invalid",
]


class ProtocolError(SamdError, ValueError):
    """A validation protocol (statistical analysis plan) is malformed or was changed after locking."""


class AuditError(SamdError, ValueError):
    """The audit trail is broken, tampered with, or cannot be written."""
