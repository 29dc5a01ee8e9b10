"""Inference settings of a bundle (``inference.json``): ROI, overlap, thresholds, classes, score rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from samd_core.errors import InvalidParameterError

__all__ = ["CASE_SCORE_RULES", "MAX_ROI_AXIS", "InferenceSettings", "real_number"]

#: Largest window edge (voxels) a bundle may declare.
MAX_ROI_AXIS = 1024


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def real_number(
    value: Any,
    field: str,
    function: str,
    *,
    low: float = -np.inf,
    high: float = np.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as float when it is a finite int/float (not a bool, not None) inside the interval, else raise."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))
    if ok:
        f = float(value)
        ok = (f > low if low_open else f >= low) and (f < high if high_open else f <= high)
    if not ok:
        lo_b, hi_b = ("(" if low_open else "["), (")" if high_open else "]")
        raise InvalidParameterError(field, function, f"a finite number in {lo_b}{low:g}, {high:g}{hi_b}", value)
    return float(value)

#: Case-level score rules: ``max_probability`` = the largest voxel probability on the input grid
#: (in [0, 1]); ``largest_lesion_volume_mm3`` = volume of the largest reported lesion (mm^3, 0
#: when there is none).
CASE_SCORE_RULES = ("largest_lesion_volume_mm3", "max_probability")
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
        Case score at or above which a case is called positive (chosen on development data);
        a probability for ``max_probability``, mm^3 for ``largest_lesion_volume_mm3``.
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
    case_score_rule: Literal["largest_lesion_volume_mm3", "max_probability"]
    min_lesion_volume_mm3: float
    blend_mode: Literal["gaussian", "constant"]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InferenceSettings:
        """Validate plain data (``inference.json``): every key's type and range, booleans refused as numbers."""
        if not isinstance(data, Mapping) or set(data) != _KEYS:
            got = sorted(data) if isinstance(data, Mapping) else data
            raise InvalidParameterError("inference settings", _FN, f"exactly the keys {sorted(_KEYS)}", got)
        roi_raw = data["roi_size"]
        if (
            not isinstance(roi_raw, (list, tuple))
            or len(roi_raw) != 3
            or not all(_is_int(v) and 1 <= v <= MAX_ROI_AXIS for v in roi_raw)
        ):
            raise InvalidParameterError("roi_size", _FN, f"3 integers in [1, {MAX_ROI_AXIS}] (z, y, x) voxels", roi_raw)
        roi = tuple(int(v) for v in roi_raw)
        overlap = real_number(data["overlap"], "overlap", _FN, low=0.0, high=1.0, high_open=True)
        v = real_number(data["voxel_threshold"], "voxel_threshold", _FN, low=0.0, high=1.0)
        classes_raw = data["output_classes"]
        if (
            not isinstance(classes_raw, (list, tuple))
            or len(classes_raw) != 2
            or not all(isinstance(c, str) and c for c in classes_raw)
        ):
            raise InvalidParameterError("output_classes", _FN, "[background, lesion] (2 non-empty names)", classes_raw)
        classes = tuple(classes_raw)
        if data["activation"] != "sigmoid":
            raise InvalidParameterError("activation", _FN, "'sigmoid'", data["activation"], options=["sigmoid"])
        rule = data["case_score_rule"]
        if not isinstance(rule, str) or rule not in CASE_SCORE_RULES:
            raise InvalidParameterError(
                "case_score_rule", _FN, f"one of {list(CASE_SCORE_RULES)}", rule, options=CASE_SCORE_RULES
            )
        if rule == "max_probability":
            ct = real_number(data["case_threshold"], "case_threshold", _FN, low=0.0, high=1.0)
        else:
            ct = real_number(data["case_threshold"], "case_threshold", _FN, low=0.0)
        mv = real_number(data["min_lesion_volume_mm3"], "min_lesion_volume_mm3", _FN, low=0.0)
        blend = data["blend_mode"]
        if not isinstance(blend, str) or blend not in ("gaussian", "constant"):
            raise InvalidParameterError(
                "blend_mode", _FN, "one of ['constant', 'gaussian']", blend, options=("constant", "gaussian")
            )
        return cls(
            (roi[0], roi[1], roi[2]),
            overlap,
            v,
            ct,
            classes,
            "sigmoid",
            rule,  # type: ignore[arg-type]
            mv,
            blend,  # type: ignore[arg-type]
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
