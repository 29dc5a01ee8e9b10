"""`samd predict` with a tiny locked bundle built at test time, on a DICOM series and a NIfTI
file; the bundle pin; the harness reading a DICOM SEG truth mask."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from samd.cli import main


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    pytest.importorskip("torch")
    from samd_core.hashing import sha256_file
    from samd_core.io import write_dicom_series, write_image
    from tests.bundle._factory import make_bundle, small_volume

    root = tmp_path_factory.mktemp("predict")
    make_bundle(root / "bundle")
    vol = small_volume(3)
    write_dicom_series(vol, root / "series", uid_seed="samd-test/predict",
                       patient={"PatientName": "TEST^PREDICT", "PatientID": "T-001"})
    write_image(vol, root / "image.nii.gz")
    return {"root": root, "sha": sha256_file(root / "bundle" / "manifest.json")}


@pytest.mark.verifies("SRS-PREDICT-001", "SRS-PREDICT-002", "SRS-PREDICT-003")
def test_predict_cli_dicom_series(setup: dict) -> None:
    root = setup["root"]
    r = CliRunner().invoke(main, ["predict", str(root / "bundle"), str(root / "series"), "--out", str(root / "o1"),
                                  "--dicom-seg", "--dicom-sr", "--expected-sha256", setup["sha"]])
    assert r.exit_code == 0, r.output
    rec = json.loads((root / "o1" / "prediction.json").read_text())
    assert rec["bundle"]["manifest_sha256"] == setup["sha"] and rec["bundle"]["name"] == "tiny-test"
    assert rec["files"] == ["label.nii.gz", "prediction.json", "seg.dcm", "sr.dcm"]
    assert "TEST" not in json.dumps(rec) and "T-001" not in json.dumps(rec)
    from samd_core.io import read_dicom_seg, read_image

    label = read_image(root / "o1" / "label.nii.gz")
    assert np.array_equal(read_dicom_seg(root / "o1" / "seg.dcm").array, label.array)


@pytest.mark.verifies("SRS-PREDICT-001")
def test_predict_nifti_and_refusals(setup: dict) -> None:
    from samd_core.bundle import BundleIntegrityError
    from samd_core.errors import InvalidParameterError
    from samd_core.predict_file import predict_file

    root = setup["root"]
    res = predict_file(root / "bundle", root / "image.nii.gz", root / "o2")
    assert res.record["input"]["kind"] == "image" and sorted(p.name for p in res.files.values()) == [
        "label.nii.gz", "prediction.json"]
    with pytest.raises(InvalidParameterError, match="dicom_seg"):
        predict_file(root / "bundle", root / "image.nii.gz", root / "o3", dicom_seg=True)
    with pytest.raises(BundleIntegrityError, match="expected_sha256"):
        predict_file(root / "bundle", root / "series", root / "o4", expected_sha256="0" * 64)
    assert not (root / "o4").exists()  # refused before anything ran


@pytest.mark.verifies("SRS-PREDICT-005")
def test_harness_reads_dicom_seg_truth_masks(setup: dict) -> None:
    from validation.harness._cases import load_mask

    root = setup["root"]
    if not (root / "o1" / "seg.dcm").exists():
        CliRunner().invoke(main, ["predict", str(root / "bundle"), str(root / "series"), "--out", str(root / "o1"),
                                  "--dicom-seg"])
    from samd_core.io import read_image

    label = read_image(root / "o1" / "label.nii.gz")
    mask, spacing = load_mask(root / "o1" / "seg.dcm")
    assert np.array_equal(mask, np.asarray(label.array) != 0) and spacing == pytest.approx(label.spacing)


@pytest.mark.verifies("SRS-PREDICT-002", "SRS-PREDICT-003")
def test_prediction_methods_write_the_same_objects(setup: dict, tmp_path: Path) -> None:
    import pydicom

    import samd_core
    from samd_core.io import read_dicom_seg, read_dicom_series

    root = setup["root"]
    model = samd_core.load_locked(root / "bundle")
    vol = read_dicom_series(root / "series")
    pred = model.predict(vol)
    seg = pred.write_dicom_seg(tmp_path / "seg.dcm", source=root / "series", model=model)
    sr = pred.write_dicom_sr(tmp_path / "sr.dcm", source=root / "series", model=model, seg=seg)
    assert np.array_equal(read_dicom_seg(seg, reference=vol).array, np.asarray(pred.label.array))
    ds = pydicom.dcmread(sr)
    # same inputs, same derived UIDs as `samd predict`
    if (root / "o1" / "sr.dcm").exists():
        assert ds.SOPInstanceUID == pydicom.dcmread(root / "o1" / "sr.dcm").SOPInstanceUID
    assert ds.PatientID == "T-001"  # Patient module copied from the source, as DICOM requires
