"""Input validation of the statistics: the checks live in `samd_core.checks` (one home).

Every check raises `validation.errors.InvalidParameterError` (the same class as
`samd_core.errors.InvalidParameterError`) with the one error template.
"""

from __future__ import annotations

from samd_core.checks import (
    Described,
    as_count,
    as_labels,
    as_rng,
    as_scores,
    check_confidence_level,
    check_option,
    check_same_length,
    check_two_classes,
)

__all__ = [
    "Described",
    "as_count",
    "as_labels",
    "as_rng",
    "as_scores",
    "check_confidence_level",
    "check_option",
    "check_same_length",
    "check_two_classes",
]
