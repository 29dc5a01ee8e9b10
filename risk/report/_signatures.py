"""Signature manifestation (21 CFR 11.50, 11.70): a page listing who signed a document set.

The page is rendered *after* sign-off and never changes the signed files: it lists every ``sign``
record of the audit trail whose ``object_sha256`` is the SHA-256 of the document set's index
(``submission_index.json``), with printed name, user id, role, meaning and UTC date/time, each
linked to its record by seq and hash. It is written as ``signatures.html``, ``signatures.pdf`` and
``signed_submission.pdf`` (the submission PDF followed by the signature page).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from risk.errors import IntegrityError
from samd_core.hashing import sha256_file

__all__ = ["SignatureEntry", "SignaturePage", "render_signature_page", "signature_entries"]


@dataclass(frozen=True, slots=True)
class SignatureEntry:
    """One signature covering a document set (from a signed ``sign`` record)."""

    seq: int
    hash: str
    name: str
    user_id: str
    role: str
    meaning: str
    ts_utc: str
    reason: str | None
    key_id: str | None


@dataclass(frozen=True, slots=True)
class SignaturePage:
    """Outcome of `render_signature_page`: the entries and the files written (name -> SHA-256)."""

    entries: tuple[SignatureEntry, ...]
    files: dict[str, str]
    authenticity_verified: bool


def signature_entries(records: Any, index_sha256: str) -> tuple[SignatureEntry, ...]:
    """The signed ``sign`` records whose object is the document set with this index SHA-256."""
    out = []
    for r in records:
        if r.get("action") != "sign" or r.get("object_sha256") != index_sha256 or not r.get("sig"):
            continue
        ctx = r.get("context") if isinstance(r.get("context"), dict) else {}
        signer = ctx.get("signer") if isinstance(ctx.get("signer"), dict) else {}
        actor = r.get("actor") if isinstance(r.get("actor"), dict) else {}
        out.append(SignatureEntry(int(r["seq"]), str(r["hash"]), str(signer.get("name", "(not recorded)")),
                                  str(actor.get("user_id", "")), str(signer.get("role", "")),
                                  str(r.get("signature_meaning")), str(r.get("ts_utc")), r.get("reason"),
                                  r.get("key_id")))
    return tuple(out)


def render_signature_page(
    audit_log: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    *,
    signers: Any = None,
    pdf: bool = True,
) -> SignaturePage | None:
    """Write the signature page of a rendered document set, or return None when none signed it.

    Parameters
    ----------
    audit_log : path
        The audit trail holding the ``sign`` records; it must verify (with ``signers``, also its
        authenticity).
    index_path : path
        The document set's ``submission_index.json``; the page is written beside it.
    signers : path or SignerRegistry, optional
        Signer registry: the page then states that every signature was verified against it.
    pdf : bool
        Also write ``signatures.pdf`` and ``signed_submission.pdf`` (WeasyPrint, pypdf).

    Raises
    ------
    IntegrityError
        The audit trail fails verification.
    """
    from validation.audit import iter_records, verify_audit_log

    index = Path(index_path)
    check = verify_audit_log(audit_log, signers=signers)
    if not check.ok:
        raise IntegrityError(f"audit log {Path(audit_log).name} fails verification: {check.message}")
    index_sha = sha256_file(index)
    entries = signature_entries(iter_records(audit_log), index_sha)
    if not entries:
        return None
    from risk.report._render import _environment

    authenticity = ("Every signature was verified against the signer registry." if check.authenticity_verified
                    else "Signatures verified for integrity only (no signer registry given).")
    html = _environment().get_template("signatures.html.j2").render(
        entries=entries, index_name=index.name, index_sha256=index_sha, log_name=Path(audit_log).name,
        authenticity=authenticity, head=check.head_hash)
    out = index.parent
    (out / "signatures.html").write_text(html, "utf-8")
    names = ["signatures.html"]
    if pdf:
        from pypdf import PdfReader, PdfWriter
        from weasyprint import HTML

        HTML(string=html, base_url=str(out)).write_pdf(out / "signatures.pdf")
        names.append("signatures.pdf")
        if (out / "submission.pdf").is_file():
            writer = PdfWriter()
            for src in (out / "submission.pdf", out / "signatures.pdf"):
                for page in PdfReader(src).pages:
                    writer.add_page(page)
            with open(out / "signed_submission.pdf", "wb") as fh:
                writer.write(fh)
            names.append("signed_submission.pdf")
    return SignaturePage(entries, {n: sha256_file(out / n) for n in names}, check.authenticity_verified)
