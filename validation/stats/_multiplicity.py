"""Multiplicity adjustment of p-values: Bonferroni, Holm, Benjamini–Hochberg."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from samd_core.checks import Described, check_confidence_level, check_option
from samd_core.hashing import canonical_json
from validation.errors import InvalidParameterError
from validation.stats._results import decode_float, encode_float

__all__ = ["ADJUST_METHODS", "AdjustedPValuesResult", "AdjustMethod", "adjust_pvalues"]

AdjustMethod = Literal["bonferroni", "holm", "benjamini_hochberg"]
ADJUST_METHODS: tuple[str, ...] = ("bonferroni", "holm", "benjamini_hochberg")
_ADJUST_ALIASES = {"benjamini-hochberg": "benjamini_hochberg"}


@dataclass(frozen=True, slots=True)
class AdjustedPValuesResult:
    """Raw and adjusted p-values, in the caller's order.

    ``reject(level)`` gives the decisions at a family-wise error rate (Bonferroni, Holm) or
    false discovery rate (Benjamini–Hochberg) ``level``: ``adjusted <= level``.
    """

    method: str
    pvalues: tuple[float, ...]
    adjusted: tuple[float, ...]

    def reject(self, level: float) -> tuple[bool, ...]:
        level = check_confidence_level(level, "AdjustedPValuesResult.reject", "level")  # same rule: a float in (0, 1)
        return tuple(bool(a <= level) for a in self.adjusted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "pvalues": [encode_float(p) for p in self.pvalues],
            "adjusted": [encode_float(p) for p in self.adjusted],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AdjustedPValuesResult:
        return cls(
            method=str(d["method"]),
            pvalues=tuple(decode_float(p) for p in d["pvalues"]),  # type: ignore[misc]
            adjusted=tuple(decode_float(p) for p in d["adjusted"]),  # type: ignore[misc]
        )

    def to_json(self) -> str:
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> AdjustedPValuesResult:
        return cls.from_dict(json.loads(text))


def adjust_pvalues(pvalues: Any, *, method: AdjustMethod) -> AdjustedPValuesResult:
    """Adjust a family of p-values for multiple testing.

    Parameters
    ----------
    pvalues : array_like
        Non-empty 1-d array of p-values in [0, 1] (no NaN).
    method : {"bonferroni", "holm", "benjamini_hochberg"}
        Bonferroni: ``min(1, m p)``. Holm (1979) step-down. Benjamini & Hochberg (1995)
        step-up (FDR). Identical to R ``p.adjust`` (methods "bonferroni", "holm", "BH") and
        statsmodels ``multipletests`` ("bonferroni", "holm", "fdr_bh").

    Returns
    -------
    AdjustedPValuesResult

    References
    ----------
    Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat
    1979;6:65-70.
    Benjamini Y, Hochberg Y. Controlling the false discovery rate. J R Stat Soc B
    1995;57:289-300.
    """
    fn = "adjust_pvalues"
    method = check_option(_ADJUST_ALIASES.get(method, method) if isinstance(method, str) else method,  # type: ignore[assignment]
                          "method", fn, ADJUST_METHODS)
    try:
        p = np.array(pvalues, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError("pvalues", fn, "a 1-d array of p-values in [0, 1]", pvalues) from exc
    if p.ndim != 1 or p.size == 0:
        raise InvalidParameterError(
            "pvalues", fn, "a non-empty 1-d array of p-values in [0, 1]", Described(f"shape {p.shape}")
        )
    bad = ~((p >= 0.0) & (p <= 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError("pvalues", fn, "p-values in [0, 1]", Described(f"{float(p[i])!r} at index {i}"))
    adj = _adjust(p, method)
    return AdjustedPValuesResult(method, tuple(float(x) for x in p), tuple(float(x) for x in adj))


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    m = p.size
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    if method == "holm":
        order = np.argsort(p, kind="stable")
        steps = (m - np.arange(m)) * p[order]
        adj_sorted = np.minimum(1.0, np.maximum.accumulate(steps))
    else:
        order = np.argsort(p, kind="stable")[::-1]
        i = np.arange(m, 0, -1)
        adj_sorted = np.minimum(1.0, np.minimum.accumulate(m / i * p[order]))
    out = np.empty(m)
    out[order] = adj_sorted
    return out
