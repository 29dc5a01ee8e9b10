"""Image I/O of the locked core: DICOM series and single images, NIfTI/MHA/NRRD/PNG/JPEG, conformant DICOM writers.

See ``docs/io.md`` for the conventions, the errors each reader raises and the limitations.
"""

from samd_core.io._dicom_header import IMAGE_SOP_CLASSES, PROJECTION_SOP_CLASSES
from samd_core.io._dicom_image import SINGLE_IMAGE_SOP_CLASSES, read_dicom_image
from samd_core.io._dicom_read import read_dicom_series
from samd_core.io._dicom_seg import read_dicom_seg
from samd_core.io._dicom_write import PATIENT_FIELDS, TRANSFER_SYNTAXES, write_dicom_series
from samd_core.io._dicom_write_image import IMAGE_MODALITIES, write_dicom_image
from samd_core.io._errors import (
    DicomReadError,
    GantryTiltError,
    ImageReadError,
    MixedGeometryError,
    MultipleSeriesError,
    NonImageObjectError,
    SliceSpacingError,
)
from samd_core.io._image import IMAGE_SUFFIXES, read_image, write_image
from samd_core.io._uids import derive_uid

__all__ = [
    "DicomReadError",
    "GantryTiltError",
    "IMAGE_MODALITIES",
    "IMAGE_SOP_CLASSES",
    "IMAGE_SUFFIXES",
    "ImageReadError",
    "MixedGeometryError",
    "MultipleSeriesError",
    "NonImageObjectError",
    "PATIENT_FIELDS",
    "PROJECTION_SOP_CLASSES",
    "SINGLE_IMAGE_SOP_CLASSES",
    "SliceSpacingError",
    "TRANSFER_SYNTAXES",
    "derive_uid",
    "read_dicom_image",
    "read_dicom_seg",
    "read_dicom_series",
    "read_image",
    "write_dicom_image",
    "write_dicom_series",
    "write_image",
]
