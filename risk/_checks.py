"""Traceability checks: risk -> control -> verification -> result, requirement -> test -> result.

Each problem is a `Finding` with a stable code, the id it concerns and a sentence that says what
is wrong and what was expected. The checks never raise on data problems: they collect findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from risk._junit import TestOutcome
from risk._requirements import Requirement
from risk._riskfile import RiskFile

__all__ = ["FINDING_CODES", "Finding", "TraceRow", "TraceabilityReport", "check_traceability"]

#: code -> what it means (rendered in docs and in the report).
FINDING_CODES: dict[str, str] = {
    "RISK-UNCONTROLLED": "an unacceptable risk (before control) has no risk control",
    "RISK-RESIDUAL-UNACCEPTABLE": "a residual risk is unacceptable and has no benefit-risk justification",
    "CONTROL-UNVERIFIED": "a risk control has no verification",
    "CONTROL-UNKNOWN-REQUIREMENT": "a risk control names a requirement id that is not defined",
    "VERIFICATION-MISSING": "a verification names a test or endpoint absent from the given results",
    "VERIFICATION-FAILED": "a verification's test did not pass or its endpoint missed its criterion",
    "REQUIREMENT-UNVERIFIED": "a requirement has no verifying test (marker) and no `verified_by` entry",
    "REQUIREMENT-FAILED": "a test or endpoint that verifies a requirement did not pass",
    "ORPHAN-VERIFIES": ("a test declares it verifies an unknown id in a checked namespace (e.g. SRS-REF-009 when "
                        "SRS-REF-* requirements are loaded; RC-* when a risk file is given)"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One traceability problem."""

    code: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.subject}: {self.message}"


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One line of the traceability matrix: an item, the evidence that verifies it, the result."""

    item: str
    title: str
    evidence: tuple[str, ...]
    status: str  # "verified" | "failed" | "missing" | "unverified"


@dataclass(frozen=True, slots=True)
class TraceabilityReport:
    """Findings plus the requirement and risk-control traceability matrices."""

    findings: tuple[Finding, ...]
    requirement_rows: tuple[TraceRow, ...]
    control_rows: tuple[TraceRow, ...]
    n_tests: int
    n_tests_passed: int
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when there are no findings."""
        return not self.findings


def _endpoint_status(ref: str, endpoints: Mapping[str, bool]) -> str:
    if ref not in endpoints:
        return "missing"
    return "verified" if endpoints[ref] else "failed"


def _matching_tests(ref: str, tests: Mapping[str, TestOutcome]) -> list[TestOutcome]:
    """Tests whose node id is ``ref`` or a parametrization of it (``ref[...]``)."""
    if ref in tests:
        return [tests[ref]]
    return [t for k, t in sorted(tests.items()) if k.startswith(ref + "[")]


def _verify(kind: str, ref: str, tests: Mapping[str, TestOutcome], endpoints: Mapping[str, bool]) -> tuple[str, str]:
    """Status ("verified"|"failed"|"missing") and a detail sentence for one verification."""
    if kind == "test":
        ts = _matching_tests(ref, tests)
        if not ts:
            return "missing", "not in the given JUnit results"
        bad = [t for t in ts if not t.passed]
        if bad:
            return "failed", "; ".join(f"{t.nodeid} {t.status}" for t in bad)
        return "verified", ""
    st = _endpoint_status(ref, endpoints)
    return st, {"missing": "endpoint not in the given validation results",
                "failed": "endpoint did not meet its acceptance criterion", "verified": ""}[st]


def check_traceability(
    requirements: Sequence[Requirement],
    tests: Mapping[str, TestOutcome],
    *,
    risk_file: RiskFile | None = None,
    endpoints: Mapping[str, bool] | None = None,
) -> TraceabilityReport:
    """Run every traceability check.

    Parameters
    ----------
    requirements
        From `load_requirements`.
    tests
        From `parse_junit` (results of a real test run).
    risk_file
        From `load_risk_file`; when ``None`` only requirement checks run.
    endpoints
        Validation endpoint id -> passed (from the validation runs' ``result.json``).

    Returns
    -------
    TraceabilityReport
        Findings sorted by (code, subject) and the traceability matrices.
    """
    endpoints = dict(endpoints or {})
    findings: list[Finding] = []
    by_id: dict[str, list[TestOutcome]] = {}
    for t in tests.values():
        for ident in t.verifies:
            by_id.setdefault(ident, []).append(t)
    req_ids = {r.id for r in requirements}
    ctrl_ids = {c.id for c in risk_file.controls} if risk_file else set()

    req_rows = []
    for r in requirements:
        ts = sorted(by_id.get(r.id, []), key=lambda t: t.nodeid)
        evidence = [f"test {t.nodeid} [{t.status}]" for t in ts]
        statuses = ["verified" if t.passed else "failed" for t in ts]
        for t in ts:
            if not t.passed:
                findings.append(Finding("REQUIREMENT-FAILED", r.id, f"test {t.nodeid} {t.status}"))
        for kind, ref in r.verified_by:
            st, detail = _verify(kind, ref, tests, endpoints)
            evidence.append(f"{kind} {ref} [{st}]")
            statuses.append(st)
            if st == "failed":
                findings.append(Finding("REQUIREMENT-FAILED", r.id, f"{kind} {ref}: {detail}"))
            elif st == "missing":
                findings.append(Finding("VERIFICATION-MISSING", r.id, f"{kind} {ref}: {detail}"))
        if not statuses:
            findings.append(Finding("REQUIREMENT-UNVERIFIED", r.id,
                                    f"no test in the results declares @pytest.mark.verifies({r.id!r}) and no "
                                    f"`verified_by` is given ({r.title})"))
        status = ("unverified" if not statuses else "failed" if "failed" in statuses
                  else "missing" if "missing" in statuses else "verified")
        req_rows.append(TraceRow(r.id, r.title, tuple(evidence), status))

    ctrl_rows = []
    if risk_file is not None:
        for h in risk_file.hazards:
            if not risk_file.initial_acceptable(h) and not h.controls:
                findings.append(Finding("RISK-UNCONTROLLED", h.id,
                                        f"risk ({h.severity}, {h.probability}) is unacceptable before control "
                                        "and the hazard has no risk control"))
            if not risk_file.residual_acceptable(h) and not h.residual_risk_justification:
                findings.append(Finding("RISK-RESIDUAL-UNACCEPTABLE", h.id,
                                        f"residual risk ({h.residual_severity}, {h.residual_probability}) is "
                                        "unacceptable and `residual_risk_justification` is missing"))
            for c in h.controls:
                evidence: list[str] = []
                statuses: list[str] = []
                for ref in c.requirements:
                    if ref not in req_ids:
                        findings.append(Finding("CONTROL-UNKNOWN-REQUIREMENT", c.id,
                                                f"requirement {ref!r} is not defined in the requirement files"))
                if not c.verification and not by_id.get(c.id):
                    findings.append(Finding("CONTROL-UNVERIFIED", c.id,
                                            f"control of {h.id} has no verification (test id or endpoint id)"))
                for v in c.verification:
                    st, detail = _verify(v.kind, v.ref, tests, endpoints)
                    evidence.append(f"{v.kind} {v.ref} [{st}]")
                    statuses.append(st)
                    if st == "missing":
                        findings.append(Finding("VERIFICATION-MISSING", c.id, f"{v.kind} {v.ref}: {detail}"))
                    elif st == "failed":
                        findings.append(Finding("VERIFICATION-FAILED", c.id, f"{v.kind} {v.ref}: {detail}"))
                for t in sorted(by_id.get(c.id, []), key=lambda t: t.nodeid):
                    evidence.append(f"test {t.nodeid} [{t.status}]")
                    statuses.append("verified" if t.passed else "failed")
                    if not t.passed:
                        findings.append(Finding("VERIFICATION-FAILED", c.id, f"test {t.nodeid}: test {t.status}"))
                status = ("unverified" if not statuses else "failed" if "failed" in statuses
                          else "missing" if "missing" in statuses else "verified")
                ctrl_rows.append(TraceRow(c.id, c.description, tuple(evidence), status))

    namespaces = {i.rsplit("-", 1)[0] for i in req_ids}
    for ident in sorted(by_id):
        in_scope = ident.rsplit("-", 1)[0] in namespaces or (risk_file is not None and ident.startswith("RC-"))
        if in_scope and ident not in req_ids and ident not in ctrl_ids:
            for t in by_id[ident]:
                findings.append(Finding("ORPHAN-VERIFIES", ident,
                                        f"test {t.nodeid} declares it verifies {ident!r}, which is neither a "
                                        "requirement nor a risk control"))
    findings.sort(key=lambda f: (f.code, f.subject, f.message))
    summary: dict[str, int] = {}
    for f in findings:
        summary[f.code] = summary.get(f.code, 0) + 1
    return TraceabilityReport(
        findings=tuple(findings),
        requirement_rows=tuple(req_rows),
        control_rows=tuple(ctrl_rows),
        n_tests=len(tests),
        n_tests_passed=sum(t.passed for t in tests.values()),
        summary=summary,
    )
