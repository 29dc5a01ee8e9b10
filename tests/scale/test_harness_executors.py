"""Identity across executors: bundle-mode `run_validation` gives the same result.json (without run
ids) in-process, on a local Dask cluster of 1 and 2 workers, and on a real ``dask scheduler`` with
two ``dask worker`` processes; an edited per-case record is recomputed, never reused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scale.test_executor import dask_cluster  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "samd_core" / "bundles" / "cxr_triage_v1"
VOLATILE = {"mlflow_run_id", "mlflow_experiment_id", "test_set_prior_accesses", "test_set_prior_access_records",
            "warnings"}

PROTOCOL = """
id: SAP-EXEC-001
title: executor identity
device:
  bundle: {bundle}
  image_column: image_path
  score: {{column: score, higher_is_positive: true, is_probability: true}}
manifest: {manifest}
truth: {{column: finding, positive: finding, negative: normal}}
endpoints:
  - {{id: sens, metric: sensitivity, ci: wilson, confidence_level: 0.95, acceptance: {{ci_low_at_least: 0.1}}}}
  - {{id: spec, metric: specificity, ci: bootstrap_bca, confidence_level: 0.95, acceptance: {{ci_low_at_least: 0.1}}}}
  - {{id: auc, metric: roc_auc, ci: delong, confidence_level: 0.95, acceptance: {{ci_low_at_least: 0.1}}}}
subgroups:
  min_size: 2
  variables: [{{column: detector}}, {{column: sex}}]
bootstrap: {{replicates: 200, seed: 7}}
multiplicity: holm
"""


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reference_devices.radiograph import write_radiograph_cohort

    base = tmp_path_factory.mktemp("cxr")
    manifest = write_radiograph_cohort(base / "cohort", n_cases=16, seed=31, prevalence=0.5)
    proto = base / "protocol.yaml"
    proto.write_text(PROTOCOL.format(bundle=BUNDLE, manifest=manifest), encoding="utf-8")
    return proto


def _run(proto: Path, tmp: Path, name: str, **kw: object) -> dict:
    from validation.harness import run_validation

    d = tmp / name
    o = run_validation(proto, out_dir=d / "out", tracking_uri=f"sqlite:///{d / 'mlflow.db'}",
                       audit_log=d / "audit.jsonl", progress=False, **kw)
    result = json.loads((o.out_dir / "result.json").read_text(encoding="utf-8"))
    return {k: v for k, v in result.items() if k not in VOLATILE}


@pytest.mark.slow
def test_result_is_identical_in_process_and_on_local_clusters(cohort: Path, tmp_path: Path) -> None:
    ref = _run(cohort, tmp_path, "inproc")
    assert ref["device"]["cases_computed"] == 16 and ref["n_cases"] == 16
    assert _run(cohort, tmp_path, "w1", workers=1) == ref
    assert _run(cohort, tmp_path, "w2", workers=2) == ref


@pytest.mark.slow
def test_result_is_identical_on_an_existing_scheduler(cohort: Path, tmp_path: Path, dask_cluster) -> None:  # noqa: F811
    addr, _ = dask_cluster
    assert _run(cohort, tmp_path, "sched", scheduler=addr) == _run(cohort, tmp_path, "inproc")


@pytest.mark.slow
def test_an_edited_case_record_is_recomputed_not_reused(cohort: Path, tmp_path: Path) -> None:
    from validation.harness import run_validation

    d = tmp_path / "edit"
    kw = dict(out_dir=d / "out", tracking_uri=f"sqlite:///{d / 'mlflow.db'}", audit_log=d / "audit.jsonl",
              progress=False)
    first = run_validation(cohort, **kw).result
    rec_path = sorted((d / "out" / "cases").glob("*.json"))[0]
    rec = json.loads(rec_path.read_text())
    rec["score"] = 1.0 - rec["score"]  # a hand edit of a cached score
    rec_path.write_text(json.dumps(rec, sort_keys=True, separators=(",", ":")))
    second = run_validation(cohort, **kw).result
    assert second["device"]["cases_computed"] == 1 and second["device"]["cases_reused"] == 15
    assert json.loads(rec_path.read_text())["score"] != rec["score"]
    assert [e["value"] for e in second["endpoints"]] == [e["value"] for e in first["endpoints"]]


def test_bad_executor_options_fail_before_anything_is_locked(cohort: Path, tmp_path: Path) -> None:
    from validation.harness import run_validation

    with pytest.raises(ValueError, match="`workers`"):
        run_validation(cohort, out_dir=tmp_path / "o", audit_log=tmp_path / "a.jsonl", workers=0)
    assert not (tmp_path / "a.jsonl").exists()


def test_worker_side_functions_import_no_coordinator_libraries() -> None:
    """What a worker unpickles for a case (inference, training-overlap hashes) lives in a module
    that imports samd_core and NumPy only (and fsspec when a case is a URL): no pandas, SciPy, MLflow
    or matplotlib per worker."""
    import subprocess
    import sys

    from validation.harness import _bundle, _overlap

    assert _bundle.predict_case.__module__ == "validation._casework"
    assert _overlap.case_identifiers_or_refusal.__module__ == "validation._casework"
    code = ("import sys, pickle, validation._casework as w; pickle.loads(pickle.dumps(w.predict_case)); "
            "pickle.loads(pickle.dumps(w.case_identifiers_or_refusal)); "
            "import pathlib, validation._locations as loc; loc.location_sha256(pathlib.Path('pyproject.toml')"
            ".resolve().as_uri()); assert 'fsspec' in sys.modules; "
            "print(sorted(m for m in ('pandas', 'scipy', 'mlflow', 'matplotlib', 'sklearn', 'jinja2') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.slow
def test_a_worker_refuses_a_bundle_other_than_the_one_the_coordinator_verified(cohort: Path) -> None:
    """The coordinator verifies the bundle and sends its manifest SHA-256 with every case; a worker
    that finds another bundle at that path (replaced after the coordinator's check) refuses it, and
    each case is reported as failed by its id, never scored by the other model."""
    import pandas as pd

    import samd_core
    from validation._casework import predict_case
    from validation.executor import ExecutorSpec, executor_session, map_cases

    manifest_path = cohort.parent / "cohort" / "manifest.csv"  # the `cohort` fixture's test set
    manifest = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    images = [str(manifest_path.parent / rel) for rel in manifest["image_path"][:3]]
    right = samd_core.load_locked(BUNDLE).manifest_sha256
    other = samd_core.load_locked(ROOT / "samd_core" / "bundles" / "nodule_v1").manifest_sha256
    with executor_session(ExecutorSpec(workers=1, retries=1)) as cluster:
        got: dict[str, dict] = {}
        ok = map_cases(predict_case, [(f"c{i}", (str(BUNDLE), right, img, False)) for i, img in enumerate(images)],
                       spec=cluster, on_result=got.__setitem__)
        assert ok == [] and sorted(got) == ["c0", "c1", "c2"]
        got.clear()
        refused = map_cases(predict_case, [(f"c{i}", (str(BUNDLE), other, img, False)) for i, img in enumerate(images)],
                            spec=cluster, on_result=got.__setitem__)
    assert got == {}
    assert [f.key for f in refused] == ["c0", "c1", "c2"]
    for f in refused:
        assert f.error == "BundleIntegrityError" and other in f.message and right in f.message


@pytest.mark.slow
@pytest.mark.parametrize("workers", [None, 2])
def test_every_per_case_phase_shows_its_progress(cohort: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                 workers: int | None) -> None:
    """The pre-run file check, the training-overlap hashes and the inference each draw a bar on
    stderr with cases done of the total (and, through the executor, in flight and failed)."""
    from validation.harness import run_validation

    d = tmp_path / "p"
    run_validation(cohort, out_dir=d / "out", tracking_uri=f"sqlite:///{d / 'mlflow.db'}",
                   audit_log=d / "audit.jsonl", progress=True, workers=workers)
    err = capfd.readouterr().err
    for phase in ("files", "training overlap", "cases"):
        assert f"{phase}: 100%" in err and "16/16" in err, (phase, err[-2000:])
    assert "in flight 0, failed 0" in err
