"""Paired-difference endpoints (candidate minus reference) on the same cases.

Pure computation on arrays; every interval and test comes from `validation.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from validation.compare._protocol import Endpoint
from validation.stats import (
    delong_test,
    mcnemar_test,
    non_inferiority_test_paired,
    paired_proportion_difference_ci,
    roc_auc,
)

__all__ = ["PairedCases", "estimate_paired_endpoint", "paired_table"]


@dataclass(frozen=True)
class PairedCases:
    """Per-case arrays in manifest order: truth (0/1), both scores (higher = positive) and both
    binary calls (``None`` when no threshold was pre-specified)."""

    y: np.ndarray
    score_reference: np.ndarray
    score_candidate: np.ndarray
    pred_reference: np.ndarray | None
    pred_candidate: np.ndarray | None


def paired_table(correct_candidate: np.ndarray, correct_reference: np.ndarray) -> list[list[int]]:
    """``[[both correct, only candidate], [only reference, neither]]`` (rows: candidate)."""
    a, b = correct_candidate.astype(bool), correct_reference.astype(bool)
    return [[int(np.sum(a & b)), int(np.sum(a & ~b))], [int(np.sum(~a & b)), int(np.sum(~a & ~b))]]


def estimate_paired_endpoint(ep: Endpoint, cases: PairedCases, idx: np.ndarray) -> dict[str, Any]:
    """The endpoint on the cases ``idx``: difference with CI, per-model values, tests, verdict.

    Non-inferiority passes when the CI's lower bound is above ``-margin``. Endpoints that
    cannot be estimated on ``idx`` (e.g. one class only) give ``nan`` values and a note.
    """
    y = cases.y[idx]
    cl = ep.confidence_level
    margin = ep.non_inferiority_margin
    out: dict[str, Any] = {"id": ep.id, "metric": ep.metric, "ci": ep.ci, "confidence_level": cl,
                           "non_inferiority_margin": margin, "notes": []}
    if ep.metric == "roc_auc":
        if np.sum(y == 1) < 2 or np.sum(y == 0) < 2:
            return _nan(out, int(idx.size), "fewer than 2 cases of a class")
        sc, sr = cases.score_candidate[idx], cases.score_reference[idx]
        test = delong_test(y, sc, sr, alternative="two-sided", confidence_level=cl)
        if test.estimate is None:
            return _nan(out, int(idx.size), "DeLong test returned no estimate")
        out.update(test.estimate.to_dict())
        out.update({
            "candidate": roc_auc(y, sc, method="delong", confidence_level=cl).to_dict(),
            "reference": roc_auc(y, sr, method="delong", confidence_level=cl).to_dict(),
            "test": {"name": "DeLong paired", "statistic": test.statistic, "pvalue": test.pvalue,
                     "alternative": test.alternative},
        })
    else:
        want = 1 if ep.metric == "sensitivity" else 0
        sel = y == want
        if not np.any(sel):
            return _nan(out, 0, f"no {'positive' if want else 'negative'} cases")
        pc, pr = cases.pred_candidate[idx][sel], cases.pred_reference[idx][sel]  # type: ignore[index]
        table = paired_table(pc == want, pr == want)
        est = paired_proportion_difference_ci(table, method=ep.ci, confidence_level=cl)  # type: ignore[arg-type]
        mc = mcnemar_test(table, method=ep.mcnemar, confidence_level=cl)  # type: ignore[arg-type]
        ni = non_inferiority_test_paired(table, margin=margin, method=ep.ci, confidence_level=cl)  # type: ignore[arg-type]
        n = int(sel.sum())
        out.update(est.to_dict())
        out.update({
            "table": table,
            "candidate": {"value": (table[0][0] + table[0][1]) / n, "k": table[0][0] + table[0][1], "n": n},
            "reference": {"value": (table[0][0] + table[1][0]) / n, "k": table[0][0] + table[1][0], "n": n},
            "test": {"name": f"McNemar ({ep.mcnemar})", "statistic": mc.statistic, "pvalue": mc.pvalue,
                     "alternative": mc.alternative},
            "non_inferiority_pvalue": ni.pvalue,
        })
    low = out["ci_low"]
    out["criterion"] = f"ci_low > -{margin:g} (non-inferiority)"
    out["passed"] = bool(isinstance(low, float) and low > -margin)
    return out


def _nan(out: dict[str, Any], n: int, why: str) -> dict[str, Any]:
    out.update({"value": "nan", "ci_low": "nan", "ci_high": "nan", "method": out["ci"], "n": n,
                "criterion": f"ci_low > -{out['non_inferiority_margin']:g} (non-inferiority)", "passed": False})
    out["notes"].append(f"not estimable: {why}")
    return out
