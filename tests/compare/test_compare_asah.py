"""`samd compare` in predictions mode on pROC's aSAH data: candidate wfns, reference s100b.

Reference values: tests/reference/compare/asah_compare_reference.json, produced by
tests/reference/compare/asah_compare_reference.R (R 4.2.2, pROC 1.18.0: roc.test(paired=TRUE,
method="delong"); stats::mcnemar.test(correct=TRUE)). The stored test rebuilds the same data
from tests/reference/stats/aSAH.csv (exported from pROC by make_reference_stats.R); the
needs_r test exports it from pROC live and reruns the R script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from samd.cli import main
from validation.audit import iter_records, verify_audit_log
from validation.stats import paired_proportion_difference_ci
from validation.tracking import read_run

REF = Path(__file__).resolve().parents[1] / "reference"
STORED = json.loads((REF / "compare" / "asah_compare_reference.json").read_text())

PROTOCOL = """\
id: PCCP-001
title: "wfns (candidate) vs s100b (locked model) on pROC's aSAH data"
manifest: manifest.csv
truth: {column: outcome, positive: Poor}
reference: {predictions: reference.csv, score: {column: s100b, higher_is_positive: true}, threshold: 0.205}
candidate: {predictions: candidate.csv, score: {column: wfns, higher_is_positive: true}, threshold: 2.5}
endpoints:
  - {id: auc_diff, metric: roc_auc, ci: delong, confidence_level: 0.95, acceptance: {non_inferiority_margin: 0.05}}
  - {id: sens_diff, metric: sensitivity, ci: tango, confidence_level: 0.95, acceptance: {non_inferiority_margin: 0.05}}
  - {id: spec_diff, metric: specificity, ci: newcombe, confidence_level: 0.95, acceptance: {non_inferiority_margin: 0.05}}
subgroups: {variables: [{column: gender}]}
multiplicity: holm
"""


def _write_from_stored_csv(root: Path) -> None:
    a = pd.read_csv(REF / "stats" / "aSAH.csv")
    ids = [f"C{i + 1:03d}" for i in range(len(a))]
    pd.DataFrame({"case_id": ids, "outcome": ["Poor" if o else "Good" for o in a["outcome"]],
                  "gender": ["Female" if g else "Male" for g in a["gender_female"]]}).to_csv(root / "manifest.csv", index=False)
    pd.DataFrame({"case_id": ids, "s100b": [repr(float(x)) for x in a["s100b"]]}).to_csv(root / "reference.csv", index=False)
    pd.DataFrame({"case_id": ids, "wfns": a["wfns"].astype(int)}).to_csv(root / "candidate.csv", index=False)


def _run(root: Path) -> tuple[object, dict]:
    (root / "protocol.yaml").write_text(PROTOCOL)
    r = CliRunner().invoke(main, ["compare", str(root / "protocol.yaml"), "--out", str(root / "out"),
                                  "--tracking-uri", f"sqlite:///{root}/mlflow.db", "--audit-log",
                                  str(root / "audit.jsonl"), "--actor", "qa.tester"])
    result = json.loads((root / "out" / "result.json").read_text()) if (root / "out" / "result.json").exists() else {}
    return r, result


def _check_against(result: dict, ref: dict, tol: float = 1e-9) -> None:
    ep = {e["id"]: e for e in result["endpoints"]}
    auc = ep["auc_diff"]
    assert auc["method"] == "delong" and auc["test"]["name"] == "DeLong paired"
    assert abs(auc["value"] - (ref["auc_candidate"] - ref["auc_reference"])) <= tol
    assert abs(auc["ci_low"] - ref["delong_ci"][0]) <= tol and abs(auc["ci_high"] - ref["delong_ci"][1]) <= tol
    assert abs(auc["test"]["pvalue"] - ref["delong_p"]) <= tol
    assert abs(auc["test"]["statistic"] - ref["delong_z"]) <= tol
    assert abs(auc["candidate"]["value"] - ref["auc_candidate"]) <= tol
    assert abs(auc["reference"]["value"] - ref["auc_reference"]) <= tol
    for key, table, mc in (("sens_diff", "sens_table", "mcnemar_sens"), ("spec_diff", "spec_table", "mcnemar_spec")):
        e = ep[key]
        assert e["table"] == ref[table]  # counts from R's own thresholding
        assert abs(e["test"]["statistic"] - ref[mc][0]) <= tol and abs(e["test"]["pvalue"] - ref[mc][1]) <= tol
        est = paired_proportion_difference_ci(ref[table], method=e["ci"], confidence_level=0.95)
        assert (e["value"], e["ci_low"], e["ci_high"]) == (est.value, est.ci_low, est.ci_high)
        assert e["passed"] == (e["ci_low"] > -0.05)
    # subgroups: pROC's per-gender paired DeLong differences, and Cochran's Q computed from them
    g = {s["level"]: s["endpoints"]["auc_diff"] for s in result["subgroups"] if s["variable"] == "gender"}
    z = 1.959963984540054
    est, w = [], []
    for level, key in (("Female", "sub_auc_diff_female"), ("Male", "sub_auc_diff_male")):
        d, lo, hi = ref[key]
        assert abs(g[level]["value"] - d) <= tol and abs(g[level]["ci_low"] - lo) <= tol
        assert abs(g[level]["ci_high"] - hi) <= tol
        est.append(d)
        w.append(1.0 / ((hi - lo) / (2 * z)) ** 2)
    mean = sum(a * b for a, b in zip(w, est, strict=True)) / sum(w)
    q_ref = sum(b * (a - mean) ** 2 for a, b in zip(est, w, strict=True))
    t = next(t for t in result["interaction_tests"] if t["variable"] == "gender" and t["endpoint"] == "auc_diff")
    assert abs(t["statistic"] - q_ref) <= 1e-9 and t["df"] == 1


@pytest.mark.slow
@pytest.mark.verifies("SRS-COMPARE-001", "SRS-COMPARE-002", "SRS-COMPARE-003")
def test_compare_asah_equals_proc_stored(tmp_path: Path) -> None:
    _write_from_stored_csv(tmp_path)
    r, result = _run(tmp_path)
    assert r.exit_code == 1, r.output  # sens/spec non-inferiority at 0.05 is not shown on 113 cases
    assert "verdict: fail" in r.output
    _check_against(result, STORED)
    ep = {e["id"]: e for e in result["endpoints"]}
    assert ep["auc_diff"]["passed"] is True and result["verdict"] == "fail"
    assert result["kind"] == "compare" and result["protocol_version"] == 1
    # subgroups: per-level paired differences and a Holm-adjusted interaction test per endpoint
    levels = {(g["variable"], g["level"]) for g in result["subgroups"]}
    assert levels == {("gender", "Female"), ("gender", "Male")}
    tests = result["interaction_tests"]
    assert len(tests) == 3 and all(t["multiplicity"] == "holm" and t["pvalue_adjusted"] >= t["pvalue"] for t in tests)
    # outputs, audit trail, MLflow
    out = tmp_path / "out"
    for f in ("result.json", "cases.csv", "environment.json", "plots/roc_paired.png", "plots/roc_paired.svg"):
        assert (out / f).is_file(), f
    recs = list(iter_records(tmp_path / "audit.jsonl"))
    actions = [x["action"] for x in recs]
    assert actions[:3] == ["protocol.lock", "testset.access", "run.start"] and "mlflow.run.end" in actions
    assert recs[1]["context"]["protocol_kind"] == "compare"
    assert verify_audit_log(tmp_path / "audit.jsonl").ok
    run = read_run(result["mlflow_run_id"], tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    assert run["tags"]["samd.kind"] == "compare" and run["status"] == "FINISHED"
    assert abs(run["metrics"]["auc_diff/value"] - ep["auc_diff"]["value"]) <= 1e-15
    # a changed protocol is refused (exit 2 once the CLI maps errors; the library raises)
    (tmp_path / "protocol.yaml").write_text(PROTOCOL.replace("0.205", "0.3"))
    from validation.compare import run_comparison
    from validation.errors import ProtocolError

    with pytest.raises(ProtocolError, match="changed since it was locked"):
        run_comparison(tmp_path / "protocol.yaml", out_dir=tmp_path / "out2", audit_log=tmp_path / "audit.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")


@pytest.mark.needs_r
@pytest.mark.slow
@pytest.mark.verifies("SRS-COMPARE-001")
def test_compare_asah_equals_proc_live(tmp_path: Path) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    res = subprocess.run(["Rscript", str(REF / "compare" / "asah_compare_reference.R"), str(tmp_path)],
                         capture_output=True, env={**os.environ, "TZ": "UTC"}, timeout=300)
    if res.returncode != 0:
        pytest.skip(f"pROC not available: {res.stderr.decode()[-300:]}")
    fresh = json.loads((tmp_path / "reference.json").read_text())
    assert fresh == STORED  # the stored reference is reproducible
    r, result = _run(tmp_path)
    assert r.exit_code == 1, r.output
    _check_against(result, fresh)
