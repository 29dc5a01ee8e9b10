"""Endpoint estimates with their pre-specified CI method, and the acceptance decision."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from validation.errors import ProtocolError
from validation.harness import _kernels as K
from validation.harness._protocol import BINARY_METRICS, REF_NONEMPTY, SEGMENTATION_METRICS
from validation.stats import Estimate

__all__ = ["CaseData", "acceptance", "estimate_endpoint"]

_LOWER_IS_BETTER = frozenset({"hd95"})


@dataclass(frozen=True)
class CaseData:
    """Per-case arrays (same order): truth (0/1), oriented score (higher = positive),
    prediction at the pre-specified threshold (0/1), and per-case segmentation values."""

    case_ids: np.ndarray
    y: np.ndarray | None
    score: np.ndarray | None
    pred: np.ndarray | None
    seg: dict[str, np.ndarray]
    detection: dict[str, Any] | None = None


def _counts(y: np.ndarray, p: np.ndarray) -> tuple[int, int, int, int]:
    tp = int(np.sum((y == 1) & (p == 1)))
    fp = int(np.sum((y == 0) & (p == 1)))
    fn = int(np.sum((y == 1) & (p == 0)))
    tn = int(np.sum((y == 0) & (p == 0)))
    return tp, fp, fn, tn


def _prop_from_counts(metric: str, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "sensitivity":
            return np.divide(tp, tp + fn)
        if metric == "specificity":
            return np.divide(tn, tn + fp)
        if metric == "ppv":
            return np.divide(tp, tp + fp)
        return np.divide(tn, tn + fn)


def _kn(metric: str, tp: int, fp: int, fn: int, tn: int) -> tuple[int, int]:
    return {"sensitivity": (tp, tp + fn), "specificity": (tn, tn + fp),
            "ppv": (tp, tp + fp), "npv": (tn, tn + fn)}[metric]


def estimate_endpoint(ep: dict[str, Any], data: CaseData, idx: np.ndarray, *,
                      replicates: int, rng: np.random.Generator) -> dict[str, Any]:
    """Estimate one endpoint on the cases ``idx``; returns the estimate plus counts/notes."""
    metric, ci = ep["metric"], ep["ci"]
    cl = float(ep.get("confidence_level", 0.95))
    notes: list[str] = []
    extra: dict[str, Any] = {}
    if metric == "roc_auc":
        y, s = data.y[idx], data.score[idx]  # type: ignore[index]
        npos, nneg = int(np.sum(y == 1)), int(np.sum(y == 0))
        extra = {"n_positive": npos, "n_negative": nneg}
        if npos < 2 or nneg < 2:
            notes.append("AUC needs at least 2 positive and 2 negative cases")
            est = Estimate(math.nan, math.nan, math.nan, cl, ci, npos + nneg)
        elif ci == "delong":
            est = K.auc_delong(y, s, cl)
            extra["delong_variance"] = K.auc_delong_variance(y, s)[1]
        else:
            est = K.auc_bootstrap_ci(y, s, ci, replicates, rng, cl)
    elif metric in BINARY_METRICS:
        tp, fp, fn, tn = _counts(data.y[idx], data.pred[idx])  # type: ignore[index]
        extra = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
        k, n = _kn(metric, tp, fp, fn, tn)
        if ci.startswith("bootstrap"):
            m, nn = tp + fn, tn + fp
            tps = rng.binomial(m, tp / m, replicates) if m else np.zeros(replicates, int)
            tns = rng.binomial(nn, tn / nn, replicates) if nn else np.zeros(replicates, int)
            reps = _prop_from_counts(metric, tps, nn - tns, m - tps, tns).astype(float)
            theta = k / n if n else math.nan
            if ci == "bootstrap_percentile":
                lo, hi = K.percentile_interval(reps, cl)
            else:
                cells = [(tp, (tp - 1, fp, fn, tn)), (fp, (tp, fp - 1, fn, tn)),
                         (fn, (tp, fp, fn - 1, tn)), (tn, (tp, fp, fn, tn - 1))]
                w = np.array([c for c, _ in cells if c > 0], float)
                jack = np.array([float(_prop_from_counts(metric, *cc)) for c, cc in cells if c > 0])
                lo, hi = K.bca_interval(reps, theta, jack, w, cl)
            est = Estimate(theta, lo, hi, cl, ci.replace("_", "-"), n)
        else:
            est = K.proportion_interval(k, n, ci, cl)
        if n == 0:
            notes.append(f"no cases in the denominator of {metric}")
    elif metric in SEGMENTATION_METRICS:
        key = metric if metric != "nsd" else f"nsd@{ep['tolerance_mm']}"
        # population: cases whose reference mask has foreground; a non-finite value (HD95 of an
        # empty prediction) is excluded from the mean and counted in `n_nonfinite`
        x = data.seg[key][idx][data.seg[REF_NONEMPTY][idx] > 0]
        extra = {"n_nonfinite": int(np.sum(~np.isfinite(x))), "population": "reference mask non-empty"}
        x = x[np.isfinite(x)]
        theta = float(x.mean()) if x.size else math.nan
        if x.size < 2:
            est = Estimate(theta, math.nan, math.nan, cl, ci.replace("_", "-"), int(x.size))
        else:
            reps = K.mean_bootstrap(x, replicates, rng)
            if ci == "bootstrap_percentile":
                lo, hi = K.percentile_interval(reps, cl)
            else:
                jack = (x.sum() - x) / (x.size - 1)
                lo, hi = K.bca_interval(reps, theta, jack, None, cl)
            est = Estimate(theta, lo, hi, cl, ci.replace("_", "-"), int(x.size))
    elif metric == "lesion_sensitivity_at_fp":
        est, extra, notes = _lesion_endpoint(ep, data, idx, replicates, rng, cl)
    else:  # pragma: no cover - the schema and _protocol list every metric
        raise ProtocolError(f"endpoint metric {metric!r} is not supported")
    return {"estimate": est, "extra": extra, "notes": notes}


def acceptance(ep: dict[str, Any], est: Estimate) -> tuple[bool, str]:
    """Evaluate the endpoint's acceptance criteria (all must hold); NaN never passes."""
    acc = ep["acceptance"]
    parts: list[str] = []
    ok = True

    def check(name: str, cond: bool) -> None:
        nonlocal ok
        parts.append(name)
        ok = ok and bool(cond)

    v, lo, hi = est.value, est.ci_low, est.ci_high
    if "ci_low_at_least" in acc:
        check(f"ci_low >= {acc['ci_low_at_least']}", lo >= acc["ci_low_at_least"])
    if "value_at_least" in acc:
        check(f"value >= {acc['value_at_least']}", v >= acc["value_at_least"])
    if "ci_high_at_most" in acc:
        check(f"ci_high <= {acc['ci_high_at_most']}", hi <= acc["ci_high_at_most"])
    if "value_at_most" in acc:
        check(f"value <= {acc['value_at_most']}", v <= acc["value_at_most"])
    if "margin" in acc:
        ref, mar = acc["reference"], acc["margin"]
        if ep["metric"] in _LOWER_IS_BETTER:
            check(f"non-inferiority: ci_high < {ref} + {mar}", hi < ref + mar)
        else:
            check(f"non-inferiority: ci_low > {ref} - {mar}", lo > ref - mar)
    if any(isinstance(t, float) and math.isnan(t) for t in (v, lo, hi)):
        ok = False
    return ok, " and ".join(parts)


def _lesion_endpoint(ep: dict[str, Any], data: CaseData, idx: np.ndarray, replicates: int,
                     rng: np.random.Generator, cl: float) -> tuple[Estimate, dict[str, Any], list[str]]:
    """Lesion-level sensitivity at ``fp_per_image`` via `validation.metrics` (cluster bootstrap
    over ``patient_id`` when the manifest has it, else over cases)."""
    from validation.metrics import lesion_sensitivity_at_fp, match_detections

    det = data.detection
    if det is None:  # pragma: no cover - build_case_data reads the tables for this metric
        raise ValueError("lesion and detection tables were not read")
    cases = data.case_ids[idx]
    keep = set(cases.tolist())
    lk = np.isin(det["l_case"], list(keep))
    ck = np.isin(det["c_case"], list(keep))
    extra = {"n_lesions": int(lk.sum()), "n_candidates": int(ck.sum()), "n_images": int(cases.size)}
    if not lk.any():
        return Estimate(math.nan, math.nan, math.nan, cl, "cluster-bootstrap-percentile", 0), extra, [
            "no reference lesions in these cases"]
    clusters = None if det["patient"] is None else {c: det["patient"][c] for c in cases.tolist()}
    match = match_detections(
        cases.tolist(),
        {"case": det["l_case"][lk], "center_mm": det["l_center"][lk], "diameter_mm": det["l_diam"][lk]},
        {"case": det["c_case"][ck], "score": det["c_score"][ck], "center_mm": det["c_center"][ck]},
        criterion="center_in_radius", radius_mm=ep.get("radius_mm"), clusters=clusters,
    )
    est = lesion_sensitivity_at_fp(match, float(ep["fp_per_image"]), confidence_level=cl,
                                   n_resamples=replicates, rng=rng)
    return est, extra, []
