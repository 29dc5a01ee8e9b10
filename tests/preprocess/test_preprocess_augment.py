"""samd_core.augment: determinism, replay, image/label consistency, closed forms, noise statistics."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from scipy import ndimage, stats

from samd_core import augment
from samd_core.errors import InvalidParameterError


def _sample(nd: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    shape = (14, 16, 18) if nd == 3 else (16, 18)
    grid = np.indices(shape)
    centre = np.array([5, 7, 11][:nd]).reshape((nd,) + (1,) * nd)
    lbl = (np.sum((grid - centre) ** 2, axis=0) < 16).astype(np.uint8)
    lbl[(slice(1, 3),) * nd] = 2  # a second, asymmetric label
    rng = np.random.default_rng(seed)
    img = (100.0 * (lbl > 0) + rng.normal(0, 5, size=shape)).astype(np.float32)[None]
    return img, lbl


def _all() -> list[augment.RandomTransform]:
    return [
        augment.RandomFlip(),
        augment.RandomRot90(planes=[(1, 2), (0, 2)]),
        augment.RandomAffine(),
        augment.RandomElastic(),
        augment.RandomScaleShift(),
        augment.RandomGamma(),
        augment.RandomNoise(),
        augment.RandomBlur(),
    ]


def _digest(*arrays: np.ndarray | None) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            h.update(str(a.dtype).encode() + repr(a.shape).encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.verifies("SRS-PREPROCESS-013")
@pytest.mark.parametrize("transform", _all(), ids=lambda t: t.name)
def test_preprocess_augment_deterministic_and_replayable(transform: augment.RandomTransform) -> None:
    img, lbl = _sample()
    img_before, lbl_before = img.copy(), lbl.copy()
    a = transform(img, lbl, np.random.default_rng(42))
    b = transform(img, lbl, np.random.default_rng(42))
    assert _digest(a[0], a[1]) == _digest(b[0], b[1])
    record = json.loads(json.dumps(a[2]))  # records are plain JSON data
    r_img, r_lbl = transform.replay(img, lbl, record)
    assert _digest(r_img, r_lbl) == _digest(a[0], a[1])
    np.testing.assert_array_equal(img, img_before)  # inputs not modified
    np.testing.assert_array_equal(lbl, lbl_before)
    for params in (a[2]["params"], transform.draw(np.random.default_rng(0), img.shape)):
        o_img, o_lbl = transform.apply(img, lbl, params)
        assert not np.shares_memory(o_img, img) and not np.shares_memory(o_lbl, lbl)  # outputs are new arrays
    assert a[1] is not None and set(np.unique(a[1])) <= {0, 1, 2}  # nearest neighbour only
    c = transform(img, lbl, np.random.default_rng(43))
    if transform.name not in ("flip", "rot90"):  # discrete transforms may coincide
        assert _digest(c[0], c[1]) != _digest(a[0], a[1])


@pytest.mark.verifies("SRS-PREPROCESS-013", "SRS-PREPROCESS-017")
def test_preprocess_compose_replay_probabilities_and_config() -> None:
    img, lbl = _sample()
    comp = augment.Compose(_all(), probabilities=[0.5, 0.5, 0.3, 0.2, 1.0, 0.3, 0.5, 0.2])
    out = comp(img, lbl, np.random.default_rng(9))
    again = comp(img, lbl, np.random.default_rng(9))
    assert _digest(out[0], out[1]) == _digest(again[0], again[1])
    rec = json.loads(json.dumps(out[2]))
    assert _digest(*comp.replay(img, lbl, rec)) == _digest(out[0], out[1])
    rebuilt = augment.Compose.from_config(json.loads(json.dumps(comp.config)))
    assert rebuilt.config == comp.config
    assert _digest(*rebuilt(img, lbl, np.random.default_rng(9))[:2]) == _digest(out[0], out[1])
    # application frequency follows the probability (exact binomial test, scipy)
    once = augment.Compose([augment.RandomScaleShift()], probabilities=[0.3])
    gen = np.random.default_rng(5)
    small = img[:, :2, :2, :2]
    hits = sum(once(small, None, gen)[2]["transforms"][0]["applied"] for _ in range(2000))
    assert stats.binomtest(hits, 2000, 0.3).pvalue > 1e-3
    never = augment.Compose([augment.RandomNoise()], probabilities=[0.0])
    o, _, r = never(img, None, 1)
    np.testing.assert_array_equal(o, img)
    assert not np.shares_memory(o, img)
    zero_rot = augment.RandomRot90().apply(img, lbl, {"k": 0, "plane": [1, 2]})
    assert not np.shares_memory(zero_rot[0], img) and not np.shares_memory(zero_rot[1], lbl)
    assert r["transforms"][0] == {"name": "noise", "applied": False, "params": None}


@pytest.mark.verifies("SRS-PREPROCESS-014")
@pytest.mark.parametrize("nd", [2, 3])
def test_preprocess_spatial_augment_keeps_image_and_label_aligned(nd: int) -> None:
    img, lbl = _sample(nd)
    planes = [(0, 1)] if nd == 2 else [(0, 1), (1, 2), (0, 2)]
    axes = (0, 1) if nd == 2 else (0, 1, 2)
    for t in [augment.RandomFlip(axes=axes), augment.RandomRot90(planes=planes)]:
        for seed in range(6):
            o, ol, _ = t(img, lbl, seed)
            # exact: the thresholded image foreground is the transformed label's foreground
            np.testing.assert_array_equal(o[0] > 50, ol > 0)
    for t in [augment.RandomAffine(rotation_deg=(-20, 20), scale=(0.9, 1.1)), augment.RandomElastic(max_displacement=2.0)]:
        for seed in range(3):
            o, ol, _ = t(img, lbl, seed)
            fg_img, fg_lbl = o[0] > 50, ol > 0
            dice = 2 * np.sum(fg_img & fg_lbl) / (fg_img.sum() + fg_lbl.sum())
            assert dice > 0.9, (t.name, seed, dice)


@pytest.mark.verifies("SRS-PREPROCESS-014")
def test_preprocess_affine_90_degrees_equals_rot90_and_identity() -> None:
    # closed form: a 90-degree rotation about axis 0 of a square (y, x) plane with odd size is
    # an exact voxel permutation, so it must equal numpy.rot90 (image and label)
    rng = np.random.default_rng(0)
    img = rng.normal(size=(1, 5, 9, 9)).astype(np.float32)
    lbl = rng.integers(0, 3, size=(5, 9, 9)).astype(np.uint8)
    t = augment.RandomAffine()
    o, ol = t.apply(img, lbl, {"angles_deg": [90.0, 0.0, 0.0], "scale": [1.0, 1.0, 1.0]})
    ref = np.rot90(img, 1, axes=(2, 3))
    if not np.allclose(o, ref, atol=1e-5):
        ref = np.rot90(img, -1, axes=(2, 3))
        ref_l = np.rot90(lbl, -1, axes=(1, 2))
    else:
        ref_l = np.rot90(lbl, 1, axes=(1, 2))
    np.testing.assert_allclose(o, ref, atol=1e-5)
    np.testing.assert_array_equal(ol, ref_l)
    o, ol = t.apply(img, lbl, {"angles_deg": [0.0, 0.0, 0.0], "scale": [1.0, 1.0, 1.0]})
    np.testing.assert_array_equal(o, img)
    np.testing.assert_array_equal(ol, lbl)
    e, el = augment.RandomElastic().apply(img, lbl, {"displacement": np.zeros((3, 5, 5, 5)).tolist()})
    np.testing.assert_allclose(e, img, atol=1e-6)
    np.testing.assert_array_equal(el, lbl)


@pytest.mark.verifies("SRS-PREPROCESS-015")
def test_preprocess_gamma_and_scale_shift_closed_form() -> None:
    x = np.linspace(0, 1, 101, dtype=np.float64).reshape(1, 1, 101)
    out, _ = augment.RandomGamma().apply(x, None, {"gamma": 1.7})
    np.testing.assert_allclose(out, x**1.7, rtol=1e-12, atol=1e-15)
    y = x * 300 - 100  # range [-100, 200]: gamma acts on the range rescaled to [0, 1]
    out, _ = augment.RandomGamma().apply(y, None, {"gamma": 0.5})
    np.testing.assert_allclose(out, np.sqrt((y + 100) / 300) * 300 - 100, rtol=1e-12, atol=1e-12)
    const = np.full((1, 3, 3), 7.0)
    np.testing.assert_array_equal(augment.RandomGamma().apply(const, None, {"gamma": 2.0})[0], const)
    out, _ = augment.RandomScaleShift().apply(y, None, {"scale": 1.25, "shift": -3.0})
    np.testing.assert_allclose(out, 1.25 * y - 3.0, rtol=1e-15)
    # drawn parameters lie in the configured ranges
    for seed in range(50):
        p = augment.RandomGamma(log_gamma=(-0.3, 0.3)).draw(np.random.default_rng(seed), (1, 4, 4))
        assert np.exp(-0.3) <= p["gamma"] <= np.exp(0.3)


@pytest.mark.verifies("SRS-PREPROCESS-015")
def test_preprocess_noise_statistics_and_blur_moments() -> None:
    img = np.zeros((1, 40, 50, 50), np.float32)
    out, _, rec = augment.RandomNoise(std=(0.2, 0.2), mean=0.5)(img, None, 3)
    n = out - img
    assert rec["params"]["std"] == 0.2
    # sample mean within 5 standard errors; sample std within 1 %; normality (KS vs scipy.stats.norm)
    assert abs(n.mean() - 0.5) < 5 * 0.2 / np.sqrt(n.size)
    assert n.std() == pytest.approx(0.2, rel=0.01)
    assert stats.kstest(n.ravel()[:20000], stats.norm(loc=0.5, scale=0.2).cdf).pvalue > 1e-3
    # blur of a unit impulse: sums to 1, second moment = sigma^2 per axis (closed form)
    imp = np.zeros((1, 31, 31, 31))
    imp[0, 15, 15, 15] = 1.0
    sig = [1.0, 1.5, 2.0]
    b, _ = augment.RandomBlur().apply(imp, None, {"sigma": sig})
    assert b.sum() == pytest.approx(1.0, abs=1e-6)
    for axis, s in enumerate(sig):
        marg = b[0].sum(axis=tuple(a for a in range(3) if a != axis))
        var = np.sum(marg * (np.arange(31) - 15) ** 2)
        assert var == pytest.approx(s**2, rel=2e-3)
    ref = ndimage.gaussian_filter(imp[0], sig, mode="nearest")
    np.testing.assert_allclose(b[0], ref, atol=1e-15)


@pytest.mark.verifies("SRS-PREPROCESS-016")
def test_preprocess_mixup_closed_form_and_replay() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 1, 4, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    mix = augment.Mixup(alpha=0.4)
    mx, my, rec = mix(x, y, 11)
    lam, perm = rec["params"]["lam"], rec["params"]["permutation"]
    np.testing.assert_allclose(mx, lam * x + (1 - lam) * x[perm], rtol=1e-6)
    np.testing.assert_allclose(my.sum(axis=1), 1.0, rtol=1e-6)
    r = mix.replay(x, y, json.loads(json.dumps(rec)))
    assert _digest(*r) == _digest(mx, my)
    lams = [augment.Mixup(alpha=0.4)(x, y, s)[2]["params"]["lam"] for s in range(400)]
    # Beta(0.4, 0.4): mean 0.5, var = 1 / (4 * (2 * 0.4 + 1)) = 0.1389
    assert abs(np.mean(lams) - 0.5) < 5 * np.sqrt(0.1389 / 400)


@pytest.mark.verifies("SRS-PREPROCESS-013")
def test_preprocess_augment_bad_inputs() -> None:
    img, lbl = _sample()
    cases = [
        (lambda: augment.RandomFlip(axes=(0, 3)), "axes"),
        (lambda: augment.RandomRot90(planes=[(1, 1)]), "planes[0]"),
        (lambda: augment.RandomAffine(scale=(1.2, 0.8)), "scale"),
        (lambda: augment.RandomAffine(image_order=2), "image_order"),
        (lambda: augment.RandomAffine(mode="wrapp"), "mode"),
        (lambda: augment.RandomElastic(num_control_points=2), "num_control_points"),
        (lambda: augment.RandomNoise(std=(-1, 1)), "std"),
        (lambda: augment.Mixup(alpha=0), "alpha"),
        (lambda: augment.Compose([augment.RandomFlip()], probabilities=[0.5, 0.5]), "probabilities"),
        (lambda: augment.Compose([augment.RandomFlip()], probabilities=[2.0]), "probabilities[0]"),
        (lambda: augment.Compose([lambda x: x]), "transforms[0]"),  # type: ignore[list-item]
        (lambda: augment.Compose.from_config([{"name": "flipp"}]), "config[0].name"),
        (lambda: augment.RandomFlip()(img[0, 0], None, 0), "image"),
        (lambda: augment.RandomFlip()(img, lbl[:3], 0), "label"),
        (lambda: augment.RandomFlip()(img, lbl.astype(float), 0), "label"),
        (lambda: augment.RandomFlip()(img, lbl, -1), "rng"),
        (lambda: augment.RandomFlip().replay(img, lbl, {"name": "gamma", "params": {}}), "record"),
        (lambda: augment.Mixup()(img, np.ones((2, 2)), 0), "targets"),
    ]
    for make, field in cases:
        with pytest.raises(InvalidParameterError) as err:
            make()
        assert err.value.field == field, (field, str(err.value))
    with pytest.raises(InvalidParameterError, match="did you mean 'flip'"):
        augment.Compose.from_config([{"name": "flipp"}])


@pytest.mark.verifies("SRS-PREPROCESS-014")
@pytest.mark.parametrize("nd", [2, 3])
def test_preprocess_default_axes_follow_image_dimension(nd: int) -> None:
    img, lbl = _sample(nd)
    comp = augment.Compose([augment.RandomFlip(p_per_axis=1.0), augment.RandomRot90()])
    o, ol, rec = comp(img, lbl, 4)
    assert rec["transforms"][0]["params"]["axes"] == list(range(nd))
    assert rec["transforms"][1]["params"]["plane"] == ([0, 1] if nd == 2 else [1, 2])
    np.testing.assert_array_equal(o[0] > 50, ol > 0)
