"""Deterministic preprocessing: reorientation, resampling, intensity normalisation, cropping,
the inverse mapping back to the original grid, and patch sampling for training.

See ``docs/preprocess.md``.
"""

from samd_core.preprocess._patches import PatchMode, PatchSampler, crop_pad_array

__all__ = ["PatchMode", "PatchSampler", "crop_pad_array"]
