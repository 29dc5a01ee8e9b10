"""Bundle mode: run a locked model over every case, persist each output, resume after a crash.

Each finished case is written atomically (temporary file + ``os.replace``) to
``<out>/cases/<sha256(case_id)[:24]>.json`` together with the model identity and the input
file's SHA-256; a rerun reuses a stored output only when both match, so killing the process
(Ctrl-C, ``kill -9``) loses at most the case in progress, and the final results equal those
of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from validation.audit._canonical import canonical_json
from validation.errors import ProtocolError
from validation.harness._manifest import Manifest

__all__ = ["load_volume", "run_bundle"]


def load_volume(path: Path) -> Any:
    """A `samd_core.Volume` from an image file or a DICOM series folder (no PHI kept)."""
    import SimpleITK as sitk

    from samd_core.volume import Volume

    if path.is_dir():
        reader = sitk.ImageSeriesReader()
        files = reader.GetGDCMSeriesFileNames(str(path))
        if not files:
            raise ProtocolError(f"no DICOM series in folder {path.name}")
        reader.SetFileNames(files)
        img = reader.Execute()
    else:
        img = sitk.ReadImage(str(path))
    return Volume.from_sitk(img)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def run_bundle(bundle_path: Path, manifest: Manifest, out: Path, *, image_column: str = "path",
               keep_masks: bool = False, progress: bool = True) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """Run ``samd_core.load_locked(bundle).predict(volume)`` per case, with resume.

    Returns the device table (``case_id``, ``score``, ``mask_path``), the bundle's
    ``manifest_sha256`` and bundle facts (name, version, cases computed now / reused).
    """
    import samd_core
    from tqdm import tqdm

    model = samd_core.load_locked(bundle_path)
    model_id = str(model.manifest_sha256)
    cache = out / "cases"
    cache.mkdir(parents=True, exist_ok=True)
    if image_column not in manifest.table.columns:
        raise ProtocolError(f"bundle mode needs the manifest column {image_column!r} with each case's image")
    rows = []
    reused = computed = 0
    it = zip(manifest.table["case_id"], manifest.table[image_column],
             manifest.table.get("sha256", pd.Series([""] * len(manifest.table))), strict=True)
    for case, rel, digest in tqdm(list(it), desc="cases", unit="case", disable=not progress):
        key = hashlib.sha256(case.encode("utf-8")).hexdigest()[:24]
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
            pred = model.predict(load_volume(manifest.resolve(rel)))
            mask_name = None
            if keep_masks:
                label = pred.label
                mask_name = f"{key}.npz"
                tmp = cache / f"{key}.tmp{os.getpid()}.npz"
                np.savez_compressed(tmp, mask=np.asarray(label.array) != 0,
                                    spacing=np.asarray(label.spacing, float))
                os.replace(tmp, cache / mask_name)
            rec = {"case_id": case, "input_sha256": digest, "model_sha256": model_id,
                   "score": float(pred.score), "mask": mask_name}
            _atomic_write(rec_path, canonical_json(rec))
            computed += 1
        else:
            reused += 1
        rows.append({"case_id": case, "score": repr(rec["score"]),
                     "mask_path": str(cache / rec["mask"]) if rec.get("mask") else ""})
    facts = {"name": getattr(model, "name", None), "version": getattr(model, "version", None),
             "cases_computed": computed, "cases_reused": reused}
    return pd.DataFrame(rows), model_id, facts
