"""Exceptions of `reference_devices`."""

from __future__ import annotations

from samd_core.errors import InvalidParameterError, SamdError

__all__ = ["DemoStepError", "InvalidParameterError", "SamdError"]


class DemoStepError(SamdError, RuntimeError):
    """A step of the end-to-end demo exited with an unexpected code (the log names the cause)."""
