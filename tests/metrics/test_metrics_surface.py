"""Surface metrics against DeepMind surface-distance (surfel convention) and MONAI (voxel).

Peers, called live:
* DeepMind ``surface-distance`` 0.1 (``compute_surface_distances``, ``compute_robust_hausdorff``,
  ``compute_average_surface_distance``, ``compute_surface_dice_at_tolerance``): the
  reference implementation of Nikolov et al. (2021).
* MONAI 1.6.1 ``compute_hausdorff_distance``, ``compute_average_surface_distance``
  (symmetric), ``compute_surface_dice`` (boundary voxels, and ``use_subvoxels=True``).
MONAI computes in float32, hence the 1e-5 relative tolerance there; DeepMind in float64.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from samd_core.errors import InvalidParameterError
from tests.metrics._shapes import ellipsoid, random_pair
from validation.metrics import (
    average_symmetric_surface_distance,
    hausdorff_distance,
    normalized_surface_dice,
    surface_distances,
    surface_metrics,
)

pytestmark = pytest.mark.verifies("SRS-MET-002")


@pytest.fixture(scope="module")
def deepmind():  # type: ignore[no-untyped-def]
    # surface-distance 0.1 predates NumPy 2 (np.Inf); restore the alias for the peer only.
    if not hasattr(np, "Inf"):
        np.Inf = np.inf  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import surface_distance

    return surface_distance


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(28, 36, 30), (40, 44)])
def test_surfel_equals_deepmind(deepmind, seed: int, shape: tuple[int, ...]) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    pred, ref, sp = random_pair(rng, shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm = deepmind.compute_surface_distances(ref, pred, sp)  # (gt, pred) order
        hd100 = deepmind.compute_robust_hausdorff(dm, 100)
        hd95 = deepmind.compute_robust_hausdorff(dm, 95)
        nsd = deepmind.compute_surface_dice_at_tolerance(dm, 1.5)
    m = surface_metrics(pred, ref, spacing=sp, tolerance_mm=1.5)
    assert m.hausdorff == pytest.approx(hd100, abs=1e-12)
    assert m.hausdorff_percentile == pytest.approx(hd95, abs=1e-12)
    assert m.nsd == pytest.approx(nsd, abs=1e-12)
    # ASSD = area-weighted mean over both surfaces, from DeepMind's directed distances/areas
    num = np.dot(dm["distances_gt_to_pred"], dm["surfel_areas_gt"]) + np.dot(
        dm["distances_pred_to_gt"], dm["surfel_areas_pred"]
    )
    den = dm["surfel_areas_gt"].sum() + dm["surfel_areas_pred"].sum()
    assert m.assd == pytest.approx(num / den, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_voxel_equals_monai(seed: int) -> None:
    torch = pytest.importorskip("torch")
    monai_metrics = pytest.importorskip("monai.metrics")
    rng = np.random.default_rng(100 + seed)
    pred, ref, sp = random_pair(rng, (30, 34, 28))

    def onehot(m: np.ndarray):  # type: ignore[no-untyped-def]
        t = torch.from_numpy(m[None, None].astype(np.float32))
        return torch.cat([1 - t, t], 1)

    P, R = onehot(pred), onehot(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hd = monai_metrics.compute_hausdorff_distance(P, R, spacing=sp).item()
        hd95 = monai_metrics.compute_hausdorff_distance(P, R, percentile=95, spacing=sp).item()
        assd = monai_metrics.compute_average_surface_distance(P, R, symmetric=True, spacing=sp).item()
        nsd = monai_metrics.compute_surface_dice(P, R, class_thresholds=[2.0], spacing=sp).item()
        nsd_sub = monai_metrics.compute_surface_dice(
            P, R, class_thresholds=[2.0], spacing=sp, use_subvoxels=True
        ).item()
    m = surface_metrics(pred, ref, spacing=sp, tolerance_mm=2.0, convention="voxel")
    assert m.hausdorff == pytest.approx(hd, rel=1e-5)
    assert m.hausdorff_percentile == pytest.approx(hd95, rel=1e-5)
    assert m.assd == pytest.approx(assd, rel=1e-5)
    assert m.nsd == pytest.approx(nsd, rel=1e-5)
    # MONAI's sub-voxel NSD implements the surfel definition too
    assert normalized_surface_dice(pred, ref, spacing=sp, tolerance_mm=2.0) == pytest.approx(nsd_sub, rel=1e-5)


def test_closed_form_shifted_slab() -> None:
    """A slab shifted by one slice: every surface distance is 0 or one slice spacing."""
    a = np.zeros((12, 8, 8), bool)
    a[3:7, 2:6, 2:6] = True
    b = np.roll(a, 1, axis=0)
    sp = (2.5, 0.7, 0.7)
    assert hausdorff_distance(a, b, spacing=sp, convention="voxel") == pytest.approx(2.5)
    assert hausdorff_distance(a, b, spacing=sp) == pytest.approx(2.5)
    assert normalized_surface_dice(a, b, spacing=sp, tolerance_mm=2.5) == pytest.approx(1.0)
    assert normalized_surface_dice(a, b, spacing=sp, tolerance_mm=2.4, convention="voxel") < 1.0


def test_identical_masks() -> None:
    a = ellipsoid((20, 20, 20), np.array([10, 10, 10]), np.array([5, 4, 3]))
    for conv in ("surfel", "voxel"):
        m = surface_metrics(a, a, spacing=(1.0, 0.8, 0.6), tolerance_mm=0.0, convention=conv)  # type: ignore[arg-type]
        assert (m.hausdorff, m.hausdorff_percentile, m.assd, m.nsd) == (0.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize("convention", ["surfel", "voxel"])
def test_empty_rules(convention: str) -> None:
    e = np.zeros((6, 6, 6), bool)
    f = e.copy()
    f[2:4, 2:4, 2:4] = True
    sp = (1.0, 1.0, 1.0)
    both = surface_metrics(e, e, spacing=sp, tolerance_mm=1, convention=convention)  # type: ignore[arg-type]
    assert all(np.isnan(v) for v in (both.hausdorff, both.hausdorff_percentile, both.assd, both.nsd))
    for p, r in ((e, f), (f, e)):
        one = surface_metrics(p, r, spacing=sp, tolerance_mm=1, convention=convention)  # type: ignore[arg-type]
        assert one.hausdorff == np.inf and one.hausdorff_percentile == np.inf and one.assd == np.inf
        assert one.nsd == 0.0


def test_individual_functions_equal_combined() -> None:
    rng = np.random.default_rng(7)
    pred, ref, sp = random_pair(rng, (24, 26, 22))
    m = surface_metrics(pred, ref, spacing=sp, tolerance_mm=1.0, percentile=95)
    assert hausdorff_distance(pred, ref, spacing=sp) == m.hausdorff
    assert hausdorff_distance(pred, ref, spacing=sp, percentile=95) == m.hausdorff_percentile
    assert average_symmetric_surface_distance(pred, ref, spacing=sp) == m.assd
    assert normalized_surface_dice(pred, ref, spacing=sp, tolerance_mm=1.0) == m.nsd


@given(st.integers(0, 2**32 - 1), st.sampled_from(["surfel", "voxel"]))
def test_symmetry_and_translation_invariance(seed: int, convention: str) -> None:
    rng = np.random.default_rng(seed)
    pred, ref, sp = random_pair(rng, (20, 22, 18))
    if not (pred.any() and ref.any()):
        return
    m1 = surface_metrics(pred, ref, spacing=sp, tolerance_mm=1.0, convention=convention)  # type: ignore[arg-type]
    m2 = surface_metrics(ref, pred, spacing=sp, tolerance_mm=1.0, convention=convention)  # type: ignore[arg-type]
    assert m1.hausdorff == m2.hausdorff and m1.hausdorff_percentile == m2.hausdorff_percentile
    assert m1.assd == pytest.approx(m2.assd, abs=1e-12) and m1.nsd == pytest.approx(m2.nsd, abs=1e-12)
    # embedding both masks in a larger array changes nothing
    big_p, big_r = np.pad(pred, 3), np.pad(ref, 3)
    m3 = surface_metrics(big_p, big_r, spacing=sp, tolerance_mm=1.0, convention=convention)  # type: ignore[arg-type]
    assert (m3.hausdorff, m3.assd, m3.nsd) == (m1.hausdorff, m1.assd, m1.nsd)
    # scaling every spacing by k scales every distance by k
    k = 2.0
    m4 = surface_metrics(pred, ref, spacing=tuple(k * s for s in sp), tolerance_mm=k, convention=convention)  # type: ignore[arg-type]
    assert m4.hausdorff == pytest.approx(k * m1.hausdorff) and m4.assd == pytest.approx(k * m1.assd)
    assert m4.nsd == pytest.approx(m1.nsd, abs=1e-12)


def test_deterministic_bytes() -> None:
    rng = np.random.default_rng(3)
    pred, ref, sp = random_pair(rng, (24, 24, 24))
    digests = set()
    for _ in range(2):
        sd = surface_distances(pred, ref, spacing=sp)
        h = hashlib.sha256(b"".join(x.tobytes() for x in (sd.pred_to_ref, sd.ref_to_pred, sd.weights_pred, sd.weights_ref)))
        digests.add(h.hexdigest())
    assert len(digests) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spacing": (1, 1)}, r"`spacing` of `hausdorff_distance` must be 3 values"),
        ({"spacing": (1, 1, 0)}, r"`spacing` of `hausdorff_distance` must be finite values > 0 mm"),
        ({"spacing": (1, 1, 1), "percentile": 101}, r"`percentile` of `hausdorff_distance` must be None or a number in \[0, 100\]"),
        ({"spacing": (1, 1, 1), "convention": "surfell"}, r"did you mean 'surfel'\?"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    m = np.ones((3, 3, 3), bool)
    with pytest.raises(InvalidParameterError, match=match):
        hausdorff_distance(m, m, **kwargs)


def test_bad_tolerance() -> None:
    m = np.ones((3, 3, 3), bool)
    with pytest.raises(InvalidParameterError, match=r"`tolerance_mm` of `normalized_surface_dice`"):
        normalized_surface_dice(m, m, spacing=(1, 1, 1), tolerance_mm=-1)
