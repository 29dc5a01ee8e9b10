"""Shared pytest configuration: Hypothesis profiles, skip rules for optional tools."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, settings

# "ci": derandomized so that a CI run is reproducible; "dev": random exploration.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# traceability (`verifies` markers -> JUnit properties): the plugin samd ships to products
pytest_plugins = ["risk.pytest_plugin", "pytester"]

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")


def r_has_package(pkg: str) -> bool:
    """True when Rscript exists and can load ``pkg``."""
    if shutil.which("Rscript") is None:
        return False
    res = subprocess.run(
        ["Rscript", "-e", f"suppressMessages(library({pkg}))"],
        capture_output=True,
        timeout=120,
    )
    return res.returncode == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    have_r = shutil.which("Rscript") is not None
    have_dciodvfy = shutil.which("dciodvfy") is not None
    for item in items:
        if "needs_r" in item.keywords and not have_r:
            item.add_marker(pytest.mark.skip(reason="Rscript not installed (scripts/bootstrap.sh installs it)"))
        if "external_tools" in item.keywords and not have_dciodvfy:
            item.add_marker(pytest.mark.skip(reason="dicom3tools not installed (scripts/bootstrap.sh installs it)"))
