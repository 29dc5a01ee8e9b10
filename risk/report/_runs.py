"""Read the runs a submission cites, through the MLflow adapter `validation.tracking`.

A run made by ``samd validate`` has tag ``samd.kind=validation`` and artifact ``result.json``; a
run made by ``samd mrmc`` has tag ``samd.kind=mrmc`` and artifact ``mrmc_result.json``. The
result artifact is downloaded, hashed (SHA-256 of its bytes) and parsed; every number in the
documents comes from it (or from the run's params/tags for the device identity).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samd_core.hashing import sha256_file
from risk.errors import IntegrityError
from samd_core.hashing import sha256_file

__all__ = ["RESULT_ARTIFACTS", "RunRecord", "latest_runs", "load_runs"]

#: samd.kind tag -> name of the result artifact.
RESULT_ARTIFACTS: dict[str, str] = {"compare": "result.json", "validation": "result.json", "mrmc": "mrmc_result.json"}


@dataclass(frozen=True)
class RunRecord:
    """What a document needs from one tracked run (plain data; no MLflow objects)."""

    run_id: str
    kind: str
    experiment_id: str
    params: Mapping[str, str]
    tags: Mapping[str, str]
    result: Mapping[str, Any]
    result_artifact: str
    result_sha256: str
    plots: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (artifact path, local path)
    tables: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # per-case tables (cases.csv)


def load_runs(
    run_ids: Sequence[str],
    *,
    tracking_uri: str,
    workdir: str | Path,
) -> tuple[tuple[RunRecord, ...], tuple[str, ...]]:
    """Fetch runs, their result artifact and their per-case table (``cases.csv``) into ``workdir``.

    Returns
    -------
    runs, missing
        The loaded runs, and one line per run that could not be used (not found, no
        ``samd.kind`` tag, no result artifact). Never a partial `RunRecord`.

    Raises
    ------
    IntegrityError
        When a result artifact names a different MLflow run id than the run it is stored in.
    """
    from mlflow.exceptions import MlflowException

    from validation.tracking import download_artifact, read_run

    runs: list[RunRecord] = []
    missing: list[str] = []
    for run_id in run_ids:
        try:
            info = read_run(run_id, tracking_uri=tracking_uri)
        except MlflowException:
            missing.append(f"run {run_id}: not found in tracking store {tracking_uri}")
            continue
        kind = info["kind"]
        if kind not in RESULT_ARTIFACTS:
            missing.append(f"run {run_id}: tag `samd.kind` must be one of {sorted(RESULT_ARTIFACTS)}; got {kind!r}")
            continue
        files = list(info["artifacts"])
        name = RESULT_ARTIFACTS[kind]
        cands = sorted((f for f in files if f.rsplit("/", 1)[-1] == name), key=lambda f: (f.count("/"), f))
        if not cands:
            missing.append(f"run {run_id} ({kind}): artifact `{name}` not found")
            continue
        dest = Path(workdir) / run_id
        dest.mkdir(parents=True, exist_ok=True)
        local = download_artifact(run_id, cands[0], dest, tracking_uri=tracking_uri)
        with open(local, "rb") as fh:
            result = json.loads(fh.read().decode("utf-8"))
        stated = result.get("mlflow_run_id")
        if stated is not None and stated != run_id:
            raise IntegrityError(
                f"artifact {cands[0]} of run {run_id} states mlflow_run_id {stated!r}; "
                "a result may only be cited from the run that produced it"
            )
        plots = tuple(  # a comparison run's own plots are shown as they are; validation figures are drawn
            (f, str(download_artifact(run_id, f, dest, tracking_uri=tracking_uri))) for f in sorted(files)
            if kind == "compare" and f.lower().endswith(".png")
        )
        tables = tuple(
            (f, str(download_artifact(run_id, f, dest, tracking_uri=tracking_uri))) for f in sorted(files)
            if f.rsplit("/", 1)[-1] == "cases.csv"
        )
        runs.append(
            RunRecord(
                run_id=run_id,
                kind=kind,
                experiment_id=str(info["experiment_id"]),
                params=dict(info["params"]),
                tags=dict(info["tags"]),
                result=result,
                result_artifact=cands[0],
                result_sha256=sha256_file(local),
                plots=plots,
                tables=tables,
            )
        )
    return tuple(runs), tuple(missing)


def latest_runs(*, tracking_uri: str | None, exclude: Sequence[str] = ()) -> tuple[str, ...]:
    """The newest finished ``samd validate`` run and the newest ``samd mrmc`` run of the store."""
    from validation.tracking import find_runs

    out: list[str] = []
    for kind in ("validation", "mrmc"):
        found = [r["run_id"] for r in find_runs(kind=kind, tracking_uri=tracking_uri) if r["status"] == "FINISHED"]
        if found and found[0] not in exclude and found[0] not in out:
            out.append(found[0])
    return tuple(out)
