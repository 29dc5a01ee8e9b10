"""PatchSampler: shapes, replay, exact content, foreground oversampling rate, determinism."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import stats

from samd_core.errors import InvalidParameterError
from samd_core.preprocess import PatchSampler


def _volume(shape: tuple[int, int, int] = (20, 24, 28)) -> tuple[np.ndarray, np.ndarray]:
    z, y, x = np.indices(shape)
    img = np.stack([z * 10000 + y * 100 + x, -(z * 10000 + y * 100 + x)]).astype(np.float32)  # 2 channels
    lbl = np.zeros(shape, np.uint8)
    lbl[2:4, 3:5, 20:22] = 1
    lbl[15, 20, 5] = 2
    return img, lbl


def _code(z: int, y: int, x: int) -> float:
    return float(z * 10000 + y * 100 + x)


@pytest.mark.verifies("SRS-PREPROCESS-011")
@pytest.mark.parametrize(
    ("mode", "size", "img_shape", "lbl_shape"),
    [
        ("3d", (8, 10, 12), (2, 8, 10, 12), (8, 10, 12)),
        ("2d", (10, 12), (2, 10, 12), (10, 12)),
        ("2.5d-slices", (10, 12), (6, 10, 12), (10, 12)),
        ("2.5d-planes", (10, 12), (6, 10, 12), (3, 10, 12)),
    ],
)
def test_preprocess_patch_shapes_and_replay(mode: str, size: tuple[int, ...], img_shape: tuple[int, ...], lbl_shape: tuple[int, ...]) -> None:
    img, lbl = _volume()
    sampler = PatchSampler(size, mode=mode, foreground_oversample=0.5)  # type: ignore[arg-type]
    gen = np.random.default_rng(7)
    for _ in range(20):
        a, b, rec = sampler.sample(img, lbl, gen)
        assert a.shape == img_shape and b is not None and b.shape == lbl_shape
        a2, b2 = sampler.extract(img, lbl, rec)
        assert a.tobytes() == a2.tobytes() and b.tobytes() == b2.tobytes()  # type: ignore[union-attr]


@pytest.mark.verifies("SRS-PREPROCESS-011")
def test_preprocess_patch_content_is_the_indexed_window() -> None:
    img, lbl = _volume()
    a, b, rec = PatchSampler((5, 6, 7), foreground_oversample=0.0).sample(img, lbl, 3)
    cz, cy, cx = rec["centre"]
    sz, sy, sx = cz - 2, cy - 3, cx - 3
    np.testing.assert_array_equal(a, img[:, sz : sz + 5, sy : sy + 6, sx : sx + 7])
    np.testing.assert_array_equal(b, lbl[sz : sz + 5, sy : sy + 6, sx : sx + 7])
    # 2.5-D neighbouring slices: channel order slice-major, centre slice in the middle
    s, _, r = PatchSampler((4, 4), mode="2.5d-slices", context=2).sample(img[:1], lbl, 5)
    cz, cy, cx = r["centre"]
    got_z = [int(round(s[k, 2, 2] // 10000)) if s[k, 2, 2] != 0 else -1 for k in range(5)]
    want = [z if 0 <= z < 20 else -1 for z in range(cz - 2, cz + 3)]
    assert got_z == want
    # 2.5-D planes: axial varies in (y, x), coronal in (z, x), sagittal in (z, y), all through the centre
    p, pl, r = PatchSampler((5, 5), mode="2.5d-planes", foreground_oversample=1.0).sample(img[:1], lbl, 11)
    cz, cy, cx = r["centre"]
    assert lbl[cz, cy, cx] != 0
    assert p[0, 2, 2] == p[1, 2, 2] == p[2, 2, 2] == _code(cz, cy, cx)
    if cx + 1 < 28:
        assert p[0, 2, 3] == _code(cz, cy, cx + 1)
    if cz + 1 < 20:
        assert p[1, 3, 2] == _code(cz + 1, cy, cx) and p[2, 3, 2] == _code(cz + 1, cy, cx)
    assert pl[:, 2, 2].tolist() == [lbl[cz, cy, cx]] * 3


@pytest.mark.verifies("SRS-PREPROCESS-012")
def test_preprocess_foreground_oversampling_rate() -> None:
    img, lbl = _volume()
    sampler = PatchSampler((4, 4, 4), foreground_oversample=0.33)
    gen = np.random.default_rng(2024)
    n = 1500
    forced = 0
    classes = {1: 0, 2: 0}
    for _ in range(n):
        _, patch_lbl, rec = sampler.sample(img, lbl, gen)
        if rec["foreground"]:
            forced += 1
            classes[rec["foreground_class"]] += 1
            assert (patch_lbl == rec["foreground_class"]).any()  # the forced voxel is inside the patch
    # exact binomial test (scipy): forced count consistent with p = 0.33
    assert stats.binomtest(forced, n, 0.33).pvalue > 1e-3
    # classes drawn uniformly among those present (nnU-Net), not by voxel count (8 vs 1 voxels)
    assert stats.binomtest(classes[2], forced, 0.5).pvalue > 1e-3
    # no foreground, or no label: always uniform
    _, _, rec = PatchSampler((4, 4, 4), foreground_oversample=1.0).sample(img, np.zeros_like(lbl), 0)
    assert rec["foreground"] is False
    _, none, rec = PatchSampler((4, 4, 4), foreground_oversample=1.0).sample(img, None, 0)
    assert none is None and rec["foreground"] is False


@pytest.mark.verifies("SRS-PREPROCESS-011")
def test_preprocess_patch_larger_than_volume_is_padded() -> None:
    img = np.ones((3, 4, 5), np.float32)
    lbl = np.ones((3, 4, 5), np.uint8)
    a, b, _ = PatchSampler((5, 6, 7), pad_value=-1.0).sample(img, lbl, 1)
    assert a.shape == (1, 5, 6, 7)
    big = PatchSampler((12, 12, 12))
    for seed in range(10):  # windows much larger than the volume: centres can be negative
        p, q, r = big.sample(img, lbl, seed)
        assert (p == 1).sum() == 60 and q is not None and q.sum() == 60
        assert big.extract(img, lbl, r)[0].tobytes() == p.tobytes()
    assert (a == 1).sum() == 60 and (a == -1).sum() == 5 * 6 * 7 - 60
    assert b is not None and b.sum() == 60


@pytest.mark.verifies("SRS-PREPROCESS-011")
def test_preprocess_patch_sampling_is_deterministic() -> None:
    img, lbl = _volume()

    def digest(seed: int) -> str:
        h = hashlib.sha256()
        gen = np.random.default_rng(seed)
        for mode, size in [("3d", (6, 6, 6)), ("2d", (6, 6)), ("2.5d-slices", (6, 6)), ("2.5d-planes", (6, 6))]:
            for _ in range(10):
                a, b, _ = PatchSampler(size, mode=mode).sample(img, lbl, gen)  # type: ignore[arg-type]
                h.update(a.tobytes())
                h.update(b.tobytes())  # type: ignore[union-attr]
        return h.hexdigest()

    assert digest(1) == digest(1)
    assert digest(1) != digest(2)


@pytest.mark.verifies("SRS-PREPROCESS-011")
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"patch_size": (4, 4)}, "patch_size"),
        ({"patch_size": (4, 0, 4)}, "patch_size"),
        ({"patch_size": (4, 4, 4), "mode": "3D"}, "mode"),
        ({"patch_size": (4, 4, 4), "foreground_oversample": 1.5}, "foreground_oversample"),
        ({"patch_size": (4, 4), "mode": "2d", "context": -1}, "context"),
    ],
)
def test_preprocess_patch_sampler_bad_config(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidParameterError) as err:
        PatchSampler(**kwargs)
    assert err.value.field == field


@pytest.mark.verifies("SRS-PREPROCESS-011")
def test_preprocess_patch_sampler_bad_inputs() -> None:
    s = PatchSampler((4, 4, 4))
    img, lbl = _volume()
    for args, field in [
        ((img[0, 0], lbl), "image"),
        ((img, lbl[:5]), "label"),
        ((img, lbl.astype(np.float32)), "label"),
    ]:
        with pytest.raises(InvalidParameterError) as err:
            s.sample(*args, rng=0)
        assert err.value.field == field
    with pytest.raises(InvalidParameterError) as err:
        s.sample(img, lbl, rng="seed")  # type: ignore[arg-type]
    assert err.value.field == "rng"
    with pytest.raises(InvalidParameterError) as err:
        PatchSampler((4, 4), mode="2d").extract(img, lbl, s.sample(img, lbl, 0)[2])
    assert err.value.field == "record"


@pytest.mark.verifies("SRS-PREPROCESS-012")
def test_preprocess_precomputed_locations_give_identical_patches() -> None:
    img, lbl = _volume()
    sampler = PatchSampler((6, 6, 6), foreground_oversample=0.7)
    locs = PatchSampler.foreground_locations(lbl)
    assert sorted(locs) == [1, 2] and locs[2].tolist() == [np.ravel_multi_index((15, 20, 5), lbl.shape)]
    g1, g2 = np.random.default_rng(8), np.random.default_rng(8)
    for _ in range(30):
        a = sampler.sample(img, lbl, g1)
        b = sampler.sample(img, lbl, g2, locations=locs)
        assert a[2] == b[2] and a[0].tobytes() == b[0].tobytes()
    with pytest.raises(InvalidParameterError) as err:
        PatchSampler((6, 6, 6), foreground_oversample=1.0).sample(img, lbl, 0, locations={1: np.array([0])})
    assert err.value.field == "locations"
