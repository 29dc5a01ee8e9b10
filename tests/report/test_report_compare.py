"""`samd report` renders the "Modification protocol and impact assessment" from a `samd compare` run."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from risk.report import render_submission
from tests.compare.test_compare_asah import PROTOCOL, _write_from_stored_csv


@pytest.mark.slow
@pytest.mark.verifies("SRS-COMPARE-005")
def test_report_renders_the_impact_assessment(tmp_path: Path, example_config: Path) -> None:
    from validation.compare import run_comparison

    root = tmp_path / "cmp"
    root.mkdir()
    _write_from_stored_csv(root)
    (root / "protocol.yaml").write_text(PROTOCOL)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    audit = tmp_path / "audit.jsonl"
    o = run_comparison(root / "protocol.yaml", out_dir=root / "out", tracking_uri=uri, audit_log=audit)
    res = render_submission(config_path=example_config, run_ids=[o.run_id], out_dir=tmp_path / "d",
                            tracking_uri=uri, audit_log=audit, pdf=False, draft=True)
    raw = (tmp_path / "d" / "standalone_performance.html").read_text("utf-8")
    html = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", raw)))
    assert "Modification protocol and impact assessment" in html
    assert "PCCP-001 version 1" in html and o.result["protocol_sha256"] in html
    for ep in o.result["endpoints"]:
        assert f"{ep['value']:.3f}" in html and f"{ep['ci_low']:.3f} to {ep['ci_high']:.3f}" in html
        assert ep["criterion"] in html
    assert "roc_paired.png" in raw
    index = json.loads((tmp_path / "d" / "submission_index.json").read_text())
    assert any(f["file"].endswith("roc_paired.png") for f in index["sections"]["figures"])
    assert not any("compare" in m and "samd.kind" in m for m in res.missing)
