"""Chest-CT phantom generator (SRS-BUNDLE-030)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from samd_core.io import read_dicom_series, read_image
from validation.errors import InvalidParameterError
from reference_devices.phantom import MANIFEST_COLUMNS, VENDORS, Nodule, generate_cases, render_case, sample_case, series_sha256, write_cohort

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.verifies("SRS-BUNDLE-030")
def test_deterministic_and_independent_of_cohort_size() -> None:
    a = [c.ct.content_sha256() for c in generate_cases(3, seed=5)]
    b = [c.ct.content_sha256() for c in generate_cases(5, seed=5)]
    assert a == b[:3]
    c = next(generate_cases(1, seed=5, start_index=2))
    assert c.ct.content_sha256() == b[2]
    assert next(generate_cases(1, seed=6)).ct.content_sha256() != a[0]


@pytest.mark.verifies("SRS-BUNDLE-030")
def test_attribute_ranges_over_a_cohort() -> None:
    specs = [sample_case(11, i) for i in range(200)]
    diam = [n.diameter_mm for s in specs for n in s.nodules]
    assert min(diam) >= 3.0 and max(diam) <= 30.0
    assert {n.kind for s in specs for n in s.nodules} == {"solid", "part-solid"}
    assert {s.slice_thickness_mm for s in specs} == {1.0, 1.5, 2.0, 3.0, 5.0}
    assert {s.vendor for s in specs} == set(VENDORS) and {s.dose for s in specs} == {"low", "standard"}
    assert {s.sex for s in specs} == {"F", "M"} and all(40 <= s.age <= 85 for s in specs)
    assert 0.4 < np.mean([s.has_nodule for s in specs]) < 0.6


def _flat(spec, **changes):  # noqa: ANN001, ANN202 - test helper
    return dataclasses.replace(spec, nodules=(), **changes)


def _lung_patch(spec) -> np.ndarray:  # noqa: ANN001
    ct, _ = render_case(spec)
    k = ct.shape[0] // 2
    # centre of the right lung (x = -20 mm) -> column (x + 47.25) / 1.5
    return ct.array[k, 26:38, 12:22].astype(float)


@pytest.mark.verifies("SRS-BUNDLE-030")
def test_lung_density_dose_and_vendor_noise_texture() -> None:
    base = _flat(sample_case(3, 0), slice_thickness_mm=2.0, vendor="Aurora", dose="standard")
    std = _lung_patch(base)
    assert abs(std.mean() - (-850.0)) < 25.0  # lungs about -850 HU
    low = _lung_patch(dataclasses.replace(base, dose="low"))
    # noise SD scales as 1/sqrt(dose): 1/sqrt(0.25) = 2 (vessels excluded by the patch choice)
    assert 1.6 < low.std() / std.std() < 2.4

    def lag1(spec) -> float:  # noqa: ANN001
        p = _lung_patch(spec)
        p = p - p.mean()
        return float((p[:, 1:] * p[:, :-1]).mean() / (p * p).mean())

    fine, coarse = lag1(dataclasses.replace(base, dose="low")), lag1(dataclasses.replace(base, vendor="Boreal", dose="low"))
    assert coarse > fine + 0.1  # Boreal's noise grain (1.4 mm) is coarser than Aurora's (0.7 mm)


@pytest.mark.verifies("SRS-BUNDLE-030")
def test_nodule_mask_volume_closed_form() -> None:
    spec = _flat(sample_case(3, 0), slice_thickness_mm=1.0)
    d = 15.0
    spec = dataclasses.replace(spec, nodules=(Nodule((-20.0, -2.0, 36.0), d, "solid", 30.0, 1.0),))
    ct, mask = render_case(spec)
    vol = mask.array.sum() * np.prod(mask.spacing)
    assert vol == pytest.approx(np.pi / 6 * d**3, rel=0.1)
    assert ct.array[mask.array > 0].mean() > -200.0  # solid density, not lung
    ps = dataclasses.replace(spec, nodules=(Nodule((-20.0, -2.0, 36.0), d, "part-solid", 30.0, 0.4),))
    ct2, _ = render_case(ps)
    assert ct2.array[mask.array > 0].mean() < ct.array[mask.array > 0].mean() - 200.0  # ground glass


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="prevalence"):
        sample_case(1, 0, prevalence=1.5)
    with pytest.raises(InvalidParameterError, match="n_cases"):
        list(generate_cases(-1, seed=1))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return write_cohort(tmp_path_factory.mktemp("ph") / "c", n_cases=3, seed=21, prevalence=1.0)


@pytest.mark.verifies("SRS-BUNDLE-030")
def test_cohort_manifest_hashes_and_roundtrip(cohort: pathlib.Path) -> None:
    base = cohort.parent
    rows = list(csv.DictReader(open(cohort, encoding="utf-8")))
    assert list(rows[0]) == list(MANIFEST_COLUMNS) and len(rows) == 3
    cases = list(generate_cases(3, seed=21, prevalence=1.0))
    for row, case in zip(rows, cases, strict=True):
        assert row["series_sha256"] == series_sha256(base / row["series_dir"])
        assert row["mask_sha256"] == hashlib.sha256((base / row["mask_path"]).read_bytes()).hexdigest()
        vol = read_dicom_series(base / row["series_dir"])
        assert np.array_equal(vol.array, case.ct.array) and vol.same_grid(case.ct)
        mask = read_image(base / row["mask_path"])
        assert np.array_equal(mask.array, case.mask.array) and mask.same_grid(case.ct)
        assert row["has_nodule"] == "1" and json.loads(row["nodule_diameters_mm"]) == [n.diameter_mm for n in case.spec.nodules]
        assert (row["vendor"], row["sex"], int(row["age"])) == (case.spec.vendor, case.spec.sex, case.spec.age)


@pytest.mark.verifies("SRS-BUNDLE-030")
def test_cohort_bytes_reproducible(cohort: pathlib.Path, tmp_path: pathlib.Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "samd", "phantom", "--n-cases", "3", "--seed", "21", "--prevalence", "1.0", "--out", str(tmp_path / "c")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "c" / "manifest.csv").read_bytes() == cohort.read_bytes()


@pytest.mark.external_tools
@pytest.mark.verifies("SRS-BUNDLE-030")
def test_dicom_passes_dciodvfy(cohort: pathlib.Path) -> None:
    files = sorted((cohort.parent).rglob("*.dcm"))
    for f in (files[0], files[len(files) // 2], files[-1]):
        res = subprocess.run([shutil.which("dciodvfy") or "dciodvfy", str(f)], capture_output=True, text=True, timeout=60)
        errors = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.startswith("Error")]
        assert not errors, f"{f}: {errors}"
