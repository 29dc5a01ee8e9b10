"""Fixtures of the report tests: real MLflow runs (temp sqlite store) made like `samd validate`/`samd mrmc`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "reference_device"

CORE_FP = "c0" * 32
BUNDLE_SHA = "b1" * 32
WEIGHTS_SHA = "a7" * 32


def validation_result(run_id: str) -> dict[str, Any]:
    """A result.json in the harness format (docs/harness.md); values chosen to be recognizable."""
    return {
        "verdict": "pass",
        "mlflow_run_id": run_id,
        "protocol_sha256": "p" * 0 + "1f" * 32,
        "manifest_sha256": "2e" * 32,
        "bundle_sha256": BUNDLE_SHA,
        "endpoints": [
            {"id": "case_sensitivity", "metric": "sensitivity", "value": 0.8734567, "ci_low": 0.8123456,
             "ci_high": 0.9210987, "method": "wilson", "confidence_level": 0.95, "n": 150,
             "criterion": {"bound": "ci_low", "op": ">=", "threshold": 0.8}, "passed": True},
            {"id": "case_specificity", "metric": "specificity", "value": 0.9012345, "ci_low": 0.8511111,
             "ci_high": 0.9355555, "method": "wilson", "confidence_level": 0.95, "n": 170,
             "criterion": {"bound": "ci_low", "op": ">=", "threshold": 0.85}, "passed": True},
            {"id": "case_auc", "metric": "AUC", "value": 0.9456789, "ci_low": 0.9123456, "ci_high": 0.9789012,
             "method": "delong", "confidence_level": 0.95, "n": 320,
             "criterion": {"bound": "ci_low", "op": ">=", "threshold": 0.95}, "passed": False},
        ],
        "subgroups": [
            {"attribute": "vendor", "level": "VendorA", "n": 111,
             "endpoints": [{"id": "case_sensitivity", "value": 0.8611111, "ci_low": 0.7622222,
                            "ci_high": 0.9233333, "n": 57}]},
            {"attribute": "slice_thickness", "level": "5 mm", "n": 23, "warning": "below minimum size 30",
             "endpoints": [{"id": "case_sensitivity", "value": 0.7777777, "ci_low": 0.4555555,
                            "ci_high": 0.9366666, "n": 9}]},
        ],
    }


def mrmc_result(run_id: str) -> dict[str, Any]:
    return {
        "mlflow_run_id": run_id,
        "method": "Obuchowski-Rockette (Hillis df)",
        "figure_of_merit": "AUC (trapezoidal)",
        "n_readers": 5,
        "n_cases": 120,
        "n_positive": 60,
        "n_negative": 60,
        "confidence_level": 0.95,
        "modalities": {"unaided": {"value": 0.8123111, "ci_low": 0.7611111, "ci_high": 0.8633333},
                       "aided": {"value": 0.8654321, "ci_low": 0.8222222, "ci_high": 0.9088888}},
        "difference": {"value": 0.0531210, "ci_low": 0.0212121, "ci_high": 0.0850505, "statistic": 3.4567,
                       "df": 15.25, "pvalue": 0.0034321, "alternative": "two-sided"},
        "readers": [{"reader": "R1", "unaided": 0.80, "aided": 0.86}, {"reader": "R2", "unaided": 0.82, "aided": 0.87}],
    }


def _png(path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
    ax.plot([0, 1], [0, 1])
    ax.set_title(title)
    fig.savefig(path)
    plt.close(fig)


def make_runs(root: Path, *, with_mrmc: bool = True) -> dict[str, Any]:
    """Create a sqlite MLflow store + audit log with one validation run and one mrmc run."""
    from validation.audit import AuditLog
    from validation.tracking import audit_run_end, tracked_run

    uri = f"sqlite:///{root / 'mlflow.db'}"
    audit = root / "audit.jsonl"
    log = AuditLog(audit, actor="tester")
    tmp = root / "staging"
    tmp.mkdir()
    with tracked_run(experiment="samd-validation", run_name="sap", kind="validation", tracking_uri=uri) as run:
        run.log_params({"bundle.name": "lung-nodule-unet3d", "bundle.version": "1.0.0",
                        "bundle.core_fingerprint": CORE_FP, "bundle.manifest_sha256": BUNDLE_SHA,
                        "bundle.file.weights.safetensors": WEIGHTS_SHA})
        (tmp / "result.json").write_text(json.dumps(validation_result(run.run_id)), "utf-8")
        run.log_artifact(tmp / "result.json")
        for name in ("roc.png", "forest.png"):
            _png(tmp / name, name)
            run.log_artifact(tmp / name, "plots")
        audit_run_end(log, run)
        val_id = run.run_id
    ids = [val_id]
    if with_mrmc:
        with tracked_run(experiment="samd-mrmc", run_name="mrmc", kind="mrmc", tracking_uri=uri) as run:
            (tmp / "mrmc_result.json").write_text(json.dumps(mrmc_result(run.run_id)), "utf-8")
            run.log_artifact(tmp / "mrmc_result.json")
            audit_run_end(log, run)
            ids.append(run.run_id)
    return {"uri": uri, "audit": audit, "run_ids": ids, "validation": val_id}


def write_junit(path: Path, cases: dict[str, tuple[str, str]]) -> Path:
    """JUnit XML as pytest writes it: nodeid -> (status, verifies ids)."""
    rows = []
    for nodeid, (status, verifies) in cases.items():
        mod, _, name = nodeid.partition("::")
        inner = {"passed": "", "failed": '<failure message="boom">boom</failure>',
                 "skipped": '<skipped message="skip"/>', "error": '<error message="err"/>'}[status]
        props = f'<property name="nodeid" value="{nodeid}"/>'
        if verifies:
            props += f'<property name="verifies" value="{verifies}"/>'
        rows.append(f'<testcase classname="{mod[:-3].replace("/", ".")}" name="{name}" time="0.01">'
                    f"<properties>{props}</properties>{inner}</testcase>")
    path.write_text('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
                    + "".join(rows) + "</testsuite></testsuites>", "utf-8")
    return path


EXAMPLE_TESTS = {
    "tests/bundle/test_bundle_integrity.py::test_one_flipped_byte_in_any_file_is_refused[weights]": ("passed", ""),
    "tests/bundle/test_bundle_integrity.py::test_one_flipped_byte_in_any_file_is_refused[config]": ("passed", ""),
    "tests/bundle/test_bundle_integrity.py::test_code_fingerprint_mismatch_is_refused": ("passed", ""),
    "tests/bundle/test_bundle_integrity.py::test_signature_wrong_key_and_tampered_manifest": ("passed", ""),
    "tests/report/test_report_render.py::test_pdf_has_numbers_in_sections": ("passed", "SRS-REPORT-001"),
}


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return make_runs(tmp_path_factory.mktemp("store"))


@pytest.fixture()
def example_config(tmp_path: Path) -> Path:
    """A copy of the example device folder whose relative paths point into this repository."""
    dst = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, dst)
    text = (dst / "submission.yaml").read_text("utf-8")
    text = text.replace("../../requirements.lock", str(REPO / "requirements.lock"))
    text = text.replace("../../CHANGELOG.md", str(REPO / "CHANGELOG.md"))
    (dst / "submission.yaml").write_text(text, "utf-8")
    return dst / "submission.yaml"


@pytest.fixture()
def example_junit(tmp_path: Path) -> Path:
    return write_junit(tmp_path / "junit.xml", EXAMPLE_TESTS)
