"""Bundle mode: run a locked model over every case, persist each output, resume after a crash.

Per-case inference runs where the executor says (`validation.executor`): in this process, on a
local Dask cluster (``workers=N``) or on an existing one (``scheduler=...``). Each worker loads the
bundle with its manifest SHA-256 pinned (`samd_core.load_locked(..., expected_sha256=...)`) and
reads the case's image from the manifest's path (a shared file system, or any path the workers
see the same way). Only this process, the coordinator, writes: each finished case goes atomically
(temporary file + ``os.replace``) to ``<out>/cases/<sha256(case_id)[:24]>.json``.

A stored record is reused only when it is bound to this run's inputs: the case id, the image's
SHA-256, the bundle's manifest SHA-256 and the protocol's SHA-256 are all in the record, and the
record carries the SHA-256 of its own canonical JSON (``record_sha256``); a record edited by hand
(a changed score, say) no longer matches its hash and is recomputed, never reused. Killing the
coordinator or a worker (``kill -9``) loses at most the cases in flight, and the final results
equal those of an uninterrupted run, whatever the executor. A case whose inference fails on every
attempt is reported by id (`CaseInferenceError`), never dropped.

Out-of-domain cases are a pre-specified exclusion: when the bundle declares an input domain
(`samd_core.bundle.InputDomain`, locked before the test) and a case lies outside it, the case is
not scored; it is recorded (``exclusion`` = ``"out_of_domain"`` with the reasons) in its cache
record, in ``<out>/exclusions.csv`` and in the ``exclusions`` summary (count and case ids) of the
bundle facts, never silently dropped. `exclude_cases` removes those cases from the evaluated
manifest.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from samd_core.hashing import canonical_json, sha256_bytes, sha256_json
from validation._casework import detection_rows, load_volume, predict_case
from validation.errors import CaseInferenceError, ProtocolError
from validation.harness._manifest import Manifest

__all__ = [
    "DETECTION_COLUMNS",
    "EXCLUSION_COLUMNS",
    "detection_rows",
    "exclude_cases",
    "load_volume",
    "predict_case",
    "run_bundle",
]

#: Columns of ``exclusions.csv`` (one row per excluded case).
EXCLUSION_COLUMNS = ("case_id", "exclusion", "reasons")


#: Columns of the detections table written in bundle mode. Centres are in **LPS mm** of the
#: series (``center_x_mm`` = L, ``center_y_mm`` = P, ``center_z_mm`` = S), the frame of the
#: reference lesions (``truth.lesions``, e.g. ``lesions.csv`` of `reference_devices.phantom`).
DETECTION_COLUMNS = ("case_id", "score", "center_x_mm", "center_y_mm", "center_z_mm", "diameter_mm")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _seal(rec: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in rec.items() if k != "record_sha256"}
    return {**body, "record_sha256": sha256_json(body)}


def _reusable(rec_path: Path, bind: dict[str, str]) -> dict[str, Any] | None:
    """The stored record when it is intact and bound to exactly these inputs, else None."""
    if not rec_path.exists():
        return None
    try:
        rec = json.loads(rec_path.read_bytes())
    except ValueError:
        return None
    if not isinstance(rec, dict) or any(rec.get(k) != v for k, v in bind.items()):
        return None
    if rec.get("record_sha256") != sha256_json({k: v for k, v in rec.items() if k != "record_sha256"}):
        return None  # edited after it was written: recompute, never reuse
    return rec


def run_bundle(bundle_path: Path, manifest: Manifest, out: Path, *, image_column: str = "path",
               keep_masks: bool = False, progress: bool = True, protocol_sha256: str = "",
               executor: Any = None) -> tuple[pd.DataFrame, str, dict[str, Any], pd.DataFrame]:
    """Run the locked bundle on every case of ``manifest``, with resume, where ``executor`` says.

    Parameters
    ----------
    bundle_path : Path
        The locked bundle (verified here, and pinned by its manifest SHA-256 on every worker).
    manifest : Manifest
        The test set; ``image_column`` names each case's image (series folder, DICOM file, image file).
    out : Path
        Run folder; per-case records go to ``out/cases``.
    keep_masks : bool
        Store each case's label map (segmentation endpoints).
    progress : bool
        Show cases done, in flight and failed, with an ETA.
    protocol_sha256 : str
        The locked protocol's SHA-256, bound into every per-case record.
    executor : validation.executor.ExecutorSpec, optional
        In-process when None.

    Returns
    -------
    The device table (``case_id``, ``score``, ``mask_path``) of the in-domain cases, the bundle's
    ``manifest_sha256``, bundle facts (name, version, core version and fingerprint the bundle is
    locked to, cases computed now / reused, the input domain and the ``exclusions`` summary:
    ``{"out_of_domain": {"count": n, "case_ids": [...]}}``), and the detections table
    (`DETECTION_COLUMNS`: one row per predicted lesion, score = its maximum probability, centre in
    LPS mm).

    Raises
    ------
    CaseInferenceError
        When some cases failed on every attempt (their ids are listed; the others are stored).
    """
    import samd_core

    from validation.executor import ExecutorSpec, map_cases
    from validation.harness._progress import case_bar

    model = samd_core.load_locked(bundle_path)
    model_id = str(model.manifest_sha256)
    cache = out / "cases"
    cache.mkdir(parents=True, exist_ok=True)
    if image_column not in manifest.table.columns:
        raise ProtocolError(f"bundle mode needs the manifest column {image_column!r} with each case's image")
    sha_col = dict(manifest.file_columns()).get(image_column)
    digests = manifest.table[sha_col] if sha_col else pd.Series([""] * len(manifest.table))
    cases = list(zip(manifest.table["case_id"], manifest.table[image_column], digests, strict=True))
    records: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, tuple[Any, ...]]] = []
    binds: dict[str, dict[str, str]] = {}
    for case, rel, digest in cases:
        key = sha256_bytes(case.encode("utf-8"))[:24]
        bind = {"case_id": case, "input_sha256": str(digest), "model_sha256": model_id,
                "protocol_sha256": protocol_sha256}
        binds[case] = bind
        rec = _reusable(cache / f"{key}.json", bind)
        if rec is not None and (rec.get("mask") is None or not keep_masks or (cache / rec["mask"]).is_file()):
            records[case] = rec
        else:
            todo.append((case, (str(Path(bundle_path).resolve()), model_id, manifest.locate(rel), keep_masks,
                                str(digest))))
    reused = len(records)

    def on_result(case: str, value: dict[str, Any]) -> None:
        key = sha256_bytes(case.encode("utf-8"))[:24]
        mask_name = None
        if "mask_npz" in value:
            mask_name = f"{key}.npz"
            _atomic_write(cache / mask_name, value["mask_npz"])
        rec = {**binds[case], "score": value.get("score"), "mask": mask_name, "lesions": value.get("lesions", [])}
        if "exclusion" in value:
            rec.update(exclusion=value["exclusion"], reasons=value["reasons"])
        rec = _seal(rec)
        _atomic_write(cache / f"{key}.json", canonical_json(rec))
        records[case] = rec
        bar.advance()

    with case_bar(len(todo), "cases", enabled=progress) as bar:
        failures = map_cases(predict_case, todo, spec=executor or ExecutorSpec(), on_result=on_result,
                             on_progress=bar.on_progress)
    if failures:
        shown = "; ".join(f"{f.key}: {f.error}: {f.message}" for f in failures[:10])
        more = f" (and {len(failures) - 10} more)" if len(failures) > 10 else ""
        raise CaseInferenceError(f"{len(failures)} case(s) failed on every attempt: {shown}{more}",
                                 case_ids=tuple(f.key for f in failures))
    rows, detections, excluded = [], [], []
    for case, _, _ in cases:  # manifest order: identical whatever the executor and completion order
        rec = records[case]
        if rec.get("exclusion"):
            excluded.append({"case_id": case, "exclusion": str(rec["exclusion"]),
                             "reasons": "; ".join(map(str, rec.get("reasons", [])))})
            continue
        detections += [{"case_id": case, **les} for les in rec.get("lesions", [])]
        rows.append({"case_id": case, "score": repr(rec["score"]),
                     "mask_path": str(cache / rec["mask"]) if rec.get("mask") else ""})
    meta = dict(getattr(model, "metadata", {}) or {})
    facts = {"name": getattr(model, "name", None), "version": getattr(model, "version", None),
             "core_version": meta.get("core_version"), "core_fingerprint": meta.get("core_fingerprint"),
             "training_data_manifest_sha256": meta.get("training_data_manifest_sha256"),
             "cases_computed": len(cases) - reused, "cases_reused": reused,
             "input_domain": domain.to_dict() if (domain := getattr(model, "input_domain", None)) is not None else None,
             "exclusions": {"out_of_domain": {"count": len(excluded),
                                              "case_ids": [e["case_id"] for e in excluded]}}}
    from validation.spreadsheet import write_safe_csv

    write_safe_csv(out / "exclusions.csv", EXCLUSION_COLUMNS, ([e[c] for c in EXCLUSION_COLUMNS] for e in excluded))
    det = pd.DataFrame(detections, columns=list(DETECTION_COLUMNS))
    return pd.DataFrame(rows), model_id, facts, det


def exclude_cases(manifest: Manifest, facts: dict[str, Any]) -> Manifest:
    """The manifest without the cases ``run_bundle`` excluded (its file hash is unchanged: the full test set)."""
    ids = {cid for ex in (facts.get("exclusions") or {}).values() for cid in ex.get("case_ids", [])}
    if not ids:
        return manifest
    keep = ~manifest.table["case_id"].isin(ids)
    return dataclasses.replace(manifest, table=manifest.table[keep].reset_index(drop=True))
