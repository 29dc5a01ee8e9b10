"""Dice, IoU, volume difference: closed forms and scikit-learn as the peer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score, jaccard_score

from samd_core.errors import InvalidParameterError
from validation.metrics import dice, iou, volume_difference

pytestmark = pytest.mark.verifies("SRS-MET-001")


def test_dice_closed_form_cubes() -> None:
    a = np.zeros((10, 10, 10), bool)
    b = np.zeros((10, 10, 10), bool)
    a[0:4, 0:4, 0:4] = True  # 64 voxels
    b[2:6, 0:4, 0:4] = True  # 64 voxels, overlap 2*4*4 = 32
    assert dice(a, b) == pytest.approx(2 * 32 / 128, abs=1e-15)
    assert iou(a, b) == pytest.approx(32 / 96, abs=1e-15)


def test_volume_difference_closed_form() -> None:
    a = np.zeros((4, 5, 6), bool)
    b = np.zeros((4, 5, 6), bool)
    a[:2] = True  # 60 voxels
    b[:1] = True  # 30 voxels
    sp = (2.5, 0.7, 0.5)
    assert volume_difference(a, b, spacing=sp) == pytest.approx(30 * 2.5 * 0.7 * 0.5, rel=1e-14)
    assert volume_difference(a, b, spacing=sp, relative=True) == pytest.approx(1.0)


@given(
    arrays(np.bool_, (6, 7, 5)),
    arrays(np.bool_, (6, 7, 5)),
)
def test_dice_iou_equal_sklearn_f1_jaccard(a: np.ndarray, b: np.ndarray) -> None:
    """Peer: scikit-learn's F1 (= Dice) and Jaccard on the flattened masks."""
    if not (a.any() or b.any()):
        assert np.isnan(dice(a, b)) and np.isnan(iou(a, b))
        return
    assert dice(a, b) == pytest.approx(f1_score(b.ravel(), a.ravel(), zero_division=0.0), abs=1e-12)
    assert iou(a, b) == pytest.approx(jaccard_score(b.ravel(), a.ravel(), zero_division=0.0), abs=1e-12)
    assert dice(a, b) == dice(b, a)  # symmetric


def test_empty_rules() -> None:
    e = np.zeros((3, 3), bool)
    f = e.copy()
    f[1, 1] = True
    assert np.isnan(dice(e, e)) and np.isnan(iou(e, e))
    assert dice(e, e, both_empty=1.0) == 1.0
    assert dice(e, f) == 0.0 and iou(f, e) == 0.0
    assert np.isnan(volume_difference(e, e, spacing=(1, 1), relative=True))
    assert volume_difference(f, e, spacing=(1, 1), relative=True) == np.inf


@pytest.mark.parametrize(
    ("pred", "ref", "kwargs", "match"),
    [
        (np.zeros((3, 3)), np.zeros((3, 4)), {}, r"`ref` of `dice` must be the same shape as `pred` \(3, 3\)"),
        (np.full((3, 3), 2), np.zeros((3, 3)), {}, r"`pred` of `dice` must be a binary mask with values 0/1; got .*2.* at index \(0, 0\)"),
        (np.zeros(3), np.zeros(3), {}, r"`pred` of `dice` must be a 2-D or 3-D binary mask"),
        (np.zeros((0, 3)), np.zeros((0, 3)), {}, r"non-empty"),
    ],
)
def test_bad_input(pred: np.ndarray, ref: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        dice(pred, ref, **kwargs)


@pytest.mark.parametrize("spacing", [(1.0, 0.0), (1.0, -2.0), (1.0,), (1.0, float("nan")), None])
def test_bad_spacing(spacing: object) -> None:
    m = np.ones((2, 2), bool)
    with pytest.raises(InvalidParameterError, match="`spacing` of `volume_difference`"):
        volume_difference(m, m, spacing=spacing)  # type: ignore[arg-type]


@given(st.integers(0, 2**32 - 1))
def test_inputs_not_mutated(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, (5, 6, 7))
    b = rng.integers(0, 2, (5, 6, 7))
    a0, b0 = a.copy(), b.copy()
    dice(a, b)
    iou(a, b)
    volume_difference(a, b, spacing=(1, 2, 3))
    assert np.array_equal(a, a0) and np.array_equal(b, b0)
