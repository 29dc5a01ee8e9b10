"""Lesion sensitivity and FP/image at the locked candidate threshold, "not reached" FP rates,
the FROC band, 2-D coordinates.

References: the hand-worked example below (closed form), and for the cluster bootstrap an
independent loop written here (patients resampled with the same generator draws, counts summed
patient by patient in plain Python, quantiles by ``numpy.percentile`` linear interpolation).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samd_core.errors import InvalidParameterError
from validation.metrics import (
    fp_per_image_at_threshold,
    froc_band,
    froc_operating_point,
    lesion_sensitivity_at_fp,
    lesion_sensitivity_at_threshold,
    match_detections,
)

pytestmark = pytest.mark.verifies("SRS-MET-003")

# 3 images. Lesion a (radius 2 mm) hit by the 0.9 candidate 1 mm away; lesion b (radius 3 mm)
# missed (its candidate is 4 mm away). False positives: 0.8 (a), 0.7 (b), 0.95 (c).
LESIONS = {"case": ["a", "b"], "center_mm": [[0, 0, 0], [5, 5, 5]], "diameter_mm": [4, 6]}
CANDS = {"case": ["a", "a", "b", "c"], "center_mm": [[1, 0, 0], [10, 0, 0], [5, 5, 9], [0, 0, 0]],
         "score": [0.9, 0.8, 0.7, 0.95]}


def _match(**kw):  # type: ignore[no-untyped-def]
    return match_detections(["a", "b", "c"], LESIONS, CANDS, **kw)


@pytest.mark.parametrize(("t", "sens", "fpi"), [
    (0.96, 0 / 2, 0 / 3),  # no marks
    (0.95, 0 / 2, 1 / 3),  # the 0.95 FP
    (0.85, 1 / 2, 1 / 3),  # + the hit on lesion a
    (0.75, 1 / 2, 2 / 3),  # + FP 0.8
    (0.70, 1 / 2, 3 / 3),  # + FP 0.7
])
def test_operating_point_closed_form(t: float, sens: float, fpi: float) -> None:
    m = _match()
    assert lesion_sensitivity_at_threshold(m, t, n_resamples=0).value == pytest.approx(sens, abs=1e-15)
    e = fp_per_image_at_threshold(m, t, n_resamples=0)
    assert e.value == pytest.approx(fpi, abs=1e-15) and e.n == 3


def test_sensitivity_at_fp_not_reached_is_nan_with_the_rate_reached() -> None:
    m = _match()
    op = froc_operating_point(m, 2.0)  # 3 FPs over 3 images: the curve stops at 1.0 FP/image
    assert not op.reached and op.fp_rate_reached == 1.0 and np.isnan(op.sensitivity)
    est = lesion_sensitivity_at_fp(m, 2.0, rng=0, n_resamples=200)
    assert np.isnan([est.value, est.ci_low, est.ci_high]).all()
    ok = froc_operating_point(m, 0.5)  # admissible points: 0 and 1/3 FP/image; best sens 0.5 at t = 0.9
    assert ok.reached and (ok.threshold, ok.sensitivity) == (0.9, 0.5)
    assert ok.fp_per_image == pytest.approx(1 / 3) and ok.fp_rate_reached == 1.0
    assert froc_operating_point(m, 1.0).reached  # exactly the highest rate: reached


def _loop_bootstrap(m, t: float, what: str, seed: int, b: int, level: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Independent loop: per patient, (hits, lesions, fps, images); draw the same multinomial
    patient counts; sum patient by patient; percentile interval."""
    n_cl = int(m.case_cluster.max()) + 1
    per = {p: [0, 0, 0, 0] for p in range(n_cl)}
    for s, p in zip(m.lesion_score.tolist(), m.lesion_cluster.tolist(), strict=True):
        per[p][0] += int(s >= t)
        per[p][1] += 1
    for s, p in zip(m.fp_score.tolist(), m.fp_cluster.tolist(), strict=True):
        per[p][2] += int(s >= t)
    for p in m.case_cluster.tolist():
        per[p][3] += 1
    gen = np.random.default_rng(seed)
    counts = gen.multinomial(n_cl, np.full(n_cl, 1.0 / n_cl), size=b)
    reps = []
    for row in counts:
        tot = [0, 0, 0, 0]
        for p in range(n_cl):
            for _ in range(int(row[p])):
                for k in range(4):
                    tot[k] += per[p][k]
        if what == "sensitivity":
            if tot[1]:
                reps.append(tot[0] / tot[1])
        else:
            reps.append(tot[2] / tot[3])
    a = (1 - level) / 2
    lo, hi = np.percentile(reps, [100 * a, 100 * (1 - a)])
    return float(lo), float(hi)


def _study(seed: int, n_cases: int = 12):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    cases = [f"c{i}" for i in range(n_cases)]
    patients = {c: f"p{i // 3}" for i, c in enumerate(cases)}
    lc, lx, cc, cx, cs = [], [], [], [], []
    for c in cases:
        for _ in range(int(rng.integers(0, 3))):
            x = rng.uniform(0, 50, 2)
            lc.append(c)
            lx.append(x)
            if rng.random() < 0.7:
                cc.append(c)
                cx.append(x + rng.normal(0, 0.5, 2))
                cs.append(round(float(rng.random()), 2))
        for _ in range(int(rng.integers(0, 3))):
            cc.append(c)
            cx.append(rng.uniform(100, 200, 2))
            cs.append(round(float(rng.random()), 2))
    les = {"case": lc, "center_mm": np.reshape(lx, (-1, 2)), "diameter_mm": np.full(len(lc), 6.0)}
    cand = {"case": cc, "center_mm": np.reshape(cx, (-1, 2)), "score": np.asarray(cs, float)}
    return cases, les, cand, patients


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("what", ["sensitivity", "fp_per_image"])
def test_cluster_bootstrap_equals_independent_loop(seed: int, what: str) -> None:
    cases, les, cand, patients = _study(seed)
    m = match_detections(cases, les, cand, clusters=patients)
    fn = lesion_sensitivity_at_threshold if what == "sensitivity" else fp_per_image_at_threshold
    est = fn(m, 0.5, n_resamples=400, rng=np.random.default_rng(seed), confidence_level=0.9)
    lo, hi = _loop_bootstrap(m, 0.5, what, seed, 400, 0.9)
    assert est.ci_low == pytest.approx(min(lo, est.value), abs=1e-12)
    assert est.ci_high == pytest.approx(max(hi, est.value), abs=1e-12)
    assert est.method == "cluster-bootstrap-percentile"


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.randoms(use_true_random=False))
def test_invariant_to_case_order(seed: int, rnd) -> None:  # type: ignore[no-untyped-def]
    cases, les, cand, patients = _study(seed % 1000, 9)
    if not les["case"]:
        return
    shuffled = list(cases)
    rnd.shuffle(shuffled)
    # patient ids are relabelled in sorted order by match_detections, so the clusters line up
    for fn in (lesion_sensitivity_at_threshold, fp_per_image_at_threshold):
        a = fn(match_detections(cases, les, cand, clusters=patients), 0.4, n_resamples=100, rng=seed)
        b = fn(match_detections(shuffled, les, cand, clusters=patients), 0.4, n_resamples=100, rng=seed)
        assert (a.value, a.ci_low, a.ci_high) == pytest.approx((b.value, b.ci_low, b.ci_high), abs=1e-12, nan_ok=True)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_clusters_of_one_image_equal_the_image_bootstrap(seed: int) -> None:
    cases, les, cand, _ = _study(seed % 1000, 9)
    if not les["case"]:
        return
    own = {c: f"patient-{c}" for c in cases}  # sorts like the case ids: same cluster indices
    for fn in (lesion_sensitivity_at_threshold, fp_per_image_at_threshold):
        a = fn(match_detections(cases, les, cand), 0.5, n_resamples=100, rng=seed)
        b = fn(match_detections(cases, les, cand, clusters=own), 0.5, n_resamples=100, rng=seed)
        assert (a.value, a.ci_low, a.ci_high) == pytest.approx((b.value, b.ci_low, b.ci_high), abs=1e-15, nan_ok=True)


def test_two_dimensional_matching_and_mixed_dimensions() -> None:
    les = {"case": ["x"], "center_mm": [[10.0, 10.0]], "diameter_mm": [6.0]}  # (row, col) mm of the image plane
    cand = {"case": ["x", "x"], "center_mm": [[12.0, 10.0], [20.0, 20.0]], "score": [0.6, 0.9]}
    m = match_detections(["x", "y"], les, cand)
    assert m.lesion_score.tolist() == [0.6] and m.fp_score.tolist() == [0.9]
    bad = {**cand, "center_mm": [[12.0, 10.0, 0.0], [20.0, 20.0, 0.0]]}
    with pytest.raises(InvalidParameterError, match=r"2-D centres like the lesions; got '3-D'"):
        match_detections(["x"], les, bad)


def test_froc_band_contains_curve_and_stops_where_the_curve_stops() -> None:
    cases, les, cand, patients = _study(7, 20)
    m = match_detections(cases, les, cand, clusters=patients)
    top = m.fp_score.size / m.n_images
    grid = np.linspace(0, top + 1.0, 41)
    band = froc_band(m, grid, n_resamples=200, rng=3)
    inside = grid <= top
    assert np.isnan(band.sensitivity[~inside]).all() and np.isfinite(band.sensitivity[inside]).all()
    ok = inside & np.isfinite(band.ci_low)
    assert ok.any() and np.all(band.ci_low[ok] <= band.ci_high[ok])
    assert np.all(np.diff(band.sensitivity[inside]) >= 0)
    for f, s in zip(grid[inside], band.sensitivity[inside], strict=True):
        assert s == lesion_sensitivity_at_fp(m, float(f), n_resamples=0).value


def test_bad_threshold() -> None:
    with pytest.raises(InvalidParameterError, match=r"`threshold` of `fp_per_image_at_threshold`"):
        fp_per_image_at_threshold(_match(), float("nan"), n_resamples=0)
