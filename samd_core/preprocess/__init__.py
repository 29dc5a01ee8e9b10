"""Deterministic preprocessing: reorientation, resampling, intensity normalisation, cropping,
the inverse mapping back to the original grid, and patch sampling for training.

See ``docs/preprocess.md``.
"""

from samd_core.preprocess._intensity import clip_affine, ct_fingerprint
from samd_core.preprocess._patches import PatchMode, PatchSampler, crop_pad_array
from samd_core.preprocess._pipeline import SPEC_VERSION, STEPS, Pipeline
from samd_core.preprocess._spec import canonical_json

__all__ = [
    "SPEC_VERSION",
    "STEPS",
    "PatchMode",
    "PatchSampler",
    "Pipeline",
    "canonical_json",
    "clip_affine",
    "crop_pad_array",
    "ct_fingerprint",
]
