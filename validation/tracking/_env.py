"""Environment freeze: what ran, where (OS, Python, package versions)."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from typing import Any

from samd_core import __version__

__all__ = ["environment_info", "key_package_versions"]

_KEY_PACKAGES = ("numpy", "scipy", "pandas", "mlflow", "torch", "scikit-learn", "statsmodels",
                 "matplotlib", "pyyaml", "jsonschema", "cryptography")


def key_package_versions() -> dict[str, str]:
    """Versions of the packages that determine the numbers (missing ones omitted)."""
    out = {}
    for name in _KEY_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def environment_info() -> dict[str, Any]:
    """Platform, Python, samd version and every installed distribution with its version."""
    dists = sorted(
        {(d.metadata["Name"] or "").lower(): d.version for d in importlib.metadata.distributions()
         if d.metadata["Name"]}.items()
    )
    return {
        "samd_version": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": dict(dists),
    }
