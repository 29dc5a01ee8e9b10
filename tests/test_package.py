"""Package-level checks: layout, import direction, CLI entry point."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import samd_core
from samd_core import Volume

ROOT = pathlib.Path(__file__).resolve().parents[1]
# package -> packages it must never import (the design's import direction)
FORBIDDEN = {
    "samd_core": {"validation", "clinical_eval", "risk", "reference_devices", "samd", "pandas", "mlflow", "jinja2"},
    "validation": {"clinical_eval", "risk", "reference_devices", "samd"},
    "clinical_eval": {"risk", "reference_devices", "samd"},
    "risk": {"reference_devices", "samd"},
    # synthetic data, reference-model training and the demo: only the CLI and the tests use them
    "reference_devices": {"samd"},
}


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_direction(package: str) -> None:
    bad = []
    for py in sorted((ROOT / package).rglob("*.py")):
        hit = _imports(py) & FORBIDDEN[package]
        if hit:
            bad.append(f"{py.relative_to(ROOT)} imports {sorted(hit)}")
    assert not bad, "import direction violated:\n" + "\n".join(bad)


def _private_imports_of_other_packages(path: pathlib.Path, package: str, root: pathlib.Path = ROOT) -> list[str]:
    """``X._y`` modules (or ``_y`` names) imported from a top-level package ``X`` other than ``package``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods = [(node.module, [a.name for a in node.names])]
        else:
            continue
        for mod, names in mods:
            parts = mod.split(".")
            if parts[0] not in FORBIDDEN or parts[0] == package:
                continue
            private = [p for p in parts[1:] if p.startswith("_") and not p.startswith("__")]
            private += [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                out.append(f"{path.relative_to(root)}:{node.lineno} imports {mod} ({', '.join(private)})")
    return out


@pytest.mark.parametrize("package", sorted([*FORBIDDEN, "samd"]))
def test_no_private_module_of_another_package(package: str) -> None:
    """Packages talk through public names only: never ``from <other>._module import``."""
    bad = [hit for py in sorted((ROOT / package).rglob("*.py")) for hit in _private_imports_of_other_packages(py, package)]
    assert not bad, "private module of another package imported:\n" + "\n".join(bad)


def test_private_import_rule_catches_a_violation(tmp_path: pathlib.Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from validation.stats._results import Estimate\nfrom samd_core import _version\n"
                     "import clinical_eval.mrmc._fom\nfrom risk._soup import x\nfrom validation.stats import Estimate\n",
                     encoding="utf-8")
    hits = _private_imports_of_other_packages(probe, "risk", root=tmp_path)
    assert [h.split(" imports ")[1] for h in hits] == [
        "validation.stats._results (_results)", "samd_core (_version)", "clinical_eval.mrmc._fom (_fom)"]


def test_core_imports_without_heavy_packages() -> None:
    code = (
        "import sys, samd_core, samd_core.volume; "
        "bad = [m for m in ('pandas', 'mlflow', 'jinja2') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_cli_version() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "samd", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr
    assert samd_core.__version__ in res.stdout


def test_volume_sitk_roundtrip_identity_direction() -> None:
    import numpy as np
    import SimpleITK as sitk

    img = sitk.Image(5, 4, 3, sitk.sitkInt16)  # x=5, y=4, z=3
    img.SetSpacing((0.5, 0.7, 2.5))
    img.SetOrigin((-10.0, 20.0, 30.0))
    vol = Volume.from_sitk(img)
    assert vol.shape == (3, 4, 5)
    assert vol.spacing == (2.5, 0.7, 0.5)
    # array axis 0 (slices) runs along +S, axis 2 (columns) along +L
    assert np.allclose(vol.direction_matrix[:, 0], (0, 0, 1))
    assert np.allclose(vol.direction_matrix[:, 2], (1, 0, 0))
    back = vol.to_sitk()
    assert back.GetSpacing() == img.GetSpacing()
    assert back.GetOrigin() == img.GetOrigin()
    assert back.GetDirection() == img.GetDirection()
    # physical point of index (k, j, i) agrees with ITK's (i, j, k)
    p = vol.index_to_physical([2, 1, 3])
    assert np.allclose(p, img.TransformIndexToPhysicalPoint((3, 1, 2)))
