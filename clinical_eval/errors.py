"""Exceptions of the clinical_eval package (same template as `samd_core.errors`)."""

from __future__ import annotations

from samd_core.errors import InvalidParameterError, SamdError, format_invalid

__all__ = ["InvalidParameterError", "MrmcDataError", "SamdError", "format_invalid"]


class MrmcDataError(SamdError, ValueError):
    """Reader-study data cannot be analysed as a fully crossed MRMC design.

    The message names the offending reader, modality and/or case so the data can be fixed.
    """
