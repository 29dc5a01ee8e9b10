"""Change control of the locked core: sources, released fingerprint, version and changelog agree.

Rules (checked by the test suite and by ``scripts/release_core.py --check``):

1. The latest entry of ``samd_core/RELEASED_FINGERPRINT.json`` equals the fingerprint
   recomputed from the ``samd_core`` sources (`samd_core.fingerprint.core_fingerprint`).
2. Its version equals ``samd_core._version.__version__``; versions in the record are unique.
3. ``CHANGELOG.md`` has a ``## [<version>]`` section, or an ``## [Unreleased]`` section that
   mentions ``samd_core`` (changes of the core not yet released under a version number).
4. Every bundle shipped in ``samd_core/bundles/`` is locked to that fingerprint.
"""

from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass

__all__ = ["ChangelogSection", "change_control_findings", "changelog_sections", "read_changelog"]


@dataclass(frozen=True)
class ChangelogSection:
    """One ``## [label] - date`` section of a Keep-a-Changelog file.

    Attributes
    ----------
    label : str
        ``Unreleased`` or a version.
    date : str
        The date after the label (``""`` when absent).
    body : str
        The text of the section after its heading line, up to the next ``## [`` heading.
    changes : tuple of (kind, entries)
        ``### Kind`` subsections and their ``- `` entries (continuation lines joined).
    """

    label: str
    date: str
    body: str
    changes: tuple[tuple[str, tuple[str, ...]], ...]


_HEADING = re.compile(r"^## \[([^\]]+)\](?:\s*-\s*(\S+))?[^\n]*\n")


def read_changelog(text: str) -> tuple[ChangelogSection, ...]:
    """The ``## [label]`` sections of a Keep-a-Changelog file, in file order (newest first).

    The one changelog parser: change control (`changelog_sections`) and the submission
    report (`risk.report.parse_changelog`) both read through it.
    """
    raw: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        m = _HEADING.match(line)
        if m:
            raw.append((m.group(1).strip(), m.group(2) or "", []))
        elif raw:
            raw[-1][2].append(line)
    out = []
    for label, date, lines in raw:
        changes: list[tuple[str, list[str]]] = []
        for line in (ln.rstrip("\n") for ln in lines):
            if line.startswith("### "):
                changes.append((line[4:].strip(), []))
            elif changes and line.startswith("- "):
                changes[-1][1].append(line[2:].strip())
            elif changes and changes[-1][1] and line.startswith("  ") and line.strip():
                changes[-1][1][-1] += " " + line.strip()
        out.append(ChangelogSection(label, date, "".join(lines), tuple((k, tuple(e)) for k, e in changes)))
    return tuple(out)


def changelog_sections(text: str) -> dict[str, str]:
    """``{heading label: body}`` of the ``## [label]`` sections of a Keep-a-Changelog file."""
    return {sec.label: sec.body for sec in read_changelog(text)}


def change_control_findings(repo_root: str | pathlib.Path) -> list[str]:
    """Violations of the rules above in a checkout (empty list: consistent)."""
    from samd_core.fingerprint import RELEASED_FILENAME, core_fingerprint

    root = pathlib.Path(repo_root)
    core = root / "samd_core"
    findings: list[str] = []
    current = core_fingerprint(core)
    try:
        record = json.loads((core / RELEASED_FILENAME).read_text(encoding="utf-8"))
        releases = record["releases"]
        latest = releases[-1]
    except (OSError, ValueError, KeyError, IndexError) as exc:
        return [f"samd_core/{RELEASED_FILENAME} is missing or malformed ({exc}); run scripts/release_core.py"]
    version_text = (core / "_version.py").read_text(encoding="utf-8")
    m = re.search(r'__version__\s*=\s*"([^"]+)"', version_text)
    version = m.group(1) if m else None
    if latest.get("fingerprint") != current:
        findings.append(
            f"samd_core changed since the released fingerprint: released {latest.get('fingerprint')} "
            f"(version {latest.get('version')}), sources now hash to {current}. Bump the version, add a "
            "CHANGELOG entry and run `python scripts/release_core.py --version X.Y.Z` (docs/bundle.md)"
        )
    if latest.get("version") != version:
        findings.append(
            f"samd_core/_version.py says {version} but the released fingerprint is recorded for "
            f"{latest.get('version')}; run scripts/release_core.py"
        )
    versions = [r.get("version") for r in releases]
    if len(set(versions)) != len(versions):
        findings.append(f"versions in samd_core/{RELEASED_FILENAME} are not unique: {versions}")
    changelog = root / "CHANGELOG.md"
    sections = changelog_sections(changelog.read_text(encoding="utf-8")) if changelog.is_file() else {}
    if version not in sections and "samd_core" not in sections.get("Unreleased", ""):
        findings.append(
            f"CHANGELOG.md has neither a '## [{version}]' section nor an '## [Unreleased]' entry mentioning samd_core"
        )
    bundles = core / "bundles"
    if bundles.is_dir():
        for b in sorted(bundles.iterdir()):
            meta_path = b / "bundle.json"
            if not meta_path.is_file():
                continue
            fp = json.loads(meta_path.read_text(encoding="utf-8")).get("core_fingerprint")
            if fp != latest.get("fingerprint"):
                findings.append(
                    f"shipped bundle {b.name} is locked to core fingerprint {fp}, not the released "
                    f"{latest.get('fingerprint')}; scripts/release_core.py re-qualifies and re-locks it"
                )
    return findings
