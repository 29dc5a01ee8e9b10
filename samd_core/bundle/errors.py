"""Errors raised when a locked bundle cannot be trusted or used."""

from __future__ import annotations

from samd_core.errors import IntegrityError

__all__ = ["BundleIntegrityError", "LockedModelError"]


class BundleIntegrityError(IntegrityError):
    """A bundle differs from what its manifest, signature or code fingerprint says.

    Attributes
    ----------
    kind : str
        One of ``"hash_mismatch"``, ``"missing_file"``, ``"extra_file"``, ``"manifest"``,
        ``"signature"``, ``"code_fingerprint"``, ``"content"``.
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
