"""Segmentation and detection metrics (pure functions; spacing in mm per array axis)."""

from validation.metrics._detection import (
    DetectionMatch,
    FROCCurve,
    extract_lesions,
    froc_curve,
    lesion_sensitivity_at_fp,
    match_detections,
)
from validation.metrics._overlap import dice, iou, volume_difference
from validation.metrics._surface import (
    SurfaceDistances,
    SurfaceMetrics,
    average_symmetric_surface_distance,
    hausdorff_distance,
    normalized_surface_dice,
    surface_distances,
    surface_metrics,
)

__all__ = [
    "DetectionMatch",
    "FROCCurve",
    "SurfaceDistances",
    "SurfaceMetrics",
    "average_symmetric_surface_distance",
    "dice",
    "extract_lesions",
    "froc_curve",
    "hausdorff_distance",
    "iou",
    "lesion_sensitivity_at_fp",
    "match_detections",
    "normalized_surface_dice",
    "surface_distances",
    "surface_metrics",
    "volume_difference",
]
