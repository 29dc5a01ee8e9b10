"""Bundle mode: run a locked model over every case, persist each output, resume after a crash.

Each finished case is written atomically (temporary file + ``os.replace``) to
``<out>/cases/<sha256(case_id)[:24]>.json`` together with the model identity and the input
file's SHA-256; a rerun reuses a stored output only when both match, so killing the process
(Ctrl-C, ``kill -9``) loses at most the case in progress, and the final results equal those
of an uninterrupted run.

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

import numpy as np
import pandas as pd

from samd_core.hashing import canonical_json, sha256_bytes
from validation.errors import ProtocolError
from validation.harness._manifest import Manifest

__all__ = ["DETECTION_COLUMNS", "EXCLUSION_COLUMNS", "detection_rows", "exclude_cases", "load_volume", "run_bundle"]

#: Columns of ``exclusions.csv`` (one row per excluded case).
EXCLUSION_COLUMNS = ("case_id", "exclusion", "reasons")


def load_volume(path: Path) -> Any:
    """A `samd_core.Volume` from a DICOM series folder or an image file (no PHI kept).

    Uses the locked core's own readers (`samd_core.io.read_dicom_series`, `read_image`), so the
    device is validated on exactly the geometry-checked input path a product uses.
    """
    import pydicom

    from samd_core.io import IMAGE_SUFFIXES, read_dicom_series, read_image

    if path.is_dir():
        return read_dicom_series(path)
    if any(path.name.lower().endswith(s) for s in IMAGE_SUFFIXES):
        return read_image(path)
    # a single DICOM file: read its series (by UID) from its folder with the same checks
    uid = str(pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SeriesInstanceUID"]).SeriesInstanceUID)
    return read_dicom_series(path.parent, series_uid=uid)


#: Columns of the detections table written in bundle mode. Centres are in **LPS mm** of the
#: series (``center_x_mm`` = L, ``center_y_mm`` = P, ``center_z_mm`` = S), the frame of the
#: reference lesions (``truth.lesions``, e.g. ``lesions.csv`` of `reference_devices.phantom`).
DETECTION_COLUMNS = ("case_id", "score", "center_x_mm", "center_y_mm", "center_z_mm", "diameter_mm")


def detection_rows(lesions: Any) -> list[dict[str, float]]:
    """Detection rows of a locked model's lesions, centres in LPS mm (the frame of the truth).

    ``Lesion.centre_lps_mm`` is ``(x, y, z)`` LPS (`samd_core.lesions`); it is never the array
    frame (``centre_index`` × spacing), which differs from LPS by the origin and direction.
    """
    return [{"score": float(les.max_probability), "center_x_mm": float(les.centre_lps_mm[0]),
             "center_y_mm": float(les.centre_lps_mm[1]), "center_z_mm": float(les.centre_lps_mm[2]),
             "diameter_mm": float(les.equivalent_diameter_mm)} for les in lesions]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def run_bundle(bundle_path: Path, manifest: Manifest, out: Path, *, image_column: str = "path",
               keep_masks: bool = False, progress: bool = True
               ) -> tuple[pd.DataFrame, str, dict[str, Any], pd.DataFrame]:
    """Run ``samd_core.load_locked(bundle).predict(volume)`` per case, with resume.

    Returns the device table (``case_id``, ``score``, ``mask_path``) of the in-domain cases, the bundle's
    ``manifest_sha256``, bundle facts (name, version, core version and fingerprint the bundle is
    locked to, cases computed now / reused, the input domain and the ``exclusions`` summary:
    ``{"out_of_domain": {"count": n, "case_ids": [...]}}``), and the detections table (`DETECTION_COLUMNS`: one
    row per predicted lesion, score = its maximum probability, centre in LPS mm).
    """
    import samd_core
    from samd_core.bundle import InputDomainError
    from tqdm import tqdm

    model = samd_core.load_locked(bundle_path)
    model_id = str(model.manifest_sha256)
    cache = out / "cases"
    cache.mkdir(parents=True, exist_ok=True)
    if image_column not in manifest.table.columns:
        raise ProtocolError(f"bundle mode needs the manifest column {image_column!r} with each case's image")
    rows = []
    reused = computed = 0
    sha_col = dict(manifest.file_columns()).get(image_column)
    digests = manifest.table[sha_col] if sha_col else pd.Series([""] * len(manifest.table))
    it = zip(manifest.table["case_id"], manifest.table[image_column], digests, strict=True)
    detections: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    for case, rel, digest in tqdm(list(it), desc="cases", unit="case", disable=not progress):
        key = sha256_bytes(case.encode("utf-8"))[:24]
        rec_path = cache / f"{key}.json"
        rec = None
        if rec_path.exists():
            try:
                rec = json.loads(rec_path.read_bytes())
            except ValueError:
                rec = None
            if rec is not None and (rec.get("model_sha256") != model_id or rec.get("input_sha256") != digest
                                    or rec.get("case_id") != case):
                rec = None
        if rec is None:
            try:
                pred = model.predict(load_volume(manifest.resolve(rel)))
            except InputDomainError as exc:
                rec = {"case_id": case, "input_sha256": digest, "model_sha256": model_id, "score": None,
                       "mask": None, "lesions": [], "exclusion": "out_of_domain", "reasons": list(exc.reasons)}
                _atomic_write(rec_path, canonical_json(rec))
                computed += 1
                excluded.append({"case_id": case, "exclusion": "out_of_domain", "reasons": "; ".join(exc.reasons)})
                continue
            mask_name = None
            if keep_masks:
                label = pred.label
                mask_name = f"{key}.npz"
                tmp = cache / f"{key}.tmp{os.getpid()}.npz"
                np.savez_compressed(tmp, mask=np.asarray(label.array) != 0,
                                    spacing=np.asarray(label.spacing, float))
                os.replace(tmp, cache / mask_name)
            lesions = detection_rows(getattr(pred, "lesions", ()))
            rec = {"case_id": case, "input_sha256": digest, "model_sha256": model_id,
                   "score": float(pred.score), "mask": mask_name, "lesions": lesions}
            _atomic_write(rec_path, canonical_json(rec))
            computed += 1
        else:
            reused += 1
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
             "cases_computed": computed, "cases_reused": reused,
             "input_domain": model.input_domain.to_dict() if model.input_domain is not None else None,
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
