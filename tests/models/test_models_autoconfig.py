"""Auto-configuration rules on synthetic fingerprints: anisotropic CT, isotropic MR, tiny 2-D."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from samd_core.autoconfig import DatasetFingerprint, IntensityStats, Plan, estimate_memory_mb, fingerprint_from_cases, make_plan
from samd_core.errors import IntegrityError, InvalidParameterError
from samd_core.models import build_network

STATS = IntensityStats(mean=40.0, std=50.0, p00_5=-100.0, p99_5=200.0)

CT_ANISO = DatasetFingerprint(
    spacings=[(5.0, 0.7, 0.7), (5.0, 0.8, 0.8), (2.5, 0.75, 0.75), (5.0, 0.7, 0.7), (3.0, 0.7, 0.7)],
    shapes=[(60, 512, 512), (50, 512, 512), (120, 512, 512), (70, 512, 512), (100, 512, 512)],
    modalities=["CT"], intensity_stats=[STATS], n_classes=2,
)
MR_ISO = DatasetFingerprint(
    spacings=[(1.0, 1.0, 1.0)] * 6, shapes=[(160, 192, 160)] * 3 + [(150, 200, 170)] * 3,
    modalities=["MR", "MR"], intensity_stats=[STATS, STATS], n_classes=3,
)
TINY_2D = DatasetFingerprint(
    spacings=[(1.0, 1.0)] * 100, shapes=[(28, 28)] * 100, modalities=["XR"], intensity_stats=[STATS], n_classes=2
)


@pytest.mark.verifies("SRS-MODELS-030")
def test_models_autoconfig_anisotropic_ct() -> None:
    plan = make_plan(CT_ANISO)
    # rule 1: median in-plane spacing; coarse axis -> 10th percentile of z spacings (numpy linear)
    assert plan.anisotropic
    assert plan.target_spacing == (float(np.percentile([5, 5, 2.5, 5, 3], 10)), 0.7, 0.7)
    # rule 2: CT normalisation with the foreground statistics
    assert plan.normalization == ("ct",) and plan.ct_clip == ((-100.0, 200.0),) and plan.ct_mean_std == ((40.0, 50.0),)
    cfg = plan.network_config()
    # rule 4: z is neither pooled nor convolved with k=3 while it is > 2x coarser than x/y
    assert cfg.strides[1] == (1, 2, 2) and cfg.kernel_sizes[0] == (1, 3, 3)
    assert all(p % q == 0 for p, q in zip(plan.patch_size, cfg.divisor))
    # rule 3/5: fits the budget; bottom feature map >= 4 voxels per axis
    assert estimate_memory_mb(cfg, plan.patch_size, plan.batch_size) <= plan.memory_budget_mb
    assert all(p // q >= 4 for p, q in zip(plan.patch_size, cfg.divisor))
    assert plan.patch_size[1] > plan.patch_size[0]  # in-plane larger than through-plane


@pytest.mark.verifies("SRS-MODELS-030")
def test_models_autoconfig_isotropic_mr() -> None:
    plan = make_plan(MR_ISO)
    assert not plan.anisotropic and plan.target_spacing == (1.0, 1.0, 1.0)
    assert plan.normalization == ("zscore", "zscore") and plan.ct_clip == (None, None)
    cfg = plan.network_config()
    assert cfg.in_channels == 2 and cfg.out_channels == 3
    assert all(len(set(s)) == 1 for s in cfg.strides)  # isotropic pooling
    assert len(set(plan.patch_size)) == 1  # isotropic patch for isotropic, near-cubic images
    assert plan.median_shape == (155, 196, 165)
    small = make_plan(MR_ISO, memory_budget_mb=1000)
    assert np.prod(small.patch_size) < np.prod(plan.patch_size)
    assert small.memory_estimate_mb <= 1000


@pytest.mark.verifies("SRS-MODELS-030")
def test_models_autoconfig_tiny_2d() -> None:
    plan = make_plan(TINY_2D)
    cfg = plan.network_config()
    assert cfg.spatial_dims == 2 and plan.patch_size == (28, 28)
    assert cfg.strides == ((1, 1), (2, 2), (2, 2))  # 28 -> 14 -> 7; 7 < 8 stops pooling
    # rule 5: batch capped at 5 % of the dataset's voxels: 0.05 * 100 * 784 / 784 = 5
    assert plan.batch_size == 5
    build_network(cfg)  # the planned config builds


@pytest.mark.verifies("SRS-MODELS-031")
@pytest.mark.parametrize("fp", [CT_ANISO, MR_ISO, TINY_2D])
def test_models_autoconfig_same_fingerprint_same_plan(fp: DatasetFingerprint, tmp_path: Path) -> None:
    a = make_plan(fp)
    b = make_plan(DatasetFingerprint.from_dict(json.loads(json.dumps(fp.to_dict()))))
    assert a == b and a.sha256() == b.sha256()
    h = a.save(tmp_path / "plan.json")
    assert h == a.sha256() and Plan.load(tmp_path / "plan.json") == a
    doc = json.loads((tmp_path / "plan.json").read_text())
    doc["plan"]["batch_size"] += 1
    (tmp_path / "plan.json").write_text(json.dumps(doc))
    with pytest.raises(IntegrityError):
        Plan.load(tmp_path / "plan.json")


def test_models_fingerprint_from_cases() -> None:
    rng = np.random.default_rng(0)
    img = rng.normal(size=(10, 12, 14))
    lbl = np.zeros((10, 12, 14), np.int64)
    lbl[3:6, 4:8, 5:9] = 1
    fp = fingerprint_from_cases([img], [lbl], [(2.0, 1.0, 1.0)], modalities=["CT"])
    fg = img[lbl > 0]
    st = fp.intensity_stats[0]
    assert st.mean == pytest.approx(fg.mean()) and st.std == pytest.approx(fg.std())
    assert st.p99_5 == pytest.approx(np.percentile(fg, 99.5))
    assert fp.shapes == ((10, 12, 14),) and fp.n_classes == 2


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: DatasetFingerprint(spacings=[(1, 1, 1)], shapes=[(8, 8)], modalities=["CT"], intensity_stats=[STATS], n_classes=2), "spacings"),
        (lambda: DatasetFingerprint(spacings=[(1, 0, 1)], shapes=[(8, 8, 8)], modalities=["CT"], intensity_stats=[STATS], n_classes=2), "spacings"),
        (lambda: DatasetFingerprint(spacings=[(1, 1, 1)], shapes=[(8, 8, 8)], modalities=["CT"], intensity_stats=[], n_classes=2), "intensity_stats"),
        (lambda: DatasetFingerprint(spacings=[(1, 1, 1)], shapes=[(8, 8, 8)], modalities=["CT"], intensity_stats=[STATS], n_classes=1), "n_classes"),
        (lambda: IntensityStats(mean=float("nan"), std=1, p00_5=0, p99_5=1), "mean"),
        (lambda: make_plan(MR_ISO, memory_budget_mb=0), "memory_budget_mb"),
        (lambda: make_plan(MR_ISO, memory_budget_mb=0.5), "memory_budget_mb"),
    ],
)
def test_models_autoconfig_bad_input(make, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameterError) as err:
        make()
    assert err.value.field == field


def test_models_plan_to_preprocess_pipeline() -> None:
    from samd_core.preprocess import Pipeline

    ct = make_plan(CT_ANISO)
    spec = ct.preprocess_spec()
    assert spec["steps"][0] == {"op": "resample", "spacing": list(ct.target_spacing)}
    assert spec["steps"][1] == {"op": "ct_normalize", "lower": -100.0, "upper": 200.0, "mean": 40.0, "std": 50.0}
    Pipeline.from_spec(spec)  # accepted by the preprocessing pipeline
    mr = make_plan(MR_ISO)
    assert mr.preprocess_spec(1)["steps"][1]["op"] == "zscore"
    Pipeline.from_spec(mr.preprocess_spec(1))
    with pytest.raises(InvalidParameterError, match="`channel`"):
        mr.preprocess_spec(2)
