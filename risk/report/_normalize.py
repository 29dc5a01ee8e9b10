"""Turn result artifacts and run params into the plain rows the templates show (no rounding here)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from samd_core.qualification import read_changelog
from risk.report._runs import RunRecord

__all__ = ["HASH_LABELS", "IDENTITY_KEYS", "device_identity", "endpoint_rows", "mrmc_summary", "parse_changelog", "subgroup_rows"]

#: identity field -> keys looked up, in order, in result["device"] (written by ``samd validate`` in
#: bundle mode) or result["bundle"], then in the run's params, then its tags.
IDENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("name", "bundle.name", "samd.bundle.name"),
    "version": ("version", "bundle.version", "samd.bundle.version"),
    "core_fingerprint": ("core_fingerprint", "code_fingerprint", "bundle.core_fingerprint",
                         "samd.core_fingerprint", "core_fingerprint"),
    "bundle_sha256": ("bundle_manifest_sha256", "manifest_sha256", "bundle.manifest_sha256",
                      "samd.bundle_manifest_sha256", "model_sha256"),
}
_BARE = frozenset({"name", "version", "manifest_sha256", "code_fingerprint"})
_FILE_KEY = re.compile(r"^(?:samd\.)?bundle\.files?\.(.+?)(?:\.sha256)?$")


def _as_float(x: Any) -> float | None:
    if x is None:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


#: result["device"] hash key -> what was hashed (labels shown next to every hash in the documents).
HASH_LABELS: dict[str, str] = {
    "bundle_manifest_sha256": "Bundle manifest SHA-256",
    "predictions_sha256": "Predictions file SHA-256",
    "detections_sha256": "Detections file SHA-256",
}


def _mode(bundle: Mapping[str, Any]) -> str:
    mode = bundle.get("mode")
    if mode in ("bundle", "predictions"):
        return str(mode)
    if "predictions_sha256" in bundle or "predictions_file" in bundle:
        return "predictions"
    return "bundle"


def device_identity(run: RunRecord) -> tuple[dict[str, Any], list[str]]:
    """Device identity from a validation run: mode, name, version, and every hash labelled.

    A run made from a samd bundle (``device.mode == "bundle"``) yields the locked core's name,
    version, ``core_fingerprint`` and bundle manifest SHA-256. A predictions-mode run yields the
    name and version the protocol declared (``device: {name, version}``, recorded in
    ``result.json`` or the run's params/tags as ``device.name``/``device.version``) and the SHA-256
    of the predictions file, labelled as such; it never requires a core fingerprint.

    Returns the identity and the list of fields that could not be found.
    """
    bundle: Mapping[str, Any] = {}
    for key in ("device", "bundle"):
        if isinstance(run.result.get(key), Mapping):
            bundle = run.result[key]
            break
    mode = _mode(bundle)
    wanted = IDENTITY_KEYS if mode == "bundle" else {k: IDENTITY_KEYS[k] for k in ("name", "version")}
    extra = {"name": ("device.name", "samd.device.name"), "version": ("device.version", "samd.device.version")}
    sources: list[Mapping[str, Any]] = [bundle, run.result, run.params, run.tags]
    ident: dict[str, Any] = {"mode": mode, "core_fingerprint": None, "bundle_sha256": None}
    missing = []
    for field, keys in wanted.items():
        keys = (*keys, *extra.get(field, ()))
        val = None
        for src in sources:
            for k in keys:
                if src is not bundle and k in _BARE:
                    continue  # bare keys only inside result["device"]/["bundle"]
                if mode != "bundle" and src is run.result and k == "model_sha256":
                    continue
                if isinstance(src.get(k), (str, int, float)) and str(src.get(k)):
                    val = str(src[k])
                    break
            if val is not None:
                break
        if val is None:
            missing.append(field)
        ident[field] = val
    hashes: list[tuple[str, str]] = []
    for key, label in HASH_LABELS.items():
        v = bundle.get(key)
        if isinstance(v, str) and v:
            name = bundle.get("predictions_file") if key == "predictions_sha256" else None
            hashes.append((f"{label} ({name})" if name else label, v))
    if mode == "bundle" and ident.get("bundle_sha256") and not any(h == ident["bundle_sha256"] for _, h in hashes):
        hashes.insert(0, (HASH_LABELS["bundle_manifest_sha256"], ident["bundle_sha256"]))
    ident["hashes"] = hashes
    files: dict[str, str] = {}
    if isinstance(bundle.get("files"), Mapping):
        files.update({str(k): str(v) for k, v in bundle["files"].items()})
    for src in (run.params, run.tags):
        for k, v in src.items():
            m = _FILE_KEY.match(k)
            if m and re.fullmatch(r"[0-9a-f]{64}", str(v)):
                files.setdefault(m.group(1), str(v))
    ident["files"] = sorted(files.items()) if mode == "bundle" else []
    return ident, missing


#: Case ids shown per exclusion reason in a document (the rest are counted).
_SHOWN_IDS = 8


def _ids_text(e: Mapping[str, Any]) -> str:
    ids = [str(c) for c in (e.get("case_ids") or [])]
    if not ids:
        return ""
    more = len(ids) - min(len(ids), _SHOWN_IDS) + int(e.get("case_ids_not_listed") or 0)
    return f" (case ids: {', '.join(ids[:_SHOWN_IDS])}{f' and {more} more, all in result.json' if more else ''})"


def _population_lines(ep: Mapping[str, Any]) -> tuple[Any, Any, list[str]]:
    """``(n_eligible, n_excluded, lines)`` of an endpoint's ``population`` block (harness
    ``result.json``), else of its ``n_excluded`` / ``exclusions`` keys."""
    pop = ep.get("population")
    if not isinstance(pop, Mapping):
        return None, ep.get("n_excluded"), _exclusions(ep.get("exclusions"))
    lines = [f"{e.get('reason', 'excluded')}: {e.get('n')}{_ids_text(e)}" for e in pop.get("exclusions") or []]
    und = ep.get("undefined")
    if isinstance(und, Mapping) and und.get("rule") != "exclude" and und.get("n"):
        shown = und.get("imputed", und.get("value"))
        lines.append(f"{und['n']} undefined value(s) imputed by the pre-specified rule "
                     f"'{und['rule']}' ({shown}){_ids_text(und)}")
    return pop.get("n_eligible"), pop.get("n_excluded"), lines


def _exclusions(x: Any) -> list[str]:
    """``exclusions`` of an endpoint as lines: ``[{reason, n}]``, ``{reason: n}`` or ``[str]``."""
    if isinstance(x, Mapping):
        return [f"{k}: {v}" for k, v in x.items()]
    if isinstance(x, Sequence) and not isinstance(x, str):
        out = []
        for e in x:
            if isinstance(e, Mapping):
                reason = e.get("reason", e.get("rule", "excluded"))
                out.append(f"{reason}: {e['n']}" if "n" in e else str(reason))
            else:
                out.append(str(e))
        return out
    return []


def endpoint_rows(run: RunRecord) -> list[dict[str, Any]]:
    """Endpoints of a validation result, unrounded, with the numbers as floats."""
    rows = []
    for ep in run.result.get("endpoints", []):
        n_eligible, n_excluded, exclusion_lines = _population_lines(ep)
        rows.append(
            {
                "id": str(ep.get("id")),
                "metric": str(ep.get("metric", ep.get("id"))),
                "value": _as_float(ep.get("value")),
                "ci_low": _as_float(ep.get("ci_low")),
                "ci_high": _as_float(ep.get("ci_high")),
                "method": ep.get("method"),
                "confidence_level": _as_float(ep.get("confidence_level")),
                "n": ep.get("n"),
                "criterion": ep.get("criterion"),
                "passed": ep.get("passed"),
                "n_eligible": n_eligible,
                "n_excluded": n_excluded,
                "exclusions": exclusion_lines,
                "run_id": run.run_id,
                # lesion sensitivity at an FP rate: False when the FROC curve stops before it
                "reached": ep.get("reached"),
                "fp_rate_reached": _as_float(ep.get("fp_rate_reached")),
                "population": ep.get("population") if isinstance(ep.get("population"), Mapping) else None,
            }
        )
    return rows


def _flatten_estimate(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "value": _as_float(d.get("value")),
        "ci_low": _as_float(d.get("ci_low")),
        "ci_high": _as_float(d.get("ci_high")),
        "n": d.get("n"),
        "method": d.get("method"),
        "confidence_level": _as_float(d.get("confidence_level")),
        # lesion sensitivity at an FP rate: False when the FROC curve stops before it
        "reached": d.get("reached"),
        "fp_rate_reached": _as_float(d.get("fp_rate_reached")),
    }


def subgroup_rows(run: RunRecord) -> list[dict[str, Any]]:
    """Subgroup results flattened to (attribute, level, endpoint, value, CI, n, flags) rows.

    Accepts a list of ``{attribute|subgroup|variable, level, n, endpoints: [...]}`` records (the
    harness's format), a flat list of rows with an ``endpoint`` key, or a nested mapping
    ``attribute -> level -> endpoint -> estimate``.
    """
    sg = run.result.get("subgroups") or []
    rows: list[dict[str, Any]] = []
    if isinstance(sg, Mapping):
        for attr, levels in sg.items():
            for level, eps in (levels or {}).items():
                for ep_id, est in (eps or {}).items():
                    if isinstance(est, Mapping):
                        rows.append({"attribute": attr, "level": str(level), "endpoint": ep_id,
                                     **_flatten_estimate(est), "flags": est.get("flags", [])})
        return rows
    for item in sg:
        attr = item.get("variable", item.get("attribute"))
        level = item.get("level", item.get("value_label", item.get("group")))
        eps = item.get("endpoints")
        base_flags = list(item.get("flags", []) or [])
        if item.get("below_min_size"):
            base_flags.append("below the protocol's minimum subgroup size")
        if isinstance(eps, Sequence) and not isinstance(eps, str):
            for ep in eps:
                est = _flatten_estimate(ep)
                if est["n"] is None:
                    est["n"] = item.get("n")
                rows.append({"attribute": attr, "level": str(level), "endpoint": ep.get("id", ep.get("metric")),
                             **est, "flags": base_flags + list(ep.get("flags", []) or [])})
        elif isinstance(eps, Mapping):
            for ep_id, ep in eps.items():
                est = _flatten_estimate(ep)
                if est["n"] is None:
                    est["n"] = item.get("n")
                rows.append({"attribute": attr, "level": str(level), "endpoint": ep_id, **est, "flags": base_flags})
        else:
            rows.append({"attribute": attr, "level": str(level), "endpoint": item.get("endpoint", item.get("id")),
                         **_flatten_estimate(item), "flags": base_flags})
    return rows


def mrmc_summary(run: RunRecord) -> dict[str, Any]:
    """Reader-study figures from ``mrmc_result.json`` (schema ``samd.mrmc_result/1``), unrounded."""
    r = run.result
    comps = [
        {"label": f"{c['minuend']} − {c['subtrahend']}", "sign_convention": c.get("sign_convention"),
         **_flatten_estimate(c["estimate"]), "se": _as_float(c.get("se")), "statistic": _as_float(c.get("statistic")),
         "df": _as_float(c.get("df")), "pvalue": _as_float(c.get("pvalue"))}
        for c in r.get("comparisons", [])
    ]
    modalities = [str(m) for m in r.get("modalities", [])]
    readers = [str(x) for x in r.get("readers", [])]
    reader_auc = r.get("reader_auc", [])
    return {
        "run_id": run.run_id,
        "method": r.get("method"),
        "generalization": r.get("generalization"),
        "covariance": r.get("covariance"),
        "figure_of_merit": r.get("fom"),
        "n_readers": len(readers),
        "n_cases": r.get("n_cases"),
        "n_positive": r.get("n_diseased"),
        "n_negative": r.get("n_nondiseased"),
        "confidence_level": _as_float(r.get("confidence_level")),
        "modalities": [{"name": m["modality"], **_flatten_estimate(m["estimate"])} for m in r.get("modality_auc", [])],
        "difference": comps[0] if comps else None,
        "sign_convention": r.get("sign_convention"),
        "comparisons": comps,
        "global_test": {"test": r.get("test"), "statistic": _as_float(r.get("statistic")),
                        "df_num": _as_float(r.get("df_num")), "df_den": _as_float(r.get("df_den")),
                        "pvalue": _as_float(r.get("pvalue"))},
        "reader_columns": modalities,
        "readers": [
            {"reader": rd, **{m: _as_float(reader_auc[i][j]) for i, m in enumerate(modalities)
                              if i < len(reader_auc) and j < len(reader_auc[i])}}
            for j, rd in enumerate(readers)
        ],
        "notes": list(r.get("notes", [])),
    }


def parse_changelog(text: str) -> list[dict[str, Any]]:
    """Keep-a-Changelog sections -> ``[{version, date, changes: [{kind, entries}]}]`` (newest first).

    Reads through `samd_core.qualification.read_changelog`, the one changelog parser.
    """
    return [
        {"version": sec.label, "date": sec.date,
         "changes": [{"kind": kind, "entries": list(entries)} for kind, entries in sec.changes]}
        for sec in read_changelog(text)
    ]
