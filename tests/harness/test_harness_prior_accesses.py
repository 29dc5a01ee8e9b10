"""Test-set reuse is visible (issue #15): result.json lists every prior access of the same test-set
hash (not a capped count), and the report gathers them from several verified audit logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from risk.report._context import prior_access_rows
from samd_core.errors import IntegrityError
from tests.harness._factory import make_study
from validation.audit import AuditLog
from validation.harness import ACCESS_FIELDS, prior_accesses_across, run_validation


def _access(log: AuditLog, sha: str, run: str, model: str) -> dict:
    return log.append("testset.access", object={"type": "test_set", "id": "manifest.csv"}, object_sha256=sha,
                      context={"protocol_id": "P", "protocol_sha256": "p" * 64, "model_sha256": model * 64,
                               "model_name": f"dev-{model}", "model_version": "1", "mode": "bundle",
                               "purpose": "validation", "mlflow_run_id": run})


@pytest.mark.verifies("SRS-HARNESS-015")
def test_result_json_lists_every_prior_access(tmp_path: Path) -> None:
    proto = make_study(tmp_path / "s", n=40)
    audit = tmp_path / "audit.jsonl"
    uri = f"sqlite:///{tmp_path}/m.db"
    runs = [run_validation(proto, out_dir=tmp_path / f"o{i}", audit_log=audit, tracking_uri=uri, progress=False)
            for i in range(3)]
    third = json.loads((tmp_path / "o2" / "result.json").read_text())
    recs = third["test_set_prior_access_records"]
    assert third["test_set_prior_accesses"] == 2 and len(recs) == 2
    assert [r["run_id"] for r in recs] == [runs[0].run_id, runs[1].run_id]
    assert all(set(r) == set(ACCESS_FIELDS) and r["log"] == "audit.jsonl" for r in recs)
    assert recs[0]["protocol_sha256"] == third["protocol_sha256"] and recs[0]["model_sha256"] == third["model_sha256"]


def test_accesses_gathered_across_verified_logs(tmp_path: Path) -> None:
    sha = "d" * 64
    earlier = AuditLog(tmp_path / "earlier-device.jsonl")
    _access(earlier, sha, "r-old", "a")
    _access(earlier, "e" * 64, "r-other-testset", "a")  # another test set: not listed
    current = AuditLog(tmp_path / "audit.jsonl")
    _access(current, sha, "r-prev", "b")
    own = _access(current, sha, "r-now", "b")
    later = _access(current, sha, "r-later", "b")
    rows = prior_access_rows("r-now", {"manifest_sha256": sha, "test_set_prior_access_records": []},
                             [current.path, earlier.path, current.path], [own, later])
    assert [(r["run_id"], r["log"], r["model_name"]) for r in rows] == [
        ("r-old", "earlier-device.jsonl", "dev-a"), ("r-prev", "audit.jsonl", "dev-b")]
    # a tampered log refuses the list
    lines = earlier.path.read_text().splitlines()
    earlier.path.write_text("\n".join([lines[0].replace('"r-old"', '"r-xxx"'), *lines[1:]]) + "\n")
    with pytest.raises(IntegrityError, match="earlier-device.jsonl"):
        prior_accesses_across([earlier.path], sha)

