"""Synthetic chest radiographs for the second reference device (a 2-D triage classifier)."""

from reference_devices.radiograph._cohort import MANIFEST_COLUMNS, generate_specs, write_radiograph_cohort
from reference_devices.radiograph._render import (
    DETECTORS,
    GENERATOR_VERSION,
    SITES,
    Detector,
    RadiographSpec,
    render_radiograph,
    sample_radiograph,
)

__all__ = [
    "DETECTORS",
    "GENERATOR_VERSION",
    "MANIFEST_COLUMNS",
    "SITES",
    "Detector",
    "RadiographSpec",
    "generate_specs",
    "render_radiograph",
    "sample_radiograph",
    "write_radiograph_cohort",
]
