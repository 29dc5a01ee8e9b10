"""Plain-data view of a `samd compare` run for the "Modification protocol and impact assessment"."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from risk.report._runs import RunRecord

__all__ = ["comparison_summary"]


def _model(m: Any) -> dict[str, Any]:
    if not isinstance(m, Mapping):
        return {"label": "unknown", "sha256": None}
    if m.get("mode") == "bundle":
        label = f"bundle {m.get('name') or m.get('bundle')} {m.get('version') or ''}".strip()
    else:
        label = f"predictions {m.get('predictions_file')} (score {m.get('score_column')})"
    return {"label": label, "sha256": m.get("sha256"), "threshold": m.get("threshold"), "mode": m.get("mode")}


def comparison_summary(run: RunRecord, source: Any) -> dict[str, Any]:
    """Everything the template shows of one comparison run; values stay unrounded."""
    r = run.result
    endpoints = []
    for e in r.get("endpoints", []):
        if not isinstance(e, Mapping):
            continue
        test = e.get("test") if isinstance(e.get("test"), Mapping) else {}
        cand = e.get("candidate") if isinstance(e.get("candidate"), Mapping) else {}
        ref = e.get("reference") if isinstance(e.get("reference"), Mapping) else {}
        endpoints.append({
            "id": e.get("id"), "metric": e.get("metric"), "value": e.get("value"), "ci_low": e.get("ci_low"),
            "ci_high": e.get("ci_high"), "confidence_level": e.get("confidence_level"), "method": e.get("method"),
            "n": e.get("n"), "margin": e.get("non_inferiority_margin"), "criterion": e.get("criterion"),
            "passed": bool(e.get("passed")), "test": test.get("name"), "pvalue": test.get("pvalue"),
            "ni_pvalue": e.get("non_inferiority_pvalue"), "candidate": cand.get("value"), "reference": ref.get("value"),
        })
    subgroups = []
    for g in r.get("subgroups", []):
        if not isinstance(g, Mapping):
            continue
        for eid, e in (g.get("endpoints") or {}).items():
            subgroups.append({"attribute": g.get("variable"), "level": g.get("level"), "endpoint": eid,
                              "value": e.get("value"), "ci_low": e.get("ci_low"), "ci_high": e.get("ci_high"),
                              "n": e.get("n"), "flags": ["below minimum size"] if g.get("below_min_size") else []})
    return {
        "run_id": run.run_id, "source": source, "verdict": r.get("verdict"), "protocol_id": r.get("protocol_id"),
        "title": r.get("protocol_title"), "protocol_version": r.get("protocol_version"),
        "protocol_sha256": r.get("protocol_sha256"), "manifest_sha256": r.get("manifest_sha256"),
        "n_cases": r.get("n_cases"), "reference": _model(r.get("reference")), "candidate": _model(r.get("candidate")),
        "endpoints": endpoints, "subgroups": subgroups,
        "interaction_tests": [{k: t.get(k) for k in ("variable", "endpoint", "statistic", "pvalue", "pvalue_adjusted")}
                              for t in r.get("interaction_tests", []) if isinstance(t, Mapping)],
        "multiplicity": r.get("multiplicity"), "warnings": list(r.get("warnings", [])),
        "plots": [{"artifact": a, "local": p, "name": Path(a).name} for a, p in run.plots],
    }
