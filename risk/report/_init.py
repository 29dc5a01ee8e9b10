"""``samd report init``: a submission.yaml skeleton for the runs' device, with visible TODOs.

What the runs know (device name and version, endpoints, reader-study comparison, provenance when
recorded) is filled in; what a person must write (submitter, predicate, indications, risk file,
...) is a string starting with ``TODO``. `samd report` refuses a configuration that still holds a
TODO unless ``--draft`` is given; with ``--draft`` every part holding a TODO is treated as missing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from risk.errors import MissingInputsError
from risk.report._normalize import device_identity, endpoint_rows, mrmc_summary
from risk.report._runs import load_runs

__all__ = ["TODO", "InitResult", "find_todos", "init_submission_config", "without_todos"]

#: Every value a person must still write starts with this marker.
TODO = "TODO"


@dataclass(frozen=True, slots=True)
class InitResult:
    """The skeleton written by `init_submission_config`: its path and how many TODOs it holds."""

    path: str
    n_todo: int


def _is_todo(v: Any) -> bool:
    return isinstance(v, str) and v.lstrip().startswith(TODO)


def find_todos(doc: Any, where: str = "") -> list[str]:
    """JSON pointers (``/device/trade_name``) of every value that still starts with ``TODO``."""
    if _is_todo(doc):
        return [where or "/"]
    if isinstance(doc, Mapping):
        return [p for k, v in doc.items() for p in find_todos(v, f"{where}/{k}")]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in find_todos(v, f"{where}/{i}")]
    return []


def without_todos(doc: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """For ``--draft``: drop every list item and top-level key that holds a TODO; list what was dropped."""
    out: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in doc.items():
        todos = find_todos(value, f"/{key}")
        if not todos:
            out[key] = value
        elif isinstance(value, list):
            keep = [item for item in value if not find_todos(item)]
            out[key] = keep
            dropped.append(f"`{key}`: {len(value) - len(keep)} item(s) still hold a TODO ({', '.join(todos)})")
        else:
            dropped.append(f"`{key}`: still holds a TODO ({', '.join(todos)})")
    return out, dropped


def refuse_todos(doc: Any, path: str | Path) -> None:
    """Raise `MissingInputsError` naming every TODO left in a configuration."""
    todos = find_todos(doc)
    if todos:
        raise MissingInputsError([f"{path}: `{p}` is still a TODO" for p in todos])


def _skeleton(runs: Sequence[Any]) -> dict[str, Any]:
    validation = [r for r in runs if r.kind == "validation"]
    mrmc = [r for r in runs if r.kind == "mrmc"]
    name = version = None
    for r in validation:
        ident, _ = device_identity(r)
        name, version = name or ident.get("name"), version or ident.get("version")
    provenance = {str(r.result["provenance"]) for r in validation if isinstance(r.result.get("provenance"), str)}
    device: dict[str, Any] = {
        "trade_name": "TODO: trade/proprietary name",
        "common_name": "TODO: common name",
        "classification_name": "TODO: classification name",
        "regulation_number": "TODO: 21 CFR NNN.NNNN",
        "product_code": "TODO: three-letter product code",
        "device_class": "TODO: I, II or III",
        "description": "TODO: device description",
        "name": name or "TODO: device (software) name, as declared in the protocol's `device.name`",
        "version": version or "TODO: device (software) version, as declared in the protocol's `device.version`",
    }
    se: list[dict[str, Any]] = [{
        "attribute": "Indications for use", "subject": {"indications_for_use": True},
        "predicate": "TODO: the predicate's indications for use", "predicate_citation": "TODO: source",
        "comparison": "TODO: same, similar or different",
    }]
    predicate_estimate = {"value": "TODO: predicate's published value", "ci_low": "TODO: its CI lower bound",
                          "ci_high": "TODO: its CI upper bound", "confidence_level": 0.95}
    for r in validation:
        for ep in endpoint_rows(r):
            se.append({"attribute": f"{ep['metric']} ({ep['id']})", "subject": {"endpoint": ep["id"]},
                       "predicate": dict(predicate_estimate),
                       "predicate_citation": "TODO: predicate's 510(k) Summary, table",
                       "rule": {"non_inferior": {"margin": "TODO: pre-specified margin"}}})
    cfg: dict[str, Any] = {
        "submitter": {"name": "TODO: submitter", "address": "TODO: address", "phone": "TODO: telephone",
                      "contact": "TODO: contact person"},
        "device": device,
        "indications_for_use": "TODO: indications for use (the one text shown in every document)",
        "predicates": [{"k_number": "TODO: K number", "name": "TODO: predicate name",
                        "manufacturer": "TODO: manufacturer", "citation": "TODO: source of the predicate's data"}],
        "substantial_equivalence": se,
        "summary": {"nonclinical_tests": "TODO: summary of non-clinical tests",
                    "clinical_tests": "TODO: summary of clinical tests (or state that there are none)"},
        "standalone": {"provenance": provenance.pop() if len(provenance) == 1
                       else "TODO: clinical, synthetic or simulated"},
    }
    if mrmc:
        m = mrmc_summary(mrmc[0])
        if m["difference"]:
            se.append({"attribute": f"Reader-study effect ({m['difference']['label']})", "subject": {"mrmc": "effect"},
                       "predicate": dict(predicate_estimate),
                       "predicate_citation": "TODO: predicate's 510(k) Summary, table",
                       "rule": {"non_inferior": {"margin": "TODO: pre-specified margin"}}})
        cfg["reader_study"] = {"provenance": "TODO: clinical, synthetic or simulated",
                               "hypothesis": {"superiority": {}}}
    cfg["software"] = {
        "documentation_level": "TODO: Basic or Enhanced",
        "level_rationale": "TODO: rationale of the documentation level",
        "level_hazard_ids": [],
        "architecture": "TODO: architecture summary",
        "development_practices": "TODO: development practices",
    }
    cfg["risk_file"] = "TODO: path of the device's risk file (risk_file.yaml)"
    cfg["requirements"] = ["TODO: folder of the device's software requirements"]
    cfg["lock_file"] = "TODO: the device's own lock file (requirements.lock)"
    cfg["changelog"] = "TODO: the device's own changelog (CHANGELOG.md)"
    return cfg


def init_submission_config(
    *, run_ids: Sequence[str], out: str | Path, tracking_uri: str | None = None
) -> InitResult:
    """Write a ``submission.yaml`` skeleton for the device of ``run_ids``.

    Raises
    ------
    MissingInputsError
        When a run cannot be read (not found, no result artifact).
    FileExistsError
        When ``out`` exists (a filled-in configuration is never overwritten).
    """
    from validation.tracking import resolve_tracking_uri

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; `samd report init` does not overwrite a configuration")
    with tempfile.TemporaryDirectory(prefix="samd-report-init-") as tmp:
        runs, missing = load_runs(run_ids, tracking_uri=resolve_tracking_uri(tracking_uri), workdir=tmp)
    if missing:
        raise MissingInputsError(missing)
    cfg = _skeleton(runs)
    header = (
        "# Submission configuration skeleton (samd report init).\n"
        f"# Runs: {', '.join(r.run_id for r in runs)}\n"
        "# Replace every value starting with TODO; `samd report` refuses TODOs unless --draft.\n"
        "# Performance rows of substantial_equivalence are decided by their `rule`; see docs/report.md.\n"
    )
    text = header + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, width=100)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, "utf-8")
    return InitResult(str(out), len(find_todos(cfg)))
