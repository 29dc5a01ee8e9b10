"""Synthetic chest radiographs and the second reference device's training recipe."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from reference_devices.radiograph import DETECTORS, SITES, render_radiograph, sample_radiograph
from samd_core.errors import InvalidParameterError


def test_sampling_and_rendering_are_pure_functions_of_their_arguments():
    a, b = sample_radiograph(5, 17), sample_radiograph(5, 17)
    assert a == b
    ia, sa = render_radiograph(a)
    ib, sb = render_radiograph(b)
    assert ia.dtype == np.uint16 and ia.shape == (256, 256) and sa == sb
    np.testing.assert_array_equal(ia, ib)
    assert sample_radiograph(5, 18) != a


def test_prevalence_and_attributes_follow_the_cohort_parameters():
    specs = [sample_radiograph(3, i, prevalence=0.3) for i in range(600)]
    k = sum(s.positive for s in specs)
    # two-sided 99.9% binomial acceptance region for p = 0.3 (scipy.stats.binom as the reference)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], 600, 0.3)
    assert lo <= k <= hi
    assert {s.site for s in specs} == set(SITES) and {s.detector for s in specs} == set(DETECTORS)
    assert {s.sex for s in specs} == {"F", "M"} and all(18 <= s.age <= 90 for s in specs)
    kinds = {s.finding for s in specs if s.positive}
    assert kinds == {"nodule", "pneumothorax"}


@pytest.mark.parametrize("finding", ["nodule", "pneumothorax"])
def test_a_finding_changes_the_image_only_in_its_lung(finding):
    spec = next(s for i in range(200) if (s := sample_radiograph(11, i, prevalence=0.9)).finding == finding)
    with_f, _ = render_radiograph(spec)
    without, _ = render_radiograph(dataclasses.replace(spec, finding="none"))
    diff = np.abs(with_f.astype(float) - without.astype(float))
    assert diff.max() > 30  # visible above the detector noise floor
    cols = np.nonzero(diff.max(axis=0) > 30)[0]
    # patient right is image left on a PA view
    if spec.side == "right":
        assert cols.max() < 128
    else:
        assert cols.min() >= 128


def test_monochrome1_detector_stores_inverted_values():
    spec = next(s for i in range(100) if (s := sample_radiograph(2, i)).detector == "Tessera")
    img, _ = render_radiograph(spec)
    # the mediastinum (bright in presentation) is dark in MONOCHROME1 storage
    assert img[100:140, 120:136].mean() < img[100:140, 60:80].mean()


@pytest.mark.parametrize("kwargs, field", [({"prevalence": 1.5}, "prevalence"), ({"prevalence": float("nan")}, "prevalence"),
                                           ({"pneumothorax_fraction": -0.1}, "pneumothorax_fraction")])
def test_bad_cohort_parameters_name_the_field(kwargs, field):
    with pytest.raises(InvalidParameterError, match=field):
        sample_radiograph(1, 0, **kwargs)


@pytest.mark.parametrize("seed, index", [(-1, 0), (0, -1), (True, 0)])
def test_bad_seed_or_index(seed, index):
    with pytest.raises(InvalidParameterError):
        sample_radiograph(seed, index)


@pytest.mark.slow
def test_tiny_training_is_bit_reproducible_and_onnx_equals_torch():
    import onnxruntime as ort
    import torch

    from reference_devices.radiograph._train import preprocess_batch, train_cxr_classifier

    a = train_cxr_classifier(seed=7, n_train=48, n_tune=32, epochs=1, batch_size=16)
    b = train_cxr_classifier(seed=7, n_train=48, n_tune=32, epochs=1, batch_size=16)
    assert a.weights_sha256 == b.weights_sha256 and a.threshold == b.threshold
    x = preprocess_batch([sample_radiograph(99, i) for i in range(4)])
    sess = ort.InferenceSession(a.onnx_bytes, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x})[0]
    with torch.no_grad():
        ref = a.network(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_cohort_is_dicom_that_reads_back_to_the_presentation_image(tmp_path):
    import csv
    import shutil
    import subprocess

    from reference_devices.radiograph import MANIFEST_COLUMNS, write_radiograph_cohort
    from reference_devices.radiograph._train import presentation_image
    from samd_core.hashing import sha256_file
    from samd_core.io import read_dicom_image

    manifest = write_radiograph_cohort(tmp_path / "c", n_cases=6, seed=4, prevalence=0.5)
    rows = list(csv.DictReader(open(manifest, encoding="utf-8")))
    assert list(rows[0]) == list(MANIFEST_COLUMNS) and len(rows) == 6
    again = write_radiograph_cohort(tmp_path / "d", n_cases=6, seed=4, prevalence=0.5)
    assert manifest.read_bytes() == again.read_bytes()  # deterministic, byte for byte
    specs = {s.case_id: s for s in (sample_radiograph(4, i, prevalence=0.5) for i in range(6))}
    for r in rows:
        path = manifest.parent / r["image_path"]
        assert sha256_file(path) == r["image_path_sha256"]
        vol = read_dicom_image(path)
        img, spacing = presentation_image(specs[r["case_id"]])
        np.testing.assert_array_equal(np.asarray(vol.array, np.float32), img)  # MONOCHROME1 undone too
        assert vol.spacing == pytest.approx((spacing, spacing)) and vol.meta["modality"] == r["modality"]
        if shutil.which("dciodvfy"):
            out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
            assert "Error" not in out.stdout + out.stderr, out.stderr[-2000:]
