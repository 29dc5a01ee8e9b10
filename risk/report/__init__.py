"""Submission documents (510(k) Summary, software documentation, performance reports) from runs."""

from risk.report._claims import (
    CriteriaSummary,
    ReaderStudyClaim,
    benefit_risk_sentences,
    conclusion_sentences,
    criteria_summary,
    reader_study_claim,
    subgroup_findings,
)
from risk.report._context import Missing, ifu_sha256, normalize_ifu
from risk.report._equivalence import PredicateComparison, compare_with_predicate
from risk.report._format import fmt_ci, fmt_num, fmt_pct
from risk.report._init import TODO, InitResult, find_todos, init_submission_config
from risk.report._normalize import HASH_LABELS, IDENTITY_KEYS, device_identity, parse_changelog
from risk.report._render import SECTIONS, RenderedSubmission, load_submission_config, render_submission
from risk.report._runs import RESULT_ARTIFACTS, RunRecord, latest_runs, load_runs
from risk.report._signatures import SignatureEntry, SignaturePage, render_signature_page, signature_entries

__all__ = [
    "HASH_LABELS",
    "IDENTITY_KEYS",
    "RESULT_ARTIFACTS",
    "SECTIONS",
    "TODO",
    "CriteriaSummary",
    "InitResult",
    "Missing",
    "PredicateComparison",
    "ReaderStudyClaim",
    "RenderedSubmission",
    "RunRecord",
    "SignatureEntry",
    "SignaturePage",
    "benefit_risk_sentences",
    "compare_with_predicate",
    "conclusion_sentences",
    "criteria_summary",
    "device_identity",
    "find_todos",
    "fmt_ci",
    "fmt_num",
    "fmt_pct",
    "ifu_sha256",
    "init_submission_config",
    "latest_runs",
    "load_runs",
    "load_submission_config",
    "normalize_ifu",
    "parse_changelog",
    "reader_study_claim",
    "render_signature_page",
    "render_submission",
    "signature_entries",
    "subgroup_findings",
]
