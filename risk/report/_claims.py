"""Claims computed from the evidence: the (b)(3) conclusion, reader-study benefit, benefit–risk.

Every sentence of a submission document that asserts performance is built here from verdicts and
results, never typed in a configuration. The builders are pure: plain rows in, sentences out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from risk.errors import InvalidParameterError
from risk.report._format import fmt_ci, fmt_num

__all__ = [
    "CriteriaSummary",
    "ReaderStudyClaim",
    "benefit_risk_sentences",
    "conclusion_sentences",
    "criteria_summary",
    "evidence_supports_claims",
    "reader_study_claim",
    "subgroup_findings",
]

Verdict = Literal["pass", "fail", "not evaluated"]
NOT_MET = "acceptance criteria not met"


@dataclass(frozen=True, slots=True)
class CriteriaSummary:
    """Acceptance criteria over all validation runs.

    ``verdict`` is ``"fail"`` when any criterion failed or any run's verdict is not ``pass``;
    ``"pass"`` when every criterion of every run was evaluated and met; else ``"not evaluated"``.
    ``failed`` holds the endpoint rows (`endpoint_rows`) whose criterion was not met.
    """

    verdict: Verdict
    n_met: int
    n_total: int
    failed: tuple[Mapping[str, Any], ...]
    run_verdicts: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ReaderStudyClaim:
    """Outcome of a reader study's pre-specified hypothesis, and the one sentence that states it."""

    run_id: str
    hypothesis: str
    declared: bool
    met: bool | None
    sentence: str


def criteria_summary(validations: Sequence[Mapping[str, Any]]) -> CriteriaSummary:
    """Summarise the acceptance criteria of validation runs (``{run_id, verdict, endpoints}``)."""
    eps = [ep for v in validations for ep in v["endpoints"]]
    failed = tuple(ep for ep in eps if ep.get("passed") is not True)
    run_verdicts = tuple((str(v["run_id"]), str(v.get("verdict") or "not recorded")) for v in validations)
    n_met = sum(ep.get("passed") is True for ep in eps)
    verdict: Verdict
    if any(ep.get("passed") is False for ep in eps) or any(rv == "fail" for _, rv in run_verdicts):
        verdict = "fail"
    elif eps and n_met == len(eps) and all(rv == "pass" for _, rv in run_verdicts):
        verdict = "pass"
    else:
        verdict = "not evaluated"
    return CriteriaSummary(verdict, n_met, len(eps), failed, run_verdicts)


def _criterion_text(c: Any) -> str:
    if c is None:
        return "none stated"
    if isinstance(c, Mapping):
        return "; ".join(f"{k}: {v}" for k, v in sorted(c.items()))
    return str(c)


def _endpoint_clause(ep: Mapping[str, Any]) -> str:
    n = ep.get("n")
    state = "not evaluated" if ep.get("passed") is None else "not met"
    if ep.get("reached") is False:  # a sensitivity at an FP rate the FROC curve never attains
        shown = f"not reached (highest FP rate reached: {fmt_num(ep.get('fp_rate_reached'))})"
    else:
        shown = fmt_ci(ep.get('value'), ep.get('ci_low'), ep.get('ci_high'), ep.get('confidence_level'))
    return (f"{ep['id']} ({ep['metric']}) {shown}"
            f"{f', n = {n}' if n is not None else ''}; acceptance criterion {_criterion_text(ep.get('criterion'))}: {state}")


def _data_label(provenance: str | None) -> str:
    if provenance in ("synthetic", "simulated"):
        return f" on {provenance} data (not clinical performance data)"
    if provenance == "clinical":
        return " on clinical data"
    return " on data of undeclared provenance"


def conclusion_sentences(crit: CriteriaSummary, *, provenance: str | None) -> tuple[str, ...]:
    """The (b)(3) conclusion about standalone performance, computed from ``crit``.

    When criteria are not met, each failed one is named with its value, CI and criterion, and no
    sentence asserts that the device meets its criteria.
    """
    where = _data_label(provenance)
    if crit.n_total == 0:
        return ("No standalone performance result with acceptance criteria was given; no performance claim is made.",)
    if crit.verdict == "pass":
        return (f"All {crit.n_total} pre-specified acceptance criteria of the standalone performance study were "
                f"met{where}.",)
    out = [f"The standalone performance study{where} did not meet its pre-specified acceptance criteria: "
           f"{crit.n_total - crit.n_met} of {crit.n_total} criteria were not met."]
    out += [f"Criterion not met: {_endpoint_clause(ep)}." for ep in crit.failed]
    bad_runs = [r for r, v in crit.run_verdicts if v == "fail"]
    if bad_runs:
        out.append(f"Overall verdict of validation run(s) {', '.join(bad_runs)}: fail.")
    out.append("These performance data do not show that the device meets its pre-specified acceptance criteria.")
    return tuple(out)


def _hypothesis(hypothesis: Mapping[str, Any] | None) -> tuple[str, float, bool]:
    """``(name, margin, declared)`` of a reader-study hypothesis config."""
    if hypothesis is None:
        return "superiority", 0.0, False
    if set(hypothesis) == {"superiority"}:
        return "superiority", 0.0, True
    if set(hypothesis) == {"non_inferior"} and isinstance(hypothesis["non_inferior"], Mapping):
        margin = hypothesis["non_inferior"].get("margin")
        if isinstance(margin, (int, float)) and not isinstance(margin, bool) and math.isfinite(margin) and margin >= 0:
            return "non_inferior", float(margin), True
    raise InvalidParameterError("hypothesis", "reader_study_claim",
                                "{superiority: {}} or {non_inferior: {margin: number >= 0}}", dict(hypothesis))


def reader_study_claim(mrmc: Mapping[str, Any], hypothesis: Mapping[str, Any] | None) -> ReaderStudyClaim:
    """Whether the reader study's pre-specified hypothesis was met, and the sentence that says so.

    ``mrmc`` is an `mrmc_summary`; its ``difference`` is ``minuend − subtrahend`` at the study's
    confidence level. Superiority is met when the CI's lower bound is above 0; non-inferiority with
    margin ``d`` when it is above ``−d``. A benefit is claimed only when the hypothesis is met;
    otherwise the observed effect, CI and p are stated with "a benefit was not shown".
    """
    name, margin, declared = _hypothesis(hypothesis)
    d = mrmc.get("difference")
    what = ("superiority" if name == "superiority" else f"non-inferiority with margin {fmt_num(margin)}")
    fom = mrmc.get("figure_of_merit") or "figure of merit"
    if not d:
        return ReaderStudyClaim(str(mrmc["run_id"]), what, declared, None,
                                "The reader study computed no difference between reading conditions; "
                                "no reader-study claim is made.")
    label = str(d.get("label", "difference"))
    minuend, _, subtrahend = label.partition(" − ")
    est = fmt_ci(d.get("value"), d.get("ci_low"), d.get("ci_high"), mrmc.get("confidence_level"))
    p = f", p = {fmt_num(d.get('pvalue'), 4)}" if d.get("pvalue") is not None else ""
    lo = d.get("ci_low")
    met = isinstance(lo, float) and math.isfinite(lo) and lo > -margin
    basis = "pre-specified" if declared else "default (not declared in the configuration)"
    if met:
        sentence = (f"The {basis} reader-study hypothesis ({what} of {minuend or 'the first'} over "
                    f"{subtrahend or 'the second'} reading) was met: {fom} difference {label} {est}{p}.")
    else:
        sentence = (f"The {basis} reader-study hypothesis ({what} of {minuend or 'the first'} over "
                    f"{subtrahend or 'the second'} reading) was not met: observed {fom} difference {label} "
                    f"{est}{p}; a benefit of {minuend or 'the device'} reading was not shown.")
    return ReaderStudyClaim(str(mrmc["run_id"]), what, declared, met, sentence)


def evidence_supports_claims(crit: CriteriaSummary, readers: Sequence[ReaderStudyClaim]) -> bool:
    """True only when every criterion was met and every reader-study hypothesis was met."""
    return crit.verdict == "pass" and all(r.met is True for r in readers)


def benefit_risk_sentences(
    crit: CriteriaSummary,
    readers: Sequence[ReaderStudyClaim],
    *,
    n_hazards: int | None,
    n_residual_acceptable: int | None,
) -> tuple[str, ...]:
    """The benefit–risk statement computed from the verdicts, the reader-study claims and the risk file."""
    out: list[str] = []
    if crit.verdict == "pass":
        out.append(f"Benefit: all {crit.n_total} pre-specified standalone acceptance criteria were met.")
    elif crit.verdict == "fail":
        out.append(f"Benefit: not established; {crit.n_total - crit.n_met} of {crit.n_total} pre-specified "
                   "standalone acceptance criteria were not met.")
    else:
        out.append("Benefit: not established; no standalone acceptance criteria were evaluated.")
    out += [r.sentence for r in readers]
    if n_hazards is not None and n_residual_acceptable is not None:
        out.append(f"Risk: {n_residual_acceptable} of {n_hazards} identified hazards have an acceptable residual "
                   "risk after risk controls.")
    if evidence_supports_claims(crit, readers) and n_hazards is not None and n_residual_acceptable == n_hazards:
        out.append("The computed evidence is consistent with a favourable benefit–risk determination; the "
                   "manufacturer's rationale follows.")
    else:
        out.append("The evidence does not support a favourable benefit–risk determination at this time; the "
                   "manufacturer's typed rationale is therefore not reproduced.")
    return tuple(out)


_BOUND = re.compile(r"^\s*(ci_low|ci_high|value)\s*(>=|>|<=|<)\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*$")


def _crosses(est: Mapping[str, Any], criterion: Any) -> str | None:
    """The criterion a subgroup's estimate fails (``"ci_low 0.456 < 0.8"``), or None."""
    m = _BOUND.match(str(criterion or ""))
    if not m:
        return None
    field, op, t = m.group(1), m.group(2), float(m.group(3))
    x = est.get(field)
    if not isinstance(x, float) or not math.isfinite(x):
        return None
    ok = {">=": x >= t, ">": x > t, "<=": x <= t, "<": x < t}[op]
    return None if ok else f"{field} {fmt_num(x)} does not satisfy {field} {op} {fmt_num(t)}"


def subgroup_findings(
    endpoints: Sequence[Mapping[str, Any]],
    subgroups: Sequence[Mapping[str, Any]],
    interaction_tests: Sequence[Mapping[str, Any]],
    *,
    alpha: float = 0.05,
) -> tuple[str, ...]:
    """Flagged subgroup findings, as sentences for the performance report's discussion.

    A finding is an interaction test whose multiplicity-adjusted p-value is below ``alpha``, or a
    subgroup whose estimate (CI bound) does not satisfy its endpoint's acceptance criterion.
    """
    out: list[str] = []
    by_id = {str(ep["id"]): ep for ep in endpoints}
    for t in interaction_tests:
        p = t.get("pvalue_adjusted", t.get("pvalue"))
        if isinstance(p, float) and p < alpha:
            levels = [s for s in subgroups if s.get("attribute") == t.get("variable")
                      and s.get("endpoint") == t.get("endpoint")]
            detail = "; ".join(f"{s['level']}: {fmt_ci(s.get('value'), s.get('ci_low'), s.get('ci_high'))}, "
                               f"n = {s.get('n')}" for s in levels)
            out.append(f"{t.get('endpoint')} differs across {t.get('variable')} (interaction test, adjusted "
                       f"{'p < 0.0001, below ' if p < 0.0001 else 'p = ' + str(fmt_num(p, 4)) + ' < '}{fmt_num(alpha, 2)}){': ' + detail if detail else ''}.")
    for s in subgroups:
        ep = by_id.get(str(s.get("endpoint")))
        why = _crosses(s, ep.get("criterion")) if ep else None
        if why:
            out.append(f"{s['endpoint']} in subgroup {s['attribute']} = {s['level']} "
                       f"{fmt_ci(s.get('value'), s.get('ci_low'), s.get('ci_high'))}, n = {s.get('n')}: {why} "
                       "(the endpoint's acceptance criterion).")
    return tuple(out)
