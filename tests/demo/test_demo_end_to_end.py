"""The end-to-end example devices, smaller: cohort -> verify -> tests -> validate -> mrmc -> report, for both devices.

Runs ``samd demo`` exactly as the README's main command does (fewer cases and replicates), then
checks the outputs with independent readers: the audit chain verifies, MLflow holds both runs,
the PDF (read back with pypdf) contains every endpoint with its value as result.json has it,
and a second run reproduces result.json (apart from run ids and access counts).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from reference_devices.demo import stable_result_sha256
from validation.audit import verify_audit_log
from validation.tracking import find_runs

pytestmark = [pytest.mark.slow, pytest.mark.verifies("SRS-DEMO-001", "SRS-DEMO-002")]

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--n-cases", "16", "--bootstrap", "100", "--readers", "4", "--reader-cases", "30"]


def _demo(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([sys.executable, "-m", "samd", "demo", "--out", str(out), *ARGS, *extra],
                         cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    return res


def _runs(out: Path) -> list[Path]:
    return sorted((out / "runs").iterdir())


def test_demo_chain_outputs_and_rerun(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    first = _demo(out)
    assert "qualification PASSED" in first.stdout
    run1 = _runs(out)[0]
    result = json.loads((run1 / "validation" / "result.json").read_text())
    mrmc = json.loads((run1 / "mrmc" / "mrmc_result.json").read_text())

    # audit chain intact, and it holds both runs' end records
    ver = verify_audit_log(out / "audit.jsonl")
    assert ver.ok, ver.message
    actions = [json.loads(line)["action"] for line in (out / "audit.jsonl").read_text().splitlines()]
    # both devices' validations and the reader study
    assert actions.count("mlflow.run.end") == 3 and actions.count("protocol.lock") == 2

    # the documents' index is signed by a registered, passphrase-protected signer; a failed
    # submission is signed "reviewed", never "approved"; authenticity verifies against the registry
    import hashlib

    records = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    index = (run1 / "submission" / "submission_index.json").read_bytes()
    sign = next(r for r in records if r["action"] == "sign" and r["object_sha256"] == hashlib.sha256(index).hexdigest())
    assert sign["signature_meaning"] == ("approved" if result["verdict"] == "pass" else "reviewed") and sign["sig"]
    assert "signer.add" in actions
    key = next(p for p in (out / "demo-signer").glob("*.pem") if "key" in p.name and "pub" not in p.name)
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    signed = verify_audit_log(out / "audit.jsonl", signers=out / "qms" / "signers.yaml")
    assert signed.ok and signed.authenticity_verified, signed.message
    page = "\n".join(p.extract_text() for p in PdfReader(run1 / "submission" / "signatures.pdf").pages)
    assert "Dana Demo" in page and sign["signature_meaning"] in page

    # MLflow holds the validation and the reader-study run
    uri = f"sqlite:///{(out / 'mlflow.db').as_posix()}"
    ids = {r["run_id"] for r in find_runs(kind="validation", tracking_uri=uri)}
    assert result["mlflow_run_id"] in ids
    ids = {r["run_id"] for r in find_runs(kind="mrmc", tracking_uri=uri)}
    assert mrmc["mlflow_run_id"] in ids

    # the (non-draft) PDF shows every endpoint with the value result.json has, rounded to 3 places
    pdf = run1 / "submission" / "submission.pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "DRAFT" not in text and "{{" not in text and "{%" not in text
    for ep in result["endpoints"]:
        assert ep["id"] in text
        value = float(ep["value"])
        if value == value:  # not nan
            assert f"{value:.3f}" in text, (ep["id"], value)
    assert result["mlflow_run_id"] in text and mrmc["mlflow_run_id"] in text

    # nothing is overwritten, and a second run reproduces the numbers
    second = _demo(out, "--skip-tests")
    run1_files = sorted(p.relative_to(run1) for p in run1.rglob("*"))
    assert len(_runs(out)) == 2 and run1_files == sorted(p.relative_to(run1) for p in run1.rglob("*"))
    result2 = json.loads((_runs(out)[1] / "validation" / "result.json").read_text())
    assert result2["mlflow_run_id"] != result["mlflow_run_id"]
    assert stable_result_sha256(result2) == stable_result_sha256(result)
    assert stable_result_sha256(result) in first.stdout and stable_result_sha256(result2) in second.stdout
    # the second reference device (2-D ONNX classifier) ran its own protocol in bundle mode, reproducibly
    cxr1 = json.loads((run1 / "cxr-validation" / "result.json").read_text())
    cxr2 = json.loads((_runs(out)[1] / "cxr-validation" / "result.json").read_text())
    assert cxr1["device"]["name"] == "samd-cxr-triage" and cxr1["n_cases"] == 16
    # ... and its own documents: non-draft PDF with its endpoints and run id, signed, with a signature page
    cxr_sub = run1 / "cxr-submission"
    cxr_index = (cxr_sub / "submission_index.json").read_bytes()
    cxr_sign = next(r for r in records if r["action"] == "sign"
                    and r["object_sha256"] == hashlib.sha256(cxr_index).hexdigest())
    assert cxr_sign["signature_meaning"] == ("approved" if cxr1["verdict"] == "pass" else "reviewed")
    cxr_text = "\n".join(page.extract_text() for page in PdfReader(cxr_sub / "submission.pdf").pages)
    assert "DRAFT" not in cxr_text and cxr1["mlflow_run_id"] in cxr_text and "samd-cxr-triage" in cxr_text
    for ep in cxr1["endpoints"]:
        assert ep["id"] in cxr_text
    cxr_page = "\n".join(p.extract_text() for p in PdfReader(cxr_sub / "signatures.pdf").pages)
    assert "Dana Demo" in cxr_page and cxr_sign["signature_meaning"] in cxr_page
    assert stable_result_sha256(cxr1) == stable_result_sha256(cxr2)
    assert verify_audit_log(out / "audit.jsonl").ok
