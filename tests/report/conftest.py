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


def _est(value: float, lo: float, hi: float, method: str, n: int) -> dict[str, Any]:
    return {"value": value, "ci_low": lo, "ci_high": hi, "confidence_level": 0.95, "method": method, "n": n}


def validation_result(run_id: str) -> dict[str, Any]:
    """A result.json in the format `samd validate` writes (validation/harness/_run.py)."""
    return {
        "schema": "samd.validation_result/1",
        "verdict": "fail",
        "mlflow_run_id": run_id,
        "protocol_id": "sap-ref-001",
        "protocol_sha256": "1f" * 32,
        "manifest_sha256": "2e" * 32,
        "model_sha256": BUNDLE_SHA,
        "device": {"mode": "bundle", "bundle": "reference_bundle", "bundle_manifest_sha256": BUNDLE_SHA,
                   "name": "samd-reference-nodule", "version": "1.1.0", "core_fingerprint": CORE_FP,
                   "cases_computed": 320, "cases_reused": 0},
        "n_cases": 320,
        "endpoints": [
            {"id": "case_sensitivity", "metric": "sensitivity", **_est(0.8734567, 0.8123456, 0.9210987, "wilson", 150),
             "ci": {"method": "wilson"}, "criterion": "ci_low >= 0.8", "acceptance": {"ci_low_at_least": 0.8},
             "passed": True, "notes": []},
            {"id": "case_specificity", "metric": "specificity",
             **_est(0.9012345, 0.8511111, 0.9355555, "wilson", 170),
             "ci": {"method": "wilson"}, "criterion": "ci_low >= 0.85", "acceptance": {"ci_low_at_least": 0.85},
             "passed": True, "notes": []},
            {"id": "case_auc", "metric": "roc_auc", **_est(0.9456789, 0.9123456, 0.9789012, "delong", 320),
             "ci": {"method": "delong"}, "criterion": "ci_low >= 0.95", "acceptance": {"ci_low_at_least": 0.95},
             "passed": False, "notes": []},
        ],
        "subgroups": [
            {"variable": "vendor", "level": "VendorA", "n": 111, "below_min_size": False,
             "endpoints": {"case_sensitivity": {**_est(0.8611111, 0.7622222, 0.9233333, "wilson", 57), "notes": []}}},
            {"variable": "slice_thickness", "level": "5 mm", "n": 23, "below_min_size": True,
             "endpoints": {"case_sensitivity": {**_est(0.7777777, 0.4555555, 0.9366666, "wilson", 9), "notes": []}}},
        ],
        "interaction_tests": [{"variable": "vendor", "endpoint": "case_sensitivity", "levels": ["VendorA", "VendorB"],
                               "statistic": 1.2345678, "pvalue": 0.2665432, "pvalue_adjusted": 0.5330864}],
        "bootstrap": {"replicates": 200, "seed": 0},
        "multiplicity": "holm",
        "warnings": ["subgroup slice_thickness=5 mm: n=23 is below the minimum size 30"],
        # the FROC record `samd validate` writes when the protocol has a lesion endpoint
        "froc": {"endpoint": "lesion_sensitivity_1fp", "criterion": "center_in_radius(lesion radius)",
                 "n_lesions": 150, "n_images": 320, "fp_per_image": [0.0, 0.25, 0.5, 0.75, 0.9],
                 "sensitivity": [0.0, 0.52, 0.61, 0.66, 0.68], "ci_low": [0.0, 0.44, 0.53, 0.58, 0.6],
                 "ci_high": [0.0, 0.6, 0.69, 0.74, 0.76], "confidence_level": 0.95, "n_resamples": 200,
                 "method": "cluster-bootstrap-percentile (pointwise)", "fp_rate_reached": 0.9,
                 "curve": {"fp_per_image": [0.0, 0.1, 0.25, 0.5, 0.75, 0.9],
                           "sensitivity": [0.0, 0.4, 0.52, 0.61, 0.66, 0.68]},
                 "operating_point": {"threshold": 0.998, "sensitivity": 0.52, "fp_per_image": 0.25}},
    }


def mrmc_result(run_id: str) -> dict[str, Any]:
    """An mrmc_result.json in the format `samd mrmc` writes (schema samd.mrmc_result/1)."""
    diff = _est(0.0531210, 0.0212121, 0.0850505, "or-hillis", 120)
    return {
        "schema": "samd.mrmc_result/1",
        "mlflow_run_id": run_id,
        "method": "OR", "generalization": "random readers, random cases", "covariance": "jackknife",
        "fom": "wilcoxon_auc", "convention": "RJafroc", "confidence_level": 0.95,
        "modalities": ["unaided", "aided"], "readers": ["R1", "R2", "R3", "R4", "R5"],
        "n_cases": 120, "n_nondiseased": 60, "n_diseased": 60,
        "modality_auc": [
            {"modality": "unaided", "estimate": _est(0.8123111, 0.7611111, 0.8633333, "or-hillis", 120), "se": 0.02,
             "df": 12.0},
            {"modality": "aided", "estimate": _est(0.8654321, 0.8222222, 0.9088888, "or-hillis", 120), "se": 0.02,
             "df": 12.0},
        ],
        "reader_auc": [[0.80, 0.82, 0.81, 0.83, 0.79], [0.86, 0.87, 0.85, 0.88, 0.86]],
        "difference": diff,
        "sign_convention": "modality aided minus modality unaided",
        "comparisons": [{"minuend": "aided", "subtrahend": "unaided",
                         "sign_convention": "modality aided minus modality unaided", "estimate": diff,
                         "se": 0.0151, "statistic": 3.4567, "df": 15.25, "pvalue": 0.0034321}],
        "reader_differences": [],
        "test": "F", "statistic": 11.9487, "df_num": 1.0, "df_den": 15.25, "pvalue": 0.0034321,
        "denominator": 0.0001, "variance_components": {}, "mean_squares": {}, "notes": [],
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


def _cases_csv(path: Path) -> None:
    """A per-case table as `samd validate` writes it (case_id, truth, score)."""
    import numpy as np

    rng = np.random.default_rng(7)
    y = np.r_[np.ones(150, int), np.zeros(170, int)]
    s = np.round(rng.normal(loc=1.6 * y, scale=1.0), 6)
    rows = ["case_id,truth,score"] + [f"c{i:03d},{t},{v}" for i, (t, v) in enumerate(zip(y, s))]
    path.write_text("\n".join(rows) + "\n", "utf-8")


def make_runs(root: Path, *, with_mrmc: bool = True, passing: bool = False) -> dict[str, Any]:
    """Create a sqlite MLflow store + audit log with one validation run and one mrmc run."""
    from validation.audit import AuditLog
    from validation.tracking import audit_run_end, tracked_run

    uri = f"sqlite:///{root / 'mlflow.db'}"
    audit = root / "audit.jsonl"
    log = AuditLog(audit, actor="tester")
    tmp = root / "staging"
    tmp.mkdir()
    with tracked_run(experiment="samd-validation", run_name="sap", kind="validation", tracking_uri=uri) as run:
        run.log_params({"protocol_id": "sap-ref-001", "model_sha256": BUNDLE_SHA,
                        "bundle.file.weights.safetensors": WEIGHTS_SHA})
        result = validation_result(run.run_id)
        if passing:  # every criterion met (case_auc's criterion relaxed)
            result["verdict"] = "pass"
            result["endpoints"][2].update(criterion="ci_low >= 0.9", acceptance={"ci_low_at_least": 0.9}, passed=True)
        (tmp / "result.json").write_text(json.dumps(result), "utf-8")
        run.log_artifact(tmp / "result.json")
        for name in ("roc.png", "forest.png"):
            _png(tmp / name, name)
            run.log_artifact(tmp / name, "plots")
        _cases_csv(tmp / "cases.csv")
        run.log_artifact(tmp / "cases.csv")
        audit_run_end(log, run, extra={"verdict": result["verdict"]})
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


PREDS_SHA = "9d" * 32


def predictions_result(run_id: str, *, name: str | None = None, version: str | None = None) -> dict[str, Any]:
    """A predictions-mode result.json (a device that is not the lung-nodule device): 2 of 4 criteria met."""
    device: dict[str, Any] = {"mode": "predictions", "predictions_file": "predictions.csv",
                              "predictions_sha256": PREDS_SHA}
    if name:
        device.update(name=name, version=version)
    eps = [("sens", "sensitivity", 0.69, 0.61, 0.76, "wilson", 133, "ci_low >= 0.80", False),
           ("spec", "specificity", 0.91, 0.87, 0.94, "wilson", 167, "ci_low >= 0.85", True),
           ("auc", "roc_auc", 0.88, 0.84, 0.92, "delong", 300, "ci_low >= 0.80", True),
           ("hd95", "hd95_mm", 4.1, 3.5, 4.8, "bootstrap-bca", 107, "ci_high <= 4.0", False)]
    endpoints = [{"id": i, "metric": m, **_est(v, lo, hi, meth, n), "criterion": c, "passed": p, "notes": []}
                 for i, m, v, lo, hi, meth, n, c, p in eps]
    endpoints[3].update(n_excluded=26, exclusions=[{"reason": "no predicted segmentation (undefined: exclude)",
                                                    "n": 26}])
    return {
        "schema": "samd.validation_result/1", "verdict": "fail", "mlflow_run_id": run_id,
        "protocol_id": "cxr-001", "protocol_sha256": "3a" * 32, "manifest_sha256": "4b" * 32,
        "model_sha256": PREDS_SHA, "device": device, "n_cases": 300,
        "endpoints": endpoints, "subgroups": [], "warnings": [],
    }


def make_predictions_run(root: Path, **kw: Any) -> dict[str, Any]:
    """One predictions-mode validation run in a fresh sqlite store."""
    from validation.tracking import tracked_run

    uri = f"sqlite:///{root / 'mlflow.db'}"
    tmp = root / "staging"
    tmp.mkdir(parents=True)
    with tracked_run(experiment="samd-validation", run_name="cxr", kind="validation", tracking_uri=uri) as run:
        run.log_params({"protocol_id": "cxr-001", "model_sha256": PREDS_SHA})
        (tmp / "result.json").write_text(json.dumps(predictions_result(run.run_id, **kw)), "utf-8")
        run.log_artifact(tmp / "result.json")
        run_id = run.run_id
    return {"uri": uri, "run_id": run_id}
