"""Render a `CaseSpec` into a CT volume (HU, int16) and its reference nodule mask.

Geometry: axial slices, 64 x 64 pixels of 1.5 mm (96 mm field of view: a miniature chest, not
to scale), contiguous slices of the case's thickness covering 72 mm. Each slice integrates
sub-planes 0.5 mm apart across its thickness (partial volume), then the vendor's in-plane PSF /
sharpening and correlated noise (SD scaled by 1/sqrt(dose x thickness)) are applied.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from samd_core import Volume
from reference_devices.phantom._spec import (
    DOSES,
    LUNG_CENTRE_Y,
    LUNG_CENTRES_X,
    LUNG_SEMI,
    VENDORS,
    Z_EXTENT_MM,
    CaseSpec,
)

__all__ = ["MATRIX", "PIXEL_MM", "render_case"]

MATRIX = 64
PIXEL_MM = 1.5
_SUB_MM = 0.5
HU_AIR, HU_FAT, HU_SOFT, HU_LUNG, HU_BONE, HU_VESSEL, HU_GGO = -1000.0, -100.0, 40.0, -850.0, 700.0, 40.0, -550.0


def _grid(spec: CaseSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    t = spec.slice_thickness_mm
    n_z = int(math.ceil(Z_EXTENT_MM / t))
    xy = (np.arange(MATRIX) - (MATRIX - 1) / 2.0) * PIXEL_MM
    z_centres = t / 2.0 + np.arange(n_z) * t
    return xy, xy, z_centres, n_z


def _vessels(spec: CaseSpec) -> list[tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(spec.vessel_seed)
    s = spec.body_scale
    out = []
    for side in (0, 1):
        cx = LUNG_CENTRES_X[side] * s
        hilum = np.array([cx * 0.45, LUNG_CENTRE_Y, Z_EXTENT_MM / 2.0])
        for _ in range(6):
            while True:
                u = rng.uniform(-1.0, 1.0, 3)
                if float(u @ u) <= 1.0:
                    break
            end = np.array([cx, LUNG_CENTRE_Y, Z_EXTENT_MM / 2.0]) + 0.8 * u * np.array(LUNG_SEMI) * (s, s, 1.0)
            out.append((hilum, end, float(rng.uniform(0.7, 1.8))))
    return out


def _seg_dist(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    tt = np.clip(((p - a) @ ab) / float(ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + tt[..., None] * ab), axis=-1)


def _render_fine(spec: CaseSpec, zs: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HU and nodule indicator on the fine grid ``(len(zs), len(ys), len(xs))``."""
    s = spec.body_scale
    zz, yy, xx = np.meshgrid(zs, ys, xs, indexing="ij")
    hu = np.full(zz.shape, HU_AIR)
    hu[(xx / (45.0 * s)) ** 2 + (yy / (36.0 * s)) ** 2 <= 1.0] = HU_FAT
    hu[(xx / (42.0 * s)) ** 2 + (yy / (33.0 * s)) ** 2 <= 1.0] = HU_SOFT
    hu[(xx**2 + (yy - 27.0 * s) ** 2) <= (6.0 * s) ** 2] = HU_BONE
    lung = np.zeros(zz.shape, dtype=bool)
    for cx in LUNG_CENTRES_X:
        lung |= ((xx - cx * s) / (LUNG_SEMI[0] * s)) ** 2 + ((yy - LUNG_CENTRE_Y) / (LUNG_SEMI[1] * s)) ** 2 + (
            (zz - Z_EXTENT_MM / 2.0) / LUNG_SEMI[2]
        ) ** 2 <= 1.0
    hu[lung] = HU_LUNG
    for a, b, r in _vessels(spec):
        lo, hi = np.minimum(a, b) - r, np.maximum(a, b) + r
        iz = np.nonzero((zs >= lo[2]) & (zs <= hi[2]))[0]
        iy = np.nonzero((ys >= lo[1]) & (ys <= hi[1]))[0]
        ix = np.nonzero((xs >= lo[0]) & (xs <= hi[0]))[0]
        if not (iz.size and iy.size and ix.size):
            continue
        box = (slice(iz[0], iz[-1] + 1), slice(iy[0], iy[-1] + 1), slice(ix[0], ix[-1] + 1))
        pts = np.stack([xx[box], yy[box], zz[box]], axis=-1)
        sub = hu[box]
        sub[lung[box] & (_seg_dist(pts, a, b) <= r)] = HU_VESSEL
    nod = np.zeros(zz.shape, dtype=bool)
    for n in spec.nodules:
        d2 = (xx - n.centre_lps_mm[0]) ** 2 + (yy - n.centre_lps_mm[1]) ** 2 + (zz - n.centre_lps_mm[2]) ** 2
        inside = d2 <= (n.diameter_mm / 2.0) ** 2
        core = d2 <= (n.core_fraction * n.diameter_mm / 2.0) ** 2
        hu[inside] = np.where(core[inside], n.solid_hu, HU_GGO)
        nod |= inside
    return hu, nod


def render_case(spec: CaseSpec) -> tuple[Volume, Volume]:
    """CT (int16 HU) and reference mask (uint8, 1 = nodule) on the acquisition grid.

    The mask marks voxels whose slice-profile sub-planes are at least half inside a nodule; a
    nodule too small to reach that anywhere marks the one voxel containing its centre.
    """
    xs, ys, z_centres, n_z = _grid(spec)
    t = spec.slice_thickness_mm
    n_sub = max(1, int(round(t / _SUB_MM)))
    zs = (np.arange(n_z * n_sub) + 0.5) * (t / n_sub)
    fine, nod = _render_fine(spec, zs, xs, ys)
    ct = fine.reshape(n_z, n_sub, MATRIX, MATRIX).mean(axis=1)
    frac = nod.reshape(n_z, n_sub, MATRIX, MATRIX).mean(axis=1)
    n_sub = 1
    mask = (frac / n_sub >= 0.5).astype(np.uint8)
    origin = (float(xs[0]), float(ys[0]), float(z_centres[0]))
    for n in spec.nodules:
        k = int(np.clip(np.floor(n.centre_lps_mm[2] / t), 0, n_z - 1))
        j = int(np.clip(round((n.centre_lps_mm[1] - ys[0]) / PIXEL_MM), 0, MATRIX - 1))
        i = int(np.clip(round((n.centre_lps_mm[0] - xs[0]) / PIXEL_MM), 0, MATRIX - 1))
        lo = np.maximum([k - 1, j - 1, i - 1], 0)
        if not mask[lo[0] : k + 2, lo[1] : j + 2, lo[2] : i + 2].any():
            mask[k, j, i] = 1
    sc = VENDORS[spec.vendor]
    px = PIXEL_MM
    blurred = ndimage.gaussian_filter(ct, sigma=(0.0, sc.psf_sigma_mm / px, sc.psf_sigma_mm / px), mode="nearest")
    if sc.sharpen:
        wide = ndimage.gaussian_filter(blurred, sigma=(0.0, 1.5, 1.5), mode="nearest")
        blurred = blurred + sc.sharpen * (blurred - wide)
    rng = np.random.default_rng(spec.noise_seed)
    white = rng.standard_normal(ct.shape)
    g = sc.noise_grain_mm / px
    corr = ndimage.gaussian_filter(white, sigma=(0.0, g, g), mode="wrap")
    # SD of white noise after a 2-D Gaussian filter of sigma g (pixels): 1 / (2 sqrt(pi) g)
    corr *= 2.0 * math.sqrt(math.pi) * g
    sd = sc.noise_hu / math.sqrt(DOSES[spec.dose] * t)
    body_region = ct > -990.0
    img = blurred + sd * corr * np.where(body_region, 1.0, 0.3)
    img = np.clip(np.rint(img), -1024, 3071).astype(np.int16)
    meta = {
        "modality": "CT",
        "manufacturer": sc.name,
        "convolution_kernel": sc.kernel,
        "slice_thickness_mm": t,
        "source": spec.case_id,
    }
    spacing = (t, px, px)
    return Volume(img, spacing, origin, meta=meta), Volume(mask, spacing, origin, meta={"source": spec.case_id})
