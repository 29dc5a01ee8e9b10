"""Every series the io tests write passes dicom3tools: dciodvfy per file, dcentvfy per folder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from samd_core import Volume
from samd_core.io import write_dicom_series
from tests.io.io_factory import FAKE_PATIENT, INV3, INV3_SKIP, VARIANTS, cranium_slab, dciodvfy_errors, make_variant


def _dcentvfy(files: list[Path]) -> str:
    if shutil.which("dcentvfy") is None:
        return ""
    res = subprocess.run(["dcentvfy", *map(str, files)], capture_output=True, text=True, timeout=120)
    errors = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.startswith("Error")]
    return "" if res.returncode == 0 and not errors else f"exit {res.returncode}: {errors[:3]}"


@pytest.mark.external_tools
@pytest.mark.verifies("SRS-IO-014")
@pytest.mark.skipif(not INV3.exists(), reason=INV3_SKIP)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_io_test_series_pass_dciodvfy(variant: str, tmp_path: Path) -> None:
    files = make_variant(variant, cranium_slab(), tmp_path / variant)
    assert files
    assert dciodvfy_errors(files) == []
    if variant != "mixed":  # dcentvfy checks one series' entity consistency
        assert _dcentvfy(files) == ""


@pytest.mark.external_tools
@pytest.mark.verifies("SRS-IO-014")
@pytest.mark.parametrize("modality", ["CT", "MR"])
@pytest.mark.parametrize("transfer_syntax", ["explicit", "implicit", "rle", "jpeg2000"])
def test_io_writer_options_pass_dciodvfy(modality: str, transfer_syntax: str, tmp_path: Path) -> None:
    """Synthetic data (no Debian data needed): every modality x transfer syntax, oblique geometry."""
    rng = np.random.default_rng(2)
    arr = rng.integers(0, 3000, size=(3, 33, 32)).astype(np.int16)
    c, s = np.cos(0.3), np.sin(0.3)
    direction = ((0.0, 0.0, 1.0), (s, c, 0.0), (c, -s, 0.0))  # rotated about z, columns orthonormal
    vol = Volume(arr if modality == "MR" else arr - 1024, (2.5, 0.6, 0.6), (10.0, -5.0, 30.0), direction)
    files = write_dicom_series(vol, tmp_path, modality=modality, transfer_syntax=transfer_syntax,
                               patient=FAKE_PATIENT, gantry_tilt_deg=7.0 if modality == "CT" else 0.0)
    assert dciodvfy_errors(files) == []
    assert _dcentvfy(files) == ""
