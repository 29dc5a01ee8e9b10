"""`check_traceability_files`: the traceability check from files and tracked runs (``samd risk check``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from risk._checks import TraceabilityReport, check_traceability
from risk._junit import parse_junit
from risk._requirements import load_requirements
from risk._riskfile import load_risk_file

__all__ = ["check_traceability_files", "endpoint_outcomes", "traceability_dict"]

_Path = str | os.PathLike[str]


def endpoint_outcomes(results: Iterable[Mapping[str, Any]]) -> dict[str, bool]:
    """Endpoint id -> passed, over validation ``result.json`` documents.

    An endpoint that appears in several results passes only if it passed in every one
    (``passed`` must be exactly ``True``).
    """
    out: dict[str, bool] = {}
    for doc in results:
        for ep in doc.get("endpoints", []):
            key = str(ep["id"])
            out[key] = out.get(key, True) and ep.get("passed") is True
    return out


def check_traceability_files(
    *,
    junit: Sequence[_Path],
    srs: Sequence[_Path] = ("risk/srs",),
    risk_file: _Path | None = None,
    results: Sequence[_Path] = (),
    runs: Sequence[str] = (),
    tracking_uri: str | None = None,
) -> TraceabilityReport:
    """Load requirements, test results, the risk file and validation results, then `check_traceability`.

    Parameters
    ----------
    junit
        JUnit XML files of a real test run (``pytest --junitxml``).
    srs
        Requirements YAML files or folders.
    risk_file
        Risk file YAML (``None``: requirement checks only).
    results
        ``result.json`` files of ``samd validate`` runs (endpoint verifications).
    runs
        MLflow run ids of ``samd validate`` runs whose ``result.json`` artifact is read.
    tracking_uri
        MLflow tracking URI for ``runs``.
    """
    reqs = load_requirements(list(srs))
    tests = parse_junit(list(junit))
    rf = load_risk_file(risk_file) if risk_file is not None else None
    docs: list[Mapping[str, Any]] = [json.loads(Path(r).read_text("utf-8")) for r in results]
    if runs:
        from validation.tracking import load_json_artifact

        docs += [load_json_artifact(run_id, "result.json", tracking_uri=tracking_uri) for run_id in runs]
    return check_traceability(reqs, tests, risk_file=rf, endpoints=endpoint_outcomes(docs))


def traceability_dict(report: TraceabilityReport) -> dict[str, Any]:
    """The findings and matrices of ``report`` as plain data (``samd risk check --json``)."""
    return {
        "ok": report.ok,
        "findings": [{"code": f.code, "subject": f.subject, "message": f.message} for f in report.findings],
        "requirements": [{"id": r.item, "status": r.status, "evidence": list(r.evidence)}
                         for r in report.requirement_rows],
        "controls": [{"id": r.item, "status": r.status, "evidence": list(r.evidence)} for r in report.control_rows],
    }
