"""The result of a locked model on one volume: maps on the input grid, a case score, lesions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from samd_core.lesions import extract_lesions
from samd_core.volume import Volume

__all__ = ["Lesion", "Prediction", "predicted_lesions"]


@dataclass(frozen=True)
class Lesion:
    """One connected component (26-connectivity) of the label map.

    Attributes
    ----------
    centre_index : (float, float, float)
        Mean voxel index of the component, array order ``(z, y, x)``.
    centre_lps_mm : (float, float, float)
        The same point in LPS patient coordinates ``(x, y, z)``, mm.
    volume_mm3 : float
        Voxel count × voxel volume, mm³.
    equivalent_diameter_mm : float
        Diameter of the sphere of that volume, ``(6 V / π)^(1/3)``, mm.
    max_probability : float
        Largest voxel probability inside the component.
    n_voxels : int
    """

    centre_index: tuple[float, float, float]
    centre_lps_mm: tuple[float, float, float]
    volume_mm3: float
    equivalent_diameter_mm: float
    max_probability: float
    n_voxels: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "centre_index": list(self.centre_index),
            "centre_lps_mm": list(self.centre_lps_mm),
            "volume_mm3": self.volume_mm3,
            "equivalent_diameter_mm": self.equivalent_diameter_mm,
            "max_probability": self.max_probability,
            "n_voxels": self.n_voxels,
        }


@dataclass(frozen=True)
class Prediction:
    """Output of `LockedModel.predict`.

    Attributes
    ----------
    probability : Volume or None
        float32 lesion (segmentation: ``positive_class``) probability in [0, 1] on the input
        volume's grid; None for classification.
    label : Volume or None
        uint8 label map on the input grid (lesion bundles: 1 = ``probability >= voxel_threshold``;
        segmentation: index of the arg-max class); None for classification.
    score : float
        Case-level score by the bundle's ``case_score_rule``: the largest voxel probability
        (``max_probability``, in [0, 1]) or the largest lesion's volume in mm^3
        (``largest_lesion_volume_mm3``, >= 0). Higher means more likely a nodule.
    case_threshold : float
        The bundle's locked operating point for the case score.
    positive : bool
        ``score >= case_threshold``.
    lesions : tuple of Lesion
        Components of at least ``min_lesion_volume_mm3``, largest first.
    model_name, model_version : str
        Identity of the bundle that made this prediction.
    out_of_domain : bool
        True when the input lies outside the bundle's declared input domain (only possible with
        ``predict(..., allow_out_of_domain=True)``).
    domain_violations : tuple of str
        The reasons (attribute, value, allowed range), empty when in domain.
    task : {"lesion_segmentation", "classification", "segmentation"}
        ``lesion_segmentation`` for ``samd-bundle/1`` bundles.
    probabilities : mapping of str to float
        Classification: class -> probability (output channel order). Empty otherwise.
    class_probabilities : mapping of str to Volume
        Segmentation: class -> float32 probability map on the input grid. Empty otherwise.
    """

    probability: Volume | None
    label: Volume | None
    score: float
    case_threshold: float
    positive: bool
    lesions: tuple[Lesion, ...]
    model_name: str
    model_version: str
    out_of_domain: bool = False
    domain_violations: tuple[str, ...] = ()
    task: str = "lesion_segmentation"
    probabilities: Mapping[str, float] = field(default_factory=dict)
    class_probabilities: Mapping[str, Volume] = field(default_factory=dict)

    def golden_array(self) -> np.ndarray:
        """The float32 array OQ compares bit for bit: the probability map (lesion bundles), the
        class probabilities in channel order (classification) or the stacked class maps
        (segmentation)."""
        if self.task == "classification":
            return np.asarray(list(self.probabilities.values()), dtype=np.float32)
        if self.task == "segmentation":
            return np.stack([v.array for v in self.class_probabilities.values()]).astype(np.float32)
        if self.probability is None:
            raise ValueError("a lesion-segmentation prediction without its probability map")
        return self.probability.array

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data without the voxel maps (their SHA-256 instead)."""
        out: dict[str, Any] = {
            "score": self.score,
            "case_threshold": self.case_threshold,
            "positive": self.positive,
            "lesions": [les.to_dict() for les in self.lesions],
            "model_name": self.model_name,
            "model_version": self.model_version,
        }
        if self.probability is not None:
            out["probability_sha256"] = self.probability.content_sha256()
        if self.label is not None:
            out["label_sha256"] = self.label.content_sha256()
        if self.task != "lesion_segmentation":  # keys absent for samd-bundle/1: their goldens stay equal
            out["task"] = self.task
            if self.probabilities:
                out["probabilities"] = {k: float(v) for k, v in self.probabilities.items()}
        if self.out_of_domain:  # keys absent for in-domain predictions: goldens of 0.1.0 bundles stay equal
            out["out_of_domain"] = True
            out["domain_violations"] = list(self.domain_violations)
        return out

    def write_dicom_seg(self, path: Any, *, source: Any, model: Any) -> Any:
        """Write this prediction as DICOM SEG; see `samd_core.dicom_out.write_dicom_seg`.

        ``source``: the DICOM series folder (or a file of it) it was made on; ``model``: the
        `LockedModel` that made it (its name, version and manifest SHA-256 identify it).
        """
        from samd_core.dicom_out import AlgorithmIdentity, source_datasets, write_dicom_seg

        return write_dicom_seg(self, source_datasets(source, self.label), path,
                               identity=AlgorithmIdentity.from_model(model))

    def write_dicom_sr(self, path: Any, *, source: Any, model: Any, seg: Any = None) -> Any:
        """Write this prediction as a TID 1500 Comprehensive 3D SR; see
        `samd_core.dicom_out.write_dicom_sr` (``seg``: the SEG file its lesions reference)."""
        from samd_core.dicom_out import AlgorithmIdentity, source_datasets, write_dicom_sr

        return write_dicom_sr(self, source_datasets(source, self.label), path,
                              identity=AlgorithmIdentity.from_model(model), seg=seg)


def predicted_lesions(probability: Volume, label: np.ndarray, *, min_volume_mm3: float) -> tuple[Lesion, ...]:
    """Lesions of ``label`` on the grid of ``probability`` as `Lesion` records, largest first.

    The components come from `samd_core.lesions.extract_lesions` (26-connectivity); ties in
    size are ordered by centre index.
    """
    t = extract_lesions(
        np.asarray(label),
        spacing=probability.spacing,
        origin=probability.origin,
        direction=probability.direction,
        values=probability.array,
        min_volume_mm3=min_volume_mm3,
    )
    out = [
        Lesion(
            (float(t.index[i, 0]), float(t.index[i, 1]), float(t.index[i, 2])),
            (float(t.centre_lps_mm[i, 0]), float(t.centre_lps_mm[i, 1]), float(t.centre_lps_mm[i, 2])),
            float(t.volume_mm3[i]),
            float(t.equivalent_diameter_mm[i]),
            float(t.max_value[i]),
            int(t.n_voxels[i]),
        )
        for i in range(len(t))
    ]
    out.sort(key=lambda les: (-les.n_voxels, les.centre_index))
    return tuple(out)
