"""Validation statistics: pure functions, arrays in, frozen result objects out."""

from validation.stats._auc import roc_auc
from validation.stats._bootstrap import bootstrap_ci
from validation.stats._diagnostic import DiagnosticAccuracy, diagnostic_accuracy, diagnostic_accuracy_from_labels
from validation.stats._multiplicity import AdjustedPValues, adjust_pvalues
from validation.stats._proportion import proportion_ci
from validation.stats._results import Estimate, HypothesisTestResult

__all__ = [
    "AdjustedPValues",
    "DiagnosticAccuracy",
    "Estimate",
    "HypothesisTestResult",
    "adjust_pvalues",
    "bootstrap_ci",
    "diagnostic_accuracy",
    "diagnostic_accuracy_from_labels",
    "proportion_ci",
    "roc_auc",
]
