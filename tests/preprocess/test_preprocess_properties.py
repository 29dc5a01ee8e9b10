"""Property tests (hypothesis) for the preprocessing pipeline's geometry and spec hashing."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samd_core import Volume
from samd_core.preprocess import Pipeline
from tests.preprocess.preprocess_strategies import label_volumes

PROPS = settings(max_examples=40, deadline=None)


@pytest.mark.verifies("SRS-PREPROCESS-001", "SRS-PREPROCESS-007")
@PROPS
@given(vol=label_volumes(), code=st.sampled_from(["LPS", "RAS", "SPL", "IAR", "PLS"]))
def test_preprocess_reorient_round_trip_keeps_voxels_in_place(vol: Volume, code: str) -> None:
    pipe = Pipeline.from_spec({"steps": [{"op": "reorient", "orientation": code}]})
    out, record = pipe.forward(vol, kind="label")
    # every voxel keeps its physical position: compare the positions of equal voxel values
    perm = record["steps"][0]["permutation"]
    flips = record["steps"][0]["flips"]
    idx_new = np.array([0, 1, 1]) if min(out.shape) > 1 else np.zeros(3, int)
    idx_old = np.empty(3)
    for i in range(3):
        idx_old[perm[i]] = (out.shape[i] - 1 - idx_new[i]) if flips[i] else idx_new[i]
    np.testing.assert_allclose(out.index_to_physical(idx_new), vol.index_to_physical(idx_old), atol=1e-6)
    assert out.array[tuple(idx_new)] == vol.array[tuple(int(i) for i in idx_old)]
    back = pipe.inverse(out, record)
    assert back.same_grid(vol, atol=1e-9)
    assert back.array.tobytes() == vol.array.tobytes()


@pytest.mark.verifies("SRS-PREPROCESS-002")
@PROPS
@given(vol=label_volumes(oblique=True), target=st.tuples(*[st.floats(0.25, 4.0)] * 3))
def test_preprocess_resampling_preserves_physical_extent(vol: Volume, target: tuple[float, float, float]) -> None:
    pipe = Pipeline.from_spec({"steps": [{"op": "resample", "spacing": list(target)}]})
    out = pipe(vol.with_array(vol.array.astype(np.float32)))
    assert out.spacing == pytest.approx(target, rel=1e-12)
    for n, s, m, t in zip(vol.shape, vol.spacing, out.shape, out.spacing, strict=True):
        if n * s >= t / 2:  # otherwise the grid keeps its minimum of one voxel
            assert abs(m * t - n * s) <= t / 2 + 1e-9
    # the centre of the field of view does not move
    c_in = vol.index_to_physical((np.asarray(vol.shape) - 1) / 2)
    c_out = out.index_to_physical((np.asarray(out.shape) - 1) / 2)
    np.testing.assert_allclose(c_out, c_in, atol=1e-6)
    np.testing.assert_allclose(out.direction, vol.direction)


@pytest.mark.verifies("SRS-PREPROCESS-007", "SRS-PREPROCESS-003", "SRS-PREPROCESS-006")
@PROPS
@given(
    vol=label_volumes(max_side=8),
    factors=st.tuples(*[st.integers(1, 3)] * 3),
    interp=st.sampled_from(["nearest", "labelwise"]),
    pad=st.tuples(*[st.integers(0, 4)] * 3),
    data=st.data(),
)
def test_preprocess_inverse_of_forward_recovers_mask(
    vol: Volume, factors: tuple[int, int, int], interp: str, pad: tuple[int, int, int], data: st.DataObject
) -> None:
    code = data.draw(st.sampled_from(["LPS", "RAS", "ASL"]))
    pipe0 = Pipeline.from_spec({"steps": [{"op": "reorient", "orientation": code}]})
    reoriented = pipe0(vol)
    # integer up-sampling (nothing is lost), foreground crop, then padding to a larger shape
    target = [s / k for s, k in zip(reoriented.spacing, factors, strict=True)]
    shape = [n * k + p for n, k, p in zip(reoriented.shape, factors, pad, strict=True)]
    spec = {
        "steps": [
            {"op": "reorient", "orientation": code},
            {"op": "resample", "spacing": target, "label_interpolation": interp},
            {"op": "crop_foreground", "margin": 1},
            {"op": "crop_pad", "shape": shape},
        ]
    }
    pipe = Pipeline.from_spec(spec)
    out, record = pipe.forward(vol, kind="label")
    assert out.shape == tuple(shape)
    back = pipe.inverse(out, record)
    assert back.same_grid(vol, atol=1e-6)
    np.testing.assert_array_equal(back.array, vol.array)
    # probabilities (one-hot) go back too, and their argmax is the mask
    onehot = np.stack([(out.array == k) for k in range(3)]).astype(np.float32)
    probs = pipe.inverse(onehot, record, kind="probabilities")
    assert probs.shape == (3, *vol.shape)
    np.testing.assert_array_equal(np.argmax(probs, axis=0), vol.array)


def _shuffle(obj: object, rnd: random.Random) -> object:
    if isinstance(obj, dict):
        items = list(obj.items())
        rnd.shuffle(items)
        return {k: _shuffle(v, rnd) for k, v in items}
    if isinstance(obj, list):
        return [_shuffle(v, rnd) for v in obj]
    if isinstance(obj, float) and obj == int(obj) and abs(obj) < 1e6 and rnd.random() < 0.5:
        return int(obj)  # 2 and 2.0 are the same spec
    return obj


SPEC = {
    "version": 1,
    "steps": [
        {"op": "reorient", "orientation": "LPS"},
        {"op": "resample", "spacing": [2.5, 1.5, 1.5], "image_interpolation": "bspline"},
        {"op": "ct_normalize", "lower": -1000.0, "upper": 1500.0, "mean": 50.0, "std": 300.0},
        {"op": "crop_pad", "shape": [64, 96, 96], "pad_value": 0.0},
    ],
}


@pytest.mark.verifies("SRS-PREPROCESS-009")
@PROPS
@given(seed=st.integers(0, 2**32 - 1))
def test_preprocess_spec_hash_invariant_to_key_order(seed: int) -> None:
    ref = Pipeline.from_spec(SPEC)
    shuffled = _shuffle(json.loads(json.dumps(SPEC)), random.Random(seed))
    p = Pipeline.from_spec(shuffled)  # type: ignore[arg-type]
    assert p.spec_hash == ref.spec_hash
    assert p.spec == ref.spec
    assert Pipeline.from_spec(json.dumps(shuffled, indent=2)).spec_hash == ref.spec_hash
    assert Pipeline.from_spec(p.spec).spec_hash == ref.spec_hash


@pytest.mark.verifies("SRS-PREPROCESS-006", "SRS-PREPROCESS-007")
@PROPS
@given(vol=label_volumes(), shape=st.tuples(*[st.integers(1, 14)] * 3))
def test_preprocess_crop_pad_round_trip_keeps_physical_positions(vol: Volume, shape: tuple[int, int, int]) -> None:
    pipe = Pipeline.from_spec({"steps": [{"op": "crop_pad", "shape": list(shape)}]})
    out, record = pipe.forward(vol, kind="label")
    start = np.asarray(record["steps"][0]["start"])
    idx = np.indices(shape).reshape(3, -1).T
    src = idx + start
    inside = np.all((src >= 0) & (src < np.asarray(vol.shape)), axis=1)
    np.testing.assert_allclose(out.index_to_physical(idx), vol.index_to_physical(src), atol=1e-6)
    flat_out = out.array.reshape(-1)
    assert np.array_equal(flat_out[inside], vol.array[tuple(src[inside].T)])
    assert not flat_out[~inside].any()
    back = pipe.inverse(out, record)
    kept = np.zeros(vol.shape, bool)
    kept[tuple(src[inside].T)] = True
    assert np.array_equal(back.array[kept], vol.array[kept]) and not back.array[~kept].any()
