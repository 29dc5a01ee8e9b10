"""Inference of the locked core: sliding-window (3-D/2-D), slice-wise and 2.5-D.

`sliding_window_inference` tiles an image with overlapping windows and blends the window
predictions (constant or Gaussian weights, optional flip test-time augmentation);
`slicewise_inference` runs a 2-D network over the slices of a volume; `predict_volume` maps a
`Volume` through a preprocessing step and back onto its original grid.
"""

from samd_core.inference._grid import predict_volume
from samd_core.inference._sliding import sliding_window_inference
from samd_core.inference._slicewise import slicewise_inference
from samd_core.inference._windows import importance_map

__all__ = ["importance_map", "predict_volume", "slicewise_inference", "sliding_window_inference"]
