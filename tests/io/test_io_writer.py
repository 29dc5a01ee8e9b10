"""write_dicom_series: determinism, UIDs, identity fields, rescale rules, parameter errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest

from samd_core import Volume
from samd_core.errors import InvalidParameterError
from samd_core.io import derive_uid, read_dicom_series, write_dicom_series


def _vol() -> Volume:
    arr = np.random.default_rng(0).integers(-1024, 3000, size=(4, 6, 5)).astype(np.int16)
    return Volume(arr, (1.25, 0.5, 0.75), (1.0, 2.0, 3.0))


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@pytest.mark.verifies("SRS-IO-015")
@pytest.mark.parametrize("ts", ["explicit", "implicit", "rle"])
def test_io_writer_is_deterministic(ts: str, tmp_path: Path) -> None:
    a = write_dicom_series(_vol(), tmp_path / "a", transfer_syntax=ts, uid_seed="x")
    b = write_dicom_series(_vol(), tmp_path / "b", transfer_syntax=ts, uid_seed="x")
    c = write_dicom_series(_vol(), tmp_path / "c", transfer_syntax=ts, uid_seed="y")
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


@pytest.mark.verifies("SRS-IO-015")
def test_io_uids_shared_study_distinct_series(tmp_path: Path) -> None:
    a = pydicom.dcmread(write_dicom_series(_vol(), tmp_path / "a", series_number=1)[0])
    b = pydicom.dcmread(write_dicom_series(_vol(), tmp_path / "b", series_number=2)[0])
    assert a.StudyInstanceUID == b.StudyInstanceUID and a.FrameOfReferenceUID == b.FrameOfReferenceUID
    assert a.SeriesInstanceUID != b.SeriesInstanceUID and a.SOPInstanceUID != b.SOPInstanceUID
    for uid in (a.StudyInstanceUID, a.SeriesInstanceUID, a.SOPInstanceUID):
        assert len(uid) <= 64 and all(part == "0" or not part.startswith("0") for part in uid.split("."))
    assert derive_uid("1.2.826.0.1.3680043.8.498.", "s", 1).startswith("1.2.826.0.1.3680043.8.498.")
    with pytest.raises(InvalidParameterError, match="`uid_prefix` of `derive_uid`"):
        derive_uid("1.2.03", "s")


@pytest.mark.verifies("SRS-IO-013")
def test_io_fake_identity_written_but_never_in_volume_meta(tmp_path: Path) -> None:
    patient = {"PatientName": "Doe^Jane", "PatientID": "ID-12345", "PatientBirthDate": "19800101",
               "AccessionNumber": "ACC9"}
    files = write_dicom_series(_vol(), tmp_path, patient=patient)
    ds = pydicom.dcmread(files[0])
    assert str(ds.PatientName) == "Doe^Jane" and ds.PatientID == "ID-12345"
    vol = read_dicom_series(tmp_path)
    text = repr(dict(vol.meta))
    for value in patient.values():
        assert value not in text


@pytest.mark.verifies("SRS-IO-002")
def test_io_writer_geometry_and_per_slice_rescale(tmp_path: Path) -> None:
    vol = _vol()
    rescale = [(1.0, -1024.0), (0.5, -1000.0), (2.0, -2048.0), (1.0, 0.0)]
    files = write_dicom_series(vol, tmp_path, rescale=rescale)
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        assert [float(v) for v in ds.ImagePositionPatient] == pytest.approx([1.0, 2.0, 3.0 + 1.25 * k])
        assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        assert [float(v) for v in ds.PixelSpacing] == [0.5, 0.75]
        assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == rescale[k]
    back = read_dicom_series(tmp_path)
    # slope 2 on slice 2 quantises odd values: at most half a slope (1 HU) off
    np.testing.assert_allclose(back.array, vol.array, atol=1.0)
    np.testing.assert_array_equal(back.array[[0, 1, 3]], vol.array[[0, 1, 3]])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"modality": "US"}, r"`modality` of `write_dicom_series` must be one of 'CT', 'MR'"),
        ({"transfer_syntax": "rel"}, r"did you mean 'rle'\?"),
        ({"patient": {"PatientNmae": "x"}}, r"did you mean 'PatientName'\?"),
        ({"rescale": [(1.0, 0.0)]}, r"`rescale` of `write_dicom_series`"),
        ({"rescale": (0.0, 0.0)}, r"non-zero slope"),
        ({"rescale": (1.0, 40000.0)}, r"slice 0: \[-41013, -37118\]"),
        ({"gantry_tilt_deg": 60.0}, r"`gantry_tilt_deg` of `write_dicom_series`"),
        ({"modality": "MR", "gantry_tilt_deg": 5.0}, r"CT only"),
        ({"series_number": -1}, r"`series_number`"),
        ({"transfer_syntax": "jpeg2000"}, r"at least 32 rows and 32 columns"),
    ],
)
def test_io_writer_rejects_bad_parameters(kwargs: dict, pattern: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=pattern):
        write_dicom_series(_vol(), tmp_path, **kwargs)


def test_io_writer_rejects_2d_and_nonfinite(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="a 3-D samd_core.Volume"):
        write_dicom_series(Volume(np.zeros((4, 4)), (1, 1)), tmp_path)
    with pytest.raises(InvalidParameterError, match="finite"):
        write_dicom_series(Volume(np.full((2, 4, 4), np.nan), (1, 1, 1)), tmp_path)


@pytest.mark.verifies("SRS-IO-001")
def test_io_reader_result_independent_of_threads_and_json_meta(tmp_path: Path) -> None:
    import json

    files = write_dicom_series(_vol(), tmp_path, rescale=[(1.0, -1024.0), (0.5, -1000.0)] * 2)
    files[2].unlink()
    hashes = {read_dicom_series(tmp_path, accept_gaps=True, max_workers=w).content_sha256() for w in (1, 2, 5)}
    assert len(hashes) == 1
    meta = dict(read_dicom_series(tmp_path, accept_gaps=True).meta)
    assert json.loads(json.dumps(meta)) == meta


@pytest.mark.verifies("SRS-IO-010", "SRS-IO-006")
def test_io_series_uid_reads_images_beside_a_non_image_object(tmp_path: Path) -> None:
    import shutil

    from pydicom.data import get_testdata_file

    files = write_dicom_series(_vol(), tmp_path)
    shutil.copy(get_testdata_file("rtstruct.dcm", download=False), tmp_path / "rtstruct.dcm")
    uid = str(pydicom.dcmread(files[0]).SeriesInstanceUID)
    vol = read_dicom_series(tmp_path, series_uid=uid)
    np.testing.assert_array_equal(vol.array, _vol().array)


@pytest.mark.verifies("SRS-IO-002")
@pytest.mark.parametrize(
    ("values", "rescale", "dtype"),
    [
        ((0, 65535), (1.0, 0.0), np.int32),  # unsigned 16-bit beyond int16
        ((-1024, 3071), (1.0, -1024.0), np.int16),  # typical CT: uint16 stored, int16 out
        ((-32768, 32767), (1.0, 0.0), np.int16),  # signed stored, full range
        ((-2000, 40000), (1.0, -2000.0), np.int32),  # intercept pushes past int16
    ],
)
def test_io_integer_output_dtype_and_values(values, rescale, dtype, tmp_path: Path) -> None:
    lo, hi = values
    arr = np.linspace(lo, hi, 2 * 4 * 5).round().astype(np.int64).reshape(2, 4, 5)
    arr[0, 0, 0], arr[1, -1, -1] = lo, hi
    write_dicom_series(Volume(arr, (1, 1, 1)), tmp_path, modality="MR", rescale=rescale)
    back = read_dicom_series(tmp_path)
    assert back.array.dtype == dtype
    np.testing.assert_array_equal(back.array, arr)
