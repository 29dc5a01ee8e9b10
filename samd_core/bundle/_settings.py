"""Inference settings of a bundle (``inference.json``): ROI, overlap, thresholds, classes, score rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from samd_core.errors import InvalidParameterError

__all__ = ["CASE_SCORE_RULES", "InferenceSettings"]

#: Case-level score rules: ``max_probability`` = the largest voxel probability on the input grid.
CASE_SCORE_RULES = ("max_probability",)
_FN = "InferenceSettings.from_dict"
_KEYS = {
    "roi_size",
    "overlap",
    "voxel_threshold",
    "case_threshold",
    "output_classes",
    "activation",
    "case_score_rule",
    "min_lesion_volume_mm3",
    "blend_mode",
}


@dataclass(frozen=True)
class InferenceSettings:
    """How a locked network is applied.

    Attributes
    ----------
    roi_size : (int, int, int)
        Sliding-window size in voxels of the network grid, array order ``(z, y, x)``.
    overlap : float
        Fraction of overlap of neighbouring windows, in [0, 1).
    blend_mode : {"gaussian", "constant"}
        Blending of overlapping window probabilities (`samd_core.inference.sliding_window_inference`).
    voxel_threshold : float
        Probability at or above which a voxel is labelled lesion.
    case_threshold : float
        Case score at or above which a case is called positive (chosen on development data).
    output_classes : tuple of str
        Label names; index 0 is background. The network emits one sigmoid channel per
        non-background class.
    activation : "sigmoid"
    case_score_rule : one of `CASE_SCORE_RULES`
    min_lesion_volume_mm3 : float
        Connected components smaller than this are not reported as lesions (still labelled).
    """

    roi_size: tuple[int, int, int]
    overlap: float
    voxel_threshold: float
    case_threshold: float
    output_classes: tuple[str, ...]
    activation: Literal["sigmoid"]
    case_score_rule: Literal["max_probability"]
    min_lesion_volume_mm3: float
    blend_mode: Literal["gaussian", "constant"]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InferenceSettings:
        """Validate plain data (``inference.json``)."""
        if not isinstance(data, Mapping) or set(data) != _KEYS:
            got = sorted(data) if isinstance(data, Mapping) else data
            raise InvalidParameterError("inference settings", _FN, f"exactly the keys {sorted(_KEYS)}", got)
        roi = tuple(int(v) for v in data["roi_size"])
        if len(roi) != 3 or min(roi) < 1:
            raise InvalidParameterError("roi_size", _FN, "3 positive integers (z, y, x)", data["roi_size"])
        overlap = float(data["overlap"])
        if not 0.0 <= overlap < 1.0:
            raise InvalidParameterError("overlap", _FN, "in [0, 1)", overlap)
        for key in ("voxel_threshold", "case_threshold"):
            v = float(data[key])
            if not (np.isfinite(v) and 0.0 <= v <= 1.0):
                raise InvalidParameterError(key, _FN, "a probability in [0, 1]", data[key])
        classes = tuple(str(c) for c in data["output_classes"])
        if len(classes) != 2:
            raise InvalidParameterError("output_classes", _FN, "[background, lesion] (2 names)", data["output_classes"])
        if data["activation"] != "sigmoid":
            raise InvalidParameterError("activation", _FN, "'sigmoid'", data["activation"], options=["sigmoid"])
        if data["case_score_rule"] not in CASE_SCORE_RULES:
            raise InvalidParameterError(
                "case_score_rule", _FN, f"one of {list(CASE_SCORE_RULES)}", data["case_score_rule"], options=CASE_SCORE_RULES
            )
        mv = float(data["min_lesion_volume_mm3"])
        if not (np.isfinite(mv) and mv >= 0):
            raise InvalidParameterError("min_lesion_volume_mm3", _FN, "a finite value >= 0 mm^3", mv)
        if data["blend_mode"] not in ("gaussian", "constant"):
            raise InvalidParameterError(
                "blend_mode", _FN, "one of ['constant', 'gaussian']", data["blend_mode"], options=("constant", "gaussian")
            )
        return cls(
            (roi[0], roi[1], roi[2]),
            overlap,
            float(data["voxel_threshold"]),
            float(data["case_threshold"]),
            classes,
            "sigmoid",
            "max_probability",
            mv,
            data["blend_mode"],
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data, round-trips through `from_dict`."""
        return {
            "roi_size": list(self.roi_size),
            "overlap": self.overlap,
            "voxel_threshold": self.voxel_threshold,
            "case_threshold": self.case_threshold,
            "output_classes": list(self.output_classes),
            "activation": self.activation,
            "case_score_rule": self.case_score_rule,
            "min_lesion_volume_mm3": self.min_lesion_volume_mm3,
            "blend_mode": self.blend_mode,
        }
