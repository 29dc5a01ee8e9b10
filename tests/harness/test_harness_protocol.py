"""Protocol schema, malformed protocols (messages name the key path), locking, manifest hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness._factory import BASE_PROTOCOL, make_study
from validation.audit import AuditLog, iter_records, verify_audit_log
from validation.errors import IntegrityError, ProtocolError
from validation.harness import (
    check_manifest_files,
    current_lock,
    ensure_locked,
    load_protocol,
    protocol_schema,
    read_manifest,
    run_validation,
)


def _write(tmp: Path, text: str) -> Path:
    p = tmp / "p.yaml"
    p.write_text(text)
    return p


@pytest.mark.verifies("SRS-HARNESS-010")
def test_harness_protocol_valid_and_schema_shipped(tmp_path: Path) -> None:
    schema = protocol_schema()
    assert schema["$schema"].endswith("2020-12/schema") and "endpoints" in schema["properties"]
    proto = load_protocol(_write(tmp_path, BASE_PROTOCOL))
    assert proto.id == "SAP-TEST-001" and proto.mode == "predictions" and len(proto.sha256) == 64


MALFORMED = [
    # (replace this, with that, expected message fragment)
    ("id: SAP-TEST-001\n", "", "`id` of `protocol p.yaml` must be present; got 'missing'"),
    ("metric: roc_auc", "metric: auc",
     "`endpoints[0].metric` of `protocol p.yaml` must be one of ['roc_auc'"),
    ("metric: roc_auc", "metric: roc_acu", "did you mean 'roc_auc'?"),
    ("ci: delong", "ci: wilson", "`endpoints[0].ci` of `protocol p.yaml` must be one of ['bootstrap_bca', "
                                 "'bootstrap_percentile', 'delong'] for metric 'roc_auc'"),
    ("  threshold: 0.5\n", "", "`device.threshold` of `protocol p.yaml` must be a pre-specified number for "
                               "metric 'sensitivity'"),
    ("predictions: predictions.csv", "predictions: predictions.csv\n  bundle: b/",
     "`device` of `protocol p.yaml` must be a mapping with exactly one of 'predictions' or 'bundle'"),
    ("higher_is_positive: true", "higher_is_positive: yes please",
     "`device.score.higher_is_positive` of `protocol p.yaml` must be of type boolean"),
    ("confidence_level: 0.95", "confidence_level: 95",
     "`endpoints[0].confidence_level` of `protocol p.yaml` must be < 1"),
    ("acceptance: {ci_low_at_least: 0.6}", "acceptance: {ci_low_atleast: 0.6}",
     "`endpoints[0].acceptance.ci_low_atleast` of `protocol p.yaml` must be one of the known keys"),
    ("acceptance: {value_at_least: 0.5}}\n  - {id: spec",
     "acceptance: {margin: 0.05}}\n  - {id: spec",
     "`endpoints[1].acceptance` of `protocol p.yaml` must be 'margin' and 'reference' together"),
    ("replicates: 200", "replicates: 10", "`bootstrap.replicates` of `protocol p.yaml` must be >= 100"),
    ("multiplicity: holm", "multiplicity: hochberg", "`multiplicity` of `protocol p.yaml` must be one of "
                                                     "['holm', 'bonferroni', 'benjamini_hochberg', 'none']"),
    ("bins: [0, 60, 200]", "bins: [0, 60, 50]",
     "`subgroups.variables[1].bins` of `protocol p.yaml` must be strictly increasing"),
    ("{id: spec,", "{id: sens,", "`endpoints[2].id` of `protocol p.yaml` must be unique among endpoints"),
    ("truth: {column: label, positive: \"1\"}", "truth: {column: label}",
     "`truth` of `protocol p.yaml` must be a mapping with 'column' and 'positive'"),
    ("endpoints:", "endpoints: []\nxendpoints:", "`endpoints` of `protocol p.yaml` must be a list of at least 1"),
    ("manifest: manifest.csv\n", "manifest: manifest.csv\nmanifest: other.csv\n", "duplicate key 'manifest' at line"),
    ("id: SAP-TEST-001\n", "id: [unclosed\n", "is not valid YAML at line"),
    ("  - {id: spec, metric: specificity, ci: wilson, acceptance: {value_at_least: 0.5}}\n",
     "  - {id: spec, metric: specificity, ci: bootstrap_percentile, acceptance: {value_at_least: 0.5}}\n",
     None),  # valid only with a bootstrap section (present): must load
]


@pytest.mark.verifies("SRS-HARNESS-010")
@pytest.mark.parametrize(("old", "new", "message"), MALFORMED)
def test_harness_protocol_malformed(tmp_path: Path, old: str, new: str, message: str | None) -> None:
    assert old in BASE_PROTOCOL
    text = BASE_PROTOCOL.replace(old, new, 1)
    if message is None:
        load_protocol(_write(tmp_path, text))
        return
    with pytest.raises(ProtocolError) as ei:
        load_protocol(_write(tmp_path, text))
    assert message in str(ei.value), str(ei.value)


@pytest.mark.verifies("SRS-HARNESS-010")
def test_harness_protocol_bootstrap_required_and_not_a_mapping(tmp_path: Path) -> None:
    text = BASE_PROTOCOL.replace("ci: delong", "ci: bootstrap_bca").replace(
        "bootstrap: {replicates: 200, seed: 7}\n", "")
    with pytest.raises(ProtocolError, match=r"`bootstrap` of `protocol p.yaml` must be present"):
        load_protocol(_write(tmp_path, text))
    with pytest.raises(ProtocolError, match=r"`<top level>` of `protocol p.yaml` must be a mapping; got 'list'"):
        load_protocol(_write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ProtocolError, match="must be an existing YAML file"):
        load_protocol(tmp_path / "nope.yaml")


@pytest.mark.verifies("SRS-HARNESS-011")
def test_harness_protocol_lock_and_relock(tmp_path: Path) -> None:
    proto_path = make_study(tmp_path, files=False)
    log = AuditLog(tmp_path / "audit.jsonl", fsync=False)
    state, rec = ensure_locked(log, load_protocol(proto_path))
    assert state.version == 1 and rec is not None and rec["action"] == "protocol.lock"
    assert ensure_locked(log, load_protocol(proto_path))[1] is None  # unchanged: no new record
    proto_path.write_text(BASE_PROTOCOL.replace("ci_low_at_least: 0.6", "ci_low_at_least: 0.5"))
    with pytest.raises(ProtocolError, match="changed since it was locked"):
        ensure_locked(log, load_protocol(proto_path))
    state2, rec2 = ensure_locked(log, load_protocol(proto_path), relock_reason="goal lowered per CAPA-7")
    assert state2.version == 2 and rec2["action"] == "protocol.relock"
    assert rec2["context"]["previous_sha256"] == state.sha256
    assert current_lock(log.path, "SAP-TEST-001") == state2
    assert verify_audit_log(log.path).ok


@pytest.mark.verifies("SRS-HARNESS-011")
def test_harness_protocol_edited_after_locking_refused_before_any_result(tmp_path: Path) -> None:
    proto_path = make_study(tmp_path, files=False)
    log = AuditLog(tmp_path / "audit.jsonl", fsync=False)
    ensure_locked(log, load_protocol(proto_path))
    proto_path.write_text(BASE_PROTOCOL.replace("threshold: 0.5", "threshold: 0.4"))
    with pytest.raises(ProtocolError, match="changed since it was locked"):
        run_validation(proto_path, out_dir=tmp_path / "out", audit_log=log.path,
                       tracking_uri=f"sqlite:///{tmp_path}/never.db")
    assert not (tmp_path / "out" / "result.json").exists()
    assert not (tmp_path / "never.db").exists()  # nothing was tracked
    assert [r["action"] for r in iter_records(log.path)] == ["protocol.lock"]


@pytest.mark.verifies("SRS-HARNESS-012")
def test_harness_protocol_tampered_manifest_stops_run(tmp_path: Path) -> None:
    proto_path = make_study(tmp_path)
    assert check_manifest_files(read_manifest(tmp_path / "manifest.csv")) == 120
    f1, f2 = tmp_path / "images" / "K0003.bin", tmp_path / "images" / "K0077.bin"
    f1.write_bytes(b"changed" + f1.read_bytes()[7:])
    f2.unlink()
    audit = tmp_path / "audit.jsonl"
    with pytest.raises(IntegrityError) as ei:
        run_validation(proto_path, out_dir=tmp_path / "out", audit_log=audit,
                       tracking_uri=f"sqlite:///{tmp_path}/never.db")
    msg = str(ei.value)
    assert "2 file(s) do not match" in msg and "case K0003 `path` images/K0003.bin: sha256" in msg
    assert "case K0077 `path` images/K0077.bin: file missing" in msg
    assert not (tmp_path / "out" / "result.json").exists() and not (tmp_path / "never.db").exists()
    actions = [r["action"] for r in iter_records(audit)]
    assert actions == ["protocol.lock", "testset.integrity_failure", "run.fail"]  # every failure after the lock


@pytest.mark.verifies("SRS-HARNESS-012")
def test_harness_protocol_manifest_and_prediction_errors(tmp_path: Path) -> None:
    proto_path = make_study(tmp_path, files=False)
    (tmp_path / "predictions.csv").write_text("case_id,score\nK0000,0.3\n")
    with pytest.raises(ProtocolError, match=r"no prediction for 119 manifest case\(s\) \['K0001'"):
        run_validation(proto_path, out_dir=tmp_path / "o", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/m.db")
    (tmp_path / "manifest.csv").write_text("case_id,label\nA,1\nA,0\n")
    with pytest.raises(ProtocolError, match=r"duplicate `case_id` values \['A'\]"):
        read_manifest(tmp_path / "manifest.csv")
