"""Exceptions of the locked core.

Every error raised on bad input follows one template::

    `<field>` of `<function>` must be <allowed>; got <value>

and subclasses a builtin (``ValueError``, ``TypeError``, ``OSError``) so callers can catch
it without importing samd. Other samd packages subclass these for their own errors.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "DicomError",
    "GeometryError",
    "IntegrityError",
    "InvalidParameterError",
    "SamdError",
    "format_invalid",
]


class SamdError(Exception):
    """Base class of every exception samd raises on purpose."""


def format_invalid(
    field: str,
    function: str,
    allowed: str,
    value: Any,
    options: Iterable[str] | None = None,
) -> str:
    """Render the one error template, with a "did you mean" hint for misspelled options."""
    shown = repr(value)
    if len(shown) > 200:
        shown = shown[:197] + "..."
    msg = f"`{field}` of `{function}` must be {allowed}; got {shown}"
    if options is not None and isinstance(value, str):
        close = difflib.get_close_matches(value, list(options), n=1)
        if close:
            msg += f"; did you mean {close[0]!r}?"
    return msg


class InvalidParameterError(SamdError, ValueError):
    """An argument has a value outside what the function accepts.

    Attributes
    ----------
    field, function, allowed, value
        The pieces of the message, kept for programmatic use.
    """

    def __init__(
        self,
        field: str,
        function: str,
        allowed: str,
        value: Any,
        options: Iterable[str] | None = None,
    ) -> None:
        self.field = field
        self.function = function
        self.allowed = allowed
        self.value = value
        super().__init__(format_invalid(field, function, allowed, value, options))


class DicomError(SamdError, ValueError):
    """A DICOM file or series cannot be turned into a trustworthy volume."""


class GeometryError(SamdError, ValueError):
    """Image geometry (spacing, origin, direction, shape) is inconsistent."""


class IntegrityError(SamdError, ValueError):
    """A file's content differs from what a manifest, hash or signature says."""
