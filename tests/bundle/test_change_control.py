"""Change control of the locked core (SRS-BUNDLE-020..021).

Fails when a file under samd_core/ changed but the released fingerprint, the version and a
CHANGELOG entry were not updated together. Fix: `python scripts/release_core.py --version X.Y.Z`
(see docs/bundle.md, "Release procedure").
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil

import pytest

from samd_core.fingerprint import RELEASED_FILENAME, core_files, core_fingerprint
from samd_core.qualification import change_control_findings, changelog_sections

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.verifies("SRS-BUNDLE-020")
def test_core_change_control() -> None:
    findings = change_control_findings(ROOT)
    assert not findings, "change control of samd_core:\n- " + "\n- ".join(findings)


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> pathlib.Path:
    dst = tmp_path / "repo"
    shutil.copytree(ROOT / "samd_core", dst / "samd_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "CHANGELOG.md", dst / "CHANGELOG.md")
    return dst


@pytest.mark.verifies("SRS-BUNDLE-020")
def test_change_control_detects_each_missing_update(repo: pathlib.Path) -> None:
    assert change_control_findings(repo) == []
    with open(repo / "samd_core" / "errors.py", "a", encoding="utf-8") as fh:
        fh.write("\n# edit\n")
    (f,) = change_control_findings(repo)
    assert "samd_core changed since the released fingerprint" in f
    # record the new fingerprint but forget the version
    rec = json.loads((repo / "samd_core" / RELEASED_FILENAME).read_text())
    rec["releases"].append({"version": "9.9.9", "fingerprint": core_fingerprint(repo / "samd_core")})
    (repo / "samd_core" / RELEASED_FILENAME).write_text(json.dumps(rec))
    (f,) = change_control_findings(repo)
    assert "_version.py says" in f
    # bump the version (changes the fingerprint again) and re-record, but no changelog entry
    v = repo / "samd_core" / "_version.py"
    lines = v.read_text().splitlines()
    v.write_text("\n".join('__version__ = "9.9.9"' if ln.startswith("__version__") else ln for ln in lines) + "\n")
    rec["releases"][-1]["fingerprint"] = core_fingerprint(repo / "samd_core")
    (repo / "samd_core" / RELEASED_FILENAME).write_text(json.dumps(rec))
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n- docs only\n")
    findings = change_control_findings(repo)
    assert any("CHANGELOG.md has neither" in f for f in findings)
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [9.9.9] - 2026-01-01\n\n- samd_core: edit\n")
    bundle_findings = [f for f in change_control_findings(repo) if "shipped bundle" in f]
    other = [f for f in change_control_findings(repo) if "shipped bundle" not in f]
    assert other == []
    assert len(bundle_findings) == len([p for p in (repo / "samd_core" / "bundles").iterdir() if p.is_dir()])


@pytest.mark.verifies("SRS-BUNDLE-021")
def test_fingerprint_canonical_order_closed_form() -> None:
    """Recompute the fingerprint by the documented rule, independently of the implementation."""
    core = ROOT / "samd_core"
    names = []
    for p in core.rglob("*"):
        rel = p.relative_to(core).as_posix()
        if (
            p.is_file()
            and p.suffix in {".py", ".pyi", ".json", ".yaml", ".yml", ".typed"}
            and "__pycache__" not in rel
            and not rel.startswith("bundles/")
            and rel != RELEASED_FILENAME
        ):
            names.append(rel)
    names.sort(key=str.encode)
    assert core_files() == names
    h = hashlib.sha256()
    for n in names:
        h.update(n.encode() + b"\0" + hashlib.sha256((core / n).read_bytes()).hexdigest().encode() + b"\n")
    assert core_fingerprint() == h.hexdigest()
    assert "fingerprint.py" in names and "_version.py" in names and RELEASED_FILENAME not in names


@pytest.mark.verifies("SRS-BUNDLE-021")
def test_changelog_sections() -> None:
    text = "# C\n\n## [Unreleased]\n\n- a samd_core thing\n\n## [0.1.0] - 2026-01-01\n\n- first\n"
    s = changelog_sections(text)
    assert list(s) == ["Unreleased", "0.1.0"] and "samd_core" in s["Unreleased"]
