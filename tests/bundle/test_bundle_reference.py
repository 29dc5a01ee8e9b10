"""The shipped reference device (SRS-BUNDLE-031, SRS-BUNDLE-001)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from samd_core import load_locked
from samd_core.qualification import shipped_bundles
from reference_devices.training import RECIPE, choose_threshold, train_reference, weights_sha256

BUNDLE = pathlib.Path(__file__).resolve().parents[2] / "samd_core" / "bundles" / "nodule_v1"


@pytest.mark.verifies("SRS-BUNDLE-031")
def test_shipped_bundle_is_small_loads_and_is_honest() -> None:
    assert BUNDLE in shipped_bundles()
    size = sum(p.stat().st_size for p in BUNDLE.rglob("*") if p.is_file())
    assert size < 3_000_000
    model = load_locked(BUNDLE)
    assert (model.name, model.version) == (RECIPE["name"], RECIPE["version"])
    card = model.model_card.lower()
    for phrase in ("synthetic", "not for clinical use", "intended use", "training data", "performance at lock", "limitations"):
        assert phrase in card
    s = model.settings
    assert s.case_threshold > 0.0 and f"{s.case_threshold:.6f}" in model.model_card
    meta = model.metadata
    assert len(meta["training_data_manifest_sha256"]) == 64


@pytest.mark.verifies("SRS-BUNDLE-031")
def test_choose_threshold_youden_closed_form() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.6, 0.5, 0.7, 0.9])
    # thresholds: 0.7 -> J = 2/3 + 1 - 1 = 2/3; 0.5 -> J = 1 + 2/3 - 1 = 2/3 (tie: higher wins)
    assert choose_threshold(y, s) == 0.7
    assert choose_threshold(np.array([0, 1]), np.array([0.2, 0.8])) == 0.8


@pytest.mark.slow
@pytest.mark.verifies("SRS-BUNDLE-031")
def test_retraining_reproduces_the_shipped_weights(tmp_path: pathlib.Path) -> None:
    golden = json.loads((BUNDLE / "reference" / "golden.json").read_text())
    from samd_core.bundle import platform_id

    if golden["platform"] != platform_id():
        pytest.skip(f"weights are bit-reproducible only on the platform that made them: {golden['platform']}")
    out = train_reference(tmp_path / "retrained")
    assert weights_sha256(out) == weights_sha256(BUNDLE)
    for name in ("inference.json", "model_card.md", "network.json", "preprocessing.json"):
        assert (out / name).read_bytes() == (BUNDLE / name).read_bytes(), name


@pytest.mark.verifies("SRS-BUNDLE-031")
def test_hard_negatives_are_soft_tissue_inside_the_lungs_away_from_nodules() -> None:
    from samd_core.bundle import ResampleClipScale
    from reference_devices.phantom import generate_cases
    from reference_devices.training._train import _hard_negative_centres, prepare_case

    pre = ResampleClipScale.from_spec(RECIPE["preprocessing"])
    p = RECIPE["preprocessing"]
    n_total = 0
    for case in generate_cases(4, seed=1001, prevalence=1.0):
        x, y = prepare_case(case, pre)
        c = _hard_negative_centres(x, y)
        n_total += len(c)
        if not len(c):
            continue
        hu = x[tuple(c.T)] * p["scale_hu"] + p["offset_hu"]
        assert hu.min() >= -300.0 - 1e-3
        # the vessels only: a small part of all soft tissue (not the body wall, spine, mediastinum)
        assert len(c) < 0.05 * (x * p["scale_hu"] + p["offset_hu"] >= -300.0).sum()
        nodule = np.argwhere(y > 0)
        if len(nodule):
            # at least 4 voxels (chessboard: dilation by a cross, 4 times) from every nodule voxel
            d = np.abs(c[:, None, :] - nodule[None, :, :]).sum(axis=2).min()
            assert d > 4
        # none on the image border (that would be the air outside the body)
        assert (c[:, 1:] > 0).all() and (c[:, 1] < x.shape[1] - 1).all() and (c[:, 2] < x.shape[2] - 1).all()
    assert n_total > 0
