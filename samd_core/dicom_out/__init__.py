"""DICOM outputs of a locked model: Segmentation (SEG) and Comprehensive 3D SR (TID 1500).

Written with highdicom on the source images of the prediction. See ``docs/predict.md``.
"""

from samd_core.dicom_out._codes import CLASS_CODES, class_codes
from samd_core.dicom_out._identity import AlgorithmIdentity
from samd_core.dicom_out._seg import SEG_SERIES_NUMBER, build_dicom_seg, write_dicom_seg
from samd_core.dicom_out._source import source_datasets
from samd_core.dicom_out._sr import SR_SERIES_NUMBER, build_dicom_sr, write_dicom_sr

__all__ = [
    "CLASS_CODES",
    "SEG_SERIES_NUMBER",
    "SR_SERIES_NUMBER",
    "AlgorithmIdentity",
    "build_dicom_seg",
    "build_dicom_sr",
    "class_codes",
    "source_datasets",
    "write_dicom_seg",
    "write_dicom_sr",
]
