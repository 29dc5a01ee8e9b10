"""The result of a locked model on one volume: maps on the input grid, a case score, lesions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from samd_core.volume import Volume

__all__ = ["Lesion", "Prediction", "extract_lesions"]


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
    probability : Volume
        float32 lesion probability in [0, 1] on the input volume's grid.
    label : Volume
        uint8 label map (1 = lesion, ``probability >= voxel_threshold``) on the input grid.
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
    """

    probability: Volume
    label: Volume
    score: float
    case_threshold: float
    positive: bool
    lesions: tuple[Lesion, ...]
    model_name: str
    model_version: str
    out_of_domain: bool = False
    domain_violations: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data without the voxel maps (their SHA-256 instead)."""
        out: dict[str, Any] = {
            "score": self.score,
            "case_threshold": self.case_threshold,
            "positive": self.positive,
            "lesions": [les.to_dict() for les in self.lesions],
            "model_name": self.model_name,
            "model_version": self.model_version,
            "probability_sha256": self.probability.content_sha256(),
            "label_sha256": self.label.content_sha256(),
        }
        if self.out_of_domain:  # keys absent for in-domain predictions: goldens of 0.1.0 bundles stay equal
            out["out_of_domain"] = True
            out["domain_violations"] = list(self.domain_violations)
        return out


def extract_lesions(probability: Volume, label: np.ndarray, *, min_volume_mm3: float) -> tuple[Lesion, ...]:
    """Connected components of ``label`` as `Lesion` records, largest first (ties: by centre)."""
    comps, n = ndimage.label(label, structure=np.ones((3, 3, 3), dtype=bool))
    if n == 0:
        return ()
    voxel_mm3 = float(np.prod(probability.spacing))
    ids = np.arange(1, n + 1)
    counts = ndimage.sum_labels(np.ones_like(comps), comps, ids)
    centres = ndimage.center_of_mass(np.ones_like(comps, dtype=np.float64), comps, ids)
    maxp = ndimage.maximum(probability.array, comps, ids)
    out = []
    for cnt, ctr, mp in zip(counts, centres, maxp, strict=True):
        vol = float(cnt) * voxel_mm3
        if vol < min_volume_mm3:
            continue
        idx = tuple(float(c) for c in ctr)
        lps = tuple(float(v) for v in probability.index_to_physical(np.asarray(idx)))
        out.append(
            Lesion(
                (idx[0], idx[1], idx[2]),
                (lps[0], lps[1], lps[2]),
                vol,
                float((6.0 * vol / np.pi) ** (1.0 / 3.0)),
                float(mp),
                int(cnt),
            )
        )
    out.sort(key=lambda les: (-les.n_voxels, les.centre_index))
    return tuple(out)
