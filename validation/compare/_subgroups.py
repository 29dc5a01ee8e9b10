"""Subgroups of a comparison: the paired difference per level, interaction tests, multiplicity.

Levels are formed exactly as in `samd validate` (`validation.harness` subgroup levels). The
interaction (heterogeneity) test of an endpoint is Cochran's Q over the levels' paired
differences, each weighted by ``1/SE^2`` with ``SE = (ci_high - ci_low) / (2 z)`` (for the DeLong
difference this is its SE exactly), as `samd validate` does for interval-only estimates; the
p-values are adjusted together per ``multiplicity``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from validation.compare._endpoints import PairedCases, estimate_paired_endpoint
from validation.compare._protocol import Endpoint
from validation.harness._protocol import SubgroupVariable
from validation.harness._subgroups import _adjust as adjust_pvalues
from validation.harness._subgroups import subgroup_levels as _subgroup_levels
from validation.stats import cochran_q_test

__all__ = ["subgroup_comparisons"]


def subgroup_comparisons(table: pd.DataFrame, cases: PairedCases, endpoints: tuple[Endpoint, ...],
                         sub: dict[str, Any], *, multiplicity: str
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Per variable/level/endpoint paired differences, interaction tests and warnings."""
    min_size = int(sub.get("min_size", 1))
    groups: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    warnings: list[str] = []
    for var in sub["variables"]:
        levels = subgroup_levels(table, var).to_numpy()
        names = sorted(set(levels), key=lambda s: (s.startswith("("), s))
        if var.get("labels"):
            order = {lab: i for i, lab in enumerate(var["labels"])}
            names = sorted(names, key=lambda s: order.get(s, len(order)))
        rows = []
        for lev in names:
            idx = np.flatnonzero(levels == lev)
            small = idx.size < min_size
            if small:
                warnings.append(f"subgroup {var['column']}={lev}: n={idx.size} is below the minimum size {min_size}")
            row = {"variable": var["column"], "level": lev, "n": int(idx.size), "below_min_size": small,
                   "endpoints": {ep.id: estimate_paired_endpoint(ep, cases, idx) for ep in endpoints}}
            rows.append(row)
        groups += rows
        for ep in endpoints:
            tests.append(_interaction(var["column"], ep, names, rows))
    adj = adjust_pvalues(np.array([t["pvalue"] for t in tests], float), multiplicity)
    for t, a in zip(tests, adj, strict=True):
        t["pvalue_adjusted"] = float(a)
        t["multiplicity"] = multiplicity
    return groups, tests, warnings


def _interaction(col: str, ep: Endpoint, names: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    base = {"variable": col, "endpoint": ep.id, "levels": names,
            "test": "Cochran Q over levels (SE = CI width / 2z)"}
    z = float(special.ndtri(0.5 + ep.confidence_level / 2.0))
    est, var = [], []
    for r in rows:
        e = r["endpoints"][ep.id]
        v, lo, hi = (float(e[k]) for k in ("value", "ci_low", "ci_high"))
        est.append(v)
        var.append(((hi - lo) / (2.0 * z)) ** 2)
    if len(names) < 2:
        return {**base, "test": "none (one level)", "statistic": math.nan, "pvalue": math.nan, "df": 0}
    t = cochran_q_test(np.array(est, float), np.array(var, float))
    df = int(t.estimate.n) - 1 if t.estimate is not None and t.estimate.n else 0
    return {**base, "statistic": float(t.statistic), "pvalue": float(t.pvalue), "df": max(df, 0)}


def subgroup_levels(table: Any, var: Any) -> Any:
    """`validation.harness` subgroup levels of a compare protocol's variable mapping."""
    sv = SubgroupVariable(column=str(var["column"]),
                          bins=tuple(float(b) for b in var["bins"]) if var.get("bins") is not None else None,
                          labels=tuple(str(x) for x in var["labels"]) if var.get("labels") is not None else None)
    return _subgroup_levels(table, sv)
