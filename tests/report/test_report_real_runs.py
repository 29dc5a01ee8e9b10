"""End to end with the real producers: `samd validate` (predictions mode) and `samd mrmc` runs -> `samd report`."""

from __future__ import annotations

import json
from html import unescape
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from risk.errors import MissingInputsError
from risk.report import render_submission
from samd.cli import main
from tests.harness._factory import make_study
from tests.report.conftest import EXAMPLE_TESTS, write_junit

VD = Path(__file__).resolve().parents[1] / "reference" / "mrmc" / "vandyke_long.csv"


@pytest.mark.slow
@pytest.mark.verifies("SRS-REPORT-001", "SRS-REPORT-004", "SRS-REPORT-005")
def test_report_from_samd_validate_and_samd_mrmc_runs(tmp_path: Path, example_config: Path) -> None:
    if not VD.exists():
        pytest.skip("MRMC reference data not present")
    study = make_study(tmp_path / "study", files=False)
    preds = study.parent / "predictions.csv"  # plain floats (repr of numpy scalars is not CSV-safe)
    preds.write_text(re.sub(r"np\.float64\(([^)]*)\)", r"\1", preds.read_text("utf-8")), "utf-8")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    audit = tmp_path / "audit.jsonl"
    runner = CliRunner()
    r = runner.invoke(main, ["validate", str(study), "--out", str(tmp_path / "val"), "--tracking-uri", uri,
                             "--audit-log", str(audit), "--actor", "qa"])
    assert r.exit_code in (0, 1), r.output
    result = json.loads((tmp_path / "val" / "result.json").read_text("utf-8"))
    r = runner.invoke(main, ["mrmc", str(VD), "--json", "--out", str(tmp_path / "mrmc"), "--tracking-uri", uri,
                             "--audit-log", str(audit), "--actor", "qa"])
    assert r.exit_code == 0, r.output
    mrmc = json.loads((tmp_path / "mrmc" / "mrmc_result.json").read_text("utf-8"))
    run_ids = [result["mlflow_run_id"], mrmc["mlflow_run_id"]]
    cfg = example_config.read_text("utf-8").replace("{endpoint: case_sensitivity}", "{endpoint: sens}")
    example_config.write_text(cfg, "utf-8")
    junit = write_junit(tmp_path / "junit.xml", EXAMPLE_TESTS)

    # predictions mode validates scores, not a locked core: the identity is reported as missing
    with pytest.raises(MissingInputsError) as info:
        render_submission(config_path=example_config, run_ids=run_ids, out_dir=tmp_path / "o",
                          tracking_uri=uri, audit_log=audit, junit=[junit], pdf=False)
    assert all(m.startswith("device identity:") for m in info.value.missing), info.value.missing

    res = render_submission(config_path=example_config, run_ids=run_ids, out_dir=tmp_path / "d",
                            tracking_uri=uri, audit_log=audit, junit=[junit], pdf=False, draft=True)
    html = re.sub(r"<[^>]+>", " ", (tmp_path / "d" / "standalone_performance.html").read_text("utf-8"))
    html = re.sub(r"\s+", " ", unescape(html))
    for ep in result["endpoints"]:
        assert f"{ep['value']:.3f}" in html and f"{ep['ci_low']:.3f} to {ep['ci_high']:.3f}" in html
        assert ep["criterion"] in html
    for g in result["subgroups"]:
        assert f"{g['variable']} {g['level']}" in html
    reader = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (tmp_path / "d" / "reader_study.html").read_text("utf-8")))
    d = mrmc["comparisons"][0]["estimate"]
    assert f"{d['value']:.3f}" in reader and f"{d['ci_low']:.3f} to {d['ci_high']:.3f}" in reader
    assert f"{mrmc['pvalue']:.4f}" in reader
    index = json.loads(Path(res.index_path).read_text("utf-8"))
    assert all(s["audit_hash"] for s in index["sources"])
    from validation.audit import verify_audit_log

    assert verify_audit_log(audit).ok
