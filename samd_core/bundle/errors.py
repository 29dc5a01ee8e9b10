"""Errors raised when a locked bundle cannot be trusted or used."""

from __future__ import annotations

from samd_core.errors import IntegrityError, SamdError

__all__ = ["BundleError", "BundleIntegrityError", "InputDomainError", "LockedModelError", "PredictionError"]


class BundleError(SamdError, ValueError):
    """Base class of every error about a bundle's content, identity or use."""


class BundleIntegrityError(IntegrityError, BundleError):
    """A bundle differs from what its manifest, pin, signature or code fingerprint says, or its content is unusable.

    Attributes
    ----------
    kind : str
        One of ``"hash_mismatch"``, ``"missing_file"``, ``"extra_file"``, ``"manifest"``,
        ``"signature"``, ``"code_fingerprint"``, ``"content"``, ``"pin"``, ``"not_regular"``,
        ``"too_large"``, ``"path"``, ``"resources"``.
    file : str or None
        The bundle-relative file name concerned.
    expected, found : str or None
        Expected and found values (hashes) where they apply.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        file: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.kind = kind
        self.file = file
        self.expected = expected
        self.found = found
        super().__init__(message)


class LockedModelError(IntegrityError, AttributeError):
    """Something tried to change, train or reach inside a locked model."""


class PredictionError(BundleError):
    """A locked model produced a non-finite output; no score is returned (never a silent negative)."""


class InputDomainError(BundleError):
    """An input lies outside the input domain the bundle was validated on.

    Attributes
    ----------
    attribute : str
        The domain attribute (``"modality"``, ``"spacing_mm"``, ``"slice_thickness_mm"``, ...).
    value : object
        The input's value (never free-text DICOM content beyond the modality code).
    allowed : str
        The declared range or set.
    reasons : tuple of str
        Every violation found (the message names the first).
    """

    def __init__(self, message: str, *, attribute: str, value: object, allowed: str, reasons: tuple[str, ...]) -> None:
        self.attribute = attribute
        self.value = value
        self.allowed = allowed
        self.reasons = reasons
        super().__init__(message)
