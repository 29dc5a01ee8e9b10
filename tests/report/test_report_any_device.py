"""A predictions-mode device that is not the lung-nodule device: identity, hashes, init skeleton, TODOs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from risk.errors import IntegrityError, MissingInputsError
from risk.report import find_todos, init_submission_config, render_submission
from samd.cli import main
from tests.report.conftest import PREDS_SHA, make_predictions_run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


def _text(path: Path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", path.read_text("utf-8")))


def _fill(cfg: Path, tmp: Path, *, device_name: bool) -> None:
    """What a person writes into the skeleton (no run is edited)."""
    doc = yaml.safe_load(cfg.read_text("utf-8"))
    for key in ("submitter", "summary"):
        doc[key] = {k: f"{key} {k}" for k in doc[key]}
    doc["device"].update(trade_name="CXR Triage", common_name="Chest radiograph triage software",
                         classification_name="Radiological computer-assisted triage software",
                         regulation_number="21 CFR 892.2080", product_code="QFM", device_class="II",
                         description="Flags chest radiographs with suspected pneumothorax.")
    if device_name:
        doc["device"].update(name="cxr-triage", version="2.3.0")
    doc["indications_for_use"] = "CXR Triage flags adult chest radiographs with suspected pneumothorax."
    doc["predicates"] = [{"k_number": "K111111", "name": "P", "manufacturer": "M", "citation": "K111111 table 1"}]
    for row in doc["substantial_equivalence"]:
        row["predicate_citation"] = "K111111 table 2"
        if "rule" in row:
            row["predicate"] = {"value": 0.90, "ci_low": 0.85, "ci_high": 0.94, "confidence_level": 0.95}
            row["rule"] = {"non_inferior": {"margin": 0.05}}
        else:
            row.update(predicate="Same population", comparison="same")
    doc["standalone"] = {"provenance": "clinical"}
    doc["software"] = {"documentation_level": "Basic", "level_rationale": "r", "level_hazard_ids": [],
                       "architecture": "a", "development_practices": "d"}
    for key in ("risk_file", "requirements", "lock_file", "changelog"):
        doc.pop(key)
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")


@pytest.mark.verifies("SRS-REPORT-016")
def test_init_skeleton_todos_and_a_predictions_mode_device(tmp_path: Path) -> None:
    store = make_predictions_run(tmp_path / "s")
    cfg = tmp_path / "submission.yaml"
    r = CliRunner().invoke(main, ["report", "init", "--run", store["run_id"], "--out", str(cfg),
                                  "--tracking-uri", store["uri"]])
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(cfg.read_text("utf-8"))
    todos = find_todos(doc)
    assert "/device/name" in todos and "/predicates/0/k_number" in todos and "/risk_file" in todos
    # what the run knows is filled in: one performance row per endpoint, decided by a rule
    assert [row["subject"] for row in doc["substantial_equivalence"][1:]] == [
        {"endpoint": e} for e in ("sens", "spec", "auc", "hd95")]
    assert "reader_study" not in doc  # no reader study given
    with pytest.raises(FileExistsError):
        init_submission_config(run_ids=[store["run_id"]], out=cfg, tracking_uri=store["uri"])
    # a TODO left: refused (listing each), unless --draft
    with pytest.raises(MissingInputsError, match="`/device/name` is still a TODO"):
        render_submission(config_path=cfg, run_ids=[store["run_id"]], out_dir=tmp_path / "x",
                          tracking_uri=store["uri"], pdf=False)
    res = render_submission(config_path=cfg, run_ids=[store["run_id"]], out_dir=tmp_path / "draft",
                            tracking_uri=store["uri"], pdf=False, draft=True)
    assert any("`predicates`: 1 item(s) still hold a TODO" in m for m in res.missing)
    # filled in by a person: the identity comes from the configuration, never a core fingerprint
    _fill(cfg, tmp_path, device_name=True)
    res = render_submission(config_path=cfg, run_ids=[store["run_id"]], out_dir=tmp_path / "o",
                            tracking_uri=store["uri"], pdf=False, draft=True)
    assert not any("identity" in m for m in res.missing), res.missing
    assert res.verdict == "fail"
    out = tmp_path / "o"
    assert not (out / "reader_study.html").exists()
    every = " ".join(_text(p) for p in out.glob("*.html"))
    assert "Bundle manifest SHA-256" not in every and "fingerprint" not in every.lower()
    assert "locked samd bundle" not in every and "The algorithm is locked" not in every
    desc = _text(out / "device_description.html")
    assert f"Predictions file SHA-256 (predictions.csv) {PREDS_SHA}" in desc
    assert "cxr-triage" in desc and "2.3.0" in desc and "from the submission configuration" in desc
    standalone = _text(out / "standalone_performance.html")
    assert "107 26 (no predicted segmentation (undefined: exclude): 26)" in standalone  # n analysed, excluded
    assert "auc roc_auc 0.880" in standalone and "300 not recorded by the run" in standalone
    summary = _text(out / "510k_summary.html")
    assert "2 of 4 criteria were not met" in summary
    assert "Criterion not met: hd95 (hd95_mm) 4.100 (95% CI 3.500 to 4.800), n = 107; acceptance criterion " \
           "ci_high &lt;= 4.0: not met" in summary


@pytest.mark.verifies("SRS-REPORT-016")
def test_predictions_mode_identity_from_the_run(tmp_path: Path) -> None:
    store = make_predictions_run(tmp_path / "s", name="cxr-triage", version="2.3.0")
    cfg = tmp_path / "submission.yaml"
    init_submission_config(run_ids=[store["run_id"]], out=cfg, tracking_uri=store["uri"])
    doc = yaml.safe_load(cfg.read_text("utf-8"))
    assert (doc["device"]["name"], doc["device"]["version"]) == ("cxr-triage", "2.3.0")
    _fill(cfg, tmp_path, device_name=False)
    doc = yaml.safe_load(cfg.read_text("utf-8"))
    doc["device"].pop("name")
    doc["device"].pop("version")
    cfg.write_text(yaml.safe_dump(doc), "utf-8")
    render_submission(config_path=cfg, run_ids=[store["run_id"]], out_dir=tmp_path / "o",
                      tracking_uri=store["uri"], pdf=False, draft=True)
    desc = _text(tmp_path / "o" / "device_description.html")
    assert "cxr-triage" in desc and "from the submission configuration" not in desc
    doc["device"]["version"] = "2.4.0"  # another identity than the run's is refused
    cfg.write_text(yaml.safe_dump(doc), "utf-8")
    with pytest.raises(IntegrityError, match="`device.version` is '2.4.0' in the submission configuration"):
        render_submission(config_path=cfg, run_ids=[store["run_id"]], out_dir=tmp_path / "p",
                          tracking_uri=store["uri"], pdf=False, draft=True)


def test_init_with_a_reader_study_and_the_schema_refuses_typed_performance_rows(
        store: dict, tmp_path: Path) -> None:
    from risk.errors import RiskFileError
    from risk.report import load_submission_config

    cfg = tmp_path / "s.yaml"
    init_submission_config(run_ids=store["run_ids"], out=cfg, tracking_uri=store["uri"])
    doc = yaml.safe_load(cfg.read_text("utf-8"))
    assert doc["device"]["name"] == "samd-reference-nodule" and doc["device"]["version"] == "1.1.0"
    assert doc["reader_study"]["provenance"].startswith("TODO")
    assert doc["substantial_equivalence"][-1]["subject"] == {"mrmc": "effect"}
    assert "rule" in doc["substantial_equivalence"][-1] and "comparison" not in doc["substantial_equivalence"][-1]
    typed = tmp_path / "typed.yaml"
    typed.write_text(yaml.safe_dump({"substantial_equivalence": [
        {"attribute": "Sensitivity", "subject": {"endpoint": "sens"}, "predicate": "0.90 (0.85 to 0.94)",
         "predicate_citation": "K1", "comparison": "similar"}]}), "utf-8")
    with pytest.raises(RiskFileError, match="substantial_equivalence/0"):
        load_submission_config(typed)


def test_predicate_value_outside_its_ci_names_the_row(tmp_path: Path) -> None:
    from risk.errors import RiskFileError

    store = make_predictions_run(tmp_path / "s", name="cxr-triage", version="2.3.0")
    cfg = tmp_path / "submission.yaml"
    init_submission_config(run_ids=[store["run_id"]], out=cfg, tracking_uri=store["uri"])
    _fill(cfg, tmp_path, device_name=False)
    doc = yaml.safe_load(cfg.read_text("utf-8"))
    doc["substantial_equivalence"][1]["predicate"] = {"value": 0.99, "ci_low": 0.85, "ci_high": 0.94}
    cfg.write_text(yaml.safe_dump(doc), "utf-8")
    with pytest.raises(RiskFileError, match=r"`/substantial_equivalence/1` \(sensitivity \(sens\)\): `reference_value`"):
        render_submission(config_path=cfg, run_ids=[store["run_id"]], out_dir=tmp_path / "o",
                          tracking_uri=store["uri"], pdf=False, draft=True)
