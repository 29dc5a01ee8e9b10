"""Frozen, JSON round-trippable result objects shared by every statistic.

Non-finite floats (``inf``, ``-inf``, ``nan``) are encoded in JSON as the strings
``"inf"``, ``"-inf"`` and ``"nan"`` so that the output is strict JSON (RFC 8259) and
round-trips exactly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from samd_core.hashing import canonical_json

__all__ = ["Alternative", "Estimate", "HypothesisTestResult", "decode_float", "encode_float"]

Alternative = Literal["two-sided", "less", "greater"]


def encode_float(x: float | None) -> float | str | None:
    """Strict-JSON encoding of a float: non-finite values become strings."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def decode_float(x: float | str | None) -> float | None:
    """Inverse of `encode_float`."""
    if x is None:
        return None
    return float(x)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    value : float
        The point estimate.
    ci_low, ci_high : float
        Confidence bounds (may be ``nan``/``inf`` where documented, e.g. zero cells).
    confidence_level : float
        Two-sided coverage of ``[ci_low, ci_high]``, in (0, 1).
    method : str
        Name of the CI method, e.g. ``"wilson"``, ``"delong"``, ``"bootstrap_bca"``.
    n : int
        Number of units the estimate is based on (cases, lesions, patients: as documented).
    """

    value: float
    ci_low: float
    ci_high: float
    confidence_level: float
    method: str
    n: int

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-safe dict."""
        return {
            "value": encode_float(self.value),
            "ci_low": encode_float(self.ci_low),
            "ci_high": encode_float(self.ci_high),
            "confidence_level": self.confidence_level,
            "method": self.method,
            "n": int(self.n),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Estimate:
        """Inverse of `to_dict`."""
        return cls(
            value=decode_float(d["value"]),  # type: ignore[arg-type]
            ci_low=decode_float(d["ci_low"]),  # type: ignore[arg-type]
            ci_high=decode_float(d["ci_high"]),  # type: ignore[arg-type]
            confidence_level=float(d["confidence_level"]),
            method=str(d["method"]),
            n=int(d["n"]),
        )

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys)."""
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> Estimate:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class HypothesisTestResult:
    """Result of a hypothesis test.

    Attributes
    ----------
    statistic : float
        Test statistic (Z, chi-square, F, ... as documented by the test).
    pvalue : float
        P-value for ``alternative``.
    alternative : {"two-sided", "less", "greater"}
    estimate : Estimate or None
        The effect estimate with its CI (e.g. an AUC difference), where the test has one.
    """

    statistic: float
    pvalue: float
    alternative: str
    estimate: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": encode_float(self.statistic),
            "pvalue": encode_float(self.pvalue),
            "alternative": self.alternative,
            "estimate": None if self.estimate is None else self.estimate.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HypothesisTestResult:
        est = d.get("estimate")
        return cls(
            statistic=decode_float(d["statistic"]),  # type: ignore[arg-type]
            pvalue=decode_float(d["pvalue"]),  # type: ignore[arg-type]
            alternative=str(d["alternative"]),
            estimate=None if est is None else Estimate.from_dict(est),
        )

    def to_json(self) -> str:
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> HypothesisTestResult:
        return cls.from_dict(json.loads(text))


