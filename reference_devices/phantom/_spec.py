"""Case specifications of the chest-CT phantom: sampled from a seed, then rendered deterministically."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from validation.errors import InvalidParameterError

__all__ = ["GENERATOR_VERSION", "SITES", "VENDORS", "CaseSpec", "Nodule", "Scanner", "sample_case"]

#: Bumped whenever rendering or sampling changes (recorded in every manifest row).
GENERATOR_VERSION = "chest-phantom/1"


@dataclass(frozen=True)
class Scanner:
    """A scanner "vendor": reconstruction kernel and noise texture.

    Attributes
    ----------
    name, kernel : str
    psf_sigma_mm : float
        In-plane Gaussian point-spread (smoothness of the kernel), mm.
    sharpen : float
        Unsharp-mask gain (edge enhancement of sharp kernels), 0 = none.
    noise_grain_mm : float
        In-plane correlation length of the noise (noise texture), mm.
    noise_hu : float
        Noise SD (HU) at standard dose and 1 mm slices; scales as 1/sqrt(dose x thickness).
    """

    name: str
    kernel: str
    psf_sigma_mm: float
    sharpen: float
    noise_grain_mm: float
    noise_hu: float


VENDORS: dict[str, Scanner] = {
    "Aurora": Scanner("Aurora", "SOFT-B30", 1.1, 0.0, 0.7, 28.0),
    "Boreal": Scanner("Boreal", "SHARP-L60", 0.6, 0.6, 1.4, 40.0),
    "Cirrus": Scanner("Cirrus", "STD-C45", 0.8, 0.2, 1.0, 34.0),
}
#: site -> vendor probabilities (sites differ in scanner mix)
SITES: dict[str, dict[str, float]] = {
    "site-A": {"Aurora": 0.7, "Boreal": 0.1, "Cirrus": 0.2},
    "site-B": {"Aurora": 0.1, "Boreal": 0.7, "Cirrus": 0.2},
    "site-C": {"Aurora": 0.3, "Boreal": 0.3, "Cirrus": 0.4},
}
SLICE_THICKNESSES_MM = (1.0, 1.5, 2.0, 3.0, 5.0)
DOSES = {"standard": 1.0, "low": 0.25}


@dataclass(frozen=True)
class Nodule:
    """A spherical nodule: centre in LPS mm, diameter in mm, solid or part-solid."""

    centre_lps_mm: tuple[float, float, float]
    diameter_mm: float
    kind: Literal["solid", "part-solid"]
    solid_hu: float
    core_fraction: float  # part-solid: solid core diameter / nodule diameter (solid: 1)


@dataclass(frozen=True)
class CaseSpec:
    """Everything that determines one phantom case (rendering is a pure function of this)."""

    case_id: str
    seed: int
    index: int
    site: str
    vendor: str
    slice_thickness_mm: float
    dose: str
    sex: Literal["F", "M"]
    age: int
    body_scale: float
    nodules: tuple[Nodule, ...]
    vessel_seed: int
    noise_seed: int

    @property
    def has_nodule(self) -> bool:
        return bool(self.nodules)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for manifests and provenance)."""
        return {
            "case_id": self.case_id,
            "seed": self.seed,
            "index": self.index,
            "site": self.site,
            "vendor": self.vendor,
            "slice_thickness_mm": self.slice_thickness_mm,
            "dose": self.dose,
            "sex": self.sex,
            "age": self.age,
            "body_scale": self.body_scale,
            "nodules": [
                {
                    "centre_lps_mm": list(n.centre_lps_mm),
                    "diameter_mm": n.diameter_mm,
                    "kind": n.kind,
                    "solid_hu": n.solid_hu,
                    "core_fraction": n.core_fraction,
                }
                for n in self.nodules
            ],
            "vessel_seed": self.vessel_seed,
            "noise_seed": self.noise_seed,
            "generator_version": GENERATOR_VERSION,
        }


# lung geometry shared with the renderer (mm, before body scaling)
LUNG_CENTRES_X = (-20.0, 20.0)
LUNG_CENTRE_Y = -2.0
LUNG_SEMI = (16.0, 25.0, 33.0)  # x, y, z semi-axes
Z_EXTENT_MM = 72.0


def sample_case(
    seed: int,
    index: int,
    *,
    prevalence: float = 0.5,
    diameter_range_mm: tuple[float, float] = (3.0, 30.0),
) -> CaseSpec:
    """Draw case ``index`` of the cohort with seed ``seed`` (independent of cohort size).

    Parameters
    ----------
    seed, index : int
        The case's generator is ``numpy.random.default_rng([seed, index])``.
    prevalence : float
        Probability that the case has at least one nodule.
    diameter_range_mm : (float, float)
        Nodule diameters are log-uniform in this range (mm).
    """
    fn = "sample_case"
    if not 0.0 <= prevalence <= 1.0:
        raise InvalidParameterError("prevalence", fn, "a probability in [0, 1]", prevalence)
    lo, hi = diameter_range_mm
    if not 0 < lo <= hi:
        raise InvalidParameterError("diameter_range_mm", fn, "0 < low <= high (mm)", diameter_range_mm)
    if int(seed) < 0 or int(index) < 0:
        raise InvalidParameterError("seed", fn, "non-negative integers (seed, index)", (seed, index))
    rng = np.random.default_rng([int(seed), int(index)])
    site = str(rng.choice(sorted(SITES)))
    mix = SITES[site]
    names = sorted(mix)
    vendor = str(rng.choice(names, p=[mix[n] for n in names]))
    thickness = float(rng.choice(SLICE_THICKNESSES_MM))
    dose = str(rng.choice(sorted(DOSES)))
    sex = "F" if rng.random() < 0.5 else "M"
    age = int(rng.integers(40, 86))
    body_scale = float((0.93 if sex == "F" else 1.0) * rng.uniform(0.95, 1.03))
    nodules = []
    if rng.random() < prevalence:
        for _ in range(1 if rng.random() < 0.8 else 2):
            d = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            side = int(rng.integers(0, 2))
            r = d / 2.0
            semi = np.array(LUNG_SEMI) * np.array([body_scale, body_scale, 1.0])
            room = np.maximum(semi - 0.6 * r, 1.0)
            # uniform direction inside the shrunken ellipsoid
            while True:
                u = rng.uniform(-1.0, 1.0, 3)
                if float(u @ u) <= 1.0:
                    break
            centre = np.array([LUNG_CENTRES_X[side] * body_scale, LUNG_CENTRE_Y, Z_EXTENT_MM / 2.0]) + u * room
            kind = "solid" if rng.random() < 0.7 else "part-solid"
            nodules.append(
                Nodule(
                    tuple(float(round(c, 3)) for c in centre),  # type: ignore[arg-type]
                    round(d, 3),
                    kind,  # type: ignore[arg-type]
                    float(round(rng.uniform(0.0, 60.0), 1)),
                    1.0 if kind == "solid" else float(round(rng.uniform(0.3, 0.6), 3)),
                )
            )
    return CaseSpec(
        case_id=f"PH{seed:04d}-{index:05d}",
        seed=int(seed),
        index=int(index),
        site=site,
        vendor=vendor,
        slice_thickness_mm=thickness,
        dose=dose,
        sex=sex,  # type: ignore[arg-type]
        age=age,
        body_scale=round(body_scale, 4),
        nodules=tuple(nodules),
        vessel_seed=int(rng.integers(0, 2**31)),
        noise_seed=int(rng.integers(0, 2**31)),
    )
