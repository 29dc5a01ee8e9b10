"""DICOM SEG and SR of the shipped reference bundle on a phantom series: dicom3tools-clean,
read back through highdicom (and samd's own SEG reader) to the same mask and numbers, Patient
and Study copied from the source and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from tests.io.io_factory import dciodvfy_errors

BUNDLE = Path(__file__).resolve().parents[2] / "samd_core" / "bundles" / "nodule_v1"

# Source attributes that must NOT reach the derived objects (equipment, acquisition, free text).
NOT_COPIED = ("Manufacturer", "ManufacturerModelName", "KVP", "ConvolutionKernel", "SeriesDescription",
              "BodyPartExamined", "InstitutionName", "StationName", "OperatorsName")
PATIENT_STUDY = ("PatientName", "PatientID", "PatientSex", "PatientAge", "StudyInstanceUID", "StudyDate",
                 "StudyTime", "AccessionNumber", "ReferringPhysicianName", "StudyID")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    pytest.importorskip("torch")
    pytest.importorskip("highdicom")
    from samd_core.predict_file import predict_file
    from reference_devices.phantom import write_cohort

    root = tmp_path_factory.mktemp("dicom_out")
    write_cohort(root / "ph", n_cases=1, seed=21, prevalence=1.0)
    series = next((root / "ph").glob("*/ct"))
    # check_core_fingerprint=False: the bundle stays locked to core 0.1.0 until the next release
    # re-locks it; its bytes are still verified against its manifest
    res = predict_file(BUNDLE, series, root / "out", dicom_seg=True, dicom_sr=True, check_core_fingerprint=False)
    return {"root": root, "series": series, "res": res}


@pytest.mark.slow
@pytest.mark.verifies("SRS-PREDICT-002", "SRS-PREDICT-003")
def test_seg_and_sr_pass_dciodvfy(outputs: dict) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip("dicom3tools not installed")
    out = outputs["root"] / "out"
    assert dciodvfy_errors([out / "seg.dcm", out / "sr.dcm"]) == []


@pytest.mark.slow
@pytest.mark.verifies("SRS-PREDICT-002")
def test_seg_reads_back_to_the_label_map(outputs: dict) -> None:
    import highdicom as hd

    from samd_core.io import read_dicom_series, read_dicom_seg

    pred = outputs["res"].prediction
    assert pred.lesions, "the phantom case must contain a detected nodule for this test to mean something"
    out = outputs["root"] / "out"
    seg = hd.seg.segread(out / "seg.dcm")
    assert seg.segmentation_type == hd.seg.SegmentationTypeValues.BINARY
    desc = seg.get_segment_description(1)
    assert desc.segment_label == "nodule" and seg.number_of_segments == 1
    assert desc.segmented_property_type.value == "27925004" and desc.segmented_property_category.value == "49755003"
    algo = desc.algorithm_identification[0]
    assert (algo.AlgorithmName, algo.AlgorithmVersion) == ("samd-reference-nodule", "1.1.0")
    assert outputs["res"].record["bundle"]["manifest_sha256"] in algo.AlgorithmParameters
    # highdicom read-back by source instance, in the source series' slice order
    vol = read_dicom_series(outputs["series"])
    from samd_core.dicom_out import source_datasets

    src = source_datasets(outputs["series"], vol)
    uids = [str(s.SOPInstanceUID) for s in src]
    px = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1])
    assert np.array_equal(px[..., 0] != 0, np.asarray(pred.label.array) != 0)
    # the references: every frame derives from one source image of the series
    assert {str(r.ReferencedSOPInstanceUID) for r in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence} == set(uids)
    # samd's reader, with and without the reference grid
    for ref in (vol, None):
        back = read_dicom_seg(out / "seg.dcm", reference=ref)
        assert np.array_equal(back.array, np.asarray(pred.label.array))
        assert back.spacing == vol.spacing and np.allclose(back.origin, vol.origin)


@pytest.mark.slow
@pytest.mark.verifies("SRS-PREDICT-003")
def test_sr_reads_back_to_the_same_numbers(outputs: dict) -> None:
    import highdicom as hd

    pred = outputs["res"].prediction
    out = outputs["root"] / "out"
    sr = hd.sr.srread(out / "sr.dcm")
    seg = pydicom.dcmread(out / "seg.dcm")
    vols = sr.content.get_volumetric_roi_measurement_groups()
    assert len(vols) == len(pred.lesions)
    for g, les in zip(vols, pred.lesions, strict=True):
        m = {x.name.meaning: (x.value, x.unit.value) for x in g.get_measurements()}
        assert m["Volume"] == (pytest.approx(les.volume_mm3, rel=1e-12), "mm3")
        assert m["Diameter"] == (pytest.approx(les.equivalent_diameter_mm, rel=1e-12), "mm")
        ref = g.referenced_segment
        assert ref.referenced_sop_instance_uid == str(seg.SOPInstanceUID) and ref.referenced_segment_numbers == [1]
    groups = sr.content.get_image_measurement_groups()
    case = groups[0]
    (score,) = case.get_measurements()
    assert score.name.value == "246262008" and score.value == pytest.approx(pred.score, rel=1e-12)
    (finding,) = case.get_qualitative_evaluations()
    assert finding.name.value == "27925004"  # SCT Nodule
    assert finding.value.meaning == ("Present" if pred.positive else "Absent")
    centres = []
    for g in groups[1:]:
        (d,) = g.get_measurements()
        pt = d.referenced_coordinates[0].value
        centres.append(tuple(float(v) for v in np.asarray(pt).ravel()))
    for c, les in zip(centres, pred.lesions, strict=True):
        assert np.allclose(c, les.centre_lps_mm, atol=1e-4)  # FL precision of SCOORD3D


@pytest.mark.slow
@pytest.mark.verifies("SRS-PREDICT-004")
@pytest.mark.parametrize("name", ["seg.dcm", "sr.dcm"])
def test_patient_and_study_copied_nothing_else(outputs: dict, name: str) -> None:
    src = pydicom.dcmread(next(outputs["series"].glob("*.dcm")), stop_before_pixels=True)
    ds = pydicom.dcmread(outputs["root"] / "out" / name)
    for kw in PATIENT_STUDY:
        if kw in src:
            assert ds.get(kw) == src.get(kw), kw
    for kw in NOT_COPIED:
        assert kw not in ds or ds.get(kw) != src.get(kw), kw
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID
    assert ds.Manufacturer == "samd"
    # nothing samd adds names a person: no operator/observer person names, no free text from the source
    assert "OperatorsName" not in ds and "ContentCreatorName" not in ds
    if name == "sr.dcm":
        assert "VerifyingObserverSequence" not in ds


@pytest.mark.slow
@pytest.mark.verifies("SRS-PREDICT-001")
def test_prediction_json_and_label_map(outputs: dict) -> None:
    import json

    import SimpleITK as sitk

    out = outputs["root"] / "out"
    rec = json.loads((out / "prediction.json").read_text())
    pred = outputs["res"].prediction
    assert rec["score"] == pred.score and rec["positive"] == pred.positive
    assert rec["bundle"] == {"name": "samd-reference-nodule", "version": "1.1.0",
                             "manifest_sha256": outputs["res"].record["bundle"]["manifest_sha256"]}
    assert len(rec["lesions"]) == len(pred.lesions) and rec["input"]["kind"] == "dicom-series"
    assert "PH" not in json.dumps(rec["input"])  # no file or case names
    img = sitk.ReadImage(str(out / "label.nii.gz"))
    assert np.array_equal(sitk.GetArrayFromImage(img), np.asarray(pred.label.array))
    assert tuple(reversed(img.GetSpacing())) == pytest.approx(pred.label.spacing)


@pytest.mark.slow
@pytest.mark.verifies("SRS-PREDICT-002")
def test_fractional_seg_when_the_bundle_declares_it(outputs: dict, tmp_path: Path) -> None:
    import dataclasses

    import highdicom as hd

    from samd_core.dicom_out import AlgorithmIdentity, source_datasets, write_dicom_seg
    from samd_core.io import read_dicom_seg, read_dicom_series

    pred = outputs["res"].prediction
    b = outputs["res"].record["bundle"]
    ident = AlgorithmIdentity(b["name"], b["version"], b["manifest_sha256"], ("background", "nodule"), "fractional")
    vol = read_dicom_series(outputs["series"])
    src = source_datasets(outputs["series"], vol)
    path = write_dicom_seg(pred, src, tmp_path / "frac.dcm", identity=ident)
    if shutil.which("dciodvfy") is not None:
        assert dciodvfy_errors([path]) == []
    seg = hd.seg.segread(path)
    assert seg.segmentation_type == hd.seg.SegmentationTypeValues.FRACTIONAL
    px = seg.get_pixels_by_source_instance(source_sop_instance_uids=[str(s.SOPInstanceUID) for s in src],
                                           segment_numbers=[1], rescale_fractional=True)
    prob = np.asarray(pred.probability.array)
    assert np.abs(px[..., 0] - prob).max() <= 0.5 / 255 + 1e-6  # 8-bit quantisation only
    back = read_dicom_seg(path, reference=vol, fractional_threshold=0.5)
    assert np.array_equal(back.array != 0, np.round(prob * 255) / 255 >= 0.5)
    with pytest.raises(Exception, match="segmentation_type"):
        dataclasses.replace(ident, segmentation_type="soft")


@pytest.mark.verifies("SRS-PREDICT-005")
def test_read_dicom_seg_hostile_inputs(tmp_path: Path) -> None:
    from samd_core.io import DicomReadError, read_dicom_seg
    from samd_core.io import write_dicom_series
    from tests.bundle._factory import small_volume

    (tmp_path / "junk.dcm").write_bytes(b"\x00" * 300)
    with pytest.raises(DicomReadError, match="read_dicom_seg"):
        read_dicom_seg(tmp_path / "junk.dcm")
    write_dicom_series(small_volume(1), tmp_path / "ct", uid_seed="samd-test/seg-hostile")
    ct = next((tmp_path / "ct").glob("*.dcm"))
    with pytest.raises(DicomReadError, match="SOPClassUID.*Segmentation Storage"):
        read_dicom_seg(ct)
