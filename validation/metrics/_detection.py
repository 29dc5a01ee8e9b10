"""Lesion-level detection metrics (nodule CADe): matching, FROC, sensitivity at FP/image.

Conventions (documented contract)
---------------------------------
* Coordinates are in mm in one frame per case (e.g. array index × spacing, or LPS); lesions and
  candidates of the same case must use the same frame.
* **Hit criterion**, chosen per analysis:
  ``"center_in_radius"``: a candidate hits a lesion when the Euclidean distance between the
  candidate centre and the lesion centre is ≤ the lesion radius (``diameter_mm / 2``), or ≤
  ``radius_mm`` when that fixed radius is given (LUNA16 uses the lesion radius).
  ``"iou"``: a candidate hits a lesion when the IoU of their axis-aligned boxes (``bbox_mm``,
  min and max corners) is ≥ ``iou_threshold``.
* A candidate that hits at least one lesion is a true positive for each lesion it hits; further
  candidates on an already-hit lesion are neither extra TPs nor FPs (LUNA16). A candidate that
  hits no lesion is a false positive.
* A lesion's score is the highest score among the candidates that hit it (``-inf`` if none).
  At threshold ``t`` (``score >= t`` is a mark): sensitivity = share of lesions with score ≥ t;
  FP/image = number of FP candidates with score ≥ t divided by the number of images (cases),
  images without lesions or candidates included.
* **Sensitivity at a given FP rate** ``f``: the highest sensitivity over thresholds whose
  FP/image ≤ ``f`` (a step function, no interpolation; conservative).
* Confidence intervals: cluster bootstrap over patients (all images/lesions of a patient are
  resampled together), percentile method, seeded by ``rng``.

References
----------
Setio AAA et al. (2017). Validation, comparison, and combination of algorithms for automatic
detection of pulmonary nodules in computed tomography images: the LUNA16 challenge. Med Image
Anal 42:1-13.
Chakraborty DP (1989). Maximum likelihood analysis of free-response receiver operating
characteristic (FROC) data. Med Phys 16(4):561-568.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np

from samd_core import lesions as core_lesions
from samd_core.checks import as_count, as_rng, check_confidence_level
from samd_core.errors import InvalidParameterError
from validation.metrics._validate import check_mask, check_spacing
from validation.stats import Estimate
from validation.stats._bootstrap import ChunkedStreams, bootstrap_replicates, percentile_interval

__all__ = [
    "DetectionMatchResult",
    "FROCBandResult",
    "FROCCurveResult",
    "FROCOperatingPointResult",
    "extract_lesions",
    "fp_per_image_at_threshold",
    "froc_band",
    "froc_curve",
    "froc_operating_point",
    "lesion_sensitivity_at_fp",
    "lesion_sensitivity_at_threshold",
    "match_detections",
]

Criterion = Literal["center_in_radius", "iou"]


@dataclass(frozen=True, eq=False)
class DetectionMatchResult:
    """Result of matching candidates to lesions over a set of images.

    Attributes
    ----------
    cases : numpy.ndarray of str
        Every image (case) in the analysis, including those without lesions or candidates.
    case_cluster : numpy.ndarray of int
        Cluster (patient) index of each case, for the cluster bootstrap.
    lesion_score : numpy.ndarray of float
        Per lesion, the highest score of a candidate hitting it (``-inf`` when missed).
    lesion_cluster : numpy.ndarray of int
        Cluster index of each lesion.
    fp_score : numpy.ndarray of float
        Score of each false-positive candidate.
    fp_cluster : numpy.ndarray of int
        Cluster index of each false-positive candidate.
    criterion : str
        The hit criterion used, with its parameter (e.g. ``"center_in_radius(lesion radius)"``).
    """

    cases: np.ndarray
    case_cluster: np.ndarray
    lesion_score: np.ndarray
    lesion_cluster: np.ndarray
    fp_score: np.ndarray
    fp_cluster: np.ndarray
    criterion: str

    @property
    def n_lesions(self) -> int:
        return int(self.lesion_score.size)

    @property
    def n_images(self) -> int:
        return int(self.cases.size)


@dataclass(frozen=True, eq=False)
class FROCCurveResult:
    """FROC operating points, thresholds descending (fp_per_image and sensitivity ascending)."""

    thresholds: np.ndarray
    sensitivity: np.ndarray
    fp_per_image: np.ndarray
    n_lesions: int
    n_images: int


# ---------------------------------------------------------------------- inputs
def _column(table: Mapping[str, Any], key: str, name: str, function: str) -> np.ndarray:
    if key not in table:
        raise InvalidParameterError(name, function, f"a mapping with key {key!r}", sorted(table))
    return np.asarray(table[key])


def _centers(table: Mapping[str, Any], n: int, name: str, function: str) -> np.ndarray:
    c = np.asarray(_column(table, "center_mm", name, function), dtype=float)
    if c.ndim != 2 or c.shape[0] != n:
        raise InvalidParameterError(f"{name}['center_mm']", function, f"an array of shape ({n}, ndim)", f"shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise InvalidParameterError(f"{name}['center_mm']", function, "finite coordinates (mm)", "non-finite values")
    return c


def _boxes(table: Mapping[str, Any], n: int, name: str, function: str) -> np.ndarray:
    b = np.asarray(_column(table, "bbox_mm", name, function), dtype=float)
    if b.ndim != 3 or b.shape[:2] != (n, 2):
        raise InvalidParameterError(f"{name}['bbox_mm']", function, f"an array of shape ({n}, 2, ndim)", f"shape {b.shape}")
    if np.any(b[:, 1] < b[:, 0]):
        raise InvalidParameterError(f"{name}['bbox_mm']", function, "boxes with max corner >= min corner", "inverted box")
    return b


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of axis-aligned boxes a (n, 2, d) and b (m, 2, d)."""
    lo = np.maximum(a[:, None, 0], b[None, :, 0])
    hi = np.minimum(a[:, None, 1], b[None, :, 1])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    va = np.prod(a[:, 1] - a[:, 0], axis=-1)
    vb = np.prod(b[:, 1] - b[:, 0], axis=-1)
    union = va[:, None] + vb[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def match_detections(
    cases: Sequence[Any],
    lesions: Mapping[str, Any],
    candidates: Mapping[str, Any],
    *,
    criterion: Criterion = "center_in_radius",
    radius_mm: float | None = None,
    iou_threshold: float | None = None,
    clusters: Mapping[Any, Any] | None = None,
) -> DetectionMatchResult:
    """Match detection candidates to reference lesions, image by image.

    Parameters
    ----------
    cases : sequence
        Ids of every image in the analysis (FP/image denominator), unique.
    lesions : mapping of arrays
        ``case`` (n,), ``center_mm`` (n, d), and ``diameter_mm`` (n,) for the
        ``center_in_radius`` criterion or ``bbox_mm`` (n, 2, d) for ``iou``.
    candidates : mapping of arrays
        ``case`` (m,), ``score`` (m,), ``center_mm`` (m, d) or ``bbox_mm`` (m, 2, d).
    criterion : {"center_in_radius", "iou"}
    radius_mm : float, optional
        Fixed hit radius in mm instead of each lesion's radius.
    iou_threshold : float
        Required for ``criterion="iou"``, in (0, 1].
    clusters : mapping case -> patient id, optional
        Patients for the cluster bootstrap; default: each case is its own cluster.
    """
    function = "match_detections"
    case_ids = np.asarray(list(cases), dtype=object)
    if case_ids.size == 0:
        raise InvalidParameterError("cases", function, "at least one case", list(cases))
    case_index: dict[Any, int] = {}
    for i, c in enumerate(case_ids):
        if c in case_index:
            raise InvalidParameterError("cases", function, "unique case ids", f"duplicate {c!r}")
        case_index[c] = i
    if criterion not in ("center_in_radius", "iou"):
        raise InvalidParameterError("criterion", function, "'center_in_radius' or 'iou'", criterion, ("center_in_radius", "iou"))

    l_case = _column(lesions, "case", "lesions", function)
    c_case = _column(candidates, "case", "candidates", function)
    c_score = np.asarray(_column(candidates, "score", "candidates", function), dtype=float)
    if c_score.shape != c_case.shape:
        raise InvalidParameterError("candidates['score']", function, f"{c_case.size} scores", f"{c_score.size}")
    if not np.all(np.isfinite(c_score)):
        bad = int(np.flatnonzero(~np.isfinite(c_score))[0])
        raise InvalidParameterError("candidates['score']", function, "finite scores", f"{c_score[bad]} at index {bad}")
    for name, ids in (("lesions['case']", l_case), ("candidates['case']", c_case)):
        unknown = [c for c in ids.tolist() if c not in case_index]
        if unknown:
            raise InvalidParameterError(name, function, "ids listed in `cases`", f"unknown case {unknown[0]!r}")

    if criterion == "center_in_radius":
        l_ctr = _centers(lesions, l_case.size, "lesions", function)
        c_ctr = _centers(candidates, c_case.size, "candidates", function)
        if l_ctr.shape[1] != c_ctr.shape[1] and l_ctr.size and c_ctr.size:
            raise InvalidParameterError("candidates['center_mm']", function,
                                        f"{l_ctr.shape[1]}-D centres like the lesions", f"{c_ctr.shape[1]}-D")
        if radius_mm is not None:
            if not (np.isfinite(radius_mm) and radius_mm > 0):
                raise InvalidParameterError("radius_mm", function, "None or a number > 0 (mm)", radius_mm)
            l_rad = np.full(l_case.size, float(radius_mm))
            desc = f"center_in_radius({float(radius_mm)} mm)"
        else:
            l_rad = np.asarray(_column(lesions, "diameter_mm", "lesions", function), dtype=float) / 2.0
            if np.any(~np.isfinite(l_rad)) or np.any(l_rad <= 0):
                raise InvalidParameterError("lesions['diameter_mm']", function, "finite diameters > 0 mm", "non-positive value")
            desc = "center_in_radius(lesion radius)"
    else:
        if iou_threshold is None or not (0 < float(iou_threshold) <= 1):
            raise InvalidParameterError("iou_threshold", function, "a number in (0, 1] for criterion 'iou'", iou_threshold)
        l_box = _boxes(lesions, l_case.size, "lesions", function)
        c_box = _boxes(candidates, c_case.size, "candidates", function)
        if l_box.shape[2] != c_box.shape[2] and l_box.size and c_box.size:
            raise InvalidParameterError("candidates['bbox_mm']", function, f"{l_box.shape[2]}-D boxes like the lesions", f"{c_box.shape[2]}-D")
        desc = f"iou(>= {float(iou_threshold)})"

    lesion_score = np.full(l_case.size, -np.inf)
    fp_mask = np.ones(c_case.size, dtype=bool)
    for case in np.unique(np.concatenate([l_case, c_case]).astype(str)) if (l_case.size + c_case.size) else []:
        li = np.flatnonzero(l_case.astype(str) == case)
        ci = np.flatnonzero(c_case.astype(str) == case)
        if li.size == 0 or ci.size == 0:
            continue
        if criterion == "center_in_radius":
            d = np.linalg.norm(c_ctr[ci][:, None, :] - l_ctr[li][None, :, :], axis=-1)
            hit = d <= l_rad[li][None, :]
        else:
            hit = _box_iou(c_box[ci], l_box[li]) >= float(iou_threshold)  # type: ignore[arg-type]
        fp_mask[ci[hit.any(axis=1)]] = False
        scores = np.where(hit, c_score[ci][:, None], -np.inf).max(axis=0)
        lesion_score[li] = np.maximum(lesion_score[li], scores)

    if clusters is None:
        case_cluster = np.arange(case_ids.size)
    else:
        missing = [c for c in case_ids.tolist() if c not in clusters]
        if missing:
            raise InvalidParameterError("clusters", function, "a patient id for every case", f"missing case {missing[0]!r}")
        _, case_cluster = np.unique(np.asarray([str(clusters[c]) for c in case_ids.tolist()]), return_inverse=True)
    l_cluster = case_cluster[[case_index[c] for c in l_case.tolist()]] if l_case.size else np.zeros(0, int)
    c_cluster = case_cluster[[case_index[c] for c in c_case.tolist()]] if c_case.size else np.zeros(0, int)
    return DetectionMatchResult(
        cases=case_ids,
        case_cluster=np.asarray(case_cluster, dtype=np.int64),
        lesion_score=lesion_score,
        lesion_cluster=np.asarray(l_cluster, dtype=np.int64),
        fp_score=c_score[fp_mask],
        fp_cluster=np.asarray(c_cluster, dtype=np.int64)[fp_mask],
        criterion=desc,
    )


# ---------------------------------------------------------------------- FROC
def froc_curve(match: DetectionMatchResult) -> FROCCurveResult:
    """FROC operating points at every distinct candidate score (plus the empty operating point)."""
    if match.n_lesions == 0:
        raise InvalidParameterError("match", "froc_curve", "at least one reference lesion", "0 lesions")
    scores = np.concatenate([match.lesion_score[np.isfinite(match.lesion_score)], match.fp_score])
    thr = np.unique(scores)[::-1]
    ls = np.sort(match.lesion_score)
    fs = np.sort(match.fp_score)
    n_hit = ls.size - np.searchsorted(ls, thr, side="left")
    n_fp = fs.size - np.searchsorted(fs, thr, side="left")
    thresholds = np.concatenate([[np.inf], thr])
    sens = np.concatenate([[0.0], n_hit / match.n_lesions])
    fpi = np.concatenate([[0.0], n_fp / match.n_images])
    return FROCCurveResult(thresholds, sens, fpi, match.n_lesions, match.n_images)


def _sens_at_fp_weighted(
    match: DetectionMatchResult, w_cluster: np.ndarray, fp_per_image: np.ndarray
) -> np.ndarray:
    """Sensitivity at each FP rate, for each row of cluster weights ``w_cluster`` (B, n_clusters)."""
    wl = w_cluster[:, match.lesion_cluster]  # (B, L)
    wf = w_cluster[:, match.fp_cluster]  # (B, F)
    n_img = w_cluster[:, match.case_cluster].sum(axis=1)  # (B,)
    n_les = wl.sum(axis=1)
    # events sorted by descending score; lesions (TP) before FPs at equal score, then the
    # operating point is evaluated only after all events of one score (ties move together)
    score = np.concatenate([match.lesion_score, match.fp_score])
    is_tp = np.concatenate([np.ones(match.n_lesions, bool), np.zeros(match.fp_score.size, bool)])
    keep = np.isfinite(score)
    score, is_tp = score[keep], is_tp[keep]
    weights = np.concatenate([wl, wf], axis=1)[:, keep]
    order = np.lexsort((~is_tp, -score))
    score, is_tp, weights = score[order], is_tp[order], weights[:, order]
    cum_tp = np.cumsum(np.where(is_tp, weights, 0.0), axis=1)
    cum_fp = np.cumsum(np.where(~is_tp, weights, 0.0), axis=1)
    last_of_score = np.ones(score.size, bool)
    last_of_score[:-1] = score[1:] != score[:-1]
    cum_tp, cum_fp = cum_tp[:, last_of_score], cum_fp[:, last_of_score]
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = cum_tp / n_les[:, None]
        fpi = cum_fp / n_img[:, None]
    out = np.zeros((w_cluster.shape[0], fp_per_image.size))
    for j, f in enumerate(fp_per_image):
        ok = fpi <= f + 1e-12
        out[:, j] = np.where(ok, sens, 0.0).max(axis=1, initial=0.0)
    out[n_les == 0] = np.nan
    return out


def _cluster_weights(gen: np.random.Generator, n_clusters: int, n_resamples: int) -> np.ndarray:
    """Cluster-bootstrap weights: per replicate (row), how often each cluster was drawn."""
    return gen.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=int(n_resamples)).astype(float)


def _as_streams(rng: Any, function: str) -> np.random.Generator | ChunkedStreams:
    return rng if isinstance(rng, ChunkedStreams) else as_rng(rng, function)


def _sens_at_fp_replicates(match: DetectionMatchResult, grid: np.ndarray, n_clusters: int,
                           gen: np.random.Generator, n_resamples: int) -> np.ndarray:
    return _sens_at_fp_weighted(match, _cluster_weights(gen, n_clusters, n_resamples), grid)


def _at_threshold_replicates(match: DetectionMatchResult, t: float, what: str, n_clusters: int,
                             gen: np.random.Generator, n_resamples: int) -> np.ndarray:
    return _at_threshold_weighted(match, _cluster_weights(gen, n_clusters, n_resamples), t, what)


def _fp_rate_reached(match: DetectionMatchResult) -> float:
    """Highest FP rate of the FROC curve (every candidate a mark): total FPs / images."""
    return float(match.fp_score.size / match.n_images)


def lesion_sensitivity_at_fp(
    match: DetectionMatchResult,
    fp_per_image: float,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | ChunkedStreams | None = None,
) -> Estimate:
    """Lesion-level sensitivity at ``fp_per_image`` false positives per image, cluster-bootstrap CI.

    Parameters
    ----------
    match : DetectionMatchResult
        From `match_detections`.
    fp_per_image : float
        Allowed mean number of false-positive marks per image, ≥ 0.
    confidence_level : float
        Two-sided level of the percentile interval, in (0, 1).
    n_resamples : int
        Bootstrap replicates over clusters (patients), ≥ 1; 0 gives a point estimate with
        ``nan`` bounds.
    rng : numpy.random.Generator, int or ChunkedStreams
        Source of randomness (required when ``n_resamples > 0``).

    Returns
    -------
    Estimate
        ``method="cluster-bootstrap-percentile"``, ``n`` = number of reference lesions. When the
        FROC curve stops before ``fp_per_image`` (every candidate counted, the FP rate stays below
        it), the sensitivity at that rate is **not reached**: value and bounds are ``nan`` (a
        criterion on it is never met); `froc_operating_point` gives the highest FP rate reached.
        In a bootstrap replicate whose curve stops earlier, the replicate's value is its highest
        sensitivity (the step function is flat after its last point).
    """
    function = "lesion_sensitivity_at_fp"
    if not isinstance(match, DetectionMatchResult):
        raise InvalidParameterError("match", function, "a DetectionMatchResult from match_detections", type(match).__name__)
    if match.n_lesions == 0:
        raise InvalidParameterError("match", function, "at least one reference lesion", "0 lesions")
    f = float(fp_per_image)
    if not (np.isfinite(f) and f >= 0):
        raise InvalidParameterError("fp_per_image", function, "a finite number >= 0", fp_per_image)
    level = check_confidence_level(confidence_level, function)
    n_resamples = as_count(n_resamples, "n_resamples", function)
    n_clusters = int(match.case_cluster.max()) + 1
    if _fp_rate_reached(match) < f - 1e-12:  # the curve stops before f: no estimate (not reached)
        return Estimate(float("nan"), float("nan"), float("nan"), level, "cluster-bootstrap-percentile",
                        match.n_lesions)
    point = float(_sens_at_fp_weighted(match, np.ones((1, n_clusters)), np.array([f]))[0, 0])
    if n_resamples == 0:
        return Estimate(point, float("nan"), float("nan"), level, "none", match.n_lesions)
    reps = bootstrap_replicates(partial(_sens_at_fp_replicates, match, np.array([f]), n_clusters), n_resamples,
                                _as_streams(rng, function), function=function)[:, 0]
    reps = reps[np.isfinite(reps)]
    lo, hi = percentile_interval(reps, level) if reps.size else (np.nan, np.nan)
    return Estimate(point, float(min(lo, point)), float(max(hi, point)), level,
                    "cluster-bootstrap-percentile", match.n_lesions)


@dataclass(frozen=True)
class FROCOperatingPointResult:
    """The FROC point used for "sensitivity at ``fp_per_image_target`` FP/image".

    Attributes
    ----------
    fp_per_image_target : float
        The FP rate asked for.
    reached : bool
        True when the curve reaches the target (its highest FP rate is ≥ the target).
    fp_rate_reached : float
        Highest FP rate of the curve (every candidate a mark): total FPs / images.
    threshold : float
        Lowest candidate threshold whose FP rate is ≤ the target (``nan`` when not reached).
    fp_per_image : float
        FP rate actually achieved at ``threshold`` (≤ the target; ``nan`` when not reached).
    sensitivity : float
        Sensitivity at ``threshold`` (``nan`` when not reached).
    """

    fp_per_image_target: float
    reached: bool
    fp_rate_reached: float
    threshold: float
    fp_per_image: float
    sensitivity: float

    def to_dict(self) -> dict[str, Any]:
        return {"fp_per_image_target": self.fp_per_image_target, "reached": self.reached,
                "fp_rate_reached": self.fp_rate_reached, "threshold": self.threshold,
                "fp_per_image": self.fp_per_image, "sensitivity": self.sensitivity}


def froc_operating_point(match: DetectionMatchResult, fp_per_image: float) -> FROCOperatingPointResult:
    """Where "sensitivity at ``fp_per_image`` FP/image" is read on the FROC curve, and whether
    the curve reaches that FP rate at all (see `lesion_sensitivity_at_fp`)."""
    function = "froc_operating_point"
    if not isinstance(match, DetectionMatchResult):
        raise InvalidParameterError("match", function, "a DetectionMatchResult from match_detections", type(match).__name__)
    f = float(fp_per_image)
    if not (np.isfinite(f) and f >= 0):
        raise InvalidParameterError("fp_per_image", function, "a finite number >= 0", fp_per_image)
    top = _fp_rate_reached(match)
    nan = float("nan")
    if top < f - 1e-12 or match.n_lesions == 0:
        return FROCOperatingPointResult(f, bool(top >= f - 1e-12), top, nan, nan, nan)
    c = froc_curve(match)
    ok = np.flatnonzero(c.fp_per_image <= f + 1e-12)
    j = int(ok[-1])  # thresholds descending: the last admissible point has the highest sensitivity
    return FROCOperatingPointResult(f, True, top, float(c.thresholds[j]), float(c.fp_per_image[j]),
                              float(c.sensitivity[j]))


# ---------------------------------------------------------------------- locked operating point
def _at_threshold_weighted(match: DetectionMatchResult, w: np.ndarray, threshold: float,
                           what: str) -> np.ndarray:
    """Lesion sensitivity or FP/image at ``threshold`` for each row of cluster weights ``w``."""
    if what == "sensitivity":
        num = w[:, match.lesion_cluster] @ (match.lesion_score >= threshold).astype(float)
        den = w[:, match.lesion_cluster].sum(axis=1)
    else:
        num = w[:, match.fp_cluster] @ (match.fp_score >= threshold).astype(float)
        den = w[:, match.case_cluster].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _at_threshold(match: DetectionMatchResult, threshold: float, what: str, function: str,
                  confidence_level: float, n_resamples: int, rng: Any) -> Estimate:
    if not isinstance(match, DetectionMatchResult):
        raise InvalidParameterError("match", function, "a DetectionMatchResult from match_detections", type(match).__name__)
    t = float(threshold)
    if not np.isfinite(t):
        raise InvalidParameterError("threshold", function, "a finite candidate score threshold", threshold)
    if what == "sensitivity" and match.n_lesions == 0:
        raise InvalidParameterError("match", function, "at least one reference lesion", "0 lesions")
    level = check_confidence_level(confidence_level, function)
    n_resamples = as_count(n_resamples, "n_resamples", function)
    n = match.n_lesions if what == "sensitivity" else match.n_images
    n_clusters = int(match.case_cluster.max()) + 1
    point = float(_at_threshold_weighted(match, np.ones((1, n_clusters)), t, what)[0])
    if n_resamples == 0:
        return Estimate(point, float("nan"), float("nan"), level, "none", n)
    reps = bootstrap_replicates(partial(_at_threshold_replicates, match, t, what, n_clusters), n_resamples,
                                _as_streams(rng, function), function=function)
    reps = reps[np.isfinite(reps)]
    lo, hi = percentile_interval(reps, level) if reps.size else (np.nan, np.nan)
    return Estimate(point, float(min(lo, point)), float(max(hi, point)), level, "cluster-bootstrap-percentile", n)


def lesion_sensitivity_at_threshold(
    match: DetectionMatchResult,
    threshold: float,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | ChunkedStreams | None = None,
) -> Estimate:
    """Lesion sensitivity at the candidate threshold ``threshold`` (the locked operating point).

    A lesion is detected when a candidate with ``score >= threshold`` hits it (`match_detections`).
    The interval is the cluster-bootstrap percentile interval: clusters (patients, or images when
    no patients were given) are resampled with replacement, ``numpy.random.Generator.multinomial``
    counts of each cluster per replicate; the replicate value is the ratio of the resampled sums
    (detected lesions / lesions). Replicates without a lesion are dropped (undefined ratio).

    Parameters
    ----------
    match : DetectionMatchResult
    threshold : float
        Candidate score threshold (a mark is ``score >= threshold``).
    confidence_level : float
        Two-sided level, in (0, 1).
    n_resamples : int
        Bootstrap replicates, ≥ 0 (0: point estimate, ``nan`` bounds).
    rng : numpy.random.Generator, int or ChunkedStreams

    Returns
    -------
    Estimate
        ``n`` = number of reference lesions.

    Examples
    --------
    >>> m = match_detections(["a", "b"], {"case": ["a", "b"], "center_mm": [[0, 0], [0, 0]],
    ...     "diameter_mm": [4, 4]}, {"case": ["a", "b"], "center_mm": [[0, 0], [0, 0]], "score": [0.9, 0.2]})
    >>> lesion_sensitivity_at_threshold(m, 0.5, n_resamples=0).value
    0.5

    References
    ----------
    Field CA, Welsh AH (2007). Bootstrapping clustered data. J R Stat Soc B 69(3):369-390.
    """
    return _at_threshold(match, threshold, "sensitivity", "lesion_sensitivity_at_threshold",
                         confidence_level, n_resamples, rng)


def fp_per_image_at_threshold(
    match: DetectionMatchResult,
    threshold: float,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | ChunkedStreams | None = None,
) -> Estimate:
    """Mean false-positive marks per image at the candidate threshold ``threshold``.

    FP marks with ``score >= threshold`` divided by the number of images (every image of the
    analysis, those without candidates included). Cluster-bootstrap percentile interval as in
    `lesion_sensitivity_at_threshold` (the replicate value is resampled FPs / resampled images).
    ``n`` = number of images. Lower is better.
    """
    return _at_threshold(match, threshold, "fp_per_image", "fp_per_image_at_threshold",
                         confidence_level, n_resamples, rng)


# ---------------------------------------------------------------------- FROC band
@dataclass(frozen=True, eq=False)
class FROCBandResult:
    """FROC sensitivity over an FP-rate grid with a pointwise cluster-bootstrap percentile band;
    ``nan`` beyond ``fp_rate_reached`` (the curve stops there)."""

    fp_per_image: np.ndarray
    sensitivity: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    confidence_level: float
    n_resamples: int
    fp_rate_reached: float

    def to_dict(self) -> dict[str, Any]:
        return {"fp_per_image": self.fp_per_image.tolist(), "sensitivity": self.sensitivity.tolist(),
                "ci_low": self.ci_low.tolist(), "ci_high": self.ci_high.tolist(),
                "confidence_level": self.confidence_level, "n_resamples": self.n_resamples,
                "method": "cluster-bootstrap-percentile (pointwise)", "fp_rate_reached": self.fp_rate_reached}


def froc_band(match: DetectionMatchResult, fp_grid: Sequence[float], *, confidence_level: float = 0.95,
              n_resamples: int = 1000, rng: np.random.Generator | int | ChunkedStreams | None = None) -> FROCBandResult:
    """FROC step curve on ``fp_grid`` (FP/image) with a pointwise cluster-bootstrap band."""
    function = "froc_band"
    if match.n_lesions == 0:
        raise InvalidParameterError("match", function, "at least one reference lesion", "0 lesions")
    grid = np.asarray(fp_grid, dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise InvalidParameterError("fp_grid", function, "a non-empty 1-D grid of finite FP rates >= 0", "invalid")
    level = check_confidence_level(confidence_level, function)
    n_resamples = as_count(n_resamples, "n_resamples", function)
    n_clusters = int(match.case_cluster.max()) + 1
    top = _fp_rate_reached(match)
    beyond = grid > top + 1e-12
    point = _sens_at_fp_weighted(match, np.ones((1, n_clusters)), grid)[0]
    lo = np.full(grid.size, np.nan)
    hi = np.full(grid.size, np.nan)
    if n_resamples > 0:
        reps = bootstrap_replicates(partial(_sens_at_fp_replicates, match, grid, n_clusters), n_resamples,
                                    _as_streams(rng, function), function=function)
        for j in range(grid.size):
            r = reps[:, j][np.isfinite(reps[:, j])]
            if r.size:
                lo[j], hi[j] = percentile_interval(r, level)
    point[beyond] = lo[beyond] = hi[beyond] = np.nan
    return FROCBandResult(grid, point, lo, hi, level, int(n_resamples), top)


# ---------------------------------------------------------------------- masks -> lesions
def extract_lesions(
    mask: Any,
    *,
    spacing: Sequence[float],
    probability: Any = None,
    min_volume_mm3: float = 0.0,
) -> dict[str, np.ndarray]:
    """Connected components of a binary mask as lesion/candidate records (mm, **array frame**).

    A thin view of `samd_core.lesions.extract_lesions` (the one extractor; full connectivity,
    26-neighbourhood in 3-D). Each record has ``center_mm`` (centroid index × spacing, array
    order: the array frame, not LPS), ``diameter_mm`` (diameter of the sphere/disc of equal
    volume/area), ``bbox_mm`` (min and max corner of the voxel extent, mm), ``volume_mm3`` and
    ``score`` (max of ``probability`` inside the component, or 1.0). Reference lesions and
    candidates matched against these must be in the same array frame; for LPS centres use
    `samd_core.lesions.extract_lesions` with the volume's origin and direction.
    """
    function = "extract_lesions"
    m = check_mask(mask, "mask", function)
    sp = check_spacing(spacing, m.ndim, function)
    prob = None
    if probability is not None:
        prob = np.asarray(probability, dtype=float)
        if prob.shape != m.shape:
            raise InvalidParameterError("probability", function, f"an array of shape {m.shape}", f"shape {prob.shape}")
    t = core_lesions.extract_lesions(m, spacing=sp, values=prob, min_volume_mm3=min_volume_mm3)
    return {
        "center_mm": t.centre_mm,
        "diameter_mm": t.equivalent_diameter_mm,
        "bbox_mm": t.bbox_mm,
        "volume_mm3": t.volume_mm3,
        "score": t.max_value,
    }
