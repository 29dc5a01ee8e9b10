"""Subgroup levels, per-level endpoint estimates, interaction (heterogeneity) tests."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from validation import stats as S
from validation.harness._endpoints import CaseData, _counts, _kn, analysed_values, estimate_endpoint
from validation.harness._protocol import (
    BINARY_METRICS,
    LESION_METRICS,
    SEGMENTATION_METRICS,
    Endpoint,
    SubgroupVariable,
    Subgroups,
)
from validation.errors import ProtocolError

__all__ = ["subgroup_levels", "subgroup_results"]


def subgroup_levels(table: pd.DataFrame, var: SubgroupVariable) -> pd.Series:
    """Level label of each case for one subgroup variable (bins: half-open ``[a, b)``)."""
    col = var.column
    if col not in table.columns:
        raise ProtocolError(f"`subgroups` column {col!r} is not in the manifest; columns: {list(table.columns)}")
    raw = table[col].astype(str)
    if var.bins is None:
        return raw.where(raw.str.strip() != "", "(missing)")
    bins = list(var.bins)
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw[(num.isna()) & (raw.str.strip() != "")]
    if len(bad):
        raise ProtocolError(f"subgroup column {col!r} has non-numeric values {sorted(set(bad))[:5]} but bins are given")
    labels = list(var.labels) if var.labels else [f"[{a:g}, {b:g})" for a, b in zip(bins, bins[1:], strict=False)]
    cut = pd.cut(num, bins=bins, right=False, labels=labels)
    out = cut.astype(object).where(cut.notna(), "(out of bins)")
    out[num.isna()] = "(missing)"
    return out.astype(str)


def subgroup_results(table: pd.DataFrame, data: CaseData, endpoints: tuple[Endpoint, ...],
                     sub: Subgroups, *, replicates: int, seed: int, multiplicity: str,
                     streams: Callable[[list[int]], Any] | None = None
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Per variable/level/endpoint estimates, interaction tests and warnings.

    The estimate of endpoint ``ei`` at level ``li`` of variable ``vi`` draws its replicates from
    ``streams([ei, vi + 1, li])`` (default ``numpy.random.default_rng([seed, ei, vi + 1, li])``)."""
    min_size = sub.min_size
    groups: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    warnings: list[str] = []
    for vi, var in enumerate(sub.variables):
        levels = subgroup_levels(table, var).to_numpy()
        names = sorted(set(levels), key=lambda s: (s.startswith("("), s))
        if var.labels:
            order = {lab: i for i, lab in enumerate(var.labels)}
            names = sorted(names, key=lambda s: order.get(s, len(order)))
        for li, lev in enumerate(names):
            idx = np.flatnonzero(levels == lev)
            small = idx.size < min_size
            if small:
                warnings.append(f"subgroup {var.column}={lev}: n={idx.size} is below the minimum size {min_size}")
            row: dict[str, Any] = {"variable": var.column, "level": lev, "n": int(idx.size),
                                   "below_min_size": small, "endpoints": {}}
            for ei, ep in enumerate(endpoints):
                key = [ei, vi + 1, li]
                rng = np.random.default_rng([seed, *key]) if streams is None else streams(key)
                r = estimate_endpoint(ep, data, idx, replicates=replicates, rng=rng)
                row["endpoints"][ep.id] = {**r["estimate"].to_dict(), **r["extra"], "notes": r["notes"]}
            groups.append(row)
        for ep in endpoints:
            tests.append(_interaction(var.column, ep, data, levels, names, groups))
    p = np.array([t["pvalue"] for t in tests], float)
    adj = _adjust(p, multiplicity)
    for t, a in zip(tests, adj, strict=True):
        t["pvalue_adjusted"] = float(a)
        t["multiplicity"] = multiplicity
    return groups, tests, warnings


def _interaction(col: str, ep: Endpoint, data: CaseData, levels: np.ndarray,
                 names: list[str], groups: list[dict[str, Any]]) -> dict[str, Any]:
    metric = ep.metric
    base = {"variable": col, "endpoint": ep.id, "levels": names}
    if len(names) < 2:
        return {**base, "test": "none (one level)", "statistic": math.nan, "pvalue": math.nan, "df": 0}
    if metric in BINARY_METRICS:
        table = []
        for lev in names:
            idx = np.flatnonzero(levels == lev)
            k, n = _kn(metric, *_counts(data.y[idx], data.pred[idx]))  # type: ignore[index]
            if n > 0:
                table.append([k, n - k])
        t = np.array(table)
        if t.shape[0] < 2 or np.any(t.sum(axis=0) == 0):
            return {**base, "test": "chi-square homogeneity", "statistic": math.nan, "pvalue": math.nan, "df": 0}
        chi2, pv, df, _ = sps.chi2_contingency(t, correction=False)
        return {**base, "test": "chi-square homogeneity (Pearson, no correction)",
                "statistic": float(chi2), "pvalue": float(pv), "df": int(df)}
    if metric in SEGMENTATION_METRICS:
        # the endpoint's own analysis population and undefined rule, level by level
        samples = [analysed_values(ep, data, np.flatnonzero(levels == lev)) for lev in names]
        samples = [s for s in samples if s.size > 0]
        try:
            if len(samples) < 2:
                raise ValueError("fewer than 2 levels with values")
            h, pv = sps.kruskal(*samples)
        except ValueError:
            return {**base, "test": "Kruskal-Wallis", "statistic": math.nan, "pvalue": math.nan, "df": 0}
        return {**base, "test": "Kruskal-Wallis", "statistic": float(h), "pvalue": float(pv),
                "df": len(samples) - 1}
    if metric in LESION_METRICS:
        z = float(sps.norm.ppf(0.5 + ep.confidence_level / 2))
        est_l, var_l = [], []
        for g in groups:
            if g["variable"] == col and ep.id in g["endpoints"]:
                e = g["endpoints"][ep.id]
                v, lo, hi = (float(e[k]) for k in ("value", "ci_low", "ci_high"))
                est_l.append(v)
                var_l.append(((hi - lo) / (2 * z)) ** 2)
        return {**base, "test": "Cochran Q (SE from bootstrap CI width / 2z)", **_cochran(est_l, var_l)}
    # roc_auc: Cochran's Q with DeLong variances (independent subgroups)
    est, var = [], []
    for lev in names:
        idx = np.flatnonzero(levels == lev)
        y, s = data.y[idx], data.score[idx]  # type: ignore[index]
        if np.sum(y == 1) >= 2 and np.sum(y == 0) >= 2:
            est.append(S.roc_auc(y, s, method="delong").value)
            var.append(S.roc_auc_variance(y, s))
    return {**base, "test": "Cochran Q (DeLong variances)", **_cochran(est, var)}


def _cochran(est: list[float], var: list[float]) -> dict[str, Any]:
    """Cochran's Q of independent level estimates: `validation.stats.cochran_q_test`."""
    t = S.cochran_q_test(np.array(est, float), np.array(var, float))
    return {"statistic": t.statistic, "pvalue": t.pvalue, "df": max(t.estimate.n - 1, 0)}


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values over the finite entries (a level without a test stays NaN and is not
    counted in the family); ``"none"`` keeps the raw values."""
    out = np.full_like(p, math.nan)
    ok = np.isfinite(p)
    if method == "none" or not ok.any():
        out[ok] = p[ok]
        return out
    out[ok] = np.asarray(S.adjust_pvalues(p[ok], method=method).adjusted)  # type: ignore[arg-type]
    return out
