"""The shipped bundles' training-set identifier files (``scripts/training_sets``, issue #15): they
cover the reference devices' development cohorts, and the demo's sequestered test cohorts do not
overlap them (the demo must keep passing the harness's overlap check)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from samd_core.bundle import OVERLAP_KINDS, TrainingSet, case_identifiers

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / "scripts" / "training_sets"
#: (bundle, number of development cases hashed: training + threshold-tuning cohorts)
SHIPPED = [("nodule_v1", 96 + 40), ("cxr_triage_v1", 1600 + 400)]


def _load(name: str) -> TrainingSet:
    path = SETS / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path.name} not generated (python scripts/make_training_sets.py)")
    return TrainingSet.from_file(path)


def _cohort(kind: str, tmp: Path, *, seed: int, n: int, prevalence: float) -> list[dict[str, tuple[str, ...]]]:
    if kind == "nodule_v1":
        from reference_devices.phantom import write_cohort

        m, col = write_cohort(tmp, n_cases=n, seed=seed, prevalence=prevalence), "series_dir"
    else:
        from reference_devices.radiograph import write_radiograph_cohort

        m, col = write_radiograph_cohort(tmp, n_cases=n, seed=seed, prevalence=prevalence), "image_path"
    return [case_identifiers(image=m.parent / r[col]) for r in csv.DictReader(open(m))]


@pytest.mark.parametrize("name, n_cases", SHIPPED, ids=[s[0] for s in SHIPPED])
def test_shipped_training_set_records_every_kind(name: str, n_cases: int) -> None:
    ts = _load(name)
    assert ts.n_cases == n_cases and ts.kinds == OVERLAP_KINDS
    assert all(n == n_cases for n in ts.counts().values())  # one patient, study, series and image per case
    assert (SETS / f"{name}.json").read_bytes() == ts.to_bytes()  # the canonical bytes written at re-lock


TRAIN_SEEDS = [("nodule_v1", 1001, 0.75), ("cxr_triage_v1", 2027, 0.5)]


@pytest.mark.parametrize("name, seed, prevalence", TRAIN_SEEDS, ids=[s[0] for s in TRAIN_SEEDS])
def test_training_cases_are_found(tmp_path: Path, name: str, seed: int, prevalence: float) -> None:
    """The check can fail: the first training cases, regenerated, overlap on every kind."""
    ts = _load(name)
    for case in _cohort(name, tmp_path, seed=seed, n=2, prevalence=prevalence):
        assert ts.overlap(case) == OVERLAP_KINDS


def _demo_seed(name: str) -> int:
    from reference_devices.demo._run import CXR_TEST_COHORT_SEED
    from reference_devices.demo._steps import TEST_COHORT_SEED

    return TEST_COHORT_SEED if name == "nodule_v1" else CXR_TEST_COHORT_SEED


@pytest.mark.parametrize("name", [s[0] for s in SHIPPED])
def test_demo_test_cohort_does_not_overlap(tmp_path: Path, name: str) -> None:
    ts = _load(name)
    cases = _cohort(name, tmp_path, seed=_demo_seed(name), n=12, prevalence=0.5 if name == "nodule_v1" else 0.3)
    assert [ts.overlap(c) for c in cases] == [()] * 12


@pytest.mark.slow
@pytest.mark.parametrize("name", [s[0] for s in SHIPPED])
def test_full_demo_test_cohort_does_not_overlap(tmp_path: Path, name: str) -> None:
    ts = _load(name)
    cases = _cohort(name, tmp_path, seed=_demo_seed(name), n=300, prevalence=0.5 if name == "nodule_v1" else 0.3)
    assert not [c for c in cases if ts.overlap(c)]
