"""Endpoint estimates with their pre-specified CI method, and the acceptance decision."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from validation.errors import ProtocolError
from validation.harness._protocol import (
    BINARY_METRICS,
    IMAGE_DIAGONAL,
    LESION_METRICS,
    REF_NONEMPTY,
    SEGMENTATION_METRICS,
    Endpoint,
)
from validation import stats as S
from validation.stats import Estimate

__all__ = ["MAX_LISTED_IDS", "CaseData", "acceptance", "add_exclusions", "analysed_values", "estimate_endpoint",
           "lesion_froc", "worst_value"]

#: At most this many case ids are listed per exclusion reason; the rest are counted
#: (``case_ids_not_listed``).
MAX_LISTED_IDS = 100
_DENOMINATOR = {"sensitivity": "truth-positive cases", "specificity": "truth-negative cases",
                "ppv": "cases predicted positive", "npv": "cases predicted negative"}

_LOWER_IS_BETTER = frozenset({"hd95", "fp_per_image"})
#: protocol CI name -> the `bootstrap_ci` / `bootstrap_interval` method it selects (the protocol's
#: CI names are the `validation.stats` names: `roc_auc`, `proportion_ci` take them as they are)
_BOOTSTRAP_METHOD = {"bootstrap_percentile": "percentile", "bootstrap_bca": "bca"}


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


def estimate_endpoint(ep: Endpoint, data: CaseData, idx: np.ndarray, *,
                      replicates: int, rng: np.random.Generator) -> dict[str, Any]:
    """Estimate one endpoint on the cases ``idx``; returns the estimate plus counts/notes.

    Each metric maps to one `validation.stats` call for its interval; the harness only
    selects the cases and, for the proportion bootstrap, draws the replicate counts.
    """
    metric, ci, cl = ep.metric, ep.ci, ep.confidence_level
    if metric == "roc_auc":
        return _auc_endpoint(ci, data, idx, replicates, rng, cl)
    if metric in BINARY_METRICS:
        return _binary_endpoint(metric, ci, data, idx, replicates, rng, cl)
    if metric in SEGMENTATION_METRICS:
        return _segmentation_endpoint(ep, data, idx, replicates, rng)
    if metric in LESION_METRICS:
        est, extra, notes = _lesion_endpoint(ep, data, idx, replicates, rng, cl)
        return {"estimate": est, "extra": extra, "notes": notes}
    raise ProtocolError(f"endpoint metric {metric!r} is not supported")  # pragma: no cover - schema lists every metric


def _auc_endpoint(ci: str, data: CaseData, idx: np.ndarray, replicates: int, rng: np.random.Generator,
                  cl: float) -> dict[str, Any]:
    y, s = data.y[idx], data.score[idx]  # type: ignore[index]
    npos, nneg = int(np.sum(y == 1)), int(np.sum(y == 0))
    extra: dict[str, Any] = {"n_positive": npos, "n_negative": nneg,
                             "population": _population("evaluated cases with a truth label", npos + nneg)}
    if npos < 2 or nneg < 2:
        est = Estimate(math.nan, math.nan, math.nan, cl, ci, npos + nneg)
        return {"estimate": est, "extra": extra, "notes": ["AUC needs at least 2 positive and 2 negative cases"]}
    if ci == "delong":
        est = S.roc_auc(y, s, method="delong", confidence_level=cl)
        extra["delong_variance"] = S.roc_auc_variance(y, s)
    else:
        est = S.roc_auc(y, s, method=ci, confidence_level=cl,  # type: ignore[arg-type]
                        n_resamples=replicates, rng=rng)
    return {"estimate": est, "extra": extra, "notes": []}


def _binary_endpoint(metric: str, ci: str, data: CaseData, idx: np.ndarray, replicates: int,
                     rng: np.random.Generator, cl: float) -> dict[str, Any]:
    tp, fp, fn, tn = _counts(data.y[idx], data.pred[idx])  # type: ignore[index]
    extra: dict[str, Any] = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    k, n = _kn(metric, tp, fp, fn, tn)
    extra["population"] = _population(f"{_DENOMINATOR[metric]} (the denominator of {metric})", n, not_eligible=[
        {"reason": f"not in the denominator of {metric}", "n": int(idx.size) - n}])
    notes = [f"no cases in the denominator of {metric}"] if n == 0 else []
    if n == 0:  # no denominator: no estimate, no interval (proportion_ci needs n >= 1)
        est = Estimate(math.nan, math.nan, math.nan, cl, ci, 0)
    elif ci in _BOOTSTRAP_METHOD:
        est = _binary_bootstrap(metric, ci, (tp, fp, fn, tn), replicates, rng, cl)
    else:
        est = S.proportion_ci(k, n, method=ci, confidence_level=cl)  # type: ignore[arg-type]
    return {"estimate": est, "extra": extra, "notes": notes}


def _binary_bootstrap(metric: str, ci: str, cells: tuple[int, int, int, int], replicates: int,
                      rng: np.random.Generator, cl: float) -> Estimate:
    """Cases resampled within each truth class, drawn as binomial counts (the same law as
    resampling the cases, O(1) per replicate); the interval is `validation.stats.bootstrap_interval`
    with the per-case jackknife (one leave-one-out value per case of each cell)."""
    tp, fp, fn, tn = cells
    k, n = _kn(metric, tp, fp, fn, tn)
    m, nn = tp + fn, tn + fp
    counts = S.bootstrap_replicates(partial(_binomial_counts, m, tp, nn, tn), replicates, rng,
                                    function="estimate_endpoint")
    tps, tns = counts[:, 0], counts[:, 1]
    reps = _prop_from_counts(metric, tps, nn - tns, m - tps, tns).astype(float)
    theta = k / n
    jack = None
    if ci == "bootstrap_bca":
        loo = [(tp, (tp - 1, fp, fn, tn)), (fp, (tp, fp - 1, fn, tn)),
               (fn, (tp, fp, fn - 1, tn)), (tn, (tp, fp, fn, tn - 1))]
        jack = np.concatenate([np.full(c, float(_prop_from_counts(metric, *cc))) for c, cc in loo if c > 0])
    return S.bootstrap_interval(reps, theta, method=_BOOTSTRAP_METHOD[ci], confidence_level=cl,
                                theta_jack=jack, n=n)


def _binomial_counts(m: int, tp: int, nn: int, tn: int, gen: np.random.Generator, b: int) -> np.ndarray:
    """Resampled (TP, TN) counts of ``b`` replicates: binomial within each truth class."""
    tps = gen.binomial(m, tp / m, b) if m else np.zeros(b, np.int64)
    tns = gen.binomial(nn, tn / nn, b) if nn else np.zeros(b, np.int64)
    return np.stack([tps, tns], axis=1)


def worst_value(metric: str, image_diagonal_mm: np.ndarray) -> np.ndarray:
    """The worst value of a segmentation metric for each case (``undefined: worst``).

    Dice and NSD: 0 (no overlap, no surface within tolerance). HD95: the diagonal of the case's
    image extent in mm, ``sqrt(sum((shape_i * spacing_i)**2))``, the largest distance on that
    grid; the BraTS challenges score an empty prediction's HD95 this way (373.13 mm is the
    diagonal of their 240 x 240 x 155 grid at 1 mm).

    References
    ----------
    Maier-Hein L, Reinke A, et al. Metrics Reloaded: recommendations for image analysis
    validation. Nat Methods 21, 195-212 (2024) (undefined values must be handled by a
    pre-specified rule, e.g. the worst possible value).
    Baid U, et al. The RSNA-ASNR-MICCAI BraTS 2021 benchmark. arXiv:2107.02314 (2021).
    """
    if metric == "hd95":
        return np.asarray(image_diagonal_mm, float)
    return np.zeros(np.shape(image_diagonal_mm))


def _segmentation_endpoint(ep: Endpoint, data: CaseData, idx: np.ndarray, replicates: int,
                           rng: np.random.Generator) -> dict[str, Any]:
    """Mean over the eligible cases (reference mask has foreground). A non-finite value (HD95 of
    an empty prediction) follows the endpoint's pre-specified ``undefined`` rule: excluded
    (counted, listed and stated; the default), replaced by the metric's worst value
    (`worst_value`) or by the declared value. Interval: `validation.stats.bootstrap_ci` of the
    mean, cases resampled."""
    ci, cl, rule = ep.ci, ep.confidence_level, ep.undefined
    ids = data.case_ids[idx]
    eligible = data.seg[REF_NONEMPTY][idx] > 0
    undefined = ~np.isfinite(data.seg[ep.seg_key][idx][eligible])
    und_ids = ids[eligible][undefined]
    x = analysed_values(ep, data, idx)
    touched: dict[str, Any] = {**rule.to_dict(), "n": int(undefined.sum()), **_ids(und_ids)}
    exclusions = []
    if rule.rule == "exclude" and undefined.any():
        exclusions.append({"reason": f"empty prediction, {ep.metric} undefined (rule: exclude)",
                           "n": int(undefined.sum()), **_ids(und_ids)})
    if rule.rule == "worst":
        touched["imputed"] = "per-case image diagonal (mm)" if ep.metric == "hd95" else 0.0
    not_eligible = [{"reason": "reference mask empty (not eligible)", "n": int((~eligible).sum()),
                     **_ids(ids[~eligible])}]
    extra = {"n_nonfinite": int(undefined.sum()), "undefined": touched,
             "population": _population("cases whose reference mask has foreground", int(eligible.sum()),
                                       exclusions=exclusions, not_eligible=not_eligible)}
    if x.size < 2:
        theta = float(x.mean()) if x.size else math.nan
        est = Estimate(theta, math.nan, math.nan, cl, ci, int(x.size))
        return {"estimate": est, "extra": extra, "notes": ["a bootstrap interval needs at least 2 cases"]}
    est = S.bootstrap_ci(_mean_rows, x, method=_BOOTSTRAP_METHOD[ci], n_resamples=replicates, rng=rng,  # type: ignore[arg-type]
                         confidence_level=cl, vectorized=True)
    return {"estimate": est, "extra": extra, "notes": []}


def analysed_values(ep: Endpoint, data: CaseData, idx: np.ndarray) -> np.ndarray:
    """The per-case values a segmentation endpoint analyses on the cases ``idx``: eligible cases
    (reference mask has foreground), undefined values excluded or imputed by ``ep.undefined``."""
    eligible = data.seg[REF_NONEMPTY][idx] > 0
    x = np.array(data.seg[ep.seg_key][idx][eligible], dtype=float)
    undefined = ~np.isfinite(x)
    if ep.undefined.rule == "exclude":
        return x[~undefined]
    if ep.undefined.rule == "worst":
        x[undefined] = worst_value(ep.metric, data.seg[IMAGE_DIAGONAL][idx][eligible][undefined])
    else:
        x[undefined] = float(ep.undefined.value)  # type: ignore[arg-type]
    return x


def _ids(ids: np.ndarray) -> dict[str, Any]:
    """Listed case ids (pseudonymous manifest ids, at most `MAX_LISTED_IDS`) and how many are not listed."""
    listed = [str(c) for c in ids[:MAX_LISTED_IDS]]
    return {"case_ids": listed, "case_ids_not_listed": int(len(ids) - len(listed))}


def _population(definition: str, n_eligible: int, *, exclusions: list[dict[str, Any]] | None = None,
                not_eligible: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The analysis population of one estimate: ``n_eligible = n_analysed + n_excluded``."""
    exc = [e for e in (exclusions or []) if e["n"] > 0]
    n_excluded = sum(e["n"] for e in exc)
    return {"definition": definition, "n_eligible": n_eligible, "n_analysed": n_eligible - n_excluded,
            "n_excluded": n_excluded, "exclusions": exc,
            "not_eligible": [e for e in (not_eligible or []) if e["n"] > 0]}


def add_exclusions(population: dict[str, Any], reason: str, case_ids: list[str]) -> dict[str, Any]:
    """``population`` with cases excluded before evaluation (e.g. outside the bundle's input
    domain) added: they count as eligible and excluded (their eligibility was never assessed)."""
    if not case_ids:
        return population
    entry = {"reason": reason, "n": len(case_ids), **_ids(np.asarray(case_ids, dtype=object))}
    return {**population, "n_eligible": population["n_eligible"] + len(case_ids),
            "n_excluded": population["n_excluded"] + len(case_ids),
            "exclusions": [entry, *population["exclusions"]]}


def _mean_rows(x: np.ndarray) -> Any:
    return x.mean(axis=-1)


def acceptance(ep: Endpoint, est: Estimate) -> tuple[bool, str]:
    """Evaluate the endpoint's acceptance criteria (all must hold); NaN never passes."""
    acc = ep.acceptance
    parts: list[str] = []
    ok = True

    def check(name: str, cond: bool) -> None:
        nonlocal ok
        parts.append(name)
        ok = ok and bool(cond)

    v, lo, hi = est.value, est.ci_low, est.ci_high
    if acc.ci_low_at_least is not None:
        check(f"ci_low >= {acc.ci_low_at_least}", lo >= acc.ci_low_at_least)
    if acc.value_at_least is not None:
        check(f"value >= {acc.value_at_least}", v >= acc.value_at_least)
    if acc.ci_high_at_most is not None:
        check(f"ci_high <= {acc.ci_high_at_most}", hi <= acc.ci_high_at_most)
    if acc.value_at_most is not None:
        check(f"value <= {acc.value_at_most}", v <= acc.value_at_most)
    if acc.margin is not None and acc.reference is not None:
        ref, mar = acc.reference, acc.margin
        if ep.metric in _LOWER_IS_BETTER:
            check(f"non-inferiority: ci_high < {ref} + {mar}", hi < ref + mar)
        else:
            check(f"non-inferiority: ci_low > {ref} - {mar}", lo > ref - mar)
    if any(isinstance(t, float) and math.isnan(t) for t in (v, lo, hi)):
        ok = False
    return ok, " and ".join(parts)


def _lesion_endpoint(ep: Endpoint, data: CaseData, idx: np.ndarray, replicates: int,
                     rng: np.random.Generator, cl: float) -> tuple[Estimate, dict[str, Any], list[str]]:
    """Lesion-level endpoints via `validation.metrics` (cluster bootstrap over ``patient_id``
    when the manifest has it, else over images):

    * ``lesion_sensitivity_at_fp``: sensitivity at ``fp_per_image`` on the FROC curve; ``nan``
      ("not reached") when the curve stops before that rate; records ``fp_rate_reached`` and, when
      reached, the threshold and FP rate actually achieved there;
    * ``lesion_sensitivity`` / ``fp_per_image``: at the locked candidate threshold.

    The population (images analysed, images without detection rows and what they were taken to
    mean, lesions, candidates, cluster unit) is recorded with every estimate.
    """
    from validation.metrics import (
        fp_per_image_at_threshold,
        froc_operating_point,
        lesion_sensitivity_at_fp,
        lesion_sensitivity_at_threshold,
        match_detections,
    )

    det = data.detection
    if det is None:  # pragma: no cover - build_case_data reads the tables for this metric
        raise ValueError("lesion and detection tables were not read")
    cases = data.case_ids[idx]
    keep = set(cases.tolist())
    lk = np.isin(det["l_case"], list(keep))
    ck = np.isin(det["c_case"], list(keep))
    no_rows = [c for c in det.get("cases_without_rows", []) if c in keep]
    extra: dict[str, Any] = {
        "n_lesions": int(lk.sum()), "n_candidates": int(ck.sum()), "n_images": int(cases.size),
        "population": {**_population("images with a detection record (lesion endpoints; sensitivity counts "
                                     "lesions, FP/image counts images)", int(cases.size)),
                       "n_images_analysed": int(cases.size), "n_images_without_detection_rows": len(no_rows),
                       "missing_detections": det.get("missing_detections", "error"),
                       "cluster": "patient_id" if det["patient"] is not None else "image",
                       "coordinates": f"{det.get('ndim', 3)}-D mm"}}
    metric = ep.metric
    thr = det.get("candidate_threshold")
    if metric != "lesion_sensitivity_at_fp":
        extra.update(candidate_threshold=thr, candidate_threshold_source=det.get("candidate_threshold_source"))
    n_est = int(cases.size) if metric == "fp_per_image" else 0
    if (not lk.any() and metric != "fp_per_image") or cases.size == 0:
        return Estimate(math.nan, math.nan, math.nan, cl, "cluster-bootstrap-percentile", n_est), extra, [
            "no reference lesions in these cases" if cases.size else "no images in these cases"]
    if thr is None and metric != "lesion_sensitivity_at_fp":  # pragma: no cover - the protocol check requires one
        raise ProtocolError(f"endpoint {ep.id!r}: no candidate threshold (device.detection_threshold)")
    clusters = None if det["patient"] is None else {c: det["patient"][c] for c in cases.tolist()}
    match = match_detections(
        cases.tolist(),
        {"case": det["l_case"][lk], "center_mm": det["l_center"][lk], "diameter_mm": det["l_diam"][lk]},
        {"case": det["c_case"][ck], "score": det["c_score"][ck], "center_mm": det["c_center"][ck]},
        criterion="center_in_radius", radius_mm=ep.radius_mm, clusters=clusters,
    )
    extra["population"]["n_clusters"] = int(match.case_cluster.max()) + 1
    notes: list[str] = []
    if metric == "lesion_sensitivity":
        est = lesion_sensitivity_at_threshold(match, float(thr), confidence_level=cl,  # type: ignore[arg-type]
                                              n_resamples=replicates, rng=rng)
    elif metric == "fp_per_image":
        est = fp_per_image_at_threshold(match, float(thr), confidence_level=cl,  # type: ignore[arg-type]
                                        n_resamples=replicates, rng=rng)
    else:
        f = float(ep.fp_per_image or 0.0)
        op = froc_operating_point(match, f)
        extra["fp_rate_reached"] = op.fp_rate_reached
        extra["reached"] = op.reached
        if op.reached:
            extra["threshold_at_fp"] = op.threshold
            extra["fp_per_image_achieved"] = op.fp_per_image
        else:
            notes.append(f"not reached (highest FP rate reached: {op.fp_rate_reached:.3f})")
        est = lesion_sensitivity_at_fp(match, f, confidence_level=cl, n_resamples=replicates, rng=rng)
    return est, extra, notes


def lesion_froc(ep: Endpoint, data: CaseData, *, replicates: int, rng: np.random.Generator,
                n_points: int = 61) -> dict[str, Any] | None:
    """FROC curve of the run's lesion matching (``ep``'s hit rule) with a pointwise
    cluster-bootstrap percentile band over an FP-rate grid from 0 to the highest FP rate reached,
    and the locked operating point (candidate threshold) when one is declared. For the FROC
    figure of the performance report; ``None`` without reference lesions."""
    from validation.metrics import froc_band, froc_curve, match_detections

    det = data.detection
    if det is None or len(det["l_case"]) == 0:
        return None
    cases = data.case_ids
    clusters = None if det["patient"] is None else {c: det["patient"][c] for c in cases.tolist()}
    match = match_detections(
        cases.tolist(), {"case": det["l_case"], "center_mm": det["l_center"], "diameter_mm": det["l_diam"]},
        {"case": det["c_case"], "score": det["c_score"], "center_mm": det["c_center"]},
        criterion="center_in_radius", radius_mm=ep.radius_mm, clusters=clusters)
    top = match.fp_score.size / match.n_images
    grid = np.linspace(0.0, top, n_points) if top > 0 else np.zeros(1)
    band = froc_band(match, grid, confidence_level=ep.confidence_level, n_resamples=replicates, rng=rng)
    curve = froc_curve(match)
    out: dict[str, Any] = {"endpoint": ep.id, "criterion": match.criterion, "n_lesions": match.n_lesions,
                           "n_images": match.n_images, **band.to_dict(),
                           "curve": {"fp_per_image": curve.fp_per_image.tolist(),
                                     "sensitivity": curve.sensitivity.tolist()}}
    thr = det.get("candidate_threshold")
    if thr is not None:
        out["operating_point"] = {
            "threshold": float(thr),
            "sensitivity": float(np.mean(match.lesion_score >= thr)),
            "fp_per_image": float(np.sum(match.fp_score >= thr) / match.n_images)}
    return out
