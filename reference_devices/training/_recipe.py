"""The reference device's recipe: every number that decides the shipped bundle, as plain data."""

from __future__ import annotations

from typing import Any

__all__ = ["RECIPE"]

#: Changing anything here changes the weights: retrain and re-ship the bundle (docs/bundle.md).
RECIPE: dict[str, Any] = {
    "name": "samd-reference-nodule",
    "version": "1.1.0",
    "cohorts": {
        # (seed, n_cases, prevalence); case i of a cohort depends only on (seed, i)
        "train": {"seed": 1001, "n_cases": 96, "prevalence": 0.75},
        "development": {"seed": 1002, "n_cases": 40, "prevalence": 0.5},
        "lock_test": {"seed": 1003, "n_cases": 40, "prevalence": 0.5},
    },
    "network": {
        "architecture": "unet",
        "spatial_dims": 3,
        "in_channels": 1,
        "out_channels": 1,
        "channels": [8, 16, 32],
        "strides": [2, 2, 2],
        "norm": "instance",
    },
    "preprocessing": {
        "kind": "resample_clip_scale/v1",
        "target_spacing_mm": [1.5, 1.5, 1.5],
        "clip_hu": [-1000.0, 400.0],
        "offset_hu": -300.0,
        "scale_hu": 700.0,
    },
    "inference": {
        "roi_size": [48, 64, 64],
        "overlap": 0.25,
        "voxel_threshold": 0.9,
        "case_threshold": None,  # chosen on the development cohort (max Youden J)
        "output_classes": ["background", "nodule"],
        "activation": "sigmoid",
        "case_score_rule": "max_probability",
        "min_lesion_volume_mm3": 10.0,
        "blend_mode": "gaussian",
    },
    "training": {
        "steps": 2000,
        "batch_size": 2,
        "patch_size": [32, 48, 48],
        "foreground_fraction": 0.4,
        # patches centred on soft tissue inside the lungs (the vessels: where the false positives were)
        "hard_negative_fraction": 0.25,
        "learning_rate": 0.01,
        "weight_decay": 0.0001,
        "torch_seed": 20260101,
        "threads": 1,
    },
    # OQ reference inputs: development cases (small: 5 mm slices), one with and one without nodule
    "reference_cases": {"seed": 1002, "max_slices": 15},
}
