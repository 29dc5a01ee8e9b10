"""`run_validation`: the whole standalone performance test, from protocol to verdict.

Order (each step recorded in the audit trail before the next): protocol lock -> manifest
file hashes -> test-set access -> run start -> per-case outputs -> endpoints, subgroups ->
files, MLflow run -> ``mlflow.run.end`` integrity record -> signed checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from samd_core import __version__
from samd_core.hashing import canonical_json, sha256_file, sha256_json
from validation.audit._log import AuditLog
from validation.audit import iter_records
from validation.errors import IntegrityError, ProtocolError
from validation.harness import _plots
from validation.harness._cases import build_case_data, read_predictions
from validation.harness._endpoints import acceptance, estimate_endpoint
from validation.harness._lock import ensure_locked
from validation.harness._manifest import check_manifest_files, prior_accesses, read_manifest
from validation.harness._protocol import SEGMENTATION_METRICS, load_protocol
from validation.harness._subgroups import subgroup_levels, subgroup_results
from validation.stats import encode_float
from validation.tracking import environment_info, key_package_versions, metric_key, track_analysis

__all__ = ["EXPERIMENT", "RESULT_SCHEMA", "ValidationOutcome", "run_validation"]

EXPERIMENT = "samd-validation"
RESULT_SCHEMA = "samd-validation-result/1"


@dataclass(frozen=True)
class ValidationOutcome:
    """Verdict and where things went: ``exit_code`` 0 pass, 1 fail."""

    verdict: str
    exit_code: int
    result: dict[str, Any]
    out_dir: Path
    run_id: str


def _num(x: Any) -> float:
    return float(x) if not isinstance(x, str) else float(x)


def run_validation(
    protocol_path: str | Path,
    *,
    out_dir: str | Path,
    tracking_uri: str | None = None,
    audit_log: str | Path | None = None,
    actor: str | None = None,
    signing_key: Any = None,
    relock_reason: str | None = None,
    progress: bool = True,
) -> ValidationOutcome:
    """Run a validation protocol; see ``docs/harness.md``.

    Raises
    ------
    ProtocolError, IntegrityError, AuditError
        Anything that stops the run before a verdict (the CLI maps these to exit code 2).
    """
    protocol = load_protocol(protocol_path)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    audit_path = Path(audit_log) if audit_log is not None else Path.cwd() / "samd-audit.jsonl"
    audit = AuditLog(audit_path, actor=actor, signing_key=signing_key)
    d = protocol.data
    # 1. lock protocol and test set (whole manifest file hashed) before anything is computed
    manifest = read_manifest(protocol.resolve(d["manifest"]))
    lock, _ = ensure_locked(audit, protocol, relock_reason=relock_reason,
                            testset_sha256=manifest.sha256, testset_id=manifest.path.name)
    # 2. file hashes
    try:
        n_files = check_manifest_files(manifest)
    except IntegrityError as exc:
        audit.append("testset.integrity_failure", object={"type": "test_set", "id": manifest.path.name},
                     object_sha256=manifest.sha256, context={"protocol_id": protocol.id,
                                                             "detail": str(exc)[:4000]})
        raise
    dev = d["device"]
    warnings: list[str] = []
    reference_files: dict[str, str] = {}
    # 3. device identity
    if protocol.mode == "predictions":
        preds_path = protocol.resolve(dev["predictions"])
        if not preds_path.is_file():
            raise ProtocolError(f"`device.predictions` file {preds_path} does not exist")
        model_sha = sha256_file(preds_path)
        model_info: dict[str, Any] = {"mode": "predictions", "predictions_file": preds_path.name,
                                      "predictions_sha256": model_sha}
        device, w = read_predictions(preds_path, manifest)
        warnings += w
    else:
        bundle_path = protocol.resolve(dev["bundle"])
        model_sha = None  # known after load_locked verified the bundle
        model_info = {"mode": "bundle", "bundle": bundle_path.name}
    prior = prior_accesses(audit_path, manifest.sha256)
    if prior:
        warnings.append(f"test set {manifest.path.name} was accessed {len(prior)} time(s) before this run")
    with track_analysis(kind="validation", experiment=EXPERIMENT, run_name=f"{protocol.id} v{lock.version}",
                        audit=audit, tracking_uri=tracking_uri, tags={"samd.protocol_id": protocol.id},
                        start=False) as tracked:
        run = tracked.run
        detections_path = None
        try:
            if protocol.mode == "bundle":
                from validation.harness._bundle import exclude_cases, run_bundle

                seg = any(ep["metric"] in SEGMENTATION_METRICS for ep in d["endpoints"])
                device, model_sha, facts, dets = run_bundle(
                    bundle_path, manifest, out, image_column=dev.get("image_column", "path"),
                    keep_masks=seg, progress=progress)
                model_info.update({"bundle_manifest_sha256": model_sha, **facts})
                evaluated = exclude_cases(manifest, facts)  # out-of-domain cases: reported, not scored
                mask_base = out
                if "detections" not in dev:  # the locked model's own lesion candidates
                    dets.to_csv(out / "detections.csv", index=False, float_format="%.17g", lineterminator="\n")
                    detections_path = out / "detections.csv"
            else:
                mask_base = preds_path.parent
                evaluated = manifest
            if "model_sha256" in dev and dev["model_sha256"] != model_sha:
                raise IntegrityError(f"`device.model_sha256` {dev['model_sha256']} does not match the "
                                     f"device's sha256 {model_sha}")
            audit.append("testset.access",
                         object={"type": "test_set", "id": manifest.path.name, "n_cases": len(manifest.table)},
                         object_sha256=manifest.sha256,
                         context={"protocol_id": protocol.id, "protocol_sha256": protocol.sha256,
                                  "model_sha256": model_sha, "mode": protocol.mode, "purpose": "validation",
                                  "mlflow_run_id": run.run_id, "prior_accesses": len(prior),
                                  "prior_access_records": prior[-100:], "testset_version": lock.testset_version})
            tracked.start(object_sha256=protocol.sha256,
                          context={"protocol_id": protocol.id, "protocol_version": lock.version,
                                   "manifest_sha256": manifest.sha256, "model_sha256": model_sha,
                                   "out_dir": out.name})
            data, table = build_case_data(protocol, evaluated, device, mask_base, detections_path=detections_path)
            if data.detection is not None:
                model_info["detections_sha256"] = data.detection["detections_sha256"]
                reference_files["lesions_sha256"] = data.detection["lesions_sha256"]
            result = _compute(protocol, data, table, warnings, evaluated.table)
        except BaseException as exc:
            tracked.fail(exc)
            raise
        result.update({
            "schema": RESULT_SCHEMA,
            "samd_version": __version__,
            "protocol_id": protocol.id,
            "protocol_version": lock.version,
            "protocol_sha256": protocol.sha256,
            "manifest_sha256": manifest.sha256,
            "manifest_files_checked": n_files,
            "model_sha256": model_sha,
            "device": model_info,
            "mlflow_run_id": run.run_id,
            "mlflow_experiment_id": run.experiment_id,
            "test_set_prior_accesses": len(prior),
            "exclusions": model_info.get("exclusions", {}),
            "reference_files": reference_files,
            "warnings": warnings,
        })
        result = _strict(dict(sorted(result.items())))
        files = _write_outputs(protocol, result, data, table, out)
        if data.detection is not None:
            files["inputs"] = [data.detection["lesions_file"], data.detection["detections_file"]]
        _log_mlflow(run, protocol, manifest, result, files, out)
        rec = tracked.end(extra={"verdict": result["verdict"], "result_sha256": sha256_file(out / "result.json")})
        cp = audit.checkpoint()
        first = next(iter_records(audit_path))
        run.log_params({"samd.audit_checkpoint_seq": cp["seq"], "samd.audit_checkpoint_hash": cp["hash"],
                        "samd.audit_checkpoint_sig": cp["sig"] or "", "samd.audit_checkpoint_key_id": cp["key_id"] or "",
                        "samd.audit_log_id": first["hash"], "samd.audit_run_end_seq": rec["seq"]})
    verdict = result["verdict"]
    return ValidationOutcome(verdict, 0 if verdict == "pass" else 1, result, out, run.run_id)


def _compute(protocol: Any, data: Any, table: Any, warnings: list[str], mtable: Any) -> dict[str, Any]:
    d = protocol.data
    boot = d.get("bootstrap", {"replicates": 2000, "seed": 0})
    reps, seed = int(boot["replicates"]), int(boot["seed"])
    all_idx = np.arange(len(data.case_ids))
    endpoints = []
    for ei, ep in enumerate(d["endpoints"]):
        r = estimate_endpoint(ep, data, all_idx, replicates=reps, rng=np.random.default_rng([seed, ei, 0, 0]))
        est = r["estimate"]
        passed, crit = acceptance(ep, est)
        endpoints.append({"id": ep["id"], "metric": ep["metric"], **est.to_dict(), "ci": ep["ci"],
                          "criterion": crit, "acceptance": ep["acceptance"], "passed": passed,
                          **r["extra"], "notes": r["notes"]})
    groups, tests, sub_warn = ([], [], [])
    if "subgroups" in d:
        groups, tests, sub_warn = subgroup_results(mtable, data, d["endpoints"], d["subgroups"], replicates=reps,
                                                   seed=seed, multiplicity=d.get("multiplicity", "holm"))
        for var in d["subgroups"]["variables"]:
            table[f"subgroup:{var['column']}"] = subgroup_levels(mtable, var).to_numpy()
    warnings += sub_warn
    for t in tests:
        for k in ("statistic", "pvalue", "pvalue_adjusted"):
            t[k] = encode_float(t[k])
    verdict = "pass" if all(e["passed"] for e in endpoints) else "fail"
    return {"verdict": verdict, "n_cases": int(len(data.case_ids)), "endpoints": endpoints,
            "subgroups": groups, "interaction_tests": tests,
            "bootstrap": {"replicates": reps, "seed": seed}, "multiplicity": d.get("multiplicity", "holm")}


def _strict(obj: Any) -> Any:
    """Strict-JSON copy: non-finite floats become "nan"/"inf"/"-inf" (see `encode_float`)."""
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return encode_float(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _write_outputs(protocol: Any, result: dict[str, Any], data: Any, table: Any, out: Path) -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {"": [], "plots": []}
    (out / "result.json").write_bytes(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False,
                                                 allow_nan=False).encode("utf-8") + b"\n")
    files[""].append(out / "result.json")
    table.to_csv(out / "cases.csv", index=False)
    table.to_parquet(out / "cases.parquet", index=False)
    files[""] += [out / "cases.csv", out / "cases.parquet"]
    (out / "environment.json").write_bytes(canonical_json(environment_info()) + b"\n")
    files[""].append(out / "environment.json")
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    boot = result["bootstrap"]
    if data.y is not None and data.score is not None:
        auc = next((e for e in result["endpoints"] if e["metric"] == "roc_auc"), None)
        files["plots"] += _plots.roc_plot(data.y, data.score, auc, plots, replicates=boot["replicates"],
                                          seed=boot["seed"])
        sc = protocol.data["device"].get("score", {})
        raw = table["score"].to_numpy(float)
        if sc.get("is_probability") or (raw.min() >= 0 and raw.max() <= 1 and sc.get("is_probability", True)):
            files["plots"] += _plots.calibration_plot(data.y, raw if sc.get("higher_is_positive", True) else 1 - raw, plots)
    files["plots"] += _plots.forest_plot(result["endpoints"], result["subgroups"], plots)
    return files


def _log_mlflow(run: Any, protocol: Any, manifest: Any, result: dict[str, Any],
                files: dict[str, list[Path]], out: Path) -> None:
    params = {
        "protocol_id": protocol.id, "protocol_version": result["protocol_version"],
        "protocol_sha256": protocol.sha256, "manifest_sha256": manifest.sha256,
        "model_sha256": result["model_sha256"], "mode": protocol.mode,
        "bootstrap_replicates": result["bootstrap"]["replicates"], "bootstrap_seed": result["bootstrap"]["seed"],
        "multiplicity": result["multiplicity"], "n_cases": result["n_cases"],
        "samd_version": __version__, "result_sha256": sha256_file(out / "result.json"),
        "python": environment_info()["python"], "platform": environment_info()["platform"],
    }
    params.update({f"version.{k}": v for k, v in key_package_versions().items()})
    run.log_params(params)
    metrics: dict[str, float] = {}
    for e in result["endpoints"]:
        for f in ("value", "ci_low", "ci_high"):
            metrics[metric_key(e["id"], f)] = _num(e[f])
        metrics[metric_key(e["id"], "n")] = float(e["n"])
        metrics[metric_key(e["id"], "passed")] = 1.0 if e["passed"] else 0.0
    for g in result["subgroups"]:
        for eid, e in g["endpoints"].items():
            for f in ("value", "ci_low", "ci_high"):
                metrics[metric_key("subgroup", g["variable"], g["level"], eid, f)] = _num(e[f])
            metrics[metric_key("subgroup", g["variable"], g["level"], eid, "n")] = float(e["n"])
    for t in result["interaction_tests"]:
        metrics[metric_key("interaction", t["variable"], t["endpoint"], "pvalue")] = _num(t["pvalue"])
        metrics[metric_key("interaction", t["variable"], t["endpoint"], "pvalue_adjusted")] = _num(t["pvalue_adjusted"])
    run.log_metrics(metrics)
    run.set_tags({"samd.verdict": result["verdict"], "samd.protocol_sha256": protocol.sha256})
    run.log_artifact(protocol.path, "inputs")
    run.log_artifact(manifest.path, "inputs")
    for p in files[""]:
        run.log_artifact(p)
    for p in files["plots"]:
        run.log_artifact(p, "plots")
    for p in files.get("inputs", []):
        run.log_artifact(p, "inputs")
    run.log_json({"result_sha256": params["result_sha256"], "values_sha256": sha256_json({k: encode_float(v) for k, v in metrics.items()})},
                 "integrity.json")


