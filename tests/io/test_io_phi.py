"""No PHI in any io error message (DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile).

Every identifying or free-text attribute of Annex E Table E.1-1 that a CT file can carry is set
to a unique marker string, and so are the folder and file names. Each io error path is then
triggered; no marker may appear in any message. UIDs are the identifiers messages may name
(with indexes, counts and tags), so they are not marked here; a UID holding text is shown as
``<malformed UID>`` (checked in test_io_tags).
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from samd_core import Volume
from samd_core.errors import SamdError
from samd_core.io import read_dicom_image, read_dicom_series, read_image, write_dicom_image, write_dicom_series

#: Annex E Table E.1-1 attributes (PS3.15 2024b) with text, person-name, date/time or
#: identifier values that a single-frame image can carry (sequences and UIDs left out).
ANNEX_E_TEXT = (
    "AccessionNumber", "AcquisitionComments", "AcquisitionDate", "AcquisitionDateTime", "AcquisitionDeviceProcessingDescription",
    "AcquisitionTime", "AdditionalPatientHistory", "AdmissionID", "AdmittingDiagnosesDescription", "Allergies",
    "BranchOfService", "CommentsOnThePerformedProcedureStep", "ConsultingPhysicianName", "ContentDate", "ContentTime",
    "ContrastBolusAgent", "CountryOfResidence", "CurrentPatientLocation", "DerivationDescription", "DetectorID",
    "DeviceSerialNumber", "EthnicGroup", "GantryID", "ImageComments", "InstitutionAddress", "InstitutionName",
    "InstitutionalDepartmentName", "IssuerOfPatientID", "MedicalAlerts", "MedicalRecordLocator", "MilitaryRank",
    "NameOfPhysiciansReadingStudy", "Occupation", "OperatorsName", "OtherPatientIDs", "OtherPatientNames",
    "PatientAddress", "PatientAge", "PatientBirthDate", "PatientBirthName", "PatientBirthTime", "PatientComments",
    "PatientID", "PatientMotherBirthName", "PatientName", "PatientReligiousPreference", "PatientSex",
    "PatientSexNeutered", "PatientSize", "PatientState", "PatientTelephoneNumbers", "PatientWeight",
    "PerformedLocation", "PerformedProcedureStepDescription", "PerformedProcedureStepID",
    "PerformedStationAETitle", "PerformedStationName", "PerformingPhysicianName", "PhysiciansOfRecord",
    "PlateID", "ProtocolName", "ReasonForStudy", "ReferringPhysicianAddress", "ReferringPhysicianName",
    "ReferringPhysicianTelephoneNumbers", "RegionOfResidence", "RequestedProcedureDescription",
    "RequestedProcedureID", "RequestingPhysician", "RequestingService", "ResponsibleOrganization",
    "ResponsiblePerson", "ScheduledProcedureStepDescription", "SeriesDate", "SeriesDescription", "SeriesTime",
    "SmokingStatus", "SpecialNeeds", "StationName", "StudyComments", "StudyDate", "StudyDescription", "StudyID",
    "StudyTime", "TextComments", "TextString", "VisitComments",
)

MARK = "ZQX"


def _marker(k: int) -> str:
    return f"{MARK}{k:03d}SMITH"


def _mark(path: Path, offset: int = 0) -> None:
    """Set every Annex E attribute of ``path`` to its marker (raw bytes: no VR validation)."""
    ds = pydicom.dcmread(path)
    for k, keyword in enumerate(ANNEX_E_TEXT):
        tag = Tag(tag_for_keyword(keyword))
        value = _marker(k + offset).encode()
        if len(value) % 2:
            value += b" "
        if tag in ds:
            del ds[tag]
        ds[tag] = RawDataElement(tag, dictionary_VR(tag), len(value), value, 0, False, True)
    ds.save_as(path)


def _edit(path: Path, **values: object) -> None:
    ds = pydicom.dcmread(path)
    for k, v in values.items():
        setattr(ds, k, v)
    ds.save_as(path)


def _marked_series(d: Path, *, series_number: int = 1, n: int = 6, offset: int = 0, **kw: object) -> list[Path]:
    arr = np.random.default_rng(5).integers(-1000, 1500, size=(n, 10, 12)).astype(np.int16)
    files = write_dicom_series(
        Volume(arr, (2.0, 0.7, 0.7)), d, series_number=series_number,
        file_name=f"{MARK}{series_number}_Smith^John_{{index:03d}}.dcm", uid_seed=f"{MARK}-seed", **kw,  # type: ignore[arg-type]
    )
    for f in files:
        _mark(f, offset)
    return files


# Each breaker gets an empty folder (whose name holds a marker) and returns (folder, kwargs).
def missing_slice(d: Path):
    _marked_series(d)[3].unlink()
    return d, {}


def two_series(d: Path):
    _marked_series(d, series_number=1)
    _marked_series(d, series_number=2, offset=500)
    return d, {}


def unknown_series(d: Path):
    _marked_series(d)
    return d, {"series_uid": "1.2.3"}


def non_image(d: Path):
    _marked_series(d)
    shutil.copy(get_testdata_file("test-SR.dcm", download=False), d / f"{MARK}SR_Smith.dcm")
    _mark(d / f"{MARK}SR_Smith.dcm")
    return d, {}


def projection(d: Path):
    f = _marked_series(d)
    _edit(f[2], SOPClassUID="1.2.840.10008.5.1.4.1.1.1.1")
    return d, {}


def bad_thickness(d: Path):
    f = _marked_series(d)
    ds = pydicom.dcmread(f[1])
    tag = Tag(tag_for_keyword("SliceThickness"))
    del ds[tag]
    ds[tag] = RawDataElement(tag, "DS", 4, b"abcd", 0, False, True)
    ds.save_as(f[1])
    return d, {}


def zero_slope(d: Path):
    f = _marked_series(d)
    _edit(f[1], RescaleSlope="0")
    return d, {}


def patient_differs(d: Path):
    f = _marked_series(d)
    _mark(f[4], offset=300)
    return d, {}


def pixel_representation_differs(d: Path):
    f = _marked_series(d)
    _edit(f[4], PixelRepresentation=1)
    return d, {}


def truncated(d: Path):
    f = _marked_series(d)
    f[2].write_bytes(f[2].read_bytes()[:-40])
    return d, {}


def truncated_header(d: Path):
    f = _marked_series(d)
    f[2].write_bytes(f[2].read_bytes()[:400])
    return d, {}


def not_dicom(d: Path):
    _marked_series(d)
    (d / f"{MARK}notes_Smith.txt").write_text(f"{MARK} Smith John")
    return d, {}


def empty_file(d: Path):
    _marked_series(d)
    (d / f"{MARK}empty_Smith.dcm").write_bytes(b"")
    return d, {}


def localizers(d: Path):
    for f in _marked_series(d):
        _edit(f, ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"])
    return d, {}


def orientation(d: Path):
    f = _marked_series(d)
    _edit(f[1], ImageOrientationPatient=[0, 1, 0, 0, 0, -1])
    return d, {}


def size(d: Path):
    f = _marked_series(d)
    ds = pydicom.dcmread(f[1])
    ds.Columns = 11
    ds.PixelData = ds.PixelData[: 10 * 11 * 2]
    ds.save_as(f[1])
    return d, {}


def spacing(d: Path):
    f = _marked_series(d)
    _edit(f[1], PixelSpacing=[0.9, 0.9])
    return d, {}


def missing_ipp(d: Path):
    f = _marked_series(d)
    ds = pydicom.dcmread(f[1])
    del ds.ImagePositionPatient
    ds.save_as(f[1])
    return d, {}


def off_line(d: Path):
    f = _marked_series(d)
    _edit(f[2], ImagePositionPatient=[5.0, 0.0, 4.0])
    return d, {}


def duplicate(d: Path):
    f = _marked_series(d)
    ds = pydicom.dcmread(f[2])
    ds.SOPInstanceUID = "1.2.3.4"
    ds.save_as(d / f"{MARK}dup_Smith.dcm")
    return d, {}


def tilt(d: Path):
    _marked_series(d, gantry_tilt_deg=10.0)
    return d, {}


def missing_folder(d: Path):
    return d / f"{MARK}missing_Smith", {}


def empty_folder(d: Path):
    return d, {}


BREAKERS: list[Callable[[Path], tuple[Path, dict]]] = [
    missing_slice, two_series, unknown_series, non_image, projection, bad_thickness, zero_slope,
    patient_differs, pixel_representation_differs, truncated, truncated_header, not_dicom, empty_file,
    localizers, orientation, size, spacing, missing_ipp, off_line, duplicate, tilt, missing_folder, empty_folder,
]


@pytest.mark.verifies("SRS-IO-020")
@pytest.mark.parametrize("breaker", BREAKERS, ids=[b.__name__ for b in BREAKERS])
def test_io_series_errors_carry_no_phi(breaker, tmp_path: Path) -> None:
    d = tmp_path / f"{MARK}dir_Smith^John"
    d.mkdir()
    folder, kwargs = breaker(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SamdError) as info:
            read_dicom_series(folder, **kwargs)
    message = str(info.value)
    assert MARK not in message and "Smith" not in message, message
    assert MARK not in repr(info.value.args)


@pytest.mark.verifies("SRS-IO-020")
def test_io_markers_reach_the_files(tmp_path: Path) -> None:
    """The marking works: a marked series reads, and its files hold every marker."""
    files = _marked_series(tmp_path)
    ds = pydicom.dcmread(files[0])
    assert all(_marker(k) in str(ds[tag_for_keyword(kw)].value) for k, kw in enumerate(ANNEX_E_TEXT))
    vol = read_dicom_series(tmp_path)
    assert MARK not in repr(dict(vol.meta))


@pytest.mark.verifies("SRS-IO-020")
@pytest.mark.parametrize(
    ("name", "content"),
    [(f"{MARK}_Smith.nrrd", b"NRRD0004\ngarbage\n"), (f"{MARK}_Smith.png", None), (f"{MARK}_Smith.xyz", b"x"),
     (f"{MARK}_Smith.jpg", b"\xff\xd8\xff garbage"), (f"{MARK}_Smith.mha", None)],
)
def test_io_read_image_errors_carry_no_phi(name: str, content: bytes | None, tmp_path: Path) -> None:
    path = tmp_path / f"{MARK}dir_Smith" / name
    path.parent.mkdir()
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SamdError) as info:
        read_image(path)
    assert MARK not in str(info.value) and "Smith" not in str(info.value), str(info.value)


IMAGE_BREAKS: dict[str, dict[str, object]] = {
    "bits": {"BitsStored": 17},
    "photometric": {"PhotometricInterpretation": "CMYK"},
    "frames": {"NumberOfFrames": 3},
    "spacing": {"PixelSpacing": ["0", "1"]},
    "samples": {"SamplesPerPixel": 3},
    "slope": {"RescaleSlope": "0"},
    "sop-class": {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2"},
    "size": {"Rows": 4000},
}


@pytest.mark.verifies("SRS-IO-020")
@pytest.mark.parametrize("name", sorted(IMAGE_BREAKS))
def test_io_image_errors_carry_no_phi(name: str, tmp_path: Path) -> None:
    d = tmp_path / f"{MARK}dir_Smith"
    arr = np.random.default_rng(5).integers(0, 4000, size=(10, 12)).astype(np.int16)
    p = write_dicom_image(Volume(arr, (0.2, 0.2)), d / f"{MARK}_Smith^John.dcm", spacing_attribute="PixelSpacing")
    _mark(p)
    _edit(p, **IMAGE_BREAKS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SamdError) as info:
            read_dicom_image(p)
    assert MARK not in str(info.value) and "Smith" not in str(info.value), str(info.value)
