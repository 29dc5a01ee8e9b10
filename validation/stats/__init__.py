"""Validation statistics: pure functions, arrays in, frozen result objects out."""

from validation.stats._agreement import BlandAltmanResult, bland_altman, cohen_kappa, fleiss_kappa, icc
from validation.stats._auc import roc_auc, roc_auc_variance
from validation.stats._bootstrap import ChunkedStreams, bootstrap_ci, bootstrap_interval, bootstrap_replicates
from validation.stats._delong import delong_test, delong_test_unpaired
from validation.stats._diagnostic import DiagnosticAccuracyResult, diagnostic_accuracy, diagnostic_accuracy_from_labels
from validation.stats._difference import (
    non_inferiority_test,
    non_inferiority_test_paired,
    performance_goal_test,
    proportion_difference_ci,
)
from validation.stats._heterogeneity import cochran_q_test
from validation.stats._multiplicity import AdjustedPValuesResult, adjust_pvalues
from validation.stats._paired import mcnemar_test, paired_proportion_difference_ci
from validation.stats._proportion import proportion_ci
from validation.stats._published import difference_from_published
from validation.stats._results import Estimate, HypothesisTestResult, decode_float, encode_float
from validation.stats._roc_curve import (
    RocCurveResult,
    operating_point,
    partial_auc,
    roc_curve,
    sensitivity_at_specificity,
    specificity_at_sensitivity,
)

__all__ = [
    "AdjustedPValuesResult",
    "BlandAltmanResult",
    "ChunkedStreams",
    "DiagnosticAccuracyResult",
    "Estimate",
    "HypothesisTestResult",
    "RocCurveResult",
    "adjust_pvalues",
    "bland_altman",
    "bootstrap_ci",
    "bootstrap_interval",
    "bootstrap_replicates",
    "cochran_q_test",
    "cohen_kappa",
    "decode_float",
    "delong_test",
    "delong_test_unpaired",
    "diagnostic_accuracy",
    "diagnostic_accuracy_from_labels",
    "difference_from_published",
    "encode_float",
    "fleiss_kappa",
    "icc",
    "mcnemar_test",
    "non_inferiority_test",
    "non_inferiority_test_paired",
    "operating_point",
    "paired_proportion_difference_ci",
    "partial_auc",
    "performance_goal_test",
    "proportion_ci",
    "proportion_difference_ci",
    "roc_auc",
    "roc_auc_variance",
    "roc_curve",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
]

#: Names of release 0.1.0, importable until 1.0 with a DeprecationWarning.
_DEPRECATED = {"AdjustedPValues": "AdjustedPValuesResult", "DiagnosticAccuracy": "DiagnosticAccuracyResult",
               "RocCurve": "RocCurveResult"}


def __getattr__(name: str) -> object:
    if name in _DEPRECATED:
        import warnings

        new = _DEPRECATED[name]
        warnings.warn(f"validation.stats.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
