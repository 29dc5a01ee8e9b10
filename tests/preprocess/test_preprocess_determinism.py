"""Bit-identical outputs across processes (different PYTHONHASHSEED): pipeline, patches, augmentation."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

SCRIPT = r"""
import hashlib, json
import numpy as np
from samd_core import Volume, augment
from samd_core.preprocess import Pipeline, PatchSampler

rng = np.random.default_rng(0)
arr = rng.integers(-1000, 1000, size=(20, 24, 28)).astype(np.int16)
vol = Volume(arr, (2.5, 0.8, 0.7), (1.0, 2.0, 3.0), ((0, 0, -1), (0, 1, 0), (1, 0, 0)))
pipe = Pipeline.from_spec({"steps": [
    {"op": "reorient"}, {"op": "resample", "spacing": [1.3, 1.1, 1.1], "image_interpolation": "bspline"},
    {"op": "crop_foreground", "threshold": 0}, {"op": "zscore"}, {"op": "crop_pad", "shape": [32, 24, 24]}]})
out, rec = pipe.forward(vol)
h = hashlib.sha256()
h.update(out.content_sha256().encode())
h.update(json.dumps(rec, sort_keys=True).encode())
img = np.asarray(out.array)[None]
lbl = (img[0] > 0.5).astype(np.uint8)
gen = np.random.default_rng(123)
sampler = PatchSampler((16, 16, 16), foreground_oversample=0.5)
aug = augment.Compose([augment.RandomFlip(), augment.RandomRot90(), augment.RandomAffine(), augment.RandomElastic(),
                       augment.RandomScaleShift(), augment.RandomGamma(), augment.RandomNoise(), augment.RandomBlur()],
                      probabilities=[0.5] * 8)
for _ in range(4):
    p, q, r = sampler.sample(img, lbl, gen)
    a, b, r2 = aug(p, q, gen)
    for x in (p, q, a, b):
        h.update(x.tobytes())
    h.update(json.dumps([r, r2], sort_keys=True).encode())
print(h.hexdigest())
"""


def _run(hashseed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


@pytest.mark.verifies("SRS-PREPROCESS-010", "SRS-PREPROCESS-011", "SRS-PREPROCESS-013")
def test_preprocess_outputs_identical_across_processes() -> None:
    first, second = _run("1"), _run("2")
    assert len(first) == 64 and first == second
