"""`resize` and `intensity_window` steps: against scipy.ndimage.zoom and the closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from samd_core.errors import InvalidParameterError
from samd_core.preprocess import Pipeline
from samd_core.volume import Volume


def _resize(shape, aspect="stretch", interpolation="linear"):
    return Pipeline.from_spec({"steps": [{"op": "resize", "shape": list(shape), "aspect": aspect,
                                          "interpolation": interpolation}]})


@settings(max_examples=25, deadline=None)
@given(n0=st.integers(2, 40), n1=st.integers(2, 40), m0=st.integers(1, 40), m1=st.integers(1, 40),
       seed=st.integers(0, 2**16))
def test_stretch_equals_scipy_zoom_with_centre_alignment(n0, n1, m0, m1, seed):
    """Peer: scipy.ndimage.zoom(order=1, grid_mode=True, mode="nearest") maps output voxel centres
    to input position (i + 0.5) * n / m - 0.5, the same centre-preserving map as samd's resize."""
    a = np.random.default_rng(seed).normal(size=(n0, n1)).astype(np.float32)
    out = _resize((m0, m1))(Volume(a, spacing=(0.7, 1.3))).array
    ref = ndimage.zoom(a.astype(np.float64), (m0 / n0, m1 / n1), order=1, grid_mode=True, mode="nearest")
    assert out.shape == (m0, m1) == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_stretch_3d_equals_scipy_zoom():
    a = np.random.default_rng(3).normal(size=(9, 17, 12)).astype(np.float32)
    out = _resize((5, 8, 20))(Volume(a, spacing=(2.0, 0.8, 0.8))).array
    ref = ndimage.zoom(a.astype(np.float64), (5 / 9, 8 / 17, 20 / 12), order=1, grid_mode=True, mode="nearest")
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_stretch_keeps_the_physical_box_and_pad_keeps_the_aspect_ratio():
    v = Volume(np.ones((200, 300), np.float32), spacing=(1.5, 1.5), origin=(10.0, -4.0, 7.0))
    s = _resize((64, 64))(v)
    assert s.spacing == pytest.approx((200 * 1.5 / 64, 300 * 1.5 / 64))
    p = _resize((64, 64), aspect="pad")(v)
    assert p.spacing[0] == pytest.approx(p.spacing[1]) == pytest.approx(300 * 1.5 / 64)
    # padded rows are pad_value (0), the image rows are 1
    col = p.array[:, 32]
    assert col[0] == 0.0 and col[32] == 1.0


@pytest.mark.parametrize("aspect", ["stretch", "pad"])
def test_inverse_puts_a_label_back_on_the_input_grid(aspect):
    v = Volume(np.zeros((120, 160), np.float32), spacing=(0.9, 1.1), origin=(3.0, 4.0, 5.0))
    pipe = _resize((30, 40), aspect=aspect)
    out, rec = pipe.forward(v)
    lab = np.zeros((30, 40), np.uint8)
    lab[10:20, 10:30] = 1
    back = pipe.inverse(Volume(lab, out.spacing, out.origin, out.direction), rec, kind="label")
    assert back.same_grid(v)
    assert set(np.unique(back.array)) <= {0, 1} and back.array.sum() > 0
    # the round trip of a block-aligned label is exact when the zoom factor is an integer
    if aspect == "stretch":
        np.testing.assert_array_equal(back.array, np.kron(lab, np.ones((4, 4), np.uint8)))


def test_intensity_window_is_the_closed_form():
    x = np.linspace(-500, 5000, 101, dtype=np.float32).reshape(1, 101)
    out = Pipeline.from_spec({"steps": [{"op": "intensity_window", "lower": 0, "upper": 4095}]})(
        Volume(x, spacing=(1.0, 1.0))).array
    np.testing.assert_allclose(out, np.clip((x.astype(np.float64) - 0) / 4095, 0, 1), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("step, key", [
    ({"op": "resize", "shape": [64]}, "steps[0].shape"),
    ({"op": "resize", "shape": [64, 0]}, "steps[0].shape"),
    ({"op": "resize", "shape": [64, 64], "aspect": "crop"}, "steps[0].aspect"),
    ({"op": "resize", "shape": [64, 64], "interpolation": "cubic"}, "steps[0].interpolation"),
    ({"op": "intensity_window", "lower": 10, "upper": 10}, "steps[0].upper"),
    ({"op": "intensity_window", "lower": 0}, "steps[0].upper"),
    ({"op": "intensity_window", "lower": "a", "upper": 1}, "steps[0].lower"),
])
def test_bad_steps_name_the_key(step, key):
    with pytest.raises(InvalidParameterError, match=key.replace("[", r"\[").replace("]", r"\]")):
        Pipeline.from_spec({"steps": [step]})


def test_resize_shape_must_match_the_image_dimensions():
    with pytest.raises(InvalidParameterError, match="steps\\[0\\].shape"):
        _resize((8, 8, 8))(Volume(np.zeros((10, 10), np.float32), spacing=(1.0, 1.0)))
