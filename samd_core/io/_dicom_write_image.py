"""`write_dicom_image`: a conformant single-frame DX, CR, MG or secondary-capture file from a 2-D `Volume`."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from samd_core.errors import InvalidParameterError
from samd_core.io._dicom_write import PATIENT_FIELDS, _ds
from samd_core.io._uids import derive_uid
from samd_core.volume import Volume

__all__ = ["IMAGE_MODALITIES", "write_dicom_image"]

_FN = "write_dicom_image"

#: Modality -> SOP Class UID written by `write_dicom_image`.
IMAGE_MODALITIES: Mapping[str, str] = {
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",  # Digital Mammography X-Ray Image Storage - For Presentation
    "SC": "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage
}


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _validate(
    volume: Volume, modality: str, photometric: str, bits_stored: int, rescale: tuple[float, float]
) -> None:
    if not isinstance(volume, Volume) or len(volume.spacing) != 2:
        raise InvalidParameterError("volume", _FN, "a 2-D samd_core.Volume", type(volume).__name__)
    if modality not in IMAGE_MODALITIES:
        raise InvalidParameterError("modality", _FN, f"one of {sorted(IMAGE_MODALITIES)}", modality, IMAGE_MODALITIES)
    allowed = ("RGB",) if volume.channel_last else ("MONOCHROME1", "MONOCHROME2")
    if photometric not in allowed:
        raise InvalidParameterError("photometric", _FN, f"one of {list(allowed)} for this volume", photometric, allowed)
    if volume.channel_last and (modality != "SC" or volume.n_channels != 3):
        raise InvalidParameterError("volume", _FN, "a 3-channel colour volume only with modality 'SC'", volume.shape)
    if not isinstance(bits_stored, int) or not 8 <= bits_stored <= 16:
        raise InvalidParameterError("bits_stored", _FN, "an integer in [8, 16]", bits_stored)
    slope, intercept = (float(v) for v in rescale)
    if not (np.isfinite(slope) and np.isfinite(intercept) and slope > 0):
        raise InvalidParameterError("rescale", _FN, "(slope > 0, intercept), both finite", rescale)


def write_dicom_image(
    volume: Volume,
    path: str | os.PathLike[str],
    *,
    modality: Literal["DX", "CR", "MG", "SC"] = "DX",
    photometric: Literal["MONOCHROME1", "MONOCHROME2", "RGB"] = "MONOCHROME2",
    bits_stored: int = 12,
    rescale: tuple[float, float] = (1.0, 0.0),
    spacing_attribute: Literal["ImagerPixelSpacing", "PixelSpacing", "none"] = "ImagerPixelSpacing",
    magnification: float | None = None,
    window: tuple[float, float] | None = None,
    uid_seed: str = "samd",
    uid_prefix: str = "2.25.",
    instance: int = 1,
    patient: Mapping[str, str] | None = None,
    acquisition_datetime: _dt.datetime = _dt.datetime(2020, 1, 1, 12, 0, 0),
    manufacturer: str = "samd",
) -> Path:
    """Write a 2-D `Volume` as one single-frame DX, CR, MG (for presentation) or SC file.

    The output passes ``dciodvfy`` (dicom3tools) with no errors. UIDs derive from ``uid_seed``
    and ``instance`` (same call, same bytes).

    Parameters
    ----------
    volume : Volume
        2-D grey-scale volume ``(y, x)`` in Modality LUT output units, or (SC only) an RGB
        ``channel_last`` volume ``(y, x, 3)`` with values 0..255.
    path : path
        File to write (parent folders are created).
    modality : {"DX", "CR", "MG", "SC"}
        SOP class (`IMAGE_MODALITIES`).
    photometric : {"MONOCHROME2", "MONOCHROME1", "RGB"}
        For MONOCHROME1 the stored values are inverted (``2**bits_stored - 1 - s``) so that the
        file reads back, in presentation form, as the same array as its MONOCHROME2 twin.
    bits_stored : int
        8..16; BitsAllocated is 8 for 8 bits, else 16. Stored values must fit unsigned.
    rescale : (slope, intercept)
        Stored value = round((value - intercept) / slope); written as RescaleSlope/Intercept.
    spacing_attribute : {"ImagerPixelSpacing", "PixelSpacing", "none"}
        Where ``volume.spacing`` (mm) goes. With ImagerPixelSpacing and ``magnification``,
        ImagerPixelSpacing is ``spacing * magnification`` and
        EstimatedRadiographicMagnificationFactor is ``magnification``. "none" writes no spacing
        (SC only).
    magnification : float, optional
        EstimatedRadiographicMagnificationFactor (DX/MG only).
    window : (centre, width), optional
        WindowCenter / WindowWidth (VOI LUT); DX and MG get a full-range window when omitted.
    uid_seed, uid_prefix, instance : str, str, int
        Deterministic UIDs (see `derive_uid`); ``instance`` separates images of one seed.
    patient : mapping, optional
        Identity attributes (keywords in `PATIENT_FIELDS`), e.g. fake values for test data.
    acquisition_datetime : datetime
        Study/series/content date and time.
    manufacturer : str
        Manufacturer.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    _validate(volume, modality, photometric, bits_stored, rescale)
    patient = dict(patient or {})
    unknown = sorted(set(patient) - PATIENT_FIELDS)
    if unknown:
        raise InvalidParameterError("patient", _FN, f"keys among {sorted(PATIENT_FIELDS)}", unknown[0], PATIENT_FIELDS)
    if spacing_attribute not in ("ImagerPixelSpacing", "PixelSpacing", "none"):
        raise InvalidParameterError(
            "spacing_attribute", _FN, "one of 'ImagerPixelSpacing', 'PixelSpacing', 'none'", spacing_attribute
        )
    if spacing_attribute == "none" and modality != "SC":
        raise InvalidParameterError("spacing_attribute", _FN, "'none' only with modality 'SC'", spacing_attribute)
    if magnification is not None and (modality not in ("DX", "MG") or not (np.isfinite(magnification) and magnification > 0)):
        raise InvalidParameterError("magnification", _FN, "a finite factor > 0, DX or MG only", magnification)
    slope, intercept = (float(v) for v in rescale)
    colour = volume.channel_last
    arr = np.asarray(volume.array, dtype=np.float64)
    allocated = 8 if bits_stored == 8 or colour else 16
    bits = 8 if colour else bits_stored
    stored = np.rint((arr - intercept) / slope)
    top = 2**bits - 1
    if not np.all(np.isfinite(stored)) or stored.min() < 0 or stored.max() > top:
        raise InvalidParameterError(
            "volume", _FN, f"values whose stored form fits 0..{top} with rescale {rescale}",
            f"stored range [{np.nanmin(stored):g}, {np.nanmax(stored):g}]",
        )
    if photometric == "MONOCHROME1":
        stored = top - stored
    stored_arr = stored.astype("<u1" if allocated == 8 else "<u2")

    ds = Dataset()
    sop_class = IMAGE_MODALITIES[modality]
    sop = derive_uid(uid_prefix, uid_seed, "image", modality, instance)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop
    date, time = acquisition_datetime.strftime("%Y%m%d"), acquisition_datetime.strftime("%H%M%S")
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = time
    for key in ("AccessionNumber", "ReferringPhysicianName", "PatientName", "PatientID", "PatientBirthDate",
                "PatientSex", "StudyID"):
        setattr(ds, key, "")
    for key, value in patient.items():
        setattr(ds, key, value)
    ds.Modality = "OT" if modality == "SC" else modality
    ds.Manufacturer = manufacturer
    ds.StudyInstanceUID = derive_uid(uid_prefix, uid_seed, "study")
    ds.SeriesInstanceUID = derive_uid(uid_prefix, uid_seed, "series", modality)
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance
    ds.PatientOrientation = ""
    ds.Rows, ds.Columns = int(arr.shape[0]), int(arr.shape[1])
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = photometric
    if colour:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = allocated
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    sy, sx = volume.spacing
    if modality in ("DX", "MG"):
        ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.PixelIntensityRelationship = "LIN"
        ds.PixelIntensityRelationshipSign = 1
        ds.RescaleType = "US"
        ds.PresentationLUTShape = "INVERSE" if photometric == "MONOCHROME1" else "IDENTITY"
        ds.AcquisitionContextSequence = Sequence()
        ds.DetectorType = "DIRECT"
        ds.ImageLaterality = "L" if modality == "MG" else "U"
        ds.PatientOrientation = ["A", "R"] if modality == "MG" else ["P", "F"]
        ds.PositionerType = ""
        ds.BodyPartExamined = "BREAST" if modality == "MG" else "CHEST"
        if modality == "MG":
            ds.PositionerType = "MAMMOGRAPHIC"
            ds.BreastImplantPresent = "NO"
            ds.AnatomicRegionSequence = Sequence([_code("76752008", "SCT", "Breast")])
            ds.ViewCodeSequence = Sequence([_code("399162004", "SCT", "cranio-caudal")])
            ds.ViewCodeSequence[0].ViewModifierCodeSequence = Sequence()
            ds.DetectorType = "DIRECT"
            ds.OrganExposed = "BREAST"
            ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
            ds.BodyPartThickness = "40"
            ds.CompressionForce = "100"
            ds.KVP = "28"
        else:
            ds.AnatomicRegionSequence = Sequence([_code("51185008", "SCT", "Chest")])
            ds.KVP = "120"
        if window is None:
            lo, hi = intercept, top * slope + intercept
            window = ((lo + hi) / 2, max(hi - lo, 1.0))
    elif modality == "CR":
        ds.BodyPartExamined = "CHEST"
        ds.ViewPosition = "PA"
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.RescaleType = "US"
    else:  # SC
        ds.ConversionType = "WSD"
        ds.ImageType = ["DERIVED", "SECONDARY"]
        ds.Laterality = ""
        if not colour:
            ds.RescaleType = "US"
    if not colour:
        ds.RescaleIntercept = _ds([intercept])[0]
        ds.RescaleSlope = _ds([slope])[0]
    if spacing_attribute == "PixelSpacing":
        ds.PixelSpacing = _ds([sy, sx])
        if modality in ("DX", "MG"):
            ds.ImagerPixelSpacing = _ds([sy, sx])
            ds.PixelSpacingCalibrationType = "GEOMETRY"
            ds.PixelSpacingCalibrationDescription = "samd test data"
    elif spacing_attribute == "ImagerPixelSpacing":
        m = 1.0 if magnification is None else float(magnification)
        ds.ImagerPixelSpacing = _ds([sy * m, sx * m])
        if magnification is not None:
            ds.EstimatedRadiographicMagnificationFactor = _ds([m])[0]
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = _ds([window[0]])[0], _ds([window[1]])[0]
    ds.PixelData = stored_arr.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out, enforce_file_format=True)
    return out
