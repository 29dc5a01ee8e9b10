"""Procedural chest-CT phantom (the reference device's data): deterministic from a seed.

Bodies, lungs (about -850 HU), vessels and solid / part-solid nodules of 3-30 mm, three scanner
"vendors" differing in reconstruction kernel and noise texture, slice thickness 1-5 mm, two dose
levels, and subgroup attributes (site, vendor, slice thickness, sex, age). Synthetic data for
demonstrating and testing the validation workflow only. See ``docs/bundle.md``.
"""

from reference_devices.phantom._cohort import LESION_COLUMNS, MANIFEST_COLUMNS, PhantomCase, generate_cases, series_sha256, write_cohort
from reference_devices.phantom._render import MATRIX, PIXEL_MM, render_case
from reference_devices.phantom._spec import GENERATOR_VERSION, SITES, VENDORS, CaseSpec, Nodule, Scanner, sample_case

__all__ = [
    "LESION_COLUMNS",
    "GENERATOR_VERSION",
    "MANIFEST_COLUMNS",
    "MATRIX",
    "PIXEL_MM",
    "SITES",
    "VENDORS",
    "CaseSpec",
    "Nodule",
    "PhantomCase",
    "Scanner",
    "generate_cases",
    "render_case",
    "sample_case",
    "series_sha256",
    "write_cohort",
]
