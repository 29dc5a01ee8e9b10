"""`samd compare` checks that no test case is training data of either model, before any case is scored,
exactly as `samd validate` does (hashes against their closed form in
``tests/harness/test_harness_training_overlap.py``), and lists every prior access of the test set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness.test_harness_training_overlap import N, _test_study, _training
from validation.compare import run_comparison
from validation.errors import ProtocolError, TrainingOverlapError
from validation.harness import NOT_CHECKED

ROOT = Path(__file__).resolve().parents[2]

PROTO = """\
id: PCCP-OVERLAP
manifest: manifest.csv
truth: {column: label, positive: "1"}
reference: {predictions: predictions.csv, score: {column: score, higher_is_positive: true}, threshold: 0.5,
            training_set: training_set.json}
candidate: CANDIDATE
endpoints:
  - {id: auc, metric: roc_auc, ci: delong, acceptance: {non_inferiority_margin: 0.1}}
"""
PRED = "{predictions: predictions.csv, score: {column: score, higher_is_positive: true}, threshold: 0.5}"


def _compare(root: Path, name: str = "out") -> dict:
    run_comparison(root / "cmp.yaml", out_dir=root / name, audit_log=root / "audit.jsonl",
                   tracking_uri=f"sqlite:///{root}/m.db", progress=False)
    return json.loads((root / name / "result.json").read_text())


def test_a_test_case_in_a_models_training_set_refuses_the_comparison(tmp_path: Path) -> None:
    _test_study(tmp_path)
    _training(tmp_path, "patient_id")
    (tmp_path / "cmp.yaml").write_text(PROTO.replace("CANDIDATE", PRED))
    with pytest.raises(TrainingOverlapError, match=rf"^1 of {N} test case\(s\) overlap .*patient_id 1\): T003;") as ei:
        _compare(tmp_path)
    assert ei.value.case_ids == ("T003",) and "PT-003" not in str(ei.value)
    audit = (tmp_path / "audit.jsonl").read_text()
    assert '"testset.training_overlap"' in audit and '"model_role":"reference"' in audit
    assert '"testset.access"' not in audit and "run.fail" in audit  # refused before any case was scored
    assert not (tmp_path / "out" / "result.json").exists()


def test_a_clean_comparison_states_what_was_checked_per_model_and_lists_prior_accesses(tmp_path: Path) -> None:
    _test_study(tmp_path)
    _training(tmp_path, None)
    (tmp_path / "cmp.yaml").write_text(PROTO.replace("CANDIDATE", PRED))
    first = _compare(tmp_path, "a")
    ov = first["training_overlap"]
    assert ov["reference"]["checked"] is True and ov["reference"]["overlapping_cases"] == 0
    assert ov["reference"]["source"] == "protocol" and ov["reference"]["training_cases"] == 6
    assert ov["candidate"] == {"checked": False, "statement": NOT_CHECKED}
    assert first["test_set_prior_access_records"] == [] and first["test_set_prior_accesses"] == 0
    second = _compare(tmp_path, "b")
    recs = second["test_set_prior_access_records"]
    assert second["test_set_prior_accesses"] == len(recs) == 1
    assert recs[0]["run_id"] == first["mlflow_run_id"] and recs[0]["log"] == "audit.jsonl"


@pytest.mark.parametrize("candidate, match", [
    ("{bundle: %s, threshold: 0.5, training_set: training_set.json}" % (ROOT / "samd_core/bundles/cxr_triage_v1"),
     r"`candidate.training_set` is given in bundle mode"),
    (PRED[:-1] + ", training_set: nowhere.json}", r"`candidate.training_set` file nowhere.json does not exist"),
])
def test_bad_training_set_keys_are_named(tmp_path: Path, candidate: str, match: str) -> None:
    _test_study(tmp_path)
    _training(tmp_path, None)
    (tmp_path / "cmp.yaml").write_text(PROTO.replace("CANDIDATE", candidate))
    with pytest.raises(ProtocolError, match=match):
        _compare(tmp_path)
