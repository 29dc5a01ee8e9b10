"""`samd mrmc`: text report, JSON, bad input, MLflow run + audit record."""

from __future__ import annotations

import json
import pathlib

import pytest
from click.testing import CliRunner

from samd.cli import main

REF = pathlib.Path(__file__).resolve().parents[1] / "reference" / "mrmc"
VD = str(REF / "vandyke_long.csv")


@pytest.mark.verifies("SRS-MRMC-016")
def test_mrmc_cli_text_report_has_every_intermediate() -> None:
    res = CliRunner().invoke(main, ["mrmc", VD])
    assert res.exit_code == 0, res.output
    out = res.output
    for needle in ("sign convention: difference = modality 1 minus modality 2", "MS(T) = 0.004796170532",
                   "MS(T*R) = 0.0005510306217", "Cov1 = 0.00034661371", "Cov2 = 0.00034407483",
                   "Cov3 = 0.00023902837", "denominator = 0.001076262912", "F = 4.45632",
                   "df = (1, 15.2597)", "p = 0.0516657", "convention: iowa", "DBM ANOVA"):
        assert needle in out, needle


@pytest.mark.verifies("SRS-MRMC-016")
def test_mrmc_cli_json_and_options() -> None:
    res = CliRunner().invoke(main, ["mrmc", VD, "--json", "--method", "DBM", "--generalization", "FRRC"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["method"] == "DBM" and d["generalization"] == "FRRC" and d["df_den"] == 113
    assert d["sign_convention"] == "modality 1 minus modality 2"
    assert abs(d["pvalue"] - 0.021035) < 5e-7


@pytest.mark.verifies("SRS-MRMC-016")
def test_mrmc_cli_bad_input_exit_2(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "bad.csv"
    lines = pathlib.Path(VD).read_text().splitlines()
    p.write_text("\n".join(lines[:-1]) + "\n")  # drop one cell
    res = CliRunner().invoke(main, ["mrmc", str(p)])
    assert res.exit_code == 2
    assert "fully crossed; reader '5' in modality '2' has no rating for case(s) '114'" in res.output
    res = CliRunner().invoke(main, ["mrmc", VD, "--method", "DBM", "--covariance", "delong"])
    assert res.exit_code == 2 and "jackknife" in res.output


@pytest.mark.slow
@pytest.mark.verifies("SRS-MRMC-017")
def test_mrmc_cli_logs_mlflow_run_and_audit(tmp_path: pathlib.Path) -> None:
    from validation.audit import iter_records, verify_audit_log
    from validation.tracking import load_json_artifact, read_run, verify_tracked_runs

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    audit = tmp_path / "audit.jsonl"
    res = CliRunner().invoke(main, ["mrmc", VD, "--json", "--out", str(tmp_path / "out"), "--tracking-uri", uri,
                                       "--audit-log", str(audit), "--actor", "tester"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    run_id = d["mlflow_run_id"]
    run = read_run(run_id, tracking_uri=uri)
    assert run["kind"] == "mrmc" and run["status"] == "FINISHED"
    assert "mrmc_result.json" in run["artifacts"]
    art = load_json_artifact(run_id, "mrmc_result.json", tracking_uri=uri)
    assert art["statistic"] == d["statistic"] and art["mlflow_run_id"] == run_id
    assert abs(run["metrics"]["pvalue"] - 0.051666) < 5e-7
    on_disk = json.loads((tmp_path / "out" / "mrmc_result.json").read_text())
    assert on_disk == art
    recs = list(iter_records(audit))
    assert [r["action"] for r in recs][-1] == "mlflow.run.end"
    assert verify_audit_log(audit).ok
    assert all(c.ok for c in verify_tracked_runs(recs, tracking_uri=uri))
