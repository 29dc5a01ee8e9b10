"""Software requirements (SRS items) kept as YAML lists in ``risk/srs/<area>.yaml``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from risk._schema import load_yaml, validate_document
from risk.errors import RiskFileError

__all__ = ["Requirement", "load_requirements"]


@dataclass(frozen=True, slots=True)
class Requirement:
    """One uniquely identified software requirement (FDA 2023 software guidance, element D)."""

    id: str
    title: str
    text: str
    source_issue: str
    source_file: str
    risk_controls: tuple[str, ...] = ()
    verified_by: tuple[tuple[str, str], ...] = ()  # (kind "test"|"endpoint", ref)


def load_requirements(paths: Iterable[str | Path]) -> tuple[Requirement, ...]:
    """Load every requirement from YAML files and/or directories of ``*.yaml`` files.

    Requirements are returned sorted by id. Raises `RiskFileError` on schema problems or on an id
    defined twice (naming both files).
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")))
        else:
            files.append(p)
    found: dict[str, Requirement] = {}
    for f in files:
        doc = load_yaml(f)
        if doc is None:
            continue
        validate_document(doc, "requirements", f)
        for i, item in enumerate(doc):
            if item["id"] in found:
                raise RiskFileError(
                    str(f), [f"`/{i}/id`: {item['id']!r} is already defined in {found[item['id']].source_file}"]
                )
            found[item["id"]] = Requirement(
                id=item["id"],
                title=item["title"],
                text=item["text"],
                source_issue=str(item["source_issue"]),
                source_file=str(f),
                risk_controls=tuple(item.get("risk_controls", ())),
                verified_by=tuple((k, v) for ver in item.get("verified_by", ()) for k, v in ver.items()),
            )
    return tuple(found[k] for k in sorted(found))
