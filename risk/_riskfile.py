"""The ISO 14971 risk file: hazards, controls, verifications and the acceptability matrix.

A risk file is YAML validated by ``risk/schemas/risk_file.schema.json``. Each hazard follows the
ISO 14971:2019 chain hazard -> sequence of events -> hazardous situation -> harm, with severity and
probability estimated before and after risk control. The acceptability matrix (severity x
probability -> acceptable/unacceptable) is configuration inside the same file.

References
----------
ISO 14971:2019, clauses 5.4-5.5 (risk estimation), 6 (evaluation), 7 (control), 7.4 (benefit-risk).
IEC 62304:2006+A1:2015, clause 4.3 (software safety classification).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from risk._schema import load_yaml, validate_document
from risk.errors import RiskFileError

__all__ = [
    "AcceptabilityMatrix",
    "Hazard",
    "RiskControl",
    "RiskFile",
    "Verification",
    "load_risk_file",
    "parse_risk_file",
]

ControlType = Literal["inherent_safety", "protective_measure", "information_for_safety"]


@dataclass(frozen=True, slots=True)
class AcceptabilityMatrix:
    """Risk acceptability as configuration: ``matrix[severity][probability index]``."""

    severity_levels: tuple[str, ...]
    probability_levels: tuple[str, ...]
    matrix: tuple[tuple[str, tuple[str, ...]], ...]

    def is_acceptable(self, severity: str, probability: str) -> bool:
        """True when the (severity, probability) cell is ``acceptable``."""
        row = dict(self.matrix)[severity]
        return row[self.probability_levels.index(probability)] == "acceptable"


@dataclass(frozen=True, slots=True)
class Verification:
    """How a risk control is verified: a pytest node id (``kind="test"``) or a validation endpoint id."""

    kind: Literal["test", "endpoint"]
    ref: str


@dataclass(frozen=True, slots=True)
class RiskControl:
    """A risk control measure (ISO 14971 clause 7.1 option: inherent safety, protection, information)."""

    id: str
    type: ControlType
    description: str
    requirements: tuple[str, ...]
    verification: tuple[Verification, ...]


@dataclass(frozen=True, slots=True)
class Hazard:
    """One hazard with its sequence of events, hazardous situation, harm and risk estimates."""

    id: str
    hazard: str
    sequence_of_events: str
    hazardous_situation: str
    harm: str
    severity: str
    probability: str
    controls: tuple[RiskControl, ...]
    residual_severity: str
    residual_probability: str
    residual_risk_justification: str | None


@dataclass(frozen=True, slots=True)
class RiskFile:
    """A parsed, schema-valid risk file."""

    device: str
    version: str | None
    safety_class: Literal["A", "B", "C"]
    safety_class_rationale: str
    acceptability: AcceptabilityMatrix
    hazards: tuple[Hazard, ...]
    benefit_risk: str
    path: str

    @property
    def controls(self) -> tuple[RiskControl, ...]:
        """Every control of every hazard, in file order."""
        return tuple(c for h in self.hazards for c in h.controls)

    def initial_acceptable(self, hazard: Hazard) -> bool:
        """Acceptability of the risk before control."""
        return self.acceptability.is_acceptable(hazard.severity, hazard.probability)

    def residual_acceptable(self, hazard: Hazard) -> bool:
        """Acceptability of the residual risk (after control)."""
        return self.acceptability.is_acceptable(hazard.residual_severity, hazard.residual_probability)


def load_risk_file(path: str | Path) -> RiskFile:
    """Read and validate a risk file.

    Raises
    ------
    RiskFileError
        Listing every schema problem, unknown severity/probability level, malformed matrix row or
        duplicated id, each with its location in the file.
    """
    return parse_risk_file(load_yaml(path), path=str(path))


def parse_risk_file(doc: Any, *, path: str = "<risk file>") -> RiskFile:
    """Validate an already-parsed risk file document (see `load_risk_file`)."""
    validate_document(doc, "risk_file", path)
    acc = doc["acceptability"]
    sev, prob = tuple(acc["severity_levels"]), tuple(acc["probability_levels"])
    problems: list[str] = []
    rows = acc["matrix"]
    for s in sev:
        if s not in rows:
            problems.append(f"`/acceptability/matrix`: no row for severity level {s!r}")
        elif len(rows[s]) != len(prob):
            problems.append(
                f"`/acceptability/matrix/{s}`: must have {len(prob)} entries (one per probability level); "
                f"got {len(rows[s])}"
            )
    for s in rows:
        if s not in sev:
            problems.append(f"`/acceptability/matrix/{s}`: {s!r} is not one of severity_levels {list(sev)}")
    seen: set[str] = set()
    for i, h in enumerate(doc["hazards"]):
        for key, levels in (("severity", sev), ("probability", prob),
                            ("residual_severity", sev), ("residual_probability", prob)):
            if h[key] not in levels:
                problems.append(f"`/hazards/{i}/{key}`: must be one of {list(levels)}; got {h[key]!r}")
        ids = [h["id"]] + [c["id"] for c in h["controls"]]
        for j, ident in enumerate(ids):
            if ident in seen:
                where = f"/hazards/{i}/id" if j == 0 else f"/hazards/{i}/controls/{j - 1}/id"
                problems.append(f"`{where}`: duplicated id {ident!r}")
            seen.add(ident)
    if problems:
        raise RiskFileError(path, problems)
    hazards = tuple(
        Hazard(
            id=h["id"],
            hazard=h["hazard"],
            sequence_of_events=h["sequence_of_events"],
            hazardous_situation=h["hazardous_situation"],
            harm=h["harm"],
            severity=h["severity"],
            probability=h["probability"],
            controls=tuple(
                RiskControl(
                    id=c["id"],
                    type=c["type"],
                    description=c["description"],
                    requirements=tuple(c.get("requirements", ())),
                    verification=tuple(
                        Verification(kind=k, ref=v) for ver in c["verification"] for k, v in ver.items()
                    ),
                )
                for c in h["controls"]
            ),
            residual_severity=h["residual_severity"],
            residual_probability=h["residual_probability"],
            residual_risk_justification=h.get("residual_risk_justification"),
        )
        for h in doc["hazards"]
    )
    return RiskFile(
        device=doc["device"],
        version=doc.get("version"),
        safety_class=doc["software_safety_class"]["class"],
        safety_class_rationale=doc["software_safety_class"]["rationale"],
        acceptability=AcceptabilityMatrix(
            severity_levels=sev,
            probability_levels=prob,
            matrix=tuple((s, tuple(rows[s])) for s in sev),
        ),
        hazards=hazards,
        benefit_risk=doc["benefit_risk"],
        path=path,
    )
