"""Bundle mode: resume after kill -9 without recomputation; no PHI in any output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.harness import _fake_bundle_run
from tests.harness._factory import sha256

ROOT = Path(__file__).resolve().parents[2]

PROTOCOL = """\
id: SAP-BUNDLE-001
device:
  bundle: bundle/
  score: {column: score, higher_is_positive: true, is_probability: false}
  threshold: 50
manifest: manifest.csv
truth: {column: label, positive: "1"}
endpoints:
  - {id: auc, metric: roc_auc, ci: bootstrap_percentile, acceptance: {ci_low_at_least: 0.6}}
  - {id: sens, metric: sensitivity, ci: wilson, acceptance: {value_at_least: 0.5}}
subgroups:
  min_size: 5
  variables: [{column: site}]
bootstrap: {replicates: 300, seed: 11}
multiplicity: bh
"""


def _mha_study(root: Path, n: int = 40) -> Path:
    import SimpleITK as sitk

    rng = np.random.default_rng(5)
    (root / "img").mkdir(parents=True)
    (root / "bundle").mkdir()
    rows = ["case_id,label,site,path,sha256"]
    for i in range(n):
        y = i % 2
        arr = (rng.normal(55 if y else 45, 8) + rng.normal(0, 1, (2, 4, 4))).astype(np.float32)
        f = root / "img" / f"B{i:03d}.mha"
        sitk.WriteImage(sitk.GetImageFromArray(arr), str(f))
        rows.append(f"B{i:03d},{y},{'XY'[i % 3 == 0]},img/B{i:03d}.mha,{sha256(f)}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    (root / "protocol.yaml").write_text(PROTOCOL)
    return root / "protocol.yaml"


def _cmd(root: Path, out: str, calls: str, delay: float) -> list[str]:
    return [sys.executable, str(Path(_fake_bundle_run.__file__)), str(root / "protocol.yaml"), str(root / out),
            str(root / "audit.jsonl"), f"sqlite:///{root}/mlflow.db", str(root / calls), str(delay)]


@pytest.mark.slow
@pytest.mark.verifies("SRS-HARNESS-030")
def test_harness_bundle_resume_after_kill9(tmp_path: Path) -> None:
    _mha_study(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_cmd(tmp_path, "out", "calls1.txt", 0.15), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cases = tmp_path / "out" / "cases"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if cases.is_dir() and len(list(cases.glob("*.json"))) >= 12:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "run finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(cases.glob("*.json")))
    assert 12 <= done_before < 40
    assert not (tmp_path / "out" / "result.json").exists()
    # resume: only the unfinished cases are computed
    r2 = subprocess.run(_cmd(tmp_path, "out", "calls2.txt", 0.0), env=env, capture_output=True, timeout=600)
    assert r2.returncode in (0, 1), r2.stderr.decode()[-2000:]
    assert len((tmp_path / "calls2.txt").read_text().splitlines()) == 40 - done_before
    assert b"cases" in r2.stderr  # tqdm progress bar
    # an uninterrupted run in a fresh folder gives the same results
    r3 = subprocess.run(_cmd(tmp_path, "out_full", "calls3.txt", 0.0), env=env, capture_output=True, timeout=600)
    assert r3.returncode == r2.returncode, r3.stderr.decode()[-2000:]
    assert len((tmp_path / "calls3.txt").read_text().splitlines()) == 40
    a = json.loads((tmp_path / "out" / "result.json").read_text())
    b = json.loads((tmp_path / "out_full" / "result.json").read_text())
    for key in ("endpoints", "subgroups", "interaction_tests", "verdict", "model_sha256", "protocol_sha256"):
        assert a[key] == b[key], key
    assert a["device"]["cases_reused"] == done_before and b["device"]["cases_reused"] == 0
    assert (tmp_path / "out" / "cases.csv").read_bytes() == (tmp_path / "out_full" / "cases.csv").read_bytes()


PHI = {"PatientName": "Zyxwvut^Quintessa", "PatientID": "PHI-ID-7788991", "PatientBirthDate": "19450317",
       "AccessionNumber": "ACC-PHI-556677"}


def _dicom_study(root: Path, n: int = 24) -> None:
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    (root / "dcm").mkdir(parents=True)
    (root / "bundle").mkdir()
    rng = np.random.default_rng(9)
    rows = ["case_id,label,site,path,sha256"]
    for i in range(n):
        y = i % 2
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        f = root / "dcm" / f"case{i:03d}.dcm"
        ds = FileDataset(str(f), {}, file_meta=meta, preamble=b"\0" * 128)
        for k, v in PHI.items():
            setattr(ds, k, v)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.Modality = "CT"
        ds.Rows = ds.Columns = 8
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.PixelSpacing, ds.SliceThickness = [0.7, 0.7], 1.0
        ds.ImagePositionPatient, ds.ImageOrientationPatient = [0, 0, 0], [1, 0, 0, 0, 1, 0]
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        arr = (rng.normal(56 if y else 44, 6) + rng.normal(0, 2, (8, 8))).astype(np.int16)
        ds.PixelData = arr.tobytes()
        ds.save_as(str(f), enforce_file_format=True)
        rows.append(f"P{i:03d},{y},{'XY'[i % 2]},dcm/case{i:03d}.dcm,{sha256(f)}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    (root / "protocol.yaml").write_text(PROTOCOL.replace("min_size: 5", "min_size: 3"))


@pytest.mark.slow
@pytest.mark.verifies("SRS-HARNESS-031")
def test_harness_bundle_no_phi_in_any_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pydicom

    _dicom_study(tmp_path)
    assert pydicom.dcmread(tmp_path / "dcm" / "case000.dcm").PatientID == PHI["PatientID"]
    import samd_core

    monkeypatch.setattr(samd_core, "load_locked",
                        lambda path, **kw: _fake_bundle_run.FakeLockedModel(str(tmp_path / "calls.txt"), 0.0),
                        raising=False)
    monkeypatch.chdir(tmp_path)
    from validation.harness import run_validation

    o = run_validation(tmp_path / "protocol.yaml", out_dir=tmp_path / "out", audit_log=tmp_path / "audit.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
    assert o.result["n_cases"] == 24
    scanned = 0
    needles = [v.encode() for v in PHI.values()] + [b"Zyxwvut", b"Quintessa", b"1945-03-17"]
    for p in tmp_path.rglob("*"):
        if not p.is_file() or p.parent.name == "dcm":
            continue
        data = p.read_bytes()
        scanned += 1
        for needle in needles:
            for form in (needle, needle.decode().encode("utf-16-le")):
                assert form not in data, f"{needle!r} found in {p.relative_to(tmp_path)}"
    assert scanned >= 15  # result, tables, plots, environment, audit log, MLflow db and artifacts
    assert (tmp_path / "mlflow.db").exists() and (tmp_path / "audit.jsonl").exists()
    assert any((tmp_path / "mlartifacts").rglob("result.json"))
