"""`write_dicom_series`: a standard-conformant CT / MR Image Storage series from a `Volume`."""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    MRImageStorage,
    PYDICOM_IMPLEMENTATION_UID,
    RLELossless,
)

from samd_core.errors import InvalidParameterError
from samd_core.io._uids import derive_uid
from samd_core.volume import Volume

__all__ = ["PATIENT_FIELDS", "TRANSFER_SYNTAXES", "write_dicom_series"]

_FN = "write_dicom_series"

#: Transfer syntax names accepted by `write_dicom_series`.
TRANSFER_SYNTAXES: Mapping[str, str] = {
    "explicit": ExplicitVRLittleEndian,
    "implicit": ImplicitVRLittleEndian,
    "rle": RLELossless,
    "jpeg2000": JPEG2000Lossless,
}

#: Identity keywords a caller may set (fake values for test data; empty by default).
PATIENT_FIELDS: frozenset[str] = frozenset(
    {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "PatientAge",
        "AccessionNumber",
        "ReferringPhysicianName",
        "StudyID",
        "StudyDescription",
        "InstitutionName",
    }
)

Rescale = Literal["auto"] | tuple[float, float] | Sequence[tuple[float, float]]


def _ds(values: Sequence[float]) -> list[str]:
    """Decimal String values: at most 16 characters each (PS3.5 Table 6.2-1)."""
    out = []
    for v in values:
        s = f"{float(v):.10g}"
        if len(s) > 16:
            s = f"{float(v):.8g}"
        if len(s) > 16:
            s = f"{float(v):.6e}"
        out.append(s)
    return out


def _auto_rescale(arr: np.ndarray, modality: str) -> tuple[float, float]:
    lo, hi = float(arr.min()), float(arr.max())
    integer = bool(np.all(np.mod(arr, 1) == 0)) if arr.dtype.kind == "f" else True
    if integer:
        if modality == "CT" and lo >= -1024 and hi <= 65535 - 1024:
            return 1.0, -1024.0
        if lo >= 0 and hi <= 65535:
            return 1.0, 0.0
        if lo >= -32768 and hi <= 32767:
            return 1.0, 0.0
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    return slope, lo


def _pixel_representation(volume: Volume, rescales: list[tuple[float, float]]) -> int:
    """One PixelRepresentation for the whole series (0 unsigned, 1 signed): readers refuse a mix.

    Unsigned when every slice's stored values fit 0..65535, else signed when they all fit
    -32768..32767.
    """
    ranges = []
    for k in range(volume.shape[0]):
        slope, intercept = rescales[k]
        raw = np.rint((np.asarray(volume.array[k], dtype=np.float64) - intercept) / slope)
        ranges.append((float(raw.min()), float(raw.max())))
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    if lo >= 0 and hi <= 65535:
        return 0
    if lo >= -32768 and hi <= 32767:
        return 1
    k = next(i for i, r in enumerate(ranges) if r[0] in (lo,) or r[1] in (hi,))
    raise InvalidParameterError(
        "rescale",
        _FN,
        "(slope, intercept) pairs that map every slice into one 16-bit stored range (all unsigned or all signed)",
        f"stored range [{lo:g}, {hi:g}] over the series (e.g. slice {k}: [{ranges[k][0]:g}, {ranges[k][1]:g}])",
    )


def _stored(slab: np.ndarray, slope: float, intercept: float, pixrep: int) -> np.ndarray:
    """Stored integers of one slice, in the series' PixelRepresentation (checked to fit)."""
    raw = np.rint((slab.astype(np.float64) - intercept) / slope)
    return raw.astype("<i2" if pixrep else "<u2")


def _rescales(vol: Volume, rescale: Rescale, modality: str) -> list[tuple[float, float]]:
    n = vol.shape[0]
    if isinstance(rescale, str):
        if rescale != "auto":
            raise InvalidParameterError("rescale", _FN, "'auto' or (slope, intercept) pairs", rescale, ["auto"])
        return [_auto_rescale(np.asarray(vol.array), modality)] * n
    arr = np.asarray(rescale, dtype=float)
    if arr.shape == (2,):
        arr = np.tile(arr, (n, 1))
    if arr.shape != (n, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 0] == 0):
        raise InvalidParameterError(
            "rescale", _FN, f"'auto', one (slope, intercept) or {n} pairs with finite non-zero slope", rescale
        )
    return [(float(s), float(i)) for s, i in arr]


def _validate(volume: Volume, modality: str, transfer_syntax: str, patient: Mapping[str, str], tilt: float) -> None:
    if not isinstance(volume, Volume) or volume.array.ndim != 3:
        raise InvalidParameterError("volume", _FN, "a 3-D samd_core.Volume", type(volume).__name__)
    if volume.array.dtype.kind not in "iuf" or not np.all(np.isfinite(volume.array)):
        raise InvalidParameterError("volume", _FN, "a finite integer or float array", str(volume.array.dtype))
    if modality not in ("CT", "MR"):
        raise InvalidParameterError("modality", _FN, "one of 'CT', 'MR'", modality, ["CT", "MR"])
    if transfer_syntax not in TRANSFER_SYNTAXES:
        raise InvalidParameterError(
            "transfer_syntax", _FN, f"one of {sorted(TRANSFER_SYNTAXES)}", transfer_syntax, TRANSFER_SYNTAXES
        )
    if transfer_syntax == "jpeg2000" and min(volume.shape[1:]) < 32:
        # openjpeg's encoder uses 6 resolution levels: each side needs >= 2**5 pixels.
        raise InvalidParameterError(
            "volume", _FN, "at least 32 rows and 32 columns for transfer_syntax 'jpeg2000'", volume.shape
        )
    bad = sorted(set(patient) - PATIENT_FIELDS)
    if bad:
        raise InvalidParameterError("patient", _FN, f"keys among {sorted(PATIENT_FIELDS)}", bad[0], PATIENT_FIELDS)
    if not (math.isfinite(tilt) and abs(tilt) < 45) or (tilt and modality != "CT"):
        raise InvalidParameterError("gantry_tilt_deg", _FN, "a finite angle in (-45, 45) degrees, CT only", tilt)


def _common(
    modality: str,
    uids: dict[str, str],
    when: _dt.datetime,
    patient: Mapping[str, str],
    series_number: int,
    series_description: str,
    manufacturer: str,
    body_part: str,
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage if modality == "CT" else MRImageStorage
    date, time = when.strftime("%Y%m%d"), when.strftime("%H%M%S")
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = time
    for key in ("AccessionNumber", "ReferringPhysicianName", "PatientName", "PatientID"):
        setattr(ds, key, "")
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyID = ""
    for key, value in patient.items():
        setattr(ds, key, value)
    ds.Modality = modality
    ds.Manufacturer = manufacturer
    ds.SeriesDescription = series_description
    ds.BodyPartExamined = body_part
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.SeriesNumber = series_number
    ds.AcquisitionNumber = 1
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.BurnedInAnnotation = "NO"
    return ds


def _modality_module(ds: Dataset, modality: str, kvp: float, kernel: str, spacing_z: float) -> None:
    if modality == "CT":
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.KVP = _ds([kvp])[0]
        ds.ConvolutionKernel = kernel
        ds.RescaleType = "HU"
    else:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "3D"
        ds.RepetitionTime = "500"
        ds.EchoTime = "15"
        ds.EchoTrainLength = 1
        ds.MagneticFieldStrength = "1.5"
        ds.ImagedNucleus = "1H"
        ds.SpacingBetweenSlices = _ds([spacing_z])[0]


def write_dicom_series(
    volume: Volume,
    folder: str | os.PathLike[str],
    *,
    modality: Literal["CT", "MR"] = "CT",
    uid_seed: str = "samd",
    uid_prefix: str = "2.25.",
    series_number: int = 1,
    series_description: str = "samd series",
    transfer_syntax: Literal["explicit", "implicit", "rle", "jpeg2000"] = "explicit",
    rescale: Rescale = "auto",
    patient: Mapping[str, str] | None = None,
    acquisition_datetime: _dt.datetime = _dt.datetime(2020, 1, 1, 12, 0, 0),
    manufacturer: str = "samd",
    convolution_kernel: str = "STANDARD",
    kvp: float = 120.0,
    body_part: str = "HEAD",
    gantry_tilt_deg: float = 0.0,
    file_name: str = "IM{index:05d}.dcm",
) -> list[Path]:
    """Write a 3-D `Volume` as a CT or MR Image Storage series, one file per slice.

    The output passes ``dciodvfy`` (dicom3tools) with no errors. Nothing random goes in: UIDs
    are derived from ``uid_seed`` (study and frame of reference from the seed alone, series and
    SOP instances from seed + ``series_number``), so the same call writes identical bytes.

    Parameters
    ----------
    volume : Volume
        3-D volume, array order ``(z, y, x)``; values in output units (HU for CT).
        Slice ``k`` goes to ImagePositionPatient ``origin + k * spacing[0] * direction[:, 0]``;
        ImageOrientationPatient is ``(direction[:, 2], direction[:, 1])`` (row, column cosines);
        PixelSpacing is ``(spacing[1], spacing[2])`` mm; SliceThickness is ``spacing[0]`` mm.
    folder : path
        Created if missing. Existing files with the same names are overwritten.
    modality : {"CT", "MR"}
        SOP class (CT Image Storage or MR Image Storage).
    uid_seed, uid_prefix : str
        Seed and root of the deterministic UIDs (see `derive_uid`). Two calls with the same seed
        and different ``series_number`` give two series of one study and frame of reference.
    series_number : int
        SeriesNumber; also separates the series UIDs of one seed.
    series_description : str
        SeriesDescription.
    transfer_syntax : {"explicit", "implicit", "rle", "jpeg2000"}
        Explicit / implicit VR little endian, RLE Lossless or JPEG 2000 Lossless (pylibjpeg;
        openjpeg's encoder needs at least 32 rows and 32 columns).
    rescale : "auto" or (slope, intercept) or a sequence of one pair per slice
        Stored value = round((value - intercept) / slope). ``"auto"`` uses slope 1 and intercept
        -1024 for integer CT data in [-1024, 64511], slope 1 / intercept 0 for other 16-bit
        integer data, else a linear map of the data range onto 0..65535 (lossy for non-integer
        floats). The series is stored unsigned when every slice's stored values allow, otherwise
        signed (one PixelRepresentation for all slices: readers refuse a mix).
    patient : mapping, optional
        Identity attributes (keywords in `PATIENT_FIELDS`), e.g. fake names for test data.
        Unset Type 2 identity attributes are written empty.
    acquisition_datetime : datetime
        Study/series/acquisition/content date and time.
    manufacturer, convolution_kernel, kvp, body_part : str, str, float, str
        Equipment and acquisition attributes (kernel and kVp for CT only).
    gantry_tilt_deg : float
        CT only. Writes the slices as acquired with the gantry tilted by this angle: the column
        cosines become ``cos(t) * direction[:, 1] + sin(t) * direction[:, 0]`` while the table
        positions stay on the slice axis, and GantryDetectorTilt is set. This produces a sheared
        series (for testing readers), not a resampling of the volume.
    file_name : str
        Pattern formatted with ``index`` (0-based slice index) for each file name.

    Returns
    -------
    list of pathlib.Path
        The files written, in slice order.
    """
    patient = dict(patient or {})
    _validate(volume, modality, transfer_syntax, patient, float(gantry_tilt_deg))
    if not isinstance(series_number, int) or series_number < 0:
        raise InvalidParameterError("series_number", _FN, "an integer >= 0", series_number)
    uids = {
        "study": derive_uid(uid_prefix, uid_seed, "study"),
        "frame": derive_uid(uid_prefix, uid_seed, "frame-of-reference"),
        "series": derive_uid(uid_prefix, uid_seed, "series", series_number),
    }
    rescales = _rescales(volume, rescale, modality)
    pixrep = _pixel_representation(volume, rescales)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    d = volume.direction_matrix
    sz, sy, sx = volume.spacing
    t = math.radians(float(gantry_tilt_deg))
    col = math.cos(t) * d[:, 1] + math.sin(t) * d[:, 0]
    iop = _ds([*d[:, 2], *col])
    base = _common(
        modality, uids, acquisition_datetime, patient, series_number, series_description, manufacturer, body_part
    )
    _modality_module(base, modality, kvp, convolution_kernel, sz)
    base.Rows, base.Columns = volume.shape[1], volume.shape[2]
    base.PixelSpacing = _ds([sy, sx])
    base.SliceThickness = _ds([sz])[0]
    base.ImageOrientationPatient = iop
    if gantry_tilt_deg:
        base.GantryDetectorTilt = _ds([gantry_tilt_deg])[0]
    normal = np.cross(d[:, 2], col)
    written = []
    for k in range(volume.shape[0]):
        ds = Dataset()
        ds.update(base)
        sop = derive_uid(uid_prefix, uid_seed, "sop", series_number, k)
        ds.SOPInstanceUID = sop
        ds.InstanceNumber = k + 1
        ipp = np.asarray(volume.origin) + k * sz * d[:, 0]
        ds.ImagePositionPatient = _ds(ipp)
        ds.SliceLocation = _ds([float(ipp @ normal)])[0]
        slope, intercept = rescales[k]
        stored = _stored(np.asarray(volume.array[k]), slope, intercept, pixrep)
        ds.PixelRepresentation = pixrep
        if modality == "CT" or (slope, intercept) != (1.0, 0.0):
            # The MR IOD has no rescale; real MR often carries it (Standard Extended SOP Class).
            ds.RescaleIntercept = _ds([intercept])[0]
            ds.RescaleSlope = _ds([slope])[0]
        _window(ds, modality, volume.array[k])
        ds.PixelData = stored.tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = sop
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        syntax = TRANSFER_SYNTAXES[transfer_syntax]
        if syntax in (RLELossless, JPEG2000Lossless):
            # keep our derived SOP Instance UID (compress() would otherwise generate a random one)
            ds.compress(
                syntax,
                encoding_plugin="pylibjpeg" if syntax == JPEG2000Lossless else "",
                generate_instance_uid=False,
            )
        else:
            meta.TransferSyntaxUID = syntax
        path = out / file_name.format(index=k)
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def _window(ds: Dataset, modality: str, slab: np.ndarray) -> None:
    if modality == "CT":
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        return
    lo, hi = float(np.min(slab)), float(np.max(slab))
    ds.WindowCenter = _ds([(lo + hi) / 2])[0]
    ds.WindowWidth = _ds([max(hi - lo, 1.0)])[0]
