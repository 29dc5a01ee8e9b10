"""Validation statistics: pure functions, arrays in, frozen result objects out."""

from validation.stats._results import Estimate, HypothesisTestResult

__all__ = ["Estimate", "HypothesisTestResult"]
