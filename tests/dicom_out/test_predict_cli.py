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


@pytest.mark.external_tools
def test_predict_classifier_on_a_dx_image_writes_a_clean_sr_with_the_score(tmp_path: Path) -> None:
    """The second reference device (2-D ONNX classifier): `samd predict` on one DX image writes
    prediction.json with class probabilities and a TID 1500 SR (no SEG: a classifier has no mask)
    that passes dciodvfy and holds the case score."""
    import json
    import shutil
    import subprocess
    import sys

    import pydicom

    from reference_devices.radiograph import write_radiograph_cohort
    from samd_core import load_locked
    from samd_core.io import read_dicom_image

    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy missing")
    root = Path(__file__).resolve().parents[2]
    bundle = root / "samd_core" / "bundles" / "cxr_triage_v1"
    manifest = write_radiograph_cohort(tmp_path / "c", n_cases=1, seed=8, prevalence=1.0)
    image = next(manifest.parent.glob("*/image.dcm"))
    res = subprocess.run([sys.executable, "-m", "samd", "predict", str(bundle), str(image), "--out",
                          str(tmp_path / "o"), "--dicom-sr", "--public-key",
                          str(root / "samd_core" / "bundles" / "release_public_key.pem")],
                         capture_output=True, text=True, cwd=root)
    assert res.returncode == 0, res.stderr
    rec = json.loads((tmp_path / "o" / "prediction.json").read_text())
    expected = load_locked(bundle).predict(read_dicom_image(image))
    assert rec["score"] == expected.score and set(rec["probabilities"]) == {"normal", "finding"}
    assert rec["label_sha256"] is None and not (tmp_path / "o" / "seg.dcm").exists()
    sr = tmp_path / "o" / "sr.dcm"
    out = subprocess.run(["dciodvfy", str(sr)], capture_output=True, text=True)
    assert not [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]
    values = []

    def walk(ds: pydicom.Dataset) -> None:
        for item in ds.get("ContentSequence", []):
            for mv in item.get("MeasuredValueSequence", []):
                values.append(float(mv.NumericValue))
            walk(item)

    walk(pydicom.dcmread(sr))
    assert any(abs(v - expected.score) < 1e-6 for v in values), values
    bad = subprocess.run([sys.executable, "-m", "samd", "predict", str(bundle), str(image), "--out",
                          str(tmp_path / "o2"), "--dicom-seg"], capture_output=True, text=True, cwd=root)
    assert bad.returncode == 2 and "segmentation bundle" in bad.stderr and "Traceback" not in bad.stderr
