"""`run_comparison`: a model change against the locked model, from protocol to verdict.

Order (each step recorded in the audit trail before the next): protocol lock -> manifest file
hashes -> both models identified (bundles pinned by manifest SHA-256) -> test-set access ->
run start -> paired endpoints, subgroups -> files, MLflow run -> ``mlflow.run.end`` integrity
record -> signed checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samd_core import __version__
from samd_core.hashing import canonical_json, sha256_bytes, sha256_file
from validation.compare import _plots
from validation.compare._endpoints import PairedCases, estimate_paired_endpoint
from validation.compare._protocol import PROTOCOL_KIND, CompareProtocol, ModelSpec, load_compare_protocol
from validation.compare._subgroups import subgroup_comparisons
from validation.errors import IntegrityError, ProtocolError
from validation.harness import (
    check_training_overlap,
    Manifest,
    check_test_set,
    log_result,
    open_locked_run,
    prior_accesses,
    read_predictions,
    result_json_bytes,
    result_metrics,
    run_bundle,
    strict_result,
)
from validation.tracking import AnalysisRun, environment_info, key_package_versions, record_run_failure, track_analysis

__all__ = ["EXPERIMENT", "RESULT_SCHEMA", "ComparisonOutcome", "run_comparison"]

EXPERIMENT = "samd-compare"
RESULT_SCHEMA = "samd-compare-result/1"


@dataclass(frozen=True)
class ComparisonOutcome:
    """Verdict (``"pass"`` when every endpoint's non-inferiority is shown), the result, where things went."""

    verdict: str
    result: dict[str, Any]
    out_dir: Path
    run_id: str


def run_comparison(
    protocol_path: str | Path,
    *,
    out_dir: str | Path,
    tracking_uri: str | None = None,
    audit_log: str | Path | None = None,
    actor: str | None = None,
    signing_key: Any = None,
    relock_reason: str | None = None,
    progress: bool = True,
) -> ComparisonOutcome:
    """Run a comparison protocol (candidate vs reference model on the same cases); see
    ``docs/compare.md``.

    Raises
    ------
    ProtocolError, IntegrityError, AuditError
        Anything that stops the run before a verdict (the CLI maps these to exit code 2).
    """
    protocol = load_compare_protocol(protocol_path)
    out, audit, manifest, lock = open_locked_run(
        protocol.as_lockable(), protocol.resolve(protocol.data["manifest"]),  # type: ignore[arg-type]
        out_dir=out_dir, audit_log=audit_log, actor=actor, signing_key=signing_key, relock_reason=relock_reason)
    try:  # a refusal before the tracked run exists is recorded as run.fail here (the tracked run records its own)
        n_files = check_test_set(audit, manifest, context={"protocol_id": protocol.id, "protocol_kind": PROTOCOL_KIND},
                                 progress=progress)
        for spec in (protocol.reference, protocol.candidate):
            if spec.mode == "bundle":
                _check_pin(spec)
        overlap = {spec.role: _training_overlap(spec, protocol, audit, manifest, out)
                   for spec in (protocol.reference, protocol.candidate)}
    except BaseException as exc:
        record_run_failure(audit, {"type": "comparison_run", "id": f"{protocol.id} v{lock.version}"}, exc,
                           object_sha256=protocol.sha256,
                           context={"protocol_id": protocol.id, "protocol_kind": PROTOCOL_KIND})
        raise
    prior = prior_accesses(audit.path, manifest.sha256)
    warnings: list[str] = []
    if prior:
        warnings.append(f"test set {manifest.path.name} was accessed {len(prior)} time(s) before this run")
    with track_analysis(kind="compare", experiment=EXPERIMENT, run_name=f"{protocol.id} v{lock.version}",
                        audit=audit, tracking_uri=tracking_uri, start=False, subject_type="comparison_run",
                        fail_sha256=protocol.sha256,
                        fail_context={"protocol_id": protocol.id, "protocol_kind": PROTOCOL_KIND},
                        tags={"samd.protocol_id": protocol.id, "samd.protocol_kind": PROTOCOL_KIND}) as tracked:
        run = tracked.run
        audit.append("testset.access",
                     object={"type": "test_set", "id": manifest.path.name, "n_cases": len(manifest.table)},
                     object_sha256=manifest.sha256,
                     context={"protocol_id": protocol.id, "protocol_sha256": protocol.sha256,
                              "protocol_kind": PROTOCOL_KIND, "purpose": "model change comparison",
                              "mlflow_run_id": run.run_id, "prior_accesses": len(prior)})
        models = {s.role: _model_scores(s, manifest, out, warnings, progress)
                  for s in (protocol.reference, protocol.candidate)}
        tracked.start(object_sha256=protocol.sha256,
                      context={"protocol_id": protocol.id, "protocol_version": lock.version,
                               "protocol_kind": PROTOCOL_KIND, "manifest_sha256": manifest.sha256,
                               "reference_sha256": models["reference"]["info"]["sha256"],
                               "candidate_sha256": models["candidate"]["info"]["sha256"],
                               "out_dir": out.name})
        cases, table = _cases(protocol, manifest, models)
        result = _compute(protocol, cases, table, manifest.table, warnings)
        result.update({
            "schema": RESULT_SCHEMA,
            "kind": PROTOCOL_KIND,
            "samd_version": __version__,
            "protocol_id": protocol.id,
            "protocol_title": protocol.data.get("title", ""),
            "protocol_version": lock.version,
            "protocol_sha256": protocol.sha256,
            "manifest_sha256": manifest.sha256,
            "manifest_files_checked": n_files,
            "reference": models["reference"]["info"],
            "candidate": models["candidate"]["info"],
            "mlflow_run_id": run.run_id,
            "mlflow_experiment_id": run.experiment_id,
            "test_set_prior_accesses": len(prior),
            "test_set_prior_access_records": prior,
            "training_overlap": overlap,
            "warnings": warnings,
        })
        result = strict_result(dict(sorted(result.items())))
        body = result_json_bytes(result)
        files = _write_outputs(protocol, result, body, cases, table, out)
        _log_mlflow(tracked, protocol, manifest, result, files, sha256_bytes(body))
        tracked.end(extra={"verdict": result["verdict"], "protocol_kind": PROTOCOL_KIND,
                           "result_sha256": sha256_bytes(body)})
        tracked.checkpoint()
    verdict = result["verdict"]
    return ComparisonOutcome(verdict, result, out, run.run_id)


def _check_pin(spec: ModelSpec) -> None:
    """Refuse a bundle whose manifest SHA-256 differs from the pinned ``expected_sha256``
    before anything runs (``load_locked`` then verifies every file against that manifest)."""
    if spec.bundle is None:
        raise ProtocolError(f"`{spec.role}.bundle` of samd compare must be given in bundle mode; got none")
    mf = spec.bundle / "manifest.json"
    if not mf.is_file():
        raise IntegrityError(f"`{spec.role}.bundle` {spec.bundle.name} has no manifest.json")
    if spec.expected_sha256 is not None:
        found = sha256_file(mf)
        if found != spec.expected_sha256:
            raise IntegrityError(f"`{spec.role}.expected_sha256` of samd compare must be the bundle's manifest "
                                 f"SHA-256; got {spec.expected_sha256}, bundle has {found}")


def _training_overlap(spec: ModelSpec, protocol: CompareProtocol, audit: Any, manifest: Manifest,
                      out: Path) -> dict[str, Any]:
    """No test case may be training data of either model: the bundle's own ``training_set.json``
    (bundle mode, verified by `load_locked`) or the model's ``training_set`` file (predictions
    mode) is checked before any case is scored (`validation.harness.check_training_overlap`)."""
    from samd_core.bundle import TrainingSet

    training, source = None, None
    if spec.mode == "bundle":
        import samd_core

        if spec.training_set is not None:
            raise ProtocolError(f"`{spec.role}.training_set` is given in bundle mode; the bundle's own training "
                                "set (training_set.json) is used: remove it")
        training = getattr(samd_core.load_locked(spec.bundle, expected_sha256=spec.expected_sha256),  # type: ignore[arg-type]
                           "training_set", None)
        source = "bundle" if training is not None else None
    elif spec.training_set is not None:
        if not spec.training_set.is_file():
            raise ProtocolError(f"`{spec.role}.training_set` file {spec.training_set.name} does not exist")
        training, source = TrainingSet.from_file(spec.training_set), "protocol"
    image_column = spec.image_column if spec.image_column in manifest.table.columns else None
    return check_training_overlap(audit, manifest, training, source=source, image_column=image_column, out=out,
                                  context={"protocol_id": protocol.id, "protocol_kind": PROTOCOL_KIND,
                                           "model_role": spec.role})


def _model_scores(spec: ModelSpec, manifest: Manifest, out: Path, warnings: list[str],
                  progress: bool) -> dict[str, Any]:
    if spec.mode == "predictions":
        if spec.predictions is None or not spec.predictions.is_file():
            raise ProtocolError(f"`{spec.role}.predictions` file {getattr(spec.predictions, 'name', '')} does not exist")
        device, w = read_predictions(spec.predictions, manifest)
        warnings += [f"{spec.role}: {x}" for x in w]
        col = spec.score_column
        if col not in device.columns:
            raise ProtocolError(f"`{spec.role}.score.column` {col!r} is not a column of "
                                f"{spec.predictions.name}; columns: {list(device.columns)}")
        info: dict[str, Any] = {"mode": "predictions", "predictions_file": spec.predictions.name,
                                "sha256": sha256_file(spec.predictions), "score_column": col,
                                "higher_is_positive": spec.higher_is_positive}
        raw = device[col]
    else:
        if spec.bundle is None:
            raise ProtocolError(f"`{spec.role}.bundle` of samd compare must be given in bundle mode; got none")
        device, model_sha, facts, _ = run_bundle(spec.bundle, manifest, out / "models" / spec.role,
                                                 image_column=spec.image_column, progress=progress)
        if spec.expected_sha256 is not None and model_sha != spec.expected_sha256:
            raise IntegrityError(f"`{spec.role}.expected_sha256` {spec.expected_sha256} does not match the "
                                 f"verified bundle's manifest SHA-256 {model_sha}")
        info = {"mode": "bundle", "bundle": spec.bundle.name, "sha256": model_sha,
                "expected_sha256": spec.expected_sha256, **facts, "higher_is_positive": True}
        raw = device["score"]
    s = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = manifest.table["case_id"][~np.isfinite(s)].tolist()
    if bad:
        raise ProtocolError(f"`{spec.role}` score is missing or not a finite number for {len(bad)} case(s) {bad[:10]}")
    info["threshold"] = spec.threshold
    return {"info": info, "raw": s, "spec": spec}


def _cases(protocol: CompareProtocol, manifest: Manifest, models: dict[str, Any]) -> tuple[PairedCases, pd.DataFrame]:
    truth = protocol.data["truth"]
    col = truth["column"]
    if col not in manifest.table.columns:
        raise ProtocolError(f"`truth.column` {col!r} is not a manifest column; columns: {list(manifest.table.columns)}")
    raw = manifest.table[col].astype(str).str.strip()
    empty = manifest.table["case_id"][raw == ""].tolist()
    if empty:
        raise ProtocolError(f"`truth.column` {col!r} is empty for {len(empty)} case(s) {empty[:10]}")
    pos = truth["positive"]
    accepted = {"true", "1", "yes"} if pos is True else ({"false", "0", "no"} if pos is False else {str(pos)})
    y = (raw.str.lower() if isinstance(pos, bool) else raw).isin(accepted).to_numpy().astype(np.int8)
    if len(set(y.tolist())) < 2:
        raise ProtocolError(f"`truth.column` {col!r} has a single class in the whole test set; "
                            "paired sensitivity/specificity/AUC need both classes")
    table = pd.DataFrame({"case_id": manifest.table["case_id"].to_numpy(), "truth": y})
    scores, preds = {}, {}
    for role, m in models.items():
        spec: ModelSpec = m["spec"]
        s = m["raw"]
        table[f"{role}_score"] = s
        scores[role] = s if spec.higher_is_positive else -s
        if spec.threshold is not None:
            t = spec.threshold
            preds[role] = ((s >= t) if spec.higher_is_positive else (s <= t)).astype(np.int8)
            table[f"{role}_positive"] = preds[role]
    cases = PairedCases(y=y, score_reference=scores["reference"], score_candidate=scores["candidate"],
                        pred_reference=preds.get("reference"), pred_candidate=preds.get("candidate"))
    return cases, table


def _compute(protocol: CompareProtocol, cases: PairedCases, table: pd.DataFrame, mtable: pd.DataFrame,
             warnings: list[str]) -> dict[str, Any]:
    d = protocol.data
    all_idx = np.arange(cases.y.size)
    endpoints = [estimate_paired_endpoint(ep, cases, all_idx) for ep in protocol.endpoints]
    multiplicity = d.get("multiplicity", "holm")
    groups: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    if "subgroups" in d:
        groups, tests, sub_warn = subgroup_comparisons(mtable, cases, protocol.endpoints, d["subgroups"],
                                                       multiplicity=multiplicity)
        warnings += sub_warn
        from validation.compare._subgroups import subgroup_levels

        for var in d["subgroups"]["variables"]:
            table[f"subgroup:{var['column']}"] = subgroup_levels(mtable, var).to_numpy()
    verdict = "pass" if all(e["passed"] for e in endpoints) else "fail"
    return {"verdict": verdict, "n_cases": int(cases.y.size), "n_positive": int(cases.y.sum()),
            "endpoints": endpoints, "subgroups": groups, "interaction_tests": tests,
            "bootstrap": d.get("bootstrap"), "multiplicity": multiplicity}


def _write_outputs(protocol: CompareProtocol, result: dict[str, Any], body: bytes, cases: PairedCases,
                   table: pd.DataFrame, out: Path) -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {"": [], "plots": []}
    (out / "result.json").write_bytes(body)
    table.to_csv(out / "cases.csv", index=False, float_format="%.17g", lineterminator="\n")
    (out / "environment.json").write_bytes(canonical_json(environment_info()) + b"\n")
    files[""] += [out / "result.json", out / "cases.csv", out / "environment.json"]
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    auc = next((e for e in result["endpoints"] if e["metric"] == "roc_auc"), None)
    points = {}
    if cases.pred_reference is not None and cases.pred_candidate is not None:
        for role, p in (("reference", cases.pred_reference), ("candidate", cases.pred_candidate)):
            points[role] = (float(np.mean(p[cases.y == 0])), float(np.mean(p[cases.y == 1])))
    files["plots"] += _plots.paired_roc_plot(cases.y, cases.score_reference, cases.score_candidate, auc,
                                             points, plots)
    return files


def _log_mlflow(tracked: AnalysisRun, protocol: CompareProtocol, manifest: Manifest, result: dict[str, Any],
                files: dict[str, list[Path]], result_sha256: str) -> None:
    env = environment_info()
    params = {
        "protocol_id": protocol.id, "protocol_version": result["protocol_version"],
        "protocol_kind": PROTOCOL_KIND, "protocol_sha256": protocol.sha256, "manifest_sha256": manifest.sha256,
        "reference_sha256": result["reference"]["sha256"], "candidate_sha256": result["candidate"]["sha256"],
        "reference_mode": result["reference"]["mode"], "candidate_mode": result["candidate"]["mode"],
        "multiplicity": result["multiplicity"], "n_cases": result["n_cases"],
        "samd_version": __version__, "result_sha256": result_sha256,
        "python": env["python"], "platform": env["platform"],
    }
    params.update({f"version.{k}": v for k, v in key_package_versions().items()})
    log_result(tracked, params=params, metrics=result_metrics(result, endpoint_tests=True),
               tags={"samd.verdict": result["verdict"], "samd.protocol_sha256": protocol.sha256},
               files={"inputs": [protocol.path, manifest.path], "": files[""], "plots": files["plots"]},
               result_sha256=result_sha256)
