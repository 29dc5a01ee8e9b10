"""`run_validation`: lock the protocol, check the test set, evaluate the device, write outputs.

Order of a run (each step in the audit trail before the next): protocol lock -> manifest file
hashes -> device identity (and, in bundle mode, the locked threshold) -> no training/test overlap
(`check_training_overlap`; refused with ``testset.training_overlap``) -> ``testset.access`` and
``run.start`` -> device inference (bundle mode) and per-case values -> statistics -> outputs
other than ``result.json`` -> MLflow logging -> ``mlflow.run.end`` -> checkpoint ->
``result.json`` (last, atomically). Every failure after the lock ends in a ``run.fail`` record.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samd_core import __version__
from samd_core.hashing import canonical_json, sha256_bytes, sha256_file
from validation.audit import AuditLog
from validation.errors import IntegrityError, ProtocolError
from validation.executor import chunk_mapper
from validation.harness import _plots
from validation.harness._cases import build_case_data, read_predictions
from validation.harness._endpoints import CaseData, acceptance, add_exclusions, estimate_endpoint, lesion_froc
from validation.harness._lock import LockState
from validation.harness._manifest import Manifest, prior_accesses
from validation.harness._overlap import check_training_overlap
from validation.harness._protocol import LESION_METRICS, SEGMENTATION_METRICS, Protocol, load_protocol
from validation.harness._steps import (
    check_test_set,
    log_result,
    open_locked_run,
    result_json_bytes,
    result_metrics,
    strict_result,
)
from validation.harness._subgroups import subgroup_levels, subgroup_results
from validation.spreadsheet import safe_frame
from validation.stats import encode_float
from validation.tracking import AnalysisRun, environment_info, key_package_versions, record_run_failure, track_analysis

__all__ = ["EXPERIMENT", "RESULT_SCHEMA", "ValidationOutcome", "run_validation"]

EXPERIMENT = "samd-validation"
RESULT_SCHEMA = "samd-validation-result/1"
_STAGING = ".staging"


@dataclass(frozen=True)
class ValidationOutcome:
    """Verdict (``"pass"`` or ``"fail"``), the result, where things went."""

    verdict: str
    result: dict[str, Any]
    out_dir: Path
    run_id: str


@dataclass(frozen=True)
class _Device:
    """The device's identity before any case is evaluated."""

    mode: str
    sha256: str
    info: dict[str, Any]
    threshold: float | None
    predictions: pd.DataFrame | None  # predictions mode: the table, aligned to the manifest
    bundle_path: Path | None
    warnings: tuple[str, ...] = ()
    training_set: Any = None  # samd_core.bundle.TrainingSet: the bundle's, or the protocol's file
    training_source: str | None = None


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
    workers: int | None = None,
    scheduler: str | None = None,
) -> ValidationOutcome:
    """Run a validation protocol; see ``docs/harness.md``.

    In bundle mode, per-case inference runs in this process by default; ``workers=N`` starts a
    local Dask cluster of N worker processes, ``scheduler="tcp://HOST:PORT"`` uses an existing
    Dask cluster (`validation.executor`). Results are identical whatever the executor.

    Raises
    ------
    ProtocolError, IntegrityError, AuditError
        Anything that stops the run before a verdict (the CLI maps these to exit code 2).
        Every failure after the protocol lock is recorded as ``run.fail`` first.
    """
    from validation.executor import executor_session, executor_spec

    protocol = load_protocol(protocol_path)
    executor = executor_spec(workers, scheduler)
    # the protocol and its test set (the whole manifest file, every column) are locked together
    out, audit, manifest, lock = open_locked_run(protocol, protocol.resolve(protocol.manifest), out_dir=out_dir,
                                                 audit_log=audit_log, actor=actor, signing_key=signing_key,
                                                 relock_reason=relock_reason)
    runs: list[AnalysisRun] = []
    # one local cluster for the whole run (overlap check, inference, bootstrap chunks), when any uses it
    needed = protocol.device.bundle is not None or protocol.bootstrap.chunk_size is not None
    try:
        with executor_session(executor, needed=needed) as session:
            return _run_locked(protocol, lock, audit, out, tracking_uri, progress, runs, manifest, session)
    except BaseException as exc:
        shutil.rmtree(out / _STAGING, ignore_errors=True)
        if not (runs and runs[0].failed):  # failed before the tracked run existed (it records its own)
            record_run_failure(audit, {"type": "validation_run", "id": f"{protocol.id} v{lock.version}"}, exc,
                               object_sha256=protocol.sha256, context={"protocol_id": protocol.id})
        raise


def _run_locked(protocol: Protocol, lock: LockState, audit: AuditLog, out: Path, tracking_uri: str | None,
                progress: bool, runs: list[AnalysisRun], manifest: Manifest, executor: Any) -> ValidationOutcome:
    (out / "result.json").unlink(missing_ok=True)  # a result.json only ever means a completed run
    n_files = check_test_set(audit, manifest, context={"protocol_id": protocol.id}, executor=executor,
                             progress=progress)
    device = _identify_device(protocol, manifest)
    overlap = check_training_overlap(audit, manifest, device.training_set, source=device.training_source,
                                      image_column=protocol.device.image_column, out=out,
                                      context={"protocol_id": protocol.id, "model_sha256": device.sha256},
                                      executor=executor, progress=progress)
    prior = prior_accesses(audit.path, manifest.sha256)
    warnings = list(device.warnings)
    if prior:
        warnings.append(f"test set {manifest.path.name} was accessed {len(prior)} time(s) before this run")
    with track_analysis(kind="validation", experiment=EXPERIMENT, run_name=f"{protocol.id} v{lock.version}",
                        audit=audit, tracking_uri=tracking_uri, tags={"samd.protocol_id": protocol.id},
                        start=False, fail_sha256=protocol.sha256,
                        fail_context={"protocol_id": protocol.id}) as tracked:
        runs.append(tracked)
        run = tracked.run
        _record_access(audit, protocol, lock, manifest, device, tracked, prior, out, overlap)
        data, table, reference_files, extra_info, w, evaluated = _evaluate(protocol, manifest, device, out,
                                                                         progress, executor)
        warnings += w
        with chunk_mapper(executor if protocol.bootstrap.chunk_size is not None else None) as chunk_map:
            result = _compute(protocol, data, table, warnings, evaluated.table, extra_info.get("exclusions", {}),
                              manifest.table, chunk_map)
        result.update({
            "schema": RESULT_SCHEMA,
            "samd_version": __version__,
            "protocol_id": protocol.id,
            "protocol_version": lock.version,
            "protocol_sha256": protocol.sha256,
            "manifest_sha256": manifest.sha256,
            "manifest_files_checked": n_files,
            "model_sha256": device.sha256,
            "device": {**device.info, **extra_info},
            "mlflow_run_id": run.run_id,
            "mlflow_experiment_id": run.experiment_id,
            "test_set_prior_accesses": len(prior),
            "test_set_prior_access_records": prior,
            "training_overlap": overlap,
            "exclusions": extra_info.get("exclusions", {}),
            "reference_files": reference_files,
            "warnings": warnings,
        })
        if protocol.normalised:  # accepted older spellings (absent when the file uses the names used)
            result["normalised"] = [n.to_dict() for n in protocol.normalised]
        result = strict_result(dict(sorted(result.items())))
        body = result_json_bytes(result)
        staged = out / _STAGING / "result.json"
        files = _write_outputs(protocol, result, data, table, out)
        staged.parent.mkdir(exist_ok=True)
        staged.write_bytes(body)
        files[""].insert(0, staged)
        if data.detection is not None:
            files["inputs"] = [data.detection["lesions_file"], data.detection["detections_file"]]
        _log_mlflow(tracked, protocol, manifest, result, files, sha256_bytes(body))
        tracked.end(extra={"verdict": result["verdict"], "result_sha256": sha256_bytes(body)})
        tracked.checkpoint()
        os.replace(staged, out / "result.json")  # last: a result.json means the run completed
        shutil.rmtree(out / _STAGING, ignore_errors=True)
    return ValidationOutcome(result["verdict"], result, out, run.run_id)


def _identify_device(protocol: Protocol, manifest: Manifest) -> _Device:
    """The device's hash and operating threshold, before any case is opened or evaluated.

    Bundle mode: the bundle is verified (`samd_core.load_locked`) and its locked case threshold
    is the operating threshold; a protocol threshold that differs is an error naming both.
    """
    dev = protocol.device
    if dev.predictions is not None:
        path = protocol.resolve(dev.predictions)
        if not path.is_file():
            raise ProtocolError(f"`device.predictions` file {path.name} does not exist")
        sha = sha256_file(path)
        table, read_warnings = read_predictions(path, manifest)
        info: dict[str, Any] = {"mode": "predictions", "predictions_file": path.name, "predictions_sha256": sha}
        info.update({k: v for k, v in (("name", dev.name), ("version", dev.version)) if v is not None})
        device = _Device("predictions", sha, info, dev.threshold, table, None, tuple(read_warnings))
    else:
        import samd_core

        path = protocol.resolve(str(dev.bundle))
        model = samd_core.load_locked(path)
        locked = float(model.threshold)
        if dev.threshold is not None and dev.threshold != locked:
            raise ProtocolError(f"`device.threshold` {dev.threshold!r} differs from the bundle's locked case "
                                f"threshold {locked!r}; omit it to use the bundle's, or lock a new bundle")
        for field, declared in (("name", dev.name), ("version", dev.version)):
            if declared is not None and declared != str(getattr(model, field)):
                raise ProtocolError(f"`device.{field}` of the protocol must be the bundle's {field} "
                                    f"{str(getattr(model, field))!r}; got {declared!r}")
        rule = getattr(getattr(model, "settings", None), "case_score_rule", "max_probability")
        if rule != "max_probability" and dev.detection_threshold is None and any(
                ep.metric in LESION_METRICS - {"lesion_sensitivity_at_fp"} for ep in protocol.endpoints):
            raise ProtocolError(f"the bundle's case score rule is {rule!r}: its locked case threshold is not on "
                                "the candidates' probability scale; lesion operating-point endpoints need "
                                "`device.detection_threshold`")
        if rule == "max_probability" and dev.detection_threshold is not None and dev.detection_threshold != locked:
            raise ProtocolError(f"`device.detection_threshold` {dev.detection_threshold!r} differs from the bundle's "
                                f"locked threshold {locked!r}; omit it to use the bundle's")
        sha = str(model.manifest_sha256)
        info = {"mode": "bundle", "bundle": path.name, "bundle_manifest_sha256": sha,
                **{k: str(getattr(model, k)) for k in ("name", "version") if hasattr(model, k)}}
        training = getattr(model, "training_set", None)  # None: a bundle locked before training sets
        device = _Device("bundle", sha, info, locked, None, path, training_set=training,
                         training_source="bundle" if training is not None else None)
    device = _with_training_set(protocol, device)
    if dev.model_sha256 is not None and dev.model_sha256 != device.sha256:
        raise IntegrityError(f"`device.model_sha256` {dev.model_sha256} does not match the device's sha256 "
                             f"{device.sha256}")
    return device


def _with_training_set(protocol: Protocol, device: _Device) -> _Device:
    """The protocol's ``device.training_set`` file, for a device that records no training set itself."""
    import dataclasses

    rel = protocol.device.training_set
    if rel is None:
        return device
    if device.training_set is not None:
        raise ProtocolError("`device.training_set` is given but the bundle records its own training set "
                            "(training_set.json); remove `device.training_set`")
    from samd_core.bundle import TrainingSet

    path = protocol.resolve(rel)
    if not path.is_file():
        raise ProtocolError(f"`device.training_set` file {path.name} does not exist")
    info = {**device.info, "training_set_file": path.name, "training_set_file_sha256": sha256_file(path)}
    return dataclasses.replace(device, info=info, training_set=TrainingSet.from_file(path), training_source="protocol")


def _record_access(audit: AuditLog, protocol: Protocol, lock: LockState, manifest: Manifest, device: _Device,
                   tracked: AnalysisRun, prior: list[dict[str, Any]], out: Path, overlap: dict[str, Any]) -> None:
    """``testset.access`` then ``run.start``: written before any case is evaluated."""
    run = tracked.run
    audit.append("testset.access",
                 object={"type": "test_set", "id": manifest.path.name, "n_cases": len(manifest.table)},
                 object_sha256=manifest.sha256,
                 context={"protocol_id": protocol.id, "protocol_sha256": protocol.sha256,
                          "model_sha256": device.sha256, "mode": device.mode, "purpose": "validation",
                          "model_name": device.info.get("name"), "model_version": device.info.get("version"),
                          "mlflow_run_id": run.run_id, "prior_accesses": len(prior),
                          "prior_access_records": prior[-100:], "testset_version": lock.testset_version,
                          "training_overlap": {k: v for k, v in overlap.items() if k != "statement"}})
    tracked.start(object_sha256=protocol.sha256,
                  context={"protocol_id": protocol.id, "protocol_version": lock.version,
                           "manifest_sha256": manifest.sha256, "model_sha256": device.sha256,
                           "out_dir": out.name})


def _evaluate(protocol: Protocol, manifest: Manifest, device: _Device, out: Path, progress: bool, executor: Any
              ) -> tuple[CaseData, pd.DataFrame, dict[str, str], dict[str, Any], list[str], Manifest]:
    """Device outputs (bundle inference, or the predictions read earlier) -> per-case data.

    Bundle mode: cases outside the bundle's declared input domain are a pre-specified exclusion
    (reported with counts and ids, not scored); the returned manifest is the evaluated one.
    """
    warnings: list[str] = []
    info: dict[str, Any] = {}
    detections_path = None
    if device.bundle_path is not None:
        from validation.harness._bundle import exclude_cases, run_bundle

        seg = any(ep.metric in SEGMENTATION_METRICS for ep in protocol.endpoints)
        table, sha, facts, dets = run_bundle(device.bundle_path, manifest, out,
                                             image_column=protocol.device.image_column, keep_masks=seg,
                                             progress=progress, protocol_sha256=protocol.sha256,
                                             executor=executor)
        if sha != device.sha256:
            raise IntegrityError(f"the bundle changed during the run: manifest sha256 {sha} != {device.sha256}")
        info.update(facts)
        evaluated = exclude_cases(manifest, facts)  # out-of-domain cases: reported, not scored
        mask_base = out
        if protocol.device.detections is None:  # the locked model's own lesion candidates
            dets.to_csv(out / "detections.csv", index=False, float_format="%.17g", lineterminator="\n")
            detections_path = out / "detections.csv"
    else:
        table = device.predictions
        evaluated = manifest
        mask_base = protocol.resolve(str(protocol.device.predictions)).parent
    data, cases = build_case_data(protocol, evaluated, table, mask_base,  # type: ignore[arg-type]
                                  threshold=device.threshold, detections_path=detections_path)
    reference_files: dict[str, str] = {}
    if data.detection is not None:
        info["detections_sha256"] = data.detection["detections_sha256"]
        reference_files["lesions_sha256"] = data.detection["lesions_sha256"]
    return data, cases, reference_files, info, warnings, evaluated


#: Reason shown for each kind of case excluded before evaluation (``result.json`` ``exclusions``).
_PRE_EXCLUSION_REASONS = {"out_of_domain": "outside the bundle's declared input domain (not scored)"}


def _compute(protocol: Protocol, data: CaseData, table: pd.DataFrame, warnings: list[str],
             mtable: pd.DataFrame, pre_excluded: dict[str, Any] | None = None,
             full_table: pd.DataFrame | None = None, chunk_map: Any = None) -> dict[str, Any]:
    """Endpoint, subgroup and FROC estimates. With ``bootstrap.chunk_size`` declared, the replicate
    chunks are computed through ``chunk_map`` (the executor's map; in-process when None)."""
    boot = protocol.bootstrap
    reps, seed = boot.replicates, boot.seed
    all_idx = np.arange(len(data.case_ids))
    endpoints = []
    for ei, ep in enumerate(protocol.endpoints):
        r = estimate_endpoint(ep, data, all_idx, replicates=reps, rng=boot.streams([ei, 0, 0], chunk_map))
        est = r["estimate"]
        passed, crit = acceptance(ep, est)
        pop = r["extra"].get("population") or {  # an estimator without its own block: every case analysed
            "definition": "evaluated cases (images; the estimate's n counts its own units)", "n_eligible": int(all_idx.size), "n_analysed": int(all_idx.size),
            "n_excluded": 0, "exclusions": [], "not_eligible": []}
        for kind, ex in sorted((pre_excluded or {}).items()):
            pop = add_exclusions(pop, _PRE_EXCLUSION_REASONS.get(kind, kind), list(ex.get("case_ids", [])))
        r["extra"]["population"] = pop
        endpoints.append({"id": ep.id, "metric": ep.metric, **est.to_dict(), "ci": ep.ci,
                          "criterion": crit, "acceptance": ep.acceptance.to_dict(), "passed": passed,
                          **r["extra"], "notes": r["notes"]})
    groups: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    if protocol.subgroups is not None:
        groups, tests, sub_warn = subgroup_results(mtable, data, protocol.endpoints, protocol.subgroups,
                                                   replicates=reps, seed=seed, multiplicity=protocol.multiplicity,
                                                   streams=lambda key: boot.streams(key, chunk_map))
        warnings += sub_warn
        _add_pre_exclusions(groups, protocol, pre_excluded or {}, full_table if full_table is not None else mtable)
        for var in protocol.subgroups.variables:
            table[f"subgroup:{var.column}"] = subgroup_levels(mtable, var).to_numpy()
    for t in tests:
        for k in ("statistic", "pvalue", "pvalue_adjusted"):
            t[k] = encode_float(t[k])
    verdict = "pass" if all(e["passed"] for e in endpoints) else "fail"
    lesion_ep = next((ep for ep in protocol.endpoints if ep.metric in LESION_METRICS), None)
    froc = None if lesion_ep is None else lesion_froc(lesion_ep, data, replicates=reps,
                                                      rng=boot.streams([98], chunk_map))
    return {"verdict": verdict, **({"froc": froc} if froc is not None else {}), "n_cases": int(len(data.case_ids)), "endpoints": endpoints,
            "subgroups": groups, "interaction_tests": tests,
            "bootstrap": boot.to_dict(), "multiplicity": protocol.multiplicity}


def _add_pre_exclusions(groups: list[dict[str, Any]], protocol: Protocol, pre_excluded: dict[str, Any],
                        full_table: pd.DataFrame) -> None:
    """Cases excluded before evaluation join the population of their subgroup level (from the full manifest)."""
    if not groups or not any(ex.get("case_ids") for ex in pre_excluded.values()):
        return
    ids = full_table["case_id"].to_numpy()
    for var in protocol.subgroups.variables:  # type: ignore[union-attr]
        levels = subgroup_levels(full_table, var).to_numpy()
        for g in (g for g in groups if g["variable"] == var.column):
            at_level = set(ids[levels == g["level"]].tolist())
            for kind, ex in sorted(pre_excluded.items()):
                cases = [c for c in ex.get("case_ids", []) if c in at_level]
                for e in g["endpoints"].values():
                    if "population" in e:
                        e["population"] = add_exclusions(e["population"], _PRE_EXCLUSION_REASONS.get(kind, kind), cases)


def _write_outputs(protocol: Protocol, result: dict[str, Any], data: CaseData, table: pd.DataFrame,
                   out: Path) -> dict[str, list[Path]]:
    """Every output file except ``result.json``: case tables (CSV formula-safe, parquet raw),
    environment, plots."""
    files: dict[str, list[Path]] = {"": [], "plots": []}
    safe_frame(table).to_csv(out / "cases.csv", index=False)
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
        sc = protocol.device.score
        raw = table["score"].to_numpy(float)
        is_prob = sc.is_probability if sc is not None else None
        if is_prob or (raw.min() >= 0 and raw.max() <= 1 and is_prob is not False):
            higher = sc is None or sc.higher_is_positive
            files["plots"] += _plots.calibration_plot(data.y, raw if higher else 1 - raw, plots)
    files["plots"] += _plots.forest_plot(result["endpoints"], result["subgroups"], plots)
    if result.get("froc"):
        files["plots"] += _plots.froc_plot(result["froc"], plots)
    return files


def _log_mlflow(tracked: AnalysisRun, protocol: Protocol, manifest: Manifest, result: dict[str, Any],
                files: dict[str, list[Path]], result_sha256: str) -> None:
    env = environment_info()
    params = {
        "protocol_id": protocol.id, "protocol_version": result["protocol_version"],
        "protocol_sha256": protocol.sha256, "manifest_sha256": manifest.sha256,
        "model_sha256": result["model_sha256"], "mode": protocol.mode,
        "bootstrap_replicates": result["bootstrap"]["replicates"], "bootstrap_seed": result["bootstrap"]["seed"],
        "multiplicity": result["multiplicity"], "n_cases": result["n_cases"],
        "samd_version": __version__, "result_sha256": result_sha256,
        "python": env["python"], "platform": env["platform"],
    }
    params.update({f"version.{k}": v for k, v in key_package_versions().items()})
    if result["subgroups"]:  # the levels as written (metric keys are sanitised)
        levels: dict[str, list[str]] = {}
        for g in result["subgroups"]:
            levels.setdefault(g["variable"], []).append(g["level"])
        params.update({f"subgroup_levels.{i}": json.dumps({"variable": v, "levels": lv}, ensure_ascii=False)[:6000]
                       for i, (v, lv) in enumerate(levels.items())})
    files = {"inputs": [protocol.path, manifest.path, *files.get("inputs", [])], "": files[""],
             "plots": files["plots"]}
    log_result(tracked, params=params, metrics=result_metrics(result, subgroup_n=True),
               tags={"samd.verdict": result["verdict"], "samd.protocol_sha256": protocol.sha256},
               files=files, result_sha256=result_sha256)
