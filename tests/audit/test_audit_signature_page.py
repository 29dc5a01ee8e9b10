"""Signature manifestation (21 CFR 11.50, 11.70): a page naming who signed a document set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from risk.report import render_signature_page
from samd.cli import main
from validation.audit import add_signer, iter_records, sign_object

PW = "pass phrase"


def _signed(tmp_path: Path) -> dict:
    reg = tmp_path / "signers.yaml"
    a = add_signer(reg, name="Jane <b>Doe</b>", user_id="jdoe", role="QA", key_out=tmp_path / "k", passphrase=PW)
    out = tmp_path / "submission"
    out.mkdir()
    index = out / "submission_index.json"
    index.write_text(json.dumps({"format": "samd-submission-index/1"}))
    other = out / "other.json"
    other.write_text("{}")
    log = tmp_path / "audit.jsonl"
    for obj, meaning in ((index, "reviewed"), (other, "approved"), (index, "approved")):
        sign_object(log, obj, meaning=meaning, private_key=a.private_key_path, passphrase=PW, user_id="jdoe",
                    registry=reg)
    return {"reg": reg, "index": index, "log": log, "out": out}


@pytest.mark.verifies("SRS-HARNESS-008")
def test_audit_signature_page_lists_every_signature_of_the_index(tmp_path: Path) -> None:
    s = _signed(tmp_path)
    page = render_signature_page(s["log"], s["index"], signers=s["reg"], pdf=False)
    assert page is not None and page.authenticity_verified
    recs = [r for r in iter_records(s["log"]) if r["action"] == "sign"]
    assert [(e.seq, e.meaning) for e in page.entries] == [(recs[0]["seq"], "reviewed"), (recs[2]["seq"], "approved")]
    html = (s["out"] / "signatures.html").read_text()
    for r in (recs[0], recs[2]):
        assert r["hash"] in html and r["ts_utc"] in html
    assert recs[1]["hash"] not in html  # another object's signature is not listed
    assert "Jane &lt;b&gt;Doe&lt;/b&gt;" in html and "<b>Doe" not in html  # escaped
    assert "verified against the signer registry" in html


def test_audit_signature_page_none_and_pdf(tmp_path: Path) -> None:
    s = _signed(tmp_path)
    unsigned = s["out"] / "unsigned.json"
    unsigned.write_text("[]")
    assert render_signature_page(s["log"], unsigned, pdf=False) is None
    from weasyprint import HTML

    HTML(string="<h1>Submission</h1>").write_pdf(s["out"] / "submission.pdf")
    before = (s["out"] / "submission.pdf").read_bytes()
    r = CliRunner().invoke(main, ["audit", "signature-page", str(s["log"]), "--index", str(s["index"]),
                                  "--signers", str(s["reg"])])
    assert r.exit_code == 0, r.output
    pdf = s["out"] / "signatures.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "Electronic Signatures" in text and "approved" in text and "jdoe" in text
    assert (s["out"] / "submission.pdf").read_bytes() == before  # signed files never change
    signed = PdfReader(s["out"] / "signed_submission.pdf")
    assert len(signed.pages) == 1 + len(PdfReader(pdf).pages)
    assert "Electronic Signatures" in signed.pages[-1].extract_text()
