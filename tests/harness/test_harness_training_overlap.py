"""No training/test overlap (issue #15): test cases sharing a patient, study, series or image with the
model's training set are refused before any case is evaluated; a clean test set says what was checked.

Hashes are checked against their closed form (``sha256("<kind>:" + value)`` with hashlib), never
against values produced by the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from samd_core import Volume
from samd_core.bundle import TrainingSet, case_identifiers, training_set_from_spec
from samd_core.hashing import sha256_identifier, sha256_pixels
from tests.harness._factory import BASE_PROTOCOL, sha256
from validation.audit import iter_records, verify_audit_log
from validation.errors import TrainingOverlapError
from validation.harness import NOT_CHECKED, OVERLAP_FILE, run_validation

N = 12


def _image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4096, (24, 20)).astype(np.uint16)


def _write_dx(path: Path, pixels: np.ndarray, *, uid_seed: str, patient: str) -> None:
    from samd_core.io import write_dicom_image

    path.parent.mkdir(parents=True, exist_ok=True)
    write_dicom_image(Volume(pixels.astype(np.float32), spacing=(0.2, 0.2)), path, modality="DX",
                      uid_seed=uid_seed, patient={"PatientName": "PHANTOM^X", "PatientID": patient})


def _test_study(root: Path) -> Path:
    rows = ["case_id,label,site,age,patient_id,path,sha256"]
    for i in range(N):
        f = root / "images" / f"T{i:03d}.dcm"
        _write_dx(f, _image(100 + i), uid_seed=f"test/{i}", patient=f"PT-{i:03d}")
        rows.append(f"T{i:03d},{i % 2},{'AB'[i % 2]},{40 + i},PT-{i:03d},images/T{i:03d}.dcm,{sha256(f)}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    rng = np.random.default_rng(1)
    (root / "predictions.csv").write_text("case_id,score\n" + "".join(
        f"T{i:03d},{float(np.clip(0.3 + 0.4 * (i % 2) + rng.normal(0, 0.1), 0, 1))!r}\n" for i in range(N)))
    proto = BASE_PROTOCOL.replace("  threshold: 0.5\n", "  threshold: 0.5\n  training_set: training_set.json\n")
    proto = proto.replace("min_size: 25", "min_size: 2").replace("ci_low_at_least: 0.6", "ci_low_at_least: 0.0")
    (root / "protocol.yaml").write_text(proto)
    return root / "protocol.yaml"


def _training(root: Path, overlap: str | None) -> None:
    """Training data: 6 unrelated cases, plus one that overlaps test case T003 by ``overlap`` only."""
    tr = root / "train"
    rows = [["patient_id", "image"]]
    for j in range(6):
        _write_dx(tr / f"R{j}.dcm", _image(900 + j), uid_seed=f"train/{j}", patient=f"TR-{j}")
        rows.append([f"TR-{j}", f"R{j}.dcm"])
    if overlap == "patient_id":  # same patient, another image and other UIDs
        _write_dx(tr / "X.dcm", _image(555), uid_seed="train/x", patient="TR-x")
        rows.append(["PT-003", "X.dcm"])
    elif overlap == "uids":  # same study and series UIDs (same DICOM uid seed), other pixels and patient
        _write_dx(tr / "X.dcm", _image(555), uid_seed="test/3", patient="TR-x")
        rows.append(["TR-x", "X.dcm"])
    elif overlap == "pixel_data":  # the same pixels in another container (MHA), no DICOM identifiers
        from samd_core.io import write_image

        write_image(Volume(_image(103).astype(np.float32), spacing=(0.2, 0.2)), tr / "X.mha")
        rows.append(["TR-x", "X.mha"])
    with open(tr / "train.csv", "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    ts = training_set_from_spec({"manifest": "train/train.csv", "image_column": "image",
                                 "patient_id_column": "patient_id"}, root)
    (root / "training_set.json").write_bytes(ts.to_bytes())


OVERLAPS = [("patient_id", {"patient_id"}), ("uids", {"study_instance_uid", "series_instance_uid"}),
            ("pixel_data", {"pixel_data"})]


@pytest.mark.verifies("SRS-HARNESS-014")
@pytest.mark.parametrize("overlap, kinds", OVERLAPS, ids=[o[0] for o in OVERLAPS])
def test_overlapping_test_case_is_refused_by_kind(tmp_path: Path, overlap: str, kinds: set[str]) -> None:
    proto = _test_study(tmp_path)
    _training(tmp_path, overlap)
    out, audit = tmp_path / "out", tmp_path / "audit.jsonl"
    with pytest.raises(TrainingOverlapError) as ei:
        run_validation(proto, out_dir=out, audit_log=audit, tracking_uri=f"sqlite:///{tmp_path}/m.db", progress=False)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(f"1 of {N} test case(s) overlap")
    assert ei.value.case_ids == ("T003",) and set(ei.value.by_kind) == kinds
    for k in kinds:
        assert k in msg
    assert "PT-003" not in msg and ".dcm" not in msg  # manifest ids only: no patient id, no file name
    assert not (out / "result.json").exists()
    rows = list(csv.DictReader(open(out / OVERLAP_FILE)))
    assert [r["case_id"] for r in rows] == ["T003"] and set(rows[0]["kinds"].split(";")) == kinds
    recs = list(iter_records(audit))
    ov = [r for r in recs if r["action"] == "testset.training_overlap"]
    assert len(ov) == 1 and ov[0]["context"]["cases"] == [{"case_id": "T003", "kinds": sorted(
        kinds, key=["patient_id", "study_instance_uid", "series_instance_uid", "pixel_data"].index)}]
    assert not any(r["action"] == "testset.access" for r in recs)  # refused before any case is evaluated
    assert recs[-1]["action"] == "run.fail"
    assert verify_audit_log(audit).ok
    assert "PT-003" not in audit.read_text() and "PT-003" not in (tmp_path / "training_set.json").read_text()


def test_clean_test_set_passes_and_says_what_was_checked(tmp_path: Path) -> None:
    proto = _test_study(tmp_path)
    _training(tmp_path, None)
    o = run_validation(proto, out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/m.db", progress=False)
    block = json.loads((tmp_path / "out" / "result.json").read_text())["training_overlap"]
    assert block["checked"] is True and block["overlapping_cases"] == 0 and block["source"] == "protocol"
    assert block["training_cases"] == 6
    assert block["kinds"] == {k: {"training_hashes": 6, "test_cases_with_identifier": N}
                              for k in ("patient_id", "study_instance_uid", "series_instance_uid", "pixel_data")}
    assert block["statement"].startswith("no test case overlaps the training set")
    assert o.result["device"]["training_set_file_sha256"] == sha256(tmp_path / "training_set.json")


def test_no_training_set_says_not_checked(tmp_path: Path) -> None:
    proto = _test_study(tmp_path)
    proto.write_text(proto.read_text().replace("  training_set: training_set.json\n", ""))
    run_validation(proto, out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                   tracking_uri=f"sqlite:///{tmp_path}/m.db", progress=False)
    block = json.loads((tmp_path / "out" / "result.json").read_text())["training_overlap"]
    assert block == {"checked": False, "statement": NOT_CHECKED}
    assert NOT_CHECKED == "training/test overlap not checked: no training set declared"


def test_identifier_hashes_have_their_closed_form(tmp_path: Path) -> None:
    f = tmp_path / "a.dcm"
    _write_dx(f, _image(7), uid_seed="x/1", patient="PSEUDO-7")
    import pydicom

    ds = pydicom.dcmread(f)
    ids = case_identifiers(image=f)
    for kind, value in (("patient_id", "PSEUDO-7"), ("study_instance_uid", ds.StudyInstanceUID),
                        ("series_instance_uid", ds.SeriesInstanceUID)):
        assert ids[kind] == (hashlib.sha256(f"{kind}:{value}".encode()).hexdigest(),)
        assert sha256_identifier(kind, f" {value} ") == ids[kind][0]
    arr = _image(7).astype("<f8")
    closed = hashlib.sha256(b"samd-pixels/1\0[24,20]\0" + np.ascontiguousarray(arr).tobytes()).hexdigest()
    assert ids["pixel_data"] == (closed,)
    # independent of stored dtype and container
    assert sha256_pixels(_image(7)) == sha256_pixels(_image(7).astype(np.float32)) == closed


def test_training_set_file_round_trip_and_refusals() -> None:
    ts = TrainingSet.from_cases([{"patient_id": ("b" * 64, "a" * 64)}, {"pixel_data": ("c" * 64,)}])
    doc = json.loads(ts.to_bytes())
    assert doc["hashes"]["patient_id"] == ["a" * 64, "b" * 64] and doc["counts"] == {"patient_id": 2, "pixel_data": 1}
    assert TrainingSet.from_dict(doc) == ts
    from samd_core.errors import InvalidParameterError

    for bad in ({**doc, "hashes": {**doc["hashes"], "patient_id": ["b" * 64, "a" * 64]}},  # unsorted
                {**doc, "counts": {"patient_id": 3, "pixel_data": 1}},
                {**doc, "format": "other/1"},
                {**doc, "hashes": {"mrn": []}}):
        with pytest.raises(InvalidParameterError):
            TrainingSet.from_dict(bad)


def test_bundle_mode_uses_the_bundles_training_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bundle mode: the bundle's own ``training_set`` is checked before inference (no case evaluated)."""
    from types import SimpleNamespace

    import samd_core

    proto = _test_study(tmp_path)
    text = proto.read_text().replace("  predictions: predictions.csv\n", "  bundle: bundle/\n")
    proto.write_text(text.replace("  training_set: training_set.json\n", ""))
    (tmp_path / "bundle").mkdir()
    from samd_core.bundle import case_identifiers as ci

    shared = ci(image=tmp_path / "images" / "T005.dcm", kinds=("pixel_data",))
    model = SimpleNamespace(threshold=0.5, manifest_sha256="b" * 64, name="m", version="1",
                            training_set=TrainingSet.from_cases([shared]))
    calls: list[str] = []
    monkeypatch.setattr(samd_core, "load_locked", lambda path, **kw: calls.append("load") or model)
    with pytest.raises(TrainingOverlapError, match=r"1 of 12 test case\(s\) overlap .*pixel_data 1\): T005;"):
        run_validation(proto, out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/m.db", progress=False)
    assert calls == ["load"] and not (tmp_path / "out" / "cases").exists()  # identified, never run


@pytest.mark.slow
def test_the_check_on_dask_workers_gives_the_in_process_outcome(tmp_path: Path) -> None:
    """``--workers``: every case's images are read and hashed on the workers; the refusal (case,
    kinds, message) and a clean run's ``training_overlap`` block equal the in-process ones."""
    proto = _test_study(tmp_path)
    _training(tmp_path, "uids")
    outcomes = []
    for name, kw in (("inproc", {}), ("w2", {"workers": 2})):
        with pytest.raises(TrainingOverlapError) as ei:
            run_validation(proto, out_dir=tmp_path / name, audit_log=tmp_path / f"{name}.jsonl",
                           tracking_uri=f"sqlite:///{tmp_path}/{name}.db", progress=False, **kw)
        outcomes.append((str(ei.value).split(" (full list")[0], ei.value.case_ids, ei.value.by_kind,
                         (tmp_path / name / OVERLAP_FILE).read_text()))
    assert outcomes[0] == outcomes[1] and outcomes[0][1] == ("T003",)
    _training(tmp_path, None)
    blocks = []
    for name, kw in (("inproc2", {}), ("w2b", {"workers": 2})):
        run_validation(proto, out_dir=tmp_path / name, audit_log=tmp_path / f"{name}.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/{name}.db", progress=False, **kw)
        blocks.append(json.loads((tmp_path / name / "result.json").read_text())["training_overlap"])
    assert blocks[0] == blocks[1] and blocks[0]["overlapping_cases"] == 0


@pytest.mark.slow
def test_an_unreadable_image_on_a_worker_is_one_line_naming_the_case(tmp_path: Path) -> None:
    from validation.errors import CaseInputError
    from validation.executor import ExecutorSpec
    from validation.harness._overlap import _all_identifiers

    f = tmp_path / "T000.dcm"
    _write_dx(f, _image(1), uid_seed="t/0", patient="PT-000")
    (tmp_path / "T001.dcm").write_bytes(b"not an image at all")
    jobs = [("T000", f, {}), ("T001", tmp_path / "T001.dcm", {}), ("T002", tmp_path / "missing.dcm", {})]
    with pytest.raises(CaseInputError) as ei:
        _all_identifiers(jobs, ("pixel_data",), ExecutorSpec(workers=1, retries=0))
    msg = str(ei.value)
    assert "\n" not in msg and "test case T001" in msg and "T001.dcm" not in msg
