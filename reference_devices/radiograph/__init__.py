"""Synthetic chest radiographs for the second reference device (a 2-D triage classifier)."""

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
    "SITES",
    "Detector",
    "RadiographSpec",
    "render_radiograph",
    "sample_radiograph",
]
