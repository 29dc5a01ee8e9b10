"""Packaging: the base install is exactly the core's dependencies; the rest are named extras.

* The base dependencies of ``pyproject.toml`` equal the distributions that own the third-party
  modules ``samd_core`` imports (AST scan, imports inside functions included), plus pydicom's
  pixel-data decoder plugins. The module -> distribution mapping comes from the installed
  environment (`importlib.metadata.packages_distributions`), not from samd.
* Every other package's imports are covered by base + its extra, and `validation.extras` agrees
  with ``pyproject.toml``.
* Without its extra, importing a package fails with one line naming the extra.
* A fresh virtual environment with only the core installed loads, verifies and runs both shipped
  reference bundles (slow).
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from validation.extras import EXTRA_MODULES

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FIRST_PARTY = {"samd_core", "validation", "clinical_eval", "risk", "reference_devices", "samd"}
#: decoders pydicom loads as plugins for compressed pixel data (``ds.pixel_array``): never imported
#: by name, so no AST scan can find them, yet the core needs them to read JPEG / JPEG 2000 / RLE DICOM.
PYDICOM_PLUGINS = {"pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "python-gdcm"}
#: modules imported only by the pytest plugin entry point (extra ``test``).
TEST_ONLY_MODULES = {"pytest"}


def _third_party_imports(package: str) -> set[str]:
    out: set[str] = set()
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.add(node.module.split(".")[0])
    return {m for m in out if m not in sys.stdlib_module_names and m not in FIRST_PARTY and m != "__future__"}


def _providers(modules: set[str]) -> dict[str, set[str]]:
    """Module -> the installed distributions that provide it (e.g. mlflow: mlflow, mlflow-skinny)."""
    mapping = importlib.metadata.packages_distributions()
    missing = sorted(m for m in modules if m not in mapping)
    assert not missing, f"no installed distribution provides {missing}"
    return {m: {canonicalize_name(d) for d in mapping[m]} for m in modules}


def _uncovered(modules: set[str], allowed: set[str]) -> dict[str, set[str]]:
    return {m: p for m, p in _providers(modules).items() if not p & allowed}


def _names(reqs: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in reqs if Requirement(r).name != "samd"}


BASE = _names(PYPROJECT["project"]["dependencies"])
EXTRAS = {k: _names(v) for k, v in PYPROJECT["project"]["optional-dependencies"].items()}


def test_core_imports_found_by_scan_include_lazy_ones() -> None:
    # guards the scan itself: these are imported only inside functions of samd_core
    mods = _third_party_imports("samd_core")
    assert {"onnxruntime", "highdicom", "torch", "yaml", "PIL"} <= mods


def test_base_dependencies_are_exactly_the_core_imports() -> None:
    providers = _providers(_third_party_imports("samd_core"))
    assert _uncovered(set(providers), BASE) == {}, "core imports missing from the base dependencies"
    used = PYDICOM_PLUGINS.union(*providers.values())
    assert BASE - used == set(), "base dependencies the core does not import (move them to an extra)"


@pytest.mark.parametrize(
    ("package", "extras"),
    [
        ("validation", ("validation",)),
        ("clinical_eval", ("validation",)),
        ("samd", ("validation",)),
        ("reference_devices", ("validation",)),
        ("risk", ("validation", "report")),
    ],
)
def test_other_packages_are_covered_by_their_extras(package: str, extras: tuple[str, ...]) -> None:
    allowed = BASE.union(*(EXTRAS[e] for e in extras))
    assert _uncovered(_third_party_imports(package) - TEST_ONLY_MODULES, allowed) == {}


def test_extras_exist_and_all_is_everything() -> None:
    assert {"validation", "report", "all", "test"} <= set(EXTRAS)
    all_reqs = PYPROJECT["project"]["optional-dependencies"]["all"]
    assert [Requirement(r).extras for r in all_reqs] == [{"validation", "report"}]
    assert "samd[validation]" in PYPROJECT["project"]["optional-dependencies"]["report"]
    assert EXTRAS["validation"] & BASE == set() and EXTRAS["report"] & BASE == set()


@pytest.mark.parametrize("extra", sorted(EXTRA_MODULES))
def test_guard_table_matches_pyproject(extra: str) -> None:
    providers = _providers(set(EXTRA_MODULES[extra]))
    # every module of the guard is provided by a distribution of the extra, and vice versa
    assert _uncovered(set(providers), EXTRAS[extra]) == {}
    assert EXTRAS[extra] - set().union(*providers.values()) == set()


def _import_without(statement: str, blocked: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys\nsys.modules[{blocked!r}] = None\n{statement}\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


@pytest.mark.parametrize(
    ("statement", "blocked", "expected"),
    [
        ("import validation", "pandas", "samd's validation package needs the extra 'validation': pip install 'samd[validation]' (missing: pandas)"),
        ("import validation", "mlflow", "samd's validation package needs the extra 'validation': pip install 'samd[validation]' (missing: mlflow)"),
        ("import clinical_eval", "pandas", "needs the extra 'validation': pip install 'samd[validation]' (missing: pandas)"),
        ("import samd.cli", "click", "needs the extra 'validation': pip install 'samd[validation]' (missing: click)"),
        ("from risk import check_traceability", "jinja2", "samd's risk package needs the extra 'report': pip install 'samd[report]' (missing: jinja2)"),
        ("import risk; risk.sbom_json", "weasyprint", "samd's risk package needs the extra 'report': pip install 'samd[report]' (missing: weasyprint)"),
    ],
)
def test_missing_extra_gives_one_line_naming_it(statement: str, blocked: str, expected: str) -> None:
    proc = _import_without(statement, blocked)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ") and expected in last, proc.stderr[-2000:]


@pytest.mark.parametrize("blocked", ["jinja2", "pandas"])
def test_pytest_plugin_loads_without_extras(blocked: str) -> None:
    # the pytest11 entry point must not break a product's test suite when only the core is installed
    proc = _import_without("import risk.pytest_plugin, risk\nassert risk.__version__", blocked)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_core_imports_without_any_extra() -> None:
    code = "import sys\nfor m in ('pandas', 'mlflow', 'jinja2', 'click'):\n    sys.modules[m] = None\nimport samd_core, samd_core.bundle, samd_core.qualification\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


# --- a fresh virtual environment with the core alone -------------------------------------------

def _closure(roots: set[str]) -> list[importlib.metadata.Distribution]:
    """Installed distributions needed by `roots` (their requirements, recursively, no extras)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = sorted(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        dist = importlib.metadata.distribution(name)
        seen[name] = dist
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return [seen[k] for k in sorted(seen)]


def _copy_distribution(dist: importlib.metadata.Distribution, site: pathlib.Path) -> None:
    """Copy one installed distribution (the files of its RECORD, console scripts excluded)."""
    for f in dist.files or []:
        rel = pathlib.PurePosixPath(str(f))
        if rel.parts[0] == ".." or "__pycache__" in rel.parts:
            continue
        src = pathlib.Path(dist.locate_file(f))
        if not src.is_file():
            continue
        dst = site / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


VENV_SCRIPT = textwrap.dedent(
    """
    import importlib, json, pathlib, sys
    import numpy as np
    import samd_core
    assert pathlib.Path(samd_core.__file__).is_relative_to(pathlib.Path(sys.prefix)), samd_core.__file__
    for name in ("pandas", "mlflow", "click", "matplotlib", "weasyprint"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{name} is importable in a core-only install")
    try:
        import validation
    except ImportError as exc:
        guard = str(exc)
    else:
        raise SystemExit("validation imported without its extra")
    import risk  # the package of the pytest11 plugin imports; its names need the extra
    try:
        risk.soup_list
    except ImportError as exc:
        assert "pip install 'samd[" in str(exc), exc
    else:
        raise SystemExit("risk usable without its extra")
    from samd_core import load_locked
    from samd_core.bundle import decode_goldens, decode_reference_inputs, platform_id, read_verified_files
    from samd_core.qualification import release_public_key, run_qualification, shipped_bundles
    key = release_public_key()
    bundles = shipped_bundles()
    assert key is not None and sorted(b.name for b in bundles) == ["cxr_triage_v1", "nodule_v1"], bundles
    out = {"guard": guard, "bundles": {}}
    for b in bundles:
        model = load_locked(b, public_key=key)
        assert model.signature_verified
        contents, _, sha = read_verified_files(b, public_key=key, require_signature=True, expected_sha256=None)
        cases = decode_reference_inputs(contents["reference/inputs.safetensors"], contents["reference/inputs.json"])
        golden, doc = decode_goldens(contents["reference/golden.safetensors"], contents["reference/golden.json"])
        worst = 0.0
        for cid, vol in cases.items():
            arr = model.predict(vol).golden_array()
            worst = max(worst, float(np.max(np.abs(arr.astype(np.float64) - golden[cid].astype(np.float64)))))
        out["bundles"][b.name] = {"cases": len(cases), "max_abs_difference": worst,
                                  "same_platform": doc.get("platform") == platform_id()}
    record = run_qualification(lock_path=None, bundles=bundles, public_key=key)
    out["checks"] = {c.name: c.passed for c in record.checks}
    # jinja2 may be installed (torch requires it) but the core never imports it
    out["loaded"] = sorted(m for m in ("pandas", "mlflow", "jinja2", "click") if sys.modules.get(m))
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_core_alone_in_a_fresh_venv_runs_both_reference_bundles(tmp_path: pathlib.Path) -> None:
    # 1. the samd wheel, built offline from the sources (no build isolation: setuptools is here)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in sorted(FIRST_PARTY):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(wheels), str(src)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    # 2. a fresh venv (no system site-packages) holding only the base dependencies' closure,
    #    copied file by file from the installed distributions (wheels of installed distributions
    #    cannot be rebuilt offline; their RECORD lists exactly their files)
    venv = tmp_path / "venv"
    # without pip: the closure brings setuptools (torch requires it); pip runs from outside (--python)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True, timeout=300)
    py = venv / "bin" / "python"
    site = pathlib.Path(subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    closure = _closure(BASE)
    copied = {canonicalize_name(d.metadata["Name"]) for d in closure}
    assert copied.isdisjoint({"pandas", "mlflow", "click", "scikit-learn", "matplotlib", "weasyprint"}), copied
    # jinja2 is the one exception: torch itself requires it (torch's own metadata says so)
    if "jinja2" in copied:
        assert "jinja2" in {canonicalize_name(Requirement(r).name) for r in importlib.metadata.distribution("torch").requires or []}
    for dist in closure:
        _copy_distribution(dist, site)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # 3. pip installs samd with no extras, offline: it must find every base dependency satisfied
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-index", "--find-links", str(wheels), "samd"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    check = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "check"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    # 4. in that venv: the core alone verifies and runs both shipped bundles
    proc = subprocess.run([str(py), "-c", VENV_SCRIPT], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    import json

    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "needs the extra 'validation'" in out["guard"] and "pandas" in out["guard"]
    assert sorted(out["bundles"]) == ["cxr_triage_v1", "nodule_v1"]
    for rec in out["bundles"].values():
        assert rec["cases"] > 0
        assert rec["max_abs_difference"] == 0.0 if rec["same_platform"] else rec["max_abs_difference"] <= 1e-5
    assert out["checks"]["OQ-bundle:nodule_v1"] and out["checks"]["OQ-bundle:cxr_triage_v1"], out["checks"]
    assert out["checks"]["IQ-core-fingerprint"], out["checks"]
    assert out["loaded"] == [], out["loaded"]


def test_package_data_covers_every_shipped_file() -> None:
    # e.g. the shipped bundles' model.onnx, manifest.sig and the release public key
    import fnmatch

    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["*"]
    tracked = subprocess.run(["git", "ls-files", *sorted(FIRST_PARTY)], capture_output=True, text=True, cwd=ROOT, check=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    unshipped = [f for f in tracked if not f.endswith(".py") and not any(fnmatch.fnmatch(pathlib.PurePosixPath(f).name, p) for p in patterns)]
    assert unshipped == []


def test_cli_command_without_its_extra_is_one_line_exit_2() -> None:
    statement = "from samd.cli import main\nsys.argv = ['samd', 'risk', 'soup', '--lock', 'requirements.lock']\nmain()"
    proc = _import_without(statement, "jinja2")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'samd[report]' (missing: jinja2)" in lines[0], proc.stderr[-2000:]
