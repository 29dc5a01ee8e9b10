"""Errors raised by `samd_core.io` (subclasses of the core's `DicomError` / `GeometryError`)."""

from __future__ import annotations

from samd_core.errors import DicomError, GeometryError, SamdError

__all__ = [
    "DicomReadError",
    "GantryTiltError",
    "ImageReadError",
    "MixedGeometryError",
    "MultipleSeriesError",
    "NonImageObjectError",
    "SliceSpacingError",
]


class DicomReadError(DicomError):
    """A file cannot be parsed or decoded (not DICOM, truncated, corrupt, unsupported)."""


class MultipleSeriesError(DicomError):
    """A folder holds several series and none was chosen; ``series`` lists their UIDs."""

    def __init__(self, message: str, series: list[str]) -> None:
        self.series = series
        super().__init__(message)


class NonImageObjectError(DicomError):
    """A non-image object (SR, SEG, RTSTRUCT, ...) is mixed into the image files."""


class MixedGeometryError(GeometryError):
    """Slices of one series differ in orientation, size or pixel spacing, or geometry is missing."""


class SliceSpacingError(GeometryError):
    """Slices are missing, duplicated or unevenly spaced along the slice normal."""


class GantryTiltError(GeometryError):
    """Slice positions are sheared relative to the slice normal (gantry tilt)."""


class ImageReadError(SamdError, ValueError):
    """A NIfTI/MHA/NRRD file cannot be read (missing, corrupt, or not a scalar 2-D/3-D image)."""
