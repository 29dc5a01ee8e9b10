"""Synthetic chest radiographs: sampled from a seed, then rendered deterministically.

A case is a frozen `RadiographSpec` sampled from ``(seed, index)``; `render_radiograph` is a pure
function of it. The image is a posteroanterior projection on a square detector, 12-bit, in
presentation form (higher = more attenuation = brighter): a body outline, two lung fields with
vessel-like texture, ribs and clavicles, a heart silhouette and the mediastinum. Detectors
("vendors") differ in exposure, gain, noise, blur and storage (one stores MONOCHROME1, as CR
plates often do). A finding is either a nodule-like opacity in a lung field or a pneumothorax-like
pleural line with a lucent, marking-free rim beyond it.

The data are synthetic and exist to demonstrate and test the validation workflow; they are not
radiographs of anyone and are not suitable to train a medical device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from samd_core.errors import InvalidParameterError

__all__ = [
    "DETECTORS",
    "GENERATOR_VERSION",
    "SITES",
    "Detector",
    "RadiographSpec",
    "render_radiograph",
    "sample_radiograph",
]

#: Bumped whenever rendering or sampling changes (recorded in every manifest row).
GENERATOR_VERSION = "chest-radiograph/1"


@dataclass(frozen=True)
class Detector:
    """A detector "vendor".

    Attributes
    ----------
    name : str
    modality : {"DX", "CR"}
    pixel_spacing_mm : float
        Detector pixel pitch at the image plane, mm.
    gain, offset : float
        Exposure response: stored = offset + gain x attenuation signal (before quantisation).
    noise : float
        Noise SD in stored units.
    blur_px : float
        Gaussian detector blur (SD, pixels).
    monochrome1 : bool
        Stored inverted (MONOCHROME1: higher = darker), as many CR readers do.
    """

    name: str
    modality: Literal["DX", "CR"]
    pixel_spacing_mm: float
    gain: float
    offset: float
    noise: float
    blur_px: float
    monochrome1: bool


DETECTORS: dict[str, Detector] = {
    "Halcyon": Detector("Halcyon", "DX", 1.6, 2600.0, 500.0, 45.0, 0.7, False),
    "Meridian": Detector("Meridian", "DX", 1.5, 2200.0, 800.0, 70.0, 1.1, False),
    "Tessera": Detector("Tessera", "CR", 1.7, 2400.0, 650.0, 95.0, 1.6, True),
}
#: site -> detector probabilities (sites differ in equipment)
SITES: dict[str, dict[str, float]] = {
    "site-A": {"Halcyon": 0.7, "Meridian": 0.2, "Tessera": 0.1},
    "site-B": {"Halcyon": 0.1, "Meridian": 0.6, "Tessera": 0.3},
    "site-C": {"Halcyon": 0.2, "Meridian": 0.2, "Tessera": 0.6},
}
#: Detector matrix (rows = columns), pixels.
SIZE = 256
_MAX_STORED = 4095


@dataclass(frozen=True)
class RadiographSpec:
    """Everything that determines one synthetic radiograph (rendering is a pure function of it)."""

    case_id: str
    seed: int
    index: int
    site: str
    detector: str
    sex: Literal["F", "M"]
    age: int
    finding: Literal["none", "nodule", "pneumothorax"]
    side: Literal["left", "right"]
    #: nodule: diameter (mm); pneumothorax: rim width (mm); 0 without a finding
    finding_size_mm: float
    #: nodule: peak attenuation contrast (fraction of soft tissue); pneumothorax: 0
    finding_contrast: float
    #: position of the finding as fractions (row, column) of the lung field's bounding box
    finding_position: tuple[float, float]
    exposure: float

    @property
    def positive(self) -> bool:
        """Whether the case holds a finding (the reference standard)."""
        return self.finding != "none"


def sample_radiograph(seed: int, index: int, *, prevalence: float = 0.3,
                      pneumothorax_fraction: float = 0.35) -> RadiographSpec:
    """Sample case ``index`` of cohort ``seed`` (a pure function of its arguments).

    Parameters
    ----------
    seed, index : int
        Cohort seed and case index (>= 0).
    prevalence : float
        Probability that the case holds a finding, in [0, 1].
    pneumothorax_fraction : float
        Among findings, the probability of a pneumothorax-like line (else a nodule), in [0, 1].
    """
    for name, v in (("prevalence", prevalence), ("pneumothorax_fraction", pneumothorax_fraction)):
        if not (isinstance(v, (int, float)) and 0.0 <= float(v) <= 1.0):
            raise InvalidParameterError(name, "sample_radiograph", "a number in [0, 1]", v)
    for name, v in (("seed", seed), ("index", index)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InvalidParameterError(name, "sample_radiograph", "an integer >= 0", v)
    rng = np.random.default_rng([int(seed), int(index), 0x0C5])
    site = str(rng.choice(sorted(SITES)))
    dets = sorted(SITES[site])
    detector = str(rng.choice(dets, p=[SITES[site][d] for d in dets]))
    sex: Literal["F", "M"] = "F" if rng.random() < 0.5 else "M"
    age = int(rng.integers(18, 91))
    positive = rng.random() < prevalence
    kind = "none"
    if positive:
        kind = "pneumothorax" if rng.random() < pneumothorax_fraction else "nodule"
    side: Literal["left", "right"] = "left" if rng.random() < 0.5 else "right"
    size = contrast = 0.0
    pos = (0.0, 0.0)
    if kind == "nodule":
        size = float(rng.uniform(12.0, 32.0))
        contrast = float(rng.uniform(0.16, 0.34))
        pos = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.25, 0.75)))
    elif kind == "pneumothorax":
        size = float(rng.uniform(14.0, 34.0))
        pos = (float(rng.uniform(0.0, 0.2)), 0.0)
    exposure = float(rng.uniform(0.85, 1.15))
    return RadiographSpec(
        case_id=f"CXR{seed:04d}-{index:05d}", seed=int(seed), index=int(index), site=site, detector=detector,
        sex=sex, age=age, finding=kind, side=side, finding_size_mm=size, finding_contrast=contrast,  # type: ignore[arg-type]
        finding_position=pos, exposure=exposure,
    )


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2


def render_radiograph(spec: RadiographSpec) -> tuple[np.ndarray, float]:
    """Render ``spec`` to a stored-pixel image.

    Returns
    -------
    pixels : numpy.ndarray of uint16, shape (256, 256)
        Stored values in [0, 4095]; MONOCHROME1 (inverted) when the detector stores so.
    pixel_spacing_mm : float
        The detector's pixel pitch in mm (rows and columns).
    """
    det = DETECTORS[spec.detector]
    rng = np.random.default_rng([spec.seed, spec.index, 0xD15])
    n = SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    # body: soft-tissue ellipse, wider for men; attenuation signal in [0, ~1.2]
    body_rx = n * (0.46 if spec.sex == "M" else 0.42)
    body = np.clip(1.0 - _ellipse(yy, xx, n * 0.55, n * 0.5, n * 0.62, body_rx), 0.0, None) ** 0.35
    signal = 0.55 * body
    # lung fields: two lucent ellipses
    lung_ry, lung_rx = n * 0.29, n * (0.15 if spec.sex == "F" else 0.165)
    centres = {"right": (n * 0.47, n * 0.31), "left": (n * 0.47, n * 0.69)}  # patient right = image left (PA)
    lungs = np.zeros_like(signal)
    for cy, cx in centres.values():
        lungs = np.maximum(lungs, np.clip(1.0 - _ellipse(yy, xx, cy, cx, lung_ry, lung_rx), 0.0, None) ** 0.5)
    texture = ndimage.gaussian_filter(rng.standard_normal((n, n)), 2.0)
    texture = texture / (np.abs(texture).max() + 1e-12)
    signal = signal - 0.38 * lungs + 0.06 * lungs * np.abs(texture)
    # heart and mediastinum
    heart_r = n * (0.13 + 0.0006 * (spec.age - 18))
    heart = np.clip(1.0 - _ellipse(yy, xx, n * 0.6, n * 0.55, heart_r * 0.9, heart_r), 0.0, None) ** 0.4
    mediastinum = np.clip(1.0 - _ellipse(yy, xx, n * 0.4, n * 0.5, n * 0.3, n * 0.05), 0.0, None) ** 0.4
    signal = signal + 0.32 * np.maximum(heart, mediastinum)
    # ribs: curved bright bands across each lung; clavicles near the top
    ribs = np.zeros_like(signal)
    for k in range(9):
        y0 = n * (0.2 + 0.065 * k)
        for sign in (-1.0, 1.0):
            xc = n * 0.5 + sign * n * 0.2
            curve = y0 + 0.004 * (xx - xc) ** 2 / (n / 256) - 0.02 * n
            band = np.exp(-0.5 * ((yy - curve) / (n * 0.009)) ** 2)
            ribs += band * (np.sign(xx - n * 0.5) == sign) * (np.abs(xx - xc) < n * 0.22)
    clav = np.exp(-0.5 * ((yy - (n * 0.17 + 0.08 * np.abs(xx - n * 0.5))) / (n * 0.012)) ** 2)
    signal = signal + 0.13 * np.minimum(ribs, 1.0) * body + 0.15 * clav * (np.abs(xx - n * 0.5) < n * 0.3) * body
    # finding
    cy, cx = centres[spec.side]
    top, left = cy - lung_ry, cx - lung_rx
    if spec.finding == "nodule":
        r_px = spec.finding_size_mm / det.pixel_spacing_mm / 2.0
        fy = top + spec.finding_position[0] * 2 * lung_ry
        fx = left + spec.finding_position[1] * 2 * lung_rx
        blob = np.clip(1.0 - ((yy - fy) ** 2 + (xx - fx) ** 2) / r_px**2, 0.0, None) ** 0.6
        signal = signal + spec.finding_contrast * blob * 0.55
    elif spec.finding == "pneumothorax":
        # pleural line parallel to the lateral apex, lucent rim without markings beyond it
        d = np.sqrt(np.clip(_ellipse(yy, xx, cy, cx, lung_ry, lung_rx), 0.0, None))  # 1 at the lung edge
        rim = spec.finding_size_mm / det.pixel_spacing_mm / lung_rx
        lateral = (xx < cx) if spec.side == "right" else (xx > cx)
        upper = yy < cy + lung_ry * (0.1 + spec.finding_position[0])
        zone = lateral & upper & (d <= 1.0)
        beyond = zone & (d > 1.0 - rim)
        line = zone & (np.abs(d - (1.0 - rim)) < 0.012)
        signal = np.where(beyond, signal - 0.06 * lungs * np.abs(texture) - 0.05, signal)
        signal = signal + 0.1 * line
    signal = ndimage.gaussian_filter(signal, det.blur_px)
    stored = det.offset + det.gain * spec.exposure * signal
    stored = stored + det.noise * rng.standard_normal((n, n))
    stored = np.clip(np.rint(stored), 0, _MAX_STORED)
    if det.monochrome1:
        stored = _MAX_STORED - stored
    return stored.astype(np.uint16), det.pixel_spacing_mm
