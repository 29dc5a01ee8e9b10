"""Tiny untrained bundles built at test time (fast; no shipped data needed)."""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
from samd_core import Volume
from samd_core.bundle import build_bundle_network, write_bundle

NETWORK = {"architecture": "unet", "spatial_dims": 3, "in_channels": 1, "out_channels": 1, "channels": [4, 8]}
PREPROCESSING = {
    "kind": "resample_clip_scale/v1",
    "target_spacing_mm": [1.5, 1.5, 1.5],
    "clip_hu": [-1000.0, 400.0],
    "offset_hu": -300.0,
    "scale_hu": 700.0,
}
INFERENCE = {
    "roi_size": [16, 16, 16],
    "overlap": 0.25,
    "voxel_threshold": 0.5,
    "case_threshold": 0.5,
    "output_classes": ["background", "nodule"],
    "activation": "sigmoid",
    "case_score_rule": "max_probability",
    "min_lesion_volume_mm3": 0.0,
    "blend_mode": "gaussian",
}


def small_volume(seed: int = 0) -> Volume:
    rng = np.random.default_rng(seed)
    arr = rng.normal(-800.0, 60.0, (12, 20, 22))
    arr[4:8, 8:12, 8:12] = 40.0
    return Volume(arr.astype(np.int16), (2.5, 1.2, 1.1), (-10.0, 5.0, 30.0))


def make_bundle(path: pathlib.Path, *, private_key: Any = None, reference: bool = True, **overrides: Any) -> pathlib.Path:
    net = build_bundle_network(NETWORK)
    kwargs: dict[str, Any] = dict(
        name="tiny-test",
        version="0.0.1",
        network_config=NETWORK,
        state_dict=net.state_dict(),
        preprocessing=PREPROCESSING,
        inference=INFERENCE,
        intended_use="Unit tests of the bundle format only.",
        training_data_manifest_sha256="0" * 64,
        model_card="# tiny-test\n\nUntrained; tests only.\n",
        reference_inputs={"c0": small_volume(0)} if reference else None,
        private_key=private_key,
    )
    kwargs.update(overrides)
    return write_bundle(path, **kwargs)
