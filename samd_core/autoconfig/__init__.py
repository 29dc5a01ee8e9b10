"""Auto-configuration (the nnU-Net idea): dataset fingerprint -> hashed, plain-data training plan."""

from samd_core.autoconfig._fingerprint import DatasetFingerprint, IntensityStats, fingerprint_from_cases
from samd_core.autoconfig._plan import ANISOTROPY_RATIO, Plan, estimate_memory_mb, make_plan

__all__ = [
    "ANISOTROPY_RATIO",
    "DatasetFingerprint",
    "IntensityStats",
    "Plan",
    "estimate_memory_mb",
    "fingerprint_from_cases",
    "make_plan",
]
