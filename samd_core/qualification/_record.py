"""Qualification results: one frozen record per check, and the whole record (JSON + Markdown)."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CheckResult", "QualificationRecord"]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one IQ/OQ check.

    Attributes
    ----------
    name : str
        Stable identifier, e.g. ``"IQ-distributions"``, ``"OQ-bundle:samd-reference-nodule"``.
    stage : {"IQ", "OQ"}
    passed : bool
    message : str
        One line saying what was found (what differs, when failed).
    details : mapping
        JSON-ready specifics (versions, hashes, max differences).
    """

    name: str
    stage: Literal["IQ", "OQ"]
    passed: bool
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "stage": self.stage, "passed": self.passed, "message": self.message,
                "details": dict(self.details)}


@dataclass(frozen=True)
class QualificationRecord:
    """All checks of one `run_qualification`, with environment and UTC timestamps (ISO 8601)."""

    checks: tuple[CheckResult, ...]
    environment: Mapping[str, Any]
    started_utc: str
    finished_utc: str

    @property
    def passed(self) -> bool:
        """True when there is at least one check and every check passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    def failed_checks(self) -> tuple[str, ...]:
        """Names of the checks that failed."""
        return tuple(c.name for c in self.checks if not c.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": "PASS" if self.passed else "FAIL",
            "started_utc": self.started_utc,
            "finished_utc": self.finished_utc,
            "environment": dict(self.environment),
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_markdown(self) -> str:
        """Human-readable record."""
        lines = [
            "# samd installation and operational qualification record",
            "",
            f"**Result: {'PASS' if self.passed else 'FAIL'}**",
            "",
            f"- Started (UTC): {self.started_utc}",
            f"- Finished (UTC): {self.finished_utc}",
            "",
            "## Checks",
            "",
            "| check | stage | result | finding |",
            "|---|---|---|---|",
        ]
        for c in self.checks:
            msg = c.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {c.name} | {c.stage} | {'pass' if c.passed else '**FAIL**'} | {msg} |")
        lines += ["", "## Environment", ""]
        for k, v in sorted(self.environment.items()):
            lines.append(f"- {k}: `{v}`")
        lines += ["", "## Details", ""]
        for c in self.checks:
            lines += [f"### {c.name}", "", "```json", json.dumps(dict(c.details), indent=1, sort_keys=True), "```", ""]
        return "\n".join(lines)

    def write(self, out: str | pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
        """Write ``qualification.json`` and ``qualification.md`` into directory ``out``."""
        base = pathlib.Path(out)
        base.mkdir(parents=True, exist_ok=True)
        j, m = base / "qualification.json", base / "qualification.md"
        j.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
        m.write_text(self.to_markdown(), encoding="utf-8")
        return j, m
