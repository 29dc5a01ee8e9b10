"""Segmentation and detection metrics (pure functions; spacing in mm per array axis)."""

from validation.metrics._detection import (
    DetectionMatchResult,
    FROCBandResult,
    FROCCurveResult,
    FROCOperatingPointResult,
    extract_lesions,
    fp_per_image_at_threshold,
    froc_band,
    froc_curve,
    froc_operating_point,
    lesion_sensitivity_at_fp,
    lesion_sensitivity_at_threshold,
    match_detections,
)
from validation.metrics._overlap import dice, iou, volume_difference
from validation.metrics._surface import (
    SurfaceDistancesResult,
    SurfaceMetricsResult,
    average_symmetric_surface_distance,
    hausdorff_distance,
    normalized_surface_dice,
    surface_distances,
    surface_metrics,
)

__all__ = [
    "DetectionMatchResult",
    "FROCBandResult",
    "FROCCurveResult",
    "FROCOperatingPointResult",
    "SurfaceDistancesResult",
    "SurfaceMetricsResult",
    "average_symmetric_surface_distance",
    "dice",
    "extract_lesions",
    "fp_per_image_at_threshold",
    "froc_band",
    "froc_curve",
    "froc_operating_point",
    "hausdorff_distance",
    "iou",
    "lesion_sensitivity_at_fp",
    "lesion_sensitivity_at_threshold",
    "match_detections",
    "normalized_surface_dice",
    "surface_distances",
    "surface_metrics",
    "volume_difference",
]

#: Names of release 0.1.0, importable until 1.0 with a DeprecationWarning.
_DEPRECATED = {"DetectionMatch": "DetectionMatchResult", "FROCCurve": "FROCCurveResult",
               "SurfaceDistances": "SurfaceDistancesResult", "SurfaceMetrics": "SurfaceMetricsResult"}


def __getattr__(name: str) -> object:
    if name in _DEPRECATED:
        import warnings

        new = _DEPRECATED[name]
        warnings.warn(f"validation.metrics.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
