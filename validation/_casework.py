"""Worker side of the harness's fan-outs: what a Dask worker runs for one case.

This module imports only `samd_core`, NumPy and `validation._locations` (standard library; fsspec
when a case is named by URL), not pandas, SciPy, MLflow or plotting, so that a
worker unpickling one of these functions imports what the case needs and nothing of the
coordinator's (about 1.3 s and the memory of pandas and SciPy saved per worker process). The
coordinator side, which stores, tracks and audits, is `validation.harness`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Refused", "case_identifiers_or_refusal", "detection_rows", "load_volume",
           "file_sha256_or_refusal", "predict_case", "staged_case_identifiers"]


def load_volume(path: Path) -> Any:
    """A `samd_core.Volume` from a DICOM series folder, a DICOM file or an image file (no PHI kept).

    The locked core's own input path (`samd_core.predict_file.read_input`), so the device is
    validated on exactly the checked input path a product and ``samd predict`` use.
    """
    from samd_core.predict_file import read_input

    return read_input(path)[0]


def detection_rows(lesions: Any) -> list[dict[str, float]]:
    """Detection rows of a locked model's lesions, centres in LPS mm (the frame of the truth).

    ``Lesion.centre_lps_mm`` is ``(x, y, z)`` LPS (`samd_core.lesions`); it is never the array
    frame (``centre_index`` × spacing), which differs from LPS by the origin and direction.
    """
    return [{"score": float(les.max_probability), "center_x_mm": float(les.centre_lps_mm[0]),
             "center_y_mm": float(les.centre_lps_mm[1]), "center_z_mm": float(les.centre_lps_mm[2]),
             "diameter_mm": float(les.equivalent_diameter_mm)} for les in lesions]


#: Per-process cache of loaded bundles on a worker: (path, manifest SHA-256) -> LockedModel.
_MODELS: dict[tuple[str, str], Any] = {}


def _model(bundle_path: str, expected_sha256: str | None) -> Any:
    import samd_core

    key = (bundle_path, expected_sha256 or "")
    if key not in _MODELS:
        _MODELS[key] = samd_core.load_locked(bundle_path, expected_sha256=expected_sha256)
    return _MODELS[key]


def predict_case(bundle_path: str, expected_sha256: str, image_path: str, keep_masks: bool,
                 input_sha256: str = "") -> dict[str, Any]:
    """Worker side of bundle mode: one case's prediction as plain data (picklable, no file writes).

    The bundle is loaded once per worker process with its manifest SHA-256 pinned. ``image_path``
    is a path or an fsspec URL; a URL is staged into a temporary folder and, with
    ``input_sha256`` (the manifest's), refused unless its copy has that SHA-256
    (`validation._locations.staged`). Returns
    ``{"score", "lesions"}`` (plus ``"mask_npz"`` bytes with ``keep_masks``), or
    ``{"exclusion": "out_of_domain", "reasons": [...]}`` for an input outside the bundle's domain.
    """
    from samd_core.bundle import InputDomainError

    from validation._locations import staged

    model = _model(bundle_path, expected_sha256)
    with staged(image_path, expected_sha256=input_sha256 or None) as local:
        volume = load_volume(local)
    try:
        pred = model.predict(volume)
    except InputDomainError as exc:
        return {"exclusion": "out_of_domain", "reasons": [str(r) for r in exc.reasons]}
    out: dict[str, Any] = {"score": float(pred.score), "lesions": detection_rows(getattr(pred, "lesions", ()) or ())}
    if keep_masks and pred.label is not None:
        buf = io.BytesIO()
        np.savez_compressed(buf, mask=np.asarray(pred.label.array) != 0, spacing=np.asarray(pred.label.spacing, float))
        out["mask_npz"] = buf.getvalue()
    return out


@dataclass(frozen=True)
class Refused:
    """A case whose identifiers could not be computed on a worker (the error, as one line)."""

    message: str


def staged_case_identifiers(image: str | Path | None, kinds: tuple[str, ...], where: str,
                            cols: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """`samd_core.bundle.case_identifiers` of one test case whose image is a path, an fsspec URL
    (staged, `validation._locations.staged`) or None."""
    from samd_core.bundle import case_identifiers as core_identifiers

    from validation._locations import staged

    if image is None:
        return core_identifiers(image=None, kinds=kinds, where=where, **cols)  # type: ignore[no-any-return]
    with staged(image) as local:
        return core_identifiers(image=local, kinds=kinds, where=where, **cols)  # type: ignore[no-any-return]


def case_identifiers_or_refusal(image: str | Path | None, kinds: tuple[str, ...], where: str,
                                cols: dict[str, Any]) -> dict[str, tuple[str, ...]] | Refused:
    """`staged_case_identifiers` on a worker: a refusal comes back as a value (the exception's
    class may not unpickle on the coordinator)."""
    try:
        return staged_case_identifiers(image, kinds, where, cols)
    except (ValueError, OSError) as exc:
        return Refused(" ".join(str(exc).split()))


def file_sha256_or_refusal(location: str) -> str | Refused:
    """SHA-256 of one manifest file entry (a path or an fsspec URL; file or folder), in the
    manifest's format (`validation._locations.location_sha256`), or why it has none as a value:
    ``Refused("file missing")`` when nothing is there, else the error as one line."""
    from validation._locations import location_sha256

    try:
        return location_sha256(location)
    except FileNotFoundError:
        return Refused("file missing")
    except (ValueError, OSError) as exc:  # LocationError and IntegrityError are ValueErrors
        return Refused(" ".join(str(exc).split()))
