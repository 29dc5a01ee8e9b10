"""samd_core.lesions: the one lesion extractor, in index, array-frame mm and LPS mm (issue #12)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from samd_core import Volume
from samd_core.errors import InvalidParameterError
from samd_core.lesions import extract_lesions

# a rotated, flipped direction (columns = LPS vectors of the array axes) and a non-zero origin:
# LPS mm differs from the array frame by more than an axis permutation
DIRECTION = np.array([[0.0, 0.6, 0.8], [0.0, 0.8, -0.6], [-1.0, 0.0, 0.0]])
ORIGIN = (-120.0, 35.5, 210.0)
SPACING = (2.5, 0.8, 0.7)


def _sphere_at_lps(centre_lps: np.ndarray, radius_mm: float, shape: tuple[int, int, int]) -> np.ndarray:
    """Voxels whose LPS position (closed form origin + D @ (spacing * index)) lies within radius."""
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1).astype(float)
    lps = np.asarray(ORIGIN) + (idx * np.asarray(SPACING)) @ DIRECTION.T
    return np.linalg.norm(lps - centre_lps, axis=-1) <= radius_mm


def test_lps_centre_is_the_patient_position_not_the_array_frame() -> None:
    shape = (24, 40, 40)
    index_centre = np.array([11.0, 20.0, 17.0])
    centre_lps = np.asarray(ORIGIN) + DIRECTION @ (index_centre * np.asarray(SPACING))
    mask = _sphere_at_lps(centre_lps, 6.0, shape)
    t = extract_lesions(mask, spacing=SPACING, origin=ORIGIN, direction=DIRECTION)
    assert len(t) == 1
    # the sphere is symmetric about a voxel centre: its centroid is that voxel exactly
    np.testing.assert_allclose(t.index[0], index_centre, atol=1e-9)
    np.testing.assert_allclose(t.centre_lps_mm[0], centre_lps, atol=1e-9)
    np.testing.assert_allclose(t.centre_mm[0], index_centre * np.asarray(SPACING), atol=1e-9)
    assert np.linalg.norm(t.centre_mm[0] - t.centre_lps_mm[0]) > 50  # the frames differ
    # the same point as `Volume.index_to_physical`, bit for bit
    vol = Volume(mask.astype(np.float32), spacing=SPACING, origin=ORIGIN, direction=tuple(map(tuple, DIRECTION)))
    assert t.centre_lps_mm[0].tolist() == vol.index_to_physical(t.index[0]).tolist()
    assert t.n_voxels[0] == mask.sum()
    assert t.volume_mm3[0] == mask.sum() * float(np.prod(SPACING))
    assert t.equivalent_diameter_mm[0] == pytest.approx((6 * t.volume_mm3[0] / np.pi) ** (1 / 3), rel=1e-15)


def test_bundle_detections_are_in_the_frame_of_the_lesion_truth() -> None:
    """Bundle-mode detections (harness) hit reference lesions given in LPS mm (lesions.csv)."""
    from samd_core.bundle._prediction import predicted_lesions
    from validation.harness._bundle import detection_rows
    from validation.metrics import match_detections

    shape = (24, 40, 40)
    centre_lps = np.asarray(ORIGIN) + DIRECTION @ (np.array([11.0, 20.0, 17.0]) * np.asarray(SPACING))
    mask = _sphere_at_lps(centre_lps, 4.0, shape)
    prob = Volume(np.where(mask, 0.9, 0.0).astype(np.float32), spacing=SPACING, origin=ORIGIN,
                  direction=tuple(map(tuple, DIRECTION)))
    rows = detection_rows(predicted_lesions(prob, mask.astype(np.uint8), min_volume_mm3=0.0))
    assert len(rows) == 1
    cand = {"case": ["c1"], "score": [rows[0]["score"]],
            "center_mm": [[rows[0]["center_z_mm"], rows[0]["center_y_mm"], rows[0]["center_x_mm"]]]}
    truth = {"case": ["c1"], "center_mm": [centre_lps[::-1].tolist()], "diameter_mm": [8.0]}  # (z, y, x) LPS
    m = match_detections(["c1"], truth, cand)
    assert m.lesion_score.tolist() == [pytest.approx(0.9)] and m.fp_score.size == 0
    # array-frame centres would miss the same truth lesion
    t = extract_lesions(mask, spacing=SPACING)
    wrong = {**cand, "center_mm": [t.centre_mm[0][::-1].tolist()]}
    assert match_detections(["c1"], truth, wrong).fp_score.size == 1


def test_agrees_with_scipy_on_components_and_connectivity() -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((12, 13, 14)) > 0.8
    for conn in (1, 2, 3):
        t = extract_lesions(mask, spacing=(1.0, 1.0, 1.0), connectivity=conn)
        lab, n = ndimage.label(mask, ndimage.generate_binary_structure(3, conn))
        assert len(t) == n
        assert sorted(t.n_voxels.tolist()) == sorted(np.bincount(lab.ravel())[1:].tolist())
    assert len(extract_lesions(np.zeros((3, 3)), spacing=(1, 1))) == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mask": np.full((3, 3, 3), 2)}, r"`mask` of `extract_lesions` must be a binary mask"),
        ({"mask": np.zeros(3)}, r"`mask` of `extract_lesions` must be a 2-d or 3-d array"),
        ({"spacing": (1, 1)}, r"`spacing` of `extract_lesions` must be an array of shape \(3,\)"),
        ({"spacing": (1, 0, 1)}, r"`spacing` of `extract_lesions` must be 3 finite values > 0"),
        ({"direction": np.ones((3, 3))}, r"`direction` of `extract_lesions` must be an orthonormal"),
        ({"connectivity": 4}, r"`connectivity` of `extract_lesions` must be an integer in \[1, 3\]"),
        ({"values": np.zeros((2, 2, 2))}, r"`values` of `extract_lesions` must be an array of shape \(3, 3, 3\)"),
        ({"min_volume_mm3": -1}, r"`min_volume_mm3` of `extract_lesions` must be a finite number >= 0"),
    ],
)
def test_bad_input_is_one_line_error(kwargs: dict, match: str) -> None:
    args = {"mask": np.zeros((3, 3, 3), bool), "spacing": (1.0, 1.0, 1.0), **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        extract_lesions(args.pop("mask"), **args)
