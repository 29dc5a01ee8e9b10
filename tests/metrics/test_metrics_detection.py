"""Lesion-level detection: matching rules, FROC, sensitivity at FP/image, cluster bootstrap.

References: hand-computed examples (worked in the comments) and, for the weighted bootstrap
kernel, an independent path that physically duplicates resampled patients and recomputes the
FROC curve with `froc_curve`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samd_core.errors import InvalidParameterError
from tests.metrics._shapes import ellipsoid
from validation.metrics import (
    extract_lesions,
    froc_curve,
    lesion_sensitivity_at_fp,
    match_detections,
)
from validation.metrics._detection import _sens_at_fp_weighted

pytestmark = pytest.mark.verifies("SRS-MET-003")

LESIONS = {"case": ["a", "b"], "center_mm": [[0, 0, 0], [5, 5, 5]], "diameter_mm": [4, 6]}
CANDS = {
    "case": ["a", "a", "b", "c"],
    "center_mm": [[1, 0, 0], [10, 0, 0], [5, 5, 9], [0, 0, 0]],
    "score": [0.9, 0.8, 0.7, 0.95],
}


def test_hand_computed_froc() -> None:
    # lesion a: candidate at 1 mm (radius 2) hits, score 0.9; lesion b: candidate 4 mm away
    # (radius 3) misses. FPs: 0.8 (a), 0.7 (b), 0.95 (c). 3 images.
    m = match_detections(["a", "b", "c"], LESIONS, CANDS)
    assert m.lesion_score.tolist() == [0.9, -np.inf]
    assert sorted(m.fp_score.tolist()) == [0.7, 0.8, 0.95]
    c = froc_curve(m)
    assert c.thresholds.tolist() == [np.inf, 0.95, 0.9, 0.8, 0.7]
    assert c.sensitivity.tolist() == [0, 0, 0.5, 0.5, 0.5]
    assert np.allclose(c.fp_per_image, [0, 1 / 3, 1 / 3, 2 / 3, 1])
    assert lesion_sensitivity_at_fp(m, 0.25, n_resamples=0).value == 0.0
    assert lesion_sensitivity_at_fp(m, 1 / 3, n_resamples=0).value == 0.5
    # a fixed 5 mm radius turns lesion b's candidate into a hit
    m5 = match_detections(["a", "b", "c"], LESIONS, CANDS, radius_mm=5.0)
    assert m5.lesion_score.tolist() == [0.9, 0.7]


def test_duplicate_marks_on_one_lesion_are_not_false_positives() -> None:
    cands = {"case": ["a", "a"], "center_mm": [[0, 0, 0], [0.5, 0, 0]], "score": [0.6, 0.9]}
    m = match_detections(["a"], {"case": ["a"], "center_mm": [[0, 0, 0]], "diameter_mm": [3]}, cands)
    assert m.fp_score.size == 0 and m.lesion_score.tolist() == [0.9]


def test_iou_criterion() -> None:
    les = {"case": ["a"], "bbox_mm": [[[0, 0, 0], [10, 10, 10]]]}
    cands = {
        "case": ["a", "a"],
        "bbox_mm": [[[0, 0, 0], [10, 10, 5]], [[0, 0, 0], [10, 10, 4]]],  # IoU 0.5 and 0.4
        "score": [0.3, 0.8],
    }
    m = match_detections(["a"], les, cands, criterion="iou", iou_threshold=0.5)
    assert m.lesion_score.tolist() == [0.3] and m.fp_score.tolist() == [0.8]
    assert m.criterion == "iou(>= 0.5)"


def test_perfect_detector_has_degenerate_ci() -> None:
    les = {"case": list("abcd"), "center_mm": np.zeros((4, 3)), "diameter_mm": np.full(4, 4.0)}
    cands = {"case": list("abcd"), "center_mm": np.zeros((4, 3)), "score": np.full(4, 0.9)}
    est = lesion_sensitivity_at_fp(match_detections(list("abcde"), les, cands), 0.0, rng=1, n_resamples=300)
    assert (est.value, est.ci_low, est.ci_high, est.n) == (1.0, 1.0, 1.0, 4)
    assert est.method == "cluster-bootstrap-percentile"


def _random_study(rng: np.random.Generator, n_cases: int) -> tuple[list[str], dict, dict, dict]:
    cases = [f"c{i}" for i in range(n_cases)]
    patients = {c: f"p{i // 2}" for i, c in enumerate(cases)}  # two images per patient
    l_case, l_ctr, c_case, c_ctr, c_score = [], [], [], [], []
    for c in cases:
        for _ in range(rng.integers(0, 3)):
            ctr = rng.uniform(0, 50, 3)
            l_case.append(c)
            l_ctr.append(ctr)
            if rng.random() < 0.7:  # detected, with some positional error
                c_case.append(c)
                c_ctr.append(ctr + rng.normal(0, 1.0, 3))
                c_score.append(round(float(rng.random()), 2))
        for _ in range(rng.integers(0, 3)):  # false positives far away
            c_case.append(c)
            c_ctr.append(rng.uniform(100, 200, 3))
            c_score.append(round(float(rng.random()), 2))
    les = {"case": l_case, "center_mm": np.reshape(l_ctr, (-1, 3)), "diameter_mm": np.full(len(l_case), 6.0)}
    cands = {"case": c_case, "center_mm": np.reshape(c_ctr, (-1, 3)), "score": np.asarray(c_score)}
    return cases, les, cands, patients


def _step_sensitivity(curve_sens: np.ndarray, curve_fpi: np.ndarray, f: float) -> float:
    return float(curve_sens[curve_fpi <= f + 1e-12].max())


@settings(max_examples=25)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.125, 0.5, 1.0, 2.0]))
def test_weighted_kernel_equals_duplicated_patients(seed: int, f: float) -> None:
    rng = np.random.default_rng(seed)
    cases, les, cands, patients = _random_study(rng, 8)
    if not les["case"]:
        return
    m = match_detections(cases, les, cands, clusters=patients)
    n_clusters = int(m.case_cluster.max()) + 1
    w = rng.multinomial(n_clusters, np.full(n_clusters, 1 / n_clusters))
    fast = _sens_at_fp_weighted(m, w[None, :].astype(float), np.array([f]))[0, 0]
    # independent path: copy each patient w times and rebuild everything from scratch
    pid = sorted(set(patients.values()))
    d_cases, d_les, d_cands = [], {"case": [], "center_mm": [], "diameter_mm": []}, {"case": [], "center_mm": [], "score": []}
    for p_i, p in enumerate(pid):
        for copy in range(w[p_i]):
            for c in [c for c in cases if patients[c] == p]:
                new = f"{c}#{copy}"
                d_cases.append(new)
                for k, lc in enumerate(les["case"]):
                    if lc == c:
                        d_les["case"].append(new)
                        d_les["center_mm"].append(les["center_mm"][k])
                        d_les["diameter_mm"].append(6.0)
                for k, cc in enumerate(cands["case"]):
                    if cc == c:
                        d_cands["case"].append(new)
                        d_cands["center_mm"].append(cands["center_mm"][k])
                        d_cands["score"].append(cands["score"][k])
    if not d_les["case"]:
        assert np.isnan(fast)
        return
    d_les["center_mm"] = np.reshape(d_les["center_mm"], (-1, 3))
    d_cands["center_mm"] = np.reshape(d_cands["center_mm"], (-1, 3))
    curve = froc_curve(match_detections(d_cases, d_les, d_cands))
    assert fast == pytest.approx(_step_sensitivity(curve.sensitivity, curve.fp_per_image, f), abs=1e-12)


@settings(max_examples=20)
@given(st.integers(0, 2**32 - 1))
def test_ci_contains_estimate_and_is_deterministic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cases, les, cands, patients = _random_study(rng, 10)
    if not les["case"]:
        return
    m = match_detections(cases, les, cands, clusters=patients)
    f = min(1.0, m.fp_score.size / m.n_images)  # a rate the curve reaches
    e1 = lesion_sensitivity_at_fp(m, f, rng=seed, n_resamples=200)
    e2 = lesion_sensitivity_at_fp(m, f, rng=seed, n_resamples=200)
    assert e1 == e2
    assert e1.ci_low <= e1.value <= e1.ci_high
    wide = lesion_sensitivity_at_fp(m, f, rng=seed, n_resamples=200, confidence_level=0.99)
    assert wide.ci_low <= e1.ci_low and wide.ci_high >= e1.ci_high


def test_froc_is_monotone() -> None:
    cases, les, cands, _ = _random_study(np.random.default_rng(5), 30)
    c = froc_curve(match_detections(cases, les, cands))
    assert np.all(np.diff(c.sensitivity) >= 0) and np.all(np.diff(c.fp_per_image) >= 0)
    assert np.all(np.diff(c.thresholds) < 0)


def test_extract_lesions_closed_form() -> None:
    mask = np.zeros((40, 40, 40), bool)
    s1 = ellipsoid(mask.shape, np.array([10, 10, 10]), np.array([4, 4, 4]))
    s2 = ellipsoid(mask.shape, np.array([28, 30, 25]), np.array([6, 6, 6]))
    mask = s1 | s2
    prob = np.where(s1, 0.6, 0.0) + np.where(s2, 0.9, 0.0)
    sp = (2.0, 1.0, 0.5)
    out = extract_lesions(mask, spacing=sp, probability=prob)
    order = np.argsort(out["volume_mm3"])
    assert out["volume_mm3"][order].tolist() == [s1.sum() * 1.0, s2.sum() * 1.0]
    assert np.allclose(out["center_mm"][order][0], np.array([10, 10, 10]) * sp)
    assert out["score"][order].tolist() == [0.6, 0.9]
    vol = out["volume_mm3"][order][1]
    assert out["diameter_mm"][order][1] == pytest.approx(2 * (3 * vol / (4 * np.pi)) ** (1 / 3))
    lo, hi = out["bbox_mm"][order][0]
    assert np.allclose(lo, (np.array([6, 6, 6]) - 0.5) * sp) and np.allclose(hi, (np.array([15, 15, 15]) - 0.5) * sp)


@pytest.mark.parametrize(
    ("cases", "lesions", "cands", "kwargs", "match"),
    [
        ([], LESIONS, CANDS, {}, r"`cases` of `match_detections` must be at least one case"),
        (["a", "a"], LESIONS, CANDS, {}, r"duplicate 'a'"),
        (["a", "b"], LESIONS, CANDS, {}, r"unknown case 'c'"),
        (["a", "b", "c"], LESIONS, {**CANDS, "score": [0.1, float("nan"), 0.2, 0.3]}, {}, r"finite scores; got 'nan at index 1'"),
        (["a", "b", "c"], LESIONS, CANDS, {"criterion": "centre_in_radius"}, r"did you mean 'center_in_radius'"),
        (["a", "b", "c"], LESIONS, CANDS, {"criterion": "iou"}, r"`iou_threshold` of `match_detections`"),
        (["a", "b", "c"], {"case": ["a"]}, CANDS, {}, r"`lesions` of `match_detections` must be a mapping with key 'center_mm'"),
    ],
)
def test_bad_input(cases: list, lesions: dict, cands: dict, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        match_detections(cases, lesions, cands, **kwargs)


def test_bad_sensitivity_args() -> None:
    m = match_detections(["a", "b", "c"], LESIONS, CANDS)
    with pytest.raises(InvalidParameterError, match=r"`fp_per_image` of `lesion_sensitivity_at_fp`"):
        lesion_sensitivity_at_fp(m, -1.0, rng=0)
    with pytest.raises(InvalidParameterError, match=r"`rng` of `lesion_sensitivity_at_fp`"):
        lesion_sensitivity_at_fp(m, 1.0)
    with pytest.raises(InvalidParameterError, match=r"`confidence_level`"):
        lesion_sensitivity_at_fp(m, 1.0, rng=0, confidence_level=95)
