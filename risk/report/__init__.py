"""Submission documents (510(k) Summary, software documentation, performance reports) from runs."""

from risk.report._context import Missing, ifu_sha256, normalize_ifu
from risk.report._normalize import IDENTITY_KEYS, device_identity, parse_changelog
from risk.report._render import SECTIONS, RenderedSubmission, load_submission_config, render_submission
from risk.report._runs import RESULT_ARTIFACTS, RunRecord, load_runs
from risk.report._signatures import SignatureEntry, SignaturePage, render_signature_page, signature_entries

__all__ = [
    "IDENTITY_KEYS",
    "RESULT_ARTIFACTS",
    "SECTIONS",
    "Missing",
    "RenderedSubmission",
    "RunRecord",
    "SignatureEntry",
    "SignaturePage",
    "device_identity",
    "ifu_sha256",
    "load_runs",
    "load_submission_config",
    "normalize_ifu",
    "parse_changelog",
    "render_signature_page",
    "render_submission",
    "signature_entries",
]
