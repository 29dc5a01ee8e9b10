"""Pipeline steps against SimpleITK called directly, closed forms, and the spec/record contract."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import SimpleITK as sitk

from samd_core import Volume
from samd_core.errors import GeometryError, InvalidParameterError
from samd_core.preprocess import Pipeline, ct_fingerprint

OBLIQUE = tuple(
    tuple(float(x) for x in r)
    for r in np.array([[0.0, 0.2588190451, 0.9659258263], [0.0, 0.9659258263, -0.2588190451], [1.0, 0.0, 0.0]])
)


def _ct(shape: tuple[int, int, int] = (12, 20, 24), seed: int = 0, direction=OBLIQUE) -> Volume:
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    body = ((y - shape[1] / 2) ** 2 + (x - shape[2] / 2) ** 2) < (min(shape[1:]) / 2.5) ** 2
    arr = np.where(body, 40 + 30 * np.sin(z / 3.0), -1000) + rng.normal(0, 20, size=shape)
    return Volume(arr.astype(np.int16), (2.5, 0.7, 0.8), (-12.5, 30.0, 101.0), direction)


def _sitk_resample_direct(vol: Volume, spacing: list[float], interp: int) -> tuple[np.ndarray, Volume]:
    """Independent reference: SimpleITK resampling in physical space, the output grid computed here."""
    img = vol.to_sitk()
    n, s, t = np.array(vol.shape), np.array(vol.spacing), np.array(spacing)
    m = np.maximum(1, np.round(n * s / t)).astype(int)
    centre = np.asarray(img.TransformContinuousIndexToPhysicalPoint([float(v) for v in (n[::-1] - 1) / 2]))
    d_itk = np.asarray(img.GetDirection()).reshape(3, 3)
    origin = centre - d_itk @ (t[::-1] * (m[::-1] - 1) / 2)
    out = sitk.Resample(
        img, [int(v) for v in m[::-1]], sitk.Transform(), interp, origin.tolist(), t[::-1].tolist(),
        img.GetDirection(), 0.0, sitk.sitkFloat32,
    )
    return sitk.GetArrayFromImage(out), Volume.from_sitk(out)


@pytest.mark.verifies("SRS-PREPROCESS-002")
@pytest.mark.parametrize(("name", "interp"), [("linear", sitk.sitkLinear), ("bspline", sitk.sitkBSpline)])
def test_preprocess_resample_matches_simpleitk_direct(name: str, interp: int) -> None:
    vol = _ct()
    spacing = [1.5, 1.5, 1.5]
    out = Pipeline.from_spec({"steps": [{"op": "resample", "spacing": spacing, "image_interpolation": name}]})(vol)
    ref, ref_vol = _sitk_resample_direct(vol, spacing, interp)
    assert out.same_grid(ref_vol, atol=1e-6)
    # Interior voxels (one voxel from each face; SimpleITK direct pads with 0 outside, we extrapolate):
    inner = (slice(1, -1),) * 3
    diff = np.abs(out.array[inner] - ref[inner])
    assert diff.max() <= 1e-3, diff.max()  # float32 output; coordinates differ only by rounding


@pytest.mark.verifies("SRS-PREPROCESS-003")
def test_preprocess_label_resample_nearest_matches_simpleitk() -> None:
    vol = _ct()
    lbl = vol.with_array((np.asarray(vol.array) > 0).astype(np.uint8))
    spacing = [2.0, 1.1, 1.3]  # ties on y (9.5) remove ~30 % of voxels
    out = Pipeline.from_spec({"steps": [{"op": "resample", "spacing": spacing}]}).forward(lbl, kind="label")[0]
    ref, _ = _sitk_resample_direct(lbl, spacing, sitk.sitkNearestNeighbor)
    assert out.array.dtype == np.uint8
    # exclude exact ties (output centre exactly half-way between two input centres), where
    # rounding of the physical-space coordinates decides either way
    n, s, t, m = (np.array(v, dtype=float) for v in (vol.shape, vol.spacing, spacing, out.shape))
    cont = [((n[a] - 1) * s[a] / 2 - (m[a] - 1) * t[a] / 2 + np.arange(m[a]) * t[a]) / s[a] for a in range(3)]
    tie = [np.abs(np.abs(c - np.floor(c)) - 0.5) < 1e-6 for c in cont]
    keep = ~(tie[0][:, None, None] | tie[1][None, :, None] | tie[2][None, None, :])
    assert keep.mean() > 0.6
    np.testing.assert_array_equal(out.array[keep], ref[keep].astype(np.uint8))


@pytest.mark.verifies("SRS-PREPROCESS-003")
def test_preprocess_labelwise_resampling_is_argmax_of_linear_masks() -> None:
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 3, size=(6, 7, 8)).astype(np.uint8)
    vol = Volume(arr, (2.0, 1.0, 1.5))
    spacing = [1.3, 0.7, 1.1]
    out = Pipeline.from_spec({"steps": [{"op": "resample", "spacing": spacing, "label_interpolation": "labelwise"}]})
    got = out.forward(vol, kind="label")[0].array
    # reference (nnU-Net's scheme): SimpleITK-linear one-hot masks, argmax (first label wins ties)
    planes = [_sitk_resample_direct(vol.with_array((arr == k).astype(np.float32)), spacing, sitk.sitkLinear)[0] for k in range(3)]
    ref = np.argmax(np.stack(planes), axis=0)
    inner = (slice(1, -1),) * 3
    assert np.mean(got[inner] != ref[inner]) < 1e-3


@pytest.mark.verifies("SRS-PREPROCESS-001")
@pytest.mark.parametrize("code", ["LPS", "RAS", "RAI", "ASL"])
def test_preprocess_reorient_matches_simpleitk_dicomorient(code: str) -> None:
    vol = _ct(direction=((0.0, -1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0)))
    out = Pipeline.from_spec({"steps": [{"op": "reorient", "orientation": code}]})(vol)
    ref = sitk.DICOMOrient(vol.to_sitk(), code)
    np.testing.assert_array_equal(out.array, sitk.GetArrayFromImage(ref))
    assert out.same_grid(Volume.from_sitk(ref), atol=1e-9)


@pytest.mark.verifies("SRS-PREPROCESS-004")
def test_preprocess_clip_and_window_closed_form() -> None:
    vol = _ct()
    x = np.asarray(vol.array, dtype=np.float64)
    clipped = Pipeline.from_spec({"steps": [{"op": "clip", "lower": -200, "upper": 300}]})(vol)
    np.testing.assert_array_equal(clipped.array, np.clip(x, -200, 300).astype(np.float32))
    win = Pipeline.from_spec({"steps": [{"op": "window", "center": 40, "width": 400}]})(vol)
    ref = (np.clip(x, -160, 240) + 160) / 400
    assert win.array.dtype == np.float32
    np.testing.assert_allclose(win.array, ref, atol=2e-7)
    narrow = Pipeline.from_spec({"steps": [{"op": "window", "center": 0, "width": 100}]})(vol)
    assert narrow.array.min() == 0.0 and narrow.array.max() == pytest.approx(1.0, abs=1e-7)


@pytest.mark.verifies("SRS-PREPROCESS-005")
def test_preprocess_zscore_and_percentile_closed_form() -> None:
    vol = _ct()
    x = np.asarray(vol.array, dtype=np.float64)
    out, rec = Pipeline.from_spec({"steps": [{"op": "zscore", "foreground_threshold": -500}]}).forward(vol)
    fg = x[x > -500]
    np.testing.assert_allclose(out.array, (x - fg.mean()) / fg.std(), rtol=1e-5, atol=1e-5)
    assert rec["steps"][0]["mean"] == pytest.approx(fg.mean(), rel=1e-12)
    pct = Pipeline.from_spec({"steps": [{"op": "percentile", "lower": 5, "upper": 95}]})(vol)
    lo, hi = np.percentile(x, [5, 95])
    np.testing.assert_allclose(pct.array, (np.clip(x, lo, hi) - lo) / (hi - lo), atol=1e-6)


@pytest.mark.verifies("SRS-PREPROCESS-005")
def test_preprocess_ct_fingerprint_closed_form_and_normalize() -> None:
    # foreground values 1..200: linear percentiles 1 + p/100 * 199; std = sqrt((n^2 - 1) / 12)
    img = np.arange(1, 401, dtype=np.int16).reshape(4, 10, 10)
    msk = (img <= 200).astype(np.uint8)
    fp = ct_fingerprint([img[:2], img[2:]], [msk[:2], msk[2:]])
    assert fp["lower"] == pytest.approx(1 + 0.005 * 199, rel=1e-12)
    assert fp["upper"] == pytest.approx(1 + 0.995 * 199, rel=1e-12)
    assert fp["mean"] == pytest.approx(100.5, rel=1e-12)
    assert fp["std"] == pytest.approx(np.sqrt((200**2 - 1) / 12), rel=1e-12)
    with pytest.raises(InvalidParameterError, match="masks"):
        ct_fingerprint([img], [msk, msk])
    with pytest.raises(InvalidParameterError, match="masks"):
        ct_fingerprint([img], [msk * 0])
    with pytest.raises(InvalidParameterError, match=r"masks\[0\]"):
        ct_fingerprint([img], [msk[:2]])
    out = Pipeline.from_spec({"steps": [{"op": "ct_normalize", **fp}]})(Volume(img, (1, 1, 1)))
    ref = (np.clip(img.astype(np.float64), fp["lower"], fp["upper"]) - fp["mean"]) / fp["std"]
    np.testing.assert_allclose(out.array, ref, atol=1e-6)


@pytest.mark.verifies("SRS-PREPROCESS-006")
def test_preprocess_crop_pad_and_foreground_crop_geometry() -> None:
    vol = _ct()
    out, rec = Pipeline.from_spec({"steps": [{"op": "crop_pad", "shape": [16, 10, 30], "pad_value": -1024}]}).forward(vol)
    assert out.shape == (16, 10, 30)
    # voxel (2, 0, 3) of the output is voxel (0, 5, 0) of the input: start = (n - p) // 2 = (-2, 5, -3)
    assert rec["steps"][0]["start"] == [-2, 5, -3]
    assert out.array[2, 0, 3] == vol.array[0, 5, 0]
    np.testing.assert_allclose(out.index_to_physical([2, 0, 3]), vol.index_to_physical([0, 5, 0]), atol=1e-9)
    assert out.array[0, 0, 0] == -1024
    arr = np.zeros((10, 10, 10), np.int16)
    arr[3:5, 2:7, 6] = 1
    fg, frec = Pipeline.from_spec({"steps": [{"op": "crop_foreground", "margin": [1, 0, 2]}]}).forward(Volume(arr, (1, 1, 1)))
    assert fg.shape == (4, 5, 5) and frec["steps"][0]["start"] == [2, 2, 4]
    empty, erec = Pipeline.from_spec({"steps": [{"op": "crop_foreground"}]}).forward(Volume(arr * 0, (1, 1, 1)))
    assert empty.shape == (10, 10, 10) and erec["steps"][0]["empty"] is True


@pytest.mark.verifies("SRS-PREPROCESS-010")
def test_preprocess_twice_bit_identical_and_provenance() -> None:
    spec = {
        "steps": [
            {"op": "reorient"},
            {"op": "resample", "spacing": [1.7, 1.2, 1.2], "image_interpolation": "bspline"},
            {"op": "crop_foreground", "threshold": -500, "margin": 2},
            {"op": "zscore", "foreground_threshold": -500},
            {"op": "crop_pad", "shape": [16, 16, 16]},
        ]
    }
    vol = _ct()
    a, ra = Pipeline.from_spec(spec).forward(vol)
    b, rb = Pipeline.from_spec(json.loads(json.dumps(spec))).forward(vol)
    assert a.content_sha256() == b.content_sha256()
    assert json.dumps(ra, sort_keys=True) == json.dumps(rb, sort_keys=True)
    h = Pipeline.from_spec(spec).spec_hash
    assert a.provenance == (h,)
    assert h == hashlib.sha256(Pipeline.from_spec(spec).spec_json.encode()).hexdigest()
    other = dict(spec, steps=spec["steps"][:-1])
    assert Pipeline.from_spec(other).spec_hash != h
    assert not np.shares_memory(a.array, vol.array)


@pytest.mark.verifies("SRS-PREPROCESS-007")
def test_preprocess_replay_label_follows_image_and_inverse_restores_grid() -> None:
    vol = _ct()
    lbl = vol.with_array((np.asarray(vol.array) > 0).astype(np.uint8))
    pipe = Pipeline.from_spec(
        {"steps": [{"op": "reorient"}, {"op": "resample", "spacing": [1.25, 0.35, 0.4]},
                   {"op": "crop_foreground", "threshold": -500}, {"op": "window", "center": 0, "width": 2000}]}
    )
    img_out, rec = pipe.forward(vol)
    lbl_out = pipe.replay(lbl, rec)
    assert lbl_out.same_grid(img_out) and lbl_out.array.dtype == np.uint8
    back = pipe.inverse(lbl_out, rec)
    assert back.same_grid(vol, atol=1e-6)
    np.testing.assert_array_equal(back.array, lbl.array)  # exact 2x up-sampling loses nothing
    assert back.provenance[-1] == f"inverse:{pipe.spec_hash}"
    json.dumps(rec, allow_nan=False)  # the record is plain JSON data


BAD_SPECS = [
    ([], "spec"),
    ({"steps": [], "verison": 1}, "verison"),
    ({"version": 2, "steps": []}, "version"),
    ({"steps": {"op": "clip"}}, "steps"),
    ({"steps": ["clip"]}, "steps[0]"),
    ({"steps": [{"op": "resampel", "spacing": [1, 1, 1]}]}, "steps[0].op"),
    ({"steps": [{"op": "resample"}]}, "steps[0].spacing"),
    ({"steps": [{"op": "clip"}, {"op": "resample", "spacing": [1, -1, 1]}]}, "steps[1].spacing"),
    ({"steps": [{"op": "resample", "spacing": [1, 1, 1], "interpolation": "linear"}]}, "steps[0].interpolation"),
    ({"steps": [{"op": "resample", "spacing": [1, 1, 1], "image_interpolation": "cubic"}]}, "steps[0].image_interpolation"),
    ({"steps": [{"op": "window", "center": 40, "width": 0}]}, "steps[0].width"),
    ({"steps": [{"op": "clip", "lower": 10, "upper": 5}]}, "steps[0].upper"),
    ({"steps": [{"op": "ct_normalize", "lower": 0, "upper": 1, "mean": 0, "std": float("nan")}]}, "steps[0].std"),
    ({"steps": [{"op": "percentile", "lower": 99, "upper": 1}]}, "steps[0].upper"),
    ({"steps": [{"op": "crop_pad", "shape": [4, 4, 0]}]}, "steps[0].shape"),
    ({"steps": [{"op": "crop_foreground", "margin": -1}]}, "steps[0].margin"),
    ({"steps": [{"op": "reorient", "orientation": "LPP"}]}, "steps[0].orientation"),
    ("{not json", "spec"),
]


@pytest.mark.verifies("SRS-PREPROCESS-008")
@pytest.mark.parametrize(("spec", "path"), BAD_SPECS)
def test_preprocess_bad_spec_names_key_path(spec: object, path: str) -> None:
    with pytest.raises(InvalidParameterError) as err:
        Pipeline.from_spec(spec)  # type: ignore[arg-type]
    assert err.value.field == path
    assert f"`{path}` of `Pipeline.from_spec` must be" in str(err.value)


@pytest.mark.verifies("SRS-PREPROCESS-008")
def test_preprocess_did_you_mean_and_runtime_errors() -> None:
    with pytest.raises(InvalidParameterError, match="did you mean 'resample'"):
        Pipeline.from_spec({"steps": [{"op": "resampel"}]})
    vol2d = Volume(np.zeros((4, 5), np.int16), (1.0, 1.0))
    with pytest.raises(InvalidParameterError, match=r"steps\[0\]\.spacing"):
        Pipeline.from_spec({"steps": [{"op": "resample", "spacing": [1, 1, 1]}]})(vol2d)
    with pytest.raises(InvalidParameterError, match=r"steps\[0\]\.op"):
        Pipeline.from_spec({"steps": [{"op": "reorient"}]})(vol2d)
    pipe = Pipeline.from_spec({"steps": [{"op": "resample", "spacing": [2, 2, 2]}]})
    vol = _ct()
    _, rec = pipe.forward(vol)
    with pytest.raises(InvalidParameterError, match="record"):
        Pipeline.from_spec({"steps": []}).inverse(np.zeros((2, 2, 2), np.uint8), rec)
    with pytest.raises(InvalidParameterError, match="prediction"):
        pipe.inverse(np.zeros((2, 2, 2), np.uint8), rec)
    with pytest.raises(InvalidParameterError, match="prediction"):
        pipe.inverse(np.zeros(rec["output"]["shape"], np.float32), rec, kind="probabilities")
    with pytest.raises(GeometryError):
        pipe.replay(Volume(np.zeros((3, 3, 3), np.uint8), (1, 1, 1)), rec)
    with pytest.raises(InvalidParameterError, match="kind"):
        pipe.forward(vol, kind="mask")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="label map"):
        pipe.forward(vol.with_array(np.zeros(vol.shape, np.float32)), kind="label")


@pytest.mark.verifies("SRS-PREPROCESS-002")
def test_preprocess_2d_volume_resample_and_window() -> None:
    arr = np.arange(12 * 16, dtype=np.int16).reshape(12, 16)
    vol = Volume(arr, (0.5, 0.5))
    pipe = Pipeline.from_spec({"steps": [{"op": "resample", "spacing": [1.0, 1.0]}, {"op": "window", "center": 96, "width": 192}]})
    out, rec = pipe.forward(vol)
    assert out.shape == (6, 8) and out.spacing == (1.0, 1.0)
    # the 2x2 block means in index space are exact for linear interpolation at block centres
    ref = (arr.reshape(6, 2, 8, 2).mean(axis=(1, 3)) - 0) / 192
    np.testing.assert_allclose(out.array, np.clip(ref, 0, 1), atol=1e-6)
    back = pipe.inverse(np.ones((6, 8), np.uint8), rec)
    assert back.shape == (12, 16) and back.array.all() and back.same_grid(vol)


@pytest.mark.verifies("SRS-PREPROCESS-007", "SRS-PREPROCESS-010")
def test_preprocess_replay_image_reuses_resolved_parameters() -> None:
    vol = _ct()
    pipe = Pipeline.from_spec({"steps": [{"op": "crop_foreground", "threshold": -500}, {"op": "zscore"}]})
    out, rec = pipe.forward(vol)
    again = pipe.replay(vol, rec, kind="image")
    assert again.content_sha256() == out.content_sha256()
    shifted = vol.with_array(np.asarray(vol.array) + np.int16(100))
    # replaying on another image keeps the first image's crop box and mean/std (not recomputed)
    other = pipe.replay(shifted, rec, kind="image")
    np.testing.assert_allclose(other.array - out.array, 100 / rec["steps"][1]["std"], atol=1e-4)
    with pytest.raises(InvalidParameterError, match="volume"):
        pipe.forward(np.zeros((3, 3, 3)))  # type: ignore[arg-type]


@pytest.mark.verifies("SRS-PREPROCESS-002", "SRS-PREPROCESS-003")
@pytest.mark.parametrize("spacing", [[1.5, 1.5, 1.5], [0.9, 1.2, 1.0], [4.0, 0.5, 2.0]])
def test_preprocess_slab_resampling_equals_one_pass(monkeypatch: pytest.MonkeyPatch, spacing: list[float]) -> None:
    import samd_core.preprocess._geometry as geo

    vol = _ct(shape=(30, 20, 24))
    lbl = vol.with_array((np.asarray(vol.array) > 0).astype(np.uint8))
    pipe = Pipeline.from_spec({"steps": [{"op": "resample", "spacing": spacing}]})
    one_img, one_lbl = pipe(vol), pipe.forward(lbl, kind="label")[0]
    monkeypatch.setattr(geo, "CHUNK_BYTES", 4 * 20 * 24 * 2)  # slabs of 4 input slices
    slab_img, slab_lbl = pipe(vol), pipe.forward(lbl, kind="label")[0]
    assert slab_img.same_grid(one_img)
    np.testing.assert_allclose(slab_img.array, one_img.array, rtol=0, atol=1e-5)
    assert np.mean(slab_lbl.array != one_lbl.array) < 0.01  # exact ties may round either way
    ref, _ = _sitk_resample_direct(vol, spacing, sitk.sitkLinear)
    inner = (slice(1, -1),) * 3
    np.testing.assert_allclose(slab_img.array[inner], ref[inner], atol=1e-3)


@pytest.mark.verifies("SRS-PREPROCESS-003", "SRS-PREPROCESS-007")
@pytest.mark.parametrize("interp", ["nearest", "labelwise"])
def test_preprocess_boolean_mask_round_trip(interp: str) -> None:
    m = np.zeros((6, 7, 8), bool)
    m[2:4, 2:5, 3:6] = True
    vol = Volume(m, (2.0, 1.0, 1.0), (5.0, -3.0, 7.0), OBLIQUE)
    pipe = Pipeline.from_spec(
        {"steps": [{"op": "reorient"}, {"op": "resample", "spacing": [1.0, 0.5, 0.5], "label_interpolation": interp},
                   {"op": "crop_foreground"}]}
    )
    out, rec = pipe.forward(vol, kind="label")
    assert out.array.dtype == np.bool_
    if interp == "nearest":  # 2x up-sampling copies each voxel 8 times; label-wise rounds corners off
        assert out.array.sum() == m.sum() * 8
    back = pipe.inverse(out, rec)
    assert back.array.dtype == np.bool_ and back.same_grid(vol, atol=1e-6)
    np.testing.assert_array_equal(back.array, m)
