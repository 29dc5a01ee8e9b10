"""End-to-end `samd validate` in predictions mode on pROC's aSAH data, against pROC/epiR.

Reference values: tests/reference/harness/asah_reference.json, produced by
tests/reference/harness/asah_reference.R (R 4.2.2, pROC 1.18.0, epiR 2.0.57). The data are
exported from pROC at test time by the same script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from samd.cli import main
from validation.audit import verify_audit_log
from validation.tracking import load_json_artifact, read_run

REF = Path(__file__).resolve().parents[1] / "reference" / "harness"

PROTOCOL = """\
id: SAP-ASAH-001
title: s100b for poor outcome after aneurysmal SAH (pROC aSAH data)
device:
  predictions: predictions.csv
  score: {column: s100b, higher_is_positive: true, is_probability: false}
  threshold: 0.205
manifest: manifest.csv
truth: {column: outcome, positive: Poor}
endpoints:
  - {id: auc, metric: roc_auc, ci: delong, confidence_level: 0.95, acceptance: {ci_low_at_least: 0.6}}
  - {id: sens, metric: sensitivity, ci: clopper_pearson, acceptance: {value_at_least: 0.6}}
  - {id: spec, metric: specificity, ci: clopper_pearson, acceptance: {ci_low_at_least: 0.65}}
  - {id: ppv, metric: ppv, ci: clopper_pearson, acceptance: {value_at_least: 0.5}}
  - {id: npv, metric: npv, ci: clopper_pearson, acceptance: {value_at_least: 0.5}}
subgroups:
  min_size: 50
  variables:
    - {column: gender}
    - {column: age, bins: [0, 50, 120], labels: ["<50", ">=50"]}
bootstrap: {replicates: 500, seed: 20261129}
multiplicity: holm
"""


@pytest.fixture(scope="module")
def asah_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    root = tmp_path_factory.mktemp("asah")
    res = subprocess.run(["Rscript", str(REF / "asah_reference.R"), str(root)], capture_output=True,
                         env={**os.environ, "TZ": "UTC"}, timeout=300)
    if res.returncode != 0:
        pytest.skip(f"pROC/epiR not available: {res.stderr.decode()[-300:]}")
    (root / "protocol.yaml").write_text(PROTOCOL)
    uri = f"sqlite:///{root}/mlflow.db"
    runner = CliRunner()
    r = runner.invoke(main, ["validate", str(root / "protocol.yaml"), "--out", str(root / "out"),
                             "--tracking-uri", uri, "--audit-log", str(root / "audit.jsonl"),
                             "--actor", "qa.tester"])
    return {"root": root, "uri": uri, "cli": r, "committed": json.loads((REF / "asah_reference.json").read_text()),
            "fresh": json.loads((root / "reference.json").read_text())}


@pytest.mark.needs_r
@pytest.mark.slow
@pytest.mark.verifies("SRS-HARNESS-020", "SRS-HARNESS-021", "SRS-HARNESS-022")
def test_harness_validate_asah_equals_proc_epir_and_mlflow(asah_run: dict) -> None:
    r = asah_run["cli"]
    assert r.exit_code == 0, r.output
    assert "verdict: pass" in r.output
    assert asah_run["fresh"] == asah_run["committed"]  # the committed reference is reproducible
    ref = asah_run["committed"]
    out = asah_run["root"] / "out"
    result = json.loads((out / "result.json").read_text())
    ep = {e["id"]: e for e in result["endpoints"]}
    tol = 1e-12
    for key, rv in [("auc", ref["auc"]), ("sens", ref["se"]), ("spec", ref["sp"]), ("ppv", ref["ppv"]),
                    ("npv", ref["npv"])]:
        got = [ep[key]["value"], ep[key]["ci_low"], ep[key]["ci_high"]]
        assert max(abs(a - b) for a, b in zip(got, rv, strict=True)) < tol, (key, got, rv)
    assert ep["auc"]["method"] == "delong" and ep["sens"]["method"] == "clopper_pearson"
    assert {k: ep["sens"][k] for k in ("tp", "fn")} == {"tp": ref["counts"]["tp"], "fn": ref["counts"]["fn"]}
    assert {k: ep["spec"][k] for k in ("tn", "fp")} == {"tn": ref["counts"]["tn"], "fp": ref["counts"]["fp"]}
    # subgroup AUC and the interaction test (Cochran Q from pROC's per-gender DeLong variances)
    g = {(s["variable"], s["level"]): s for s in result["subgroups"]}
    assert abs(g[("gender", "Female")]["endpoints"]["auc"]["value"] - ref["auc_female"][0]) < tol
    assert abs(g[("gender", "Male")]["endpoints"]["auc"]["value"] - ref["auc_male"][0]) < tol
    assert g[("gender", "Male")]["below_min_size"] is True and any("below the minimum" in w for w in result["warnings"])
    (af, vf), (am, vm) = ref["auc_female"], ref["auc_male"]
    w1, w2 = 1 / vf, 1 / vm
    mean = (w1 * af + w2 * am) / (w1 + w2)
    q_ref = w1 * (af - mean) ** 2 + w2 * (am - mean) ** 2
    t = next(t for t in result["interaction_tests"] if t["variable"] == "gender" and t["endpoint"] == "auc")
    assert abs(t["statistic"] - q_ref) < 1e-9 and t["pvalue_adjusted"] >= t["pvalue"]
    # outputs
    for f in ("cases.csv", "cases.parquet", "environment.json", "plots/roc.png", "plots/roc.svg",
              "plots/forest.png", "plots/forest.svg"):
        assert (out / f).is_file(), f
    assert result["protocol_sha256"] and result["manifest_sha256"] and result["verdict"] == "pass"
    # the same numbers in MLflow, read back
    run = read_run(result["mlflow_run_id"], tracking_uri=asah_run["uri"])
    assert run["kind"] == "validation" and run["tags"]["samd.verdict"] == "pass"
    assert run["params"]["protocol_sha256"] == result["protocol_sha256"]
    for key in ("auc", "sens", "spec", "ppv", "npv"):
        for f in ("value", "ci_low", "ci_high"):
            assert run["metrics"][f"{key}/{f}"] == ep[key][f]
    assert load_json_artifact(result["mlflow_run_id"], "result.json", tracking_uri=asah_run["uri"]) == result
    assert {"result.json", "cases.csv", "cases.parquet", "inputs/protocol.yaml", "inputs/manifest.csv",
            "plots/roc.svg", "environment.json"} <= set(run["artifacts"])
    # the audit trail: lock before access before run; signed-off by verify
    audit = asah_run["root"] / "audit.jsonl"
    assert verify_audit_log(audit).ok
    actions = [json.loads(x)["action"] for x in audit.read_text().splitlines()]
    assert actions == ["protocol.lock", "testset.access", "run.start", "mlflow.run.end", "checkpoint"]


@pytest.mark.needs_r
@pytest.mark.slow
@pytest.mark.verifies("SRS-HARNESS-023")
def test_harness_validate_audit_verify_mlflow_detects_edits(asah_run: dict) -> None:
    from mlflow.tracking import MlflowClient

    assert asah_run["cli"].exit_code == 0
    root, uri = asah_run["root"], asah_run["uri"]
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify", str(root / "audit.jsonl"), "--mlflow", "--tracking-uri", uri])
    assert ok.exit_code == 0, ok.output
    assert "1/1 runs match" in ok.output
    result = json.loads((root / "out" / "result.json").read_text())
    rid = result["mlflow_run_id"]
    client = MlflowClient(uri)
    client.set_tag(rid, "samd.verdict", "fail")
    client.log_metric(rid, "auc/ci_low", 0.9)
    other = root / "result.json"
    other.write_text('{"verdict": "pass"}')
    client.log_artifact(rid, str(other))  # silently replaces the stored result.json
    bad = runner.invoke(main, ["audit", "verify", str(root / "audit.jsonl"), "--mlflow", "--tracking-uri", uri])
    assert bad.exit_code == 1
    assert f"run {rid}" in bad.output
    assert "tag 'samd.verdict': audit 'pass', store 'fail'" in bad.output
    assert "metric 'auc/ci_low'" in bad.output and "artifact 'result.json': sha256" in bad.output
    # tail truncation with the side file gone: caught by the checkpoint kept as MLflow params
    lines = (root / "audit.jsonl").read_bytes().splitlines(keepends=True)
    side = root / "audit.jsonl.checkpoints"
    side.unlink()
    (root / "audit.jsonl").write_bytes(b"".join(lines[:-2]))
    assert runner.invoke(main, ["audit", "verify", str(root / "audit.jsonl")]).exit_code == 0  # chain alone: no
    r = runner.invoke(main, ["audit", "verify", str(root / "audit.jsonl"), "--mlflow", "--tracking-uri", uri])
    assert r.exit_code == 1 and "truncated" in r.output and f"MLflow run {rid}" in r.output, r.output
    # audit-log tampering through the CLI: exit 1 naming the first bad seq
    (root / "audit.jsonl").write_bytes(b"".join(lines[:1] + lines[2:]))
    r = runner.invoke(main, ["audit", "verify", str(root / "audit.jsonl")])
    assert r.exit_code == 1 and "first bad seq: 2" in r.output
