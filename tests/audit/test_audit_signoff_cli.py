"""The whole sign-off through the CLI, as a product team (and the demo) runs it: enrol a signer,
sign a document set, render its signature page, verify authenticity, revoke a key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from samd.cli import main
from validation.audit import iter_records, load_signers


@pytest.mark.verifies("SRS-HARNESS-007", "SRS-HARNESS-008", "SRS-HARNESS-009")
def test_audit_signoff_end_to_end_cli(tmp_path: Path, monkeypatch) -> None:
    run = CliRunner().invoke
    reg, log, keys = tmp_path / "qms" / "signers.yaml", tmp_path / "audit.jsonl", tmp_path / "keys"
    index = tmp_path / "submission" / "submission_index.json"
    index.parent.mkdir()
    index.write_text(json.dumps({"format": "samd-submission-index/1", "sources": []}))
    monkeypatch.setenv("SAMD_SIGNING_PASSPHRASE", "demo passphrase")
    r = run(main, ["signer", "add", "--registry", str(reg), "--name", "Demo QA", "--user-id", "demo.qa",
                   "--role", "Quality Manager", "--key-out", str(keys), "--audit-log", str(log)])
    assert r.exit_code == 0, r.output
    (key,) = keys.glob("demo.qa-*.key.pem")
    r = run(main, ["audit", "sign", str(log), "--object", str(index), "--meaning", "approved", "--key", str(key),
                   "--user-id", "demo.qa", "--registry", str(reg)])
    assert r.exit_code == 0, r.output
    r = run(main, ["audit", "signature-page", str(log), "--index", str(index), "--signers", str(reg), "--no-pdf"])
    assert r.exit_code == 0 and "Demo QA (demo.qa) approved" in r.output, r.output
    assert (index.parent / "signatures.html").is_file()
    r = run(main, ["audit", "verify", str(log), "--signers", str(reg)])
    assert r.exit_code == 0 and "authenticity verified" in r.output, r.output
    r = run(main, ["signer", "list", "--registry", str(reg)])
    assert r.exit_code == 0 and "demo.qa\tDemo QA\tQuality Manager" in r.output
    kid = load_signers(reg).signers[0].key_id
    r = run(main, ["signer", "revoke", "--registry", str(reg), "--key-id", kid, "--reason", "key file lost",
                   "--audit-log", str(log)])
    assert r.exit_code == 0, r.output
    assert [x["action"] for x in iter_records(log)] == ["signer.add", "sign", "signer.revoke"]
    r = run(main, ["audit", "verify", str(log), "--signers", str(reg)])
    assert r.exit_code == 1 and "revoked" in r.output and "first bad seq: 2" in r.output
    assert load_signers(reg).version == 2
