"""Substantial-equivalence rows for performance attributes, decided by a pre-specified rule.

The subject's estimate is compared with the predicate's published value and CI through
`validation.stats.difference_from_published`; the rule (non-inferiority, equivalence or
superiority, with its margin) decides, and the row says which rule decided and the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from risk.errors import InvalidParameterError
from risk.report._format import fmt_ci, fmt_num

__all__ = ["PredicateComparison", "compare_with_predicate"]


@dataclass(frozen=True, slots=True)
class PredicateComparison:
    """Outcome of one performance row: the rule in words, the difference, and whether it was shown."""

    rule: str
    difference: Any  # validation.stats.Estimate (subject − predicate, sign flipped if lower is better)
    shown: bool
    result: str


def _rule(rule: Mapping[str, Any]) -> tuple[str, float, bool]:
    lower = bool(rule.get("lower_is_better", False))
    kinds = [k for k in ("non_inferior", "equivalent", "superior") if k in rule]
    if len(kinds) != 1 or set(rule) - {"non_inferior", "equivalent", "superior", "lower_is_better"}:
        raise InvalidParameterError("rule", "compare_with_predicate",
                                    "one of {non_inferior: {margin}}, {equivalent: {margin}}, {superior: {}}",
                                    dict(rule))
    kind = kinds[0]
    margin = float((rule[kind] or {}).get("margin", 0.0)) if kind != "superior" else 0.0
    return kind, margin, lower


def compare_with_predicate(
    subject: Mapping[str, Any], predicate: Mapping[str, Any], rule: Mapping[str, Any]
) -> PredicateComparison:
    """Decide a performance row of the substantial-equivalence table.

    Parameters
    ----------
    subject
        The subject device's estimate: ``value, ci_low, ci_high, confidence_level, n``.
    predicate
        The predicate's published ``value, ci_low, ci_high`` and optional ``confidence_level``
        (default: the subject's).
    rule
        ``{non_inferior: {margin: d}}``: shown when the lower confidence bound of
        ``subject − predicate`` is above ``−d``; ``{equivalent: {margin: d}}``: when the whole CI
        lies inside ``(−d, d)``; ``{superior: {}}``: when the lower bound is above 0. With
        ``lower_is_better: true`` (distances in mm, false-positive rates) the difference is taken as
        ``predicate − subject``.
    """
    from validation.stats import Estimate, difference_from_published

    kind, margin, lower = _rule(rule)
    level = float(subject.get("confidence_level") or 0.95)
    est = Estimate(float(subject["value"]), float(subject["ci_low"]), float(subject["ci_high"]), level,
                   str(subject.get("method") or "reported"), int(subject.get("n") or 0))
    d = difference_from_published(est, float(predicate["value"]), float(predicate["ci_low"]),
                                  float(predicate["ci_high"]),
                                  reference_confidence_level=float(predicate.get("confidence_level") or level))
    if lower:
        d = Estimate(-d.value, -d.ci_high, -d.ci_low, d.confidence_level, d.method, d.n)
    what = "predicate − subject" if lower else "subject − predicate"
    level_txt = f"{round(100 * level)}%"
    if kind == "non_inferior":
        shown = d.ci_low > -margin
        text = f"non-inferiority, margin {fmt_num(margin)}: lower {level_txt} confidence bound of ({what}) > −{fmt_num(margin)}"
        name = "Non-inferiority"
    elif kind == "equivalent":
        shown = -margin < d.ci_low and d.ci_high < margin
        text = f"equivalence, margin {fmt_num(margin)}: {level_txt} CI of ({what}) within ±{fmt_num(margin)}"
        name = "Equivalence"
    else:
        shown = d.ci_low > 0
        text = f"superiority: lower {level_txt} confidence bound of ({what}) > 0"
        name = "Superiority"
    result = (f"{name} {'shown' if shown else 'not shown'}: difference ({what}) "
              f"{fmt_ci(d.value, d.ci_low, d.ci_high, d.confidence_level)}")
    return PredicateComparison(text, d, shown, result)
