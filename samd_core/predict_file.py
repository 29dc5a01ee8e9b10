"""`predict_file`: run a locked bundle on one input file or series and write its outputs.

Used by ``samd predict``; see ``docs/predict.md``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from samd_core._version import __version__
from samd_core.errors import InvalidParameterError
from samd_core.hashing import sha256_file, sha256_tree
from samd_core.volume import Volume

__all__ = ["PREDICTION_SCHEMA", "PredictFileResult", "predict_file", "read_input"]

PREDICTION_SCHEMA = "samd-prediction/1"


@dataclass(frozen=True)
class PredictFileResult:
    """The prediction, the ``prediction.json`` record and the files written (name -> path)."""

    prediction: Any
    record: dict[str, Any]
    files: dict[str, Path]


def read_input(path: str | os.PathLike[str]) -> tuple[Volume, str]:
    """The volume of one input, read with the core's own checked readers, and the input's kind.

    * a folder: a DICOM series (`read_dicom_series`), kind ``"dicom-series"``;
    * a single-frame projection or photographic DICOM image (DX, CR, MG, secondary capture,
      ophthalmic photography): `read_dicom_image`, kind ``"dicom-image"``;
    * another DICOM file: its whole series, read by SeriesInstanceUID from its folder, kind
      ``"dicom-file"``;
    * NIfTI/MHA/NRRD/PNG/JPEG: `read_image`, kind ``"image"``.

    This is the one input path of `predict_file`, ``samd predict`` and bundle-mode validation.
    """
    from samd_core.io import IMAGE_SUFFIXES, SINGLE_IMAGE_SOP_CLASSES, read_dicom_image, read_dicom_series, read_image

    p = Path(path)
    if p.is_dir():
        return read_dicom_series(p), "dicom-series"
    if not p.is_file():
        raise InvalidParameterError("input", "predict_file", "an existing DICOM folder, DICOM file or image file",
                                    "a path that does not exist")
    if any(p.name.lower().endswith(s) for s in IMAGE_SUFFIXES):
        return read_image(p), "image"
    import pydicom

    try:
        ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SOPClassUID", "SeriesInstanceUID"])
        sop_class = str(getattr(ds, "SOPClassUID", ""))
        uid = str(ds.SeriesInstanceUID) if sop_class not in SINGLE_IMAGE_SOP_CLASSES else ""
    except Exception:  # noqa: BLE001 - reported as one named error
        raise InvalidParameterError("input", "predict_file", "a DICOM image or a NIfTI/MHA/NRRD file",
                                    "a file that is neither") from None
    if sop_class in SINGLE_IMAGE_SOP_CLASSES:
        return read_dicom_image(p), "dicom-image"
    return read_dicom_series(p.parent, series_uid=uid), "dicom-file"


def predict_file(
    bundle: str | os.PathLike[str],
    input: str | os.PathLike[str],  # noqa: A002 - the CLI argument's name
    out_dir: str | os.PathLike[str],
    *,
    dicom_seg: bool = False,
    dicom_sr: bool = False,
    expected_sha256: str | None = None,
    public_key: Any = None,
    check_core_fingerprint: bool = True,
) -> PredictFileResult:
    """Run the locked ``bundle`` on ``input`` and write its outputs to ``out_dir``.

    Writes ``prediction.json`` (score, positive, case threshold, probabilities, lesions in mm /
    mm³, the bundle's name, version and manifest SHA-256, the input's kind and SHA-256; no
    file names, no patient data), ``label.nii.gz`` (the label map on the input grid), and with
    ``dicom_seg`` / ``dicom_sr`` ``seg.dcm`` / ``sr.dcm`` (DICOM inputs only).

    Parameters
    ----------
    bundle : path
        A locked bundle directory.
    input : path
        A DICOM series folder, one DICOM image of a series, or a NIfTI/MHA/NRRD file.
    out_dir : path
        Created if missing.
    dicom_seg, dicom_sr : bool
        Also write DICOM SEG / Comprehensive 3D SR (TID 1500) referencing the source series.
        The SR's lesion groups reference the SEG, so ``dicom_sr`` writes ``seg.dcm`` too.
    expected_sha256 : str, optional
        Pin: the SHA-256 of the bundle's ``manifest.json``; checked before the bundle is loaded
        (and every bundle file is then checked against that manifest by ``load_locked``).
    public_key : optional
        Ed25519 public key; the bundle's signature is then required (``load_locked``).
    check_core_fingerprint : bool
        Passed to ``load_locked`` (only release tooling turns it off).

    Raises
    ------
    BundleIntegrityError
        The pin, the signature, a file hash or the core fingerprint does not match.
    InvalidParameterError
        Unreadable input, or DICOM outputs asked for a non-DICOM input.
    """
    from samd_core.bundle import BundleIntegrityError, load_locked

    fn = "predict_file"
    bdir = Path(bundle)
    if expected_sha256 is not None:
        exp = str(expected_sha256).strip().lower()
        mf = bdir / "manifest.json"
        found = sha256_file(mf) if mf.is_file() else "no manifest.json"
        if found != exp:
            raise BundleIntegrityError(f"`expected_sha256` of `{fn}` must equal the bundle's manifest SHA-256; "
                                       f"got {exp}, bundle has {found}", kind="manifest", file="manifest.json",
                                       expected=exp, found=found)
    model = load_locked(bdir, public_key=public_key, check_core_fingerprint=check_core_fingerprint)
    if expected_sha256 is not None and model.manifest_sha256 != str(expected_sha256).strip().lower():
        raise BundleIntegrityError(f"`expected_sha256` of `{fn}` must equal the verified bundle's manifest "
                                   f"SHA-256 {model.manifest_sha256}; got {expected_sha256}", kind="manifest",
                                   file="manifest.json", expected=str(expected_sha256), found=model.manifest_sha256)
    volume, kind = read_input(input)
    if (dicom_seg or dicom_sr) and kind == "image":
        raise InvalidParameterError("dicom_seg/dicom_sr", fn, "used with a DICOM input (series folder or file)",
                                    "a NIfTI/MHA/NRRD input")
    pred = model.predict(volume)
    if dicom_seg and pred.label is None:
        raise InvalidParameterError("dicom_seg", fn, "used with a segmentation bundle (a classifier has no mask)",
                                    "a classification bundle")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from samd_core.io import write_image

    files: dict[str, Path] = {}
    if pred.label is not None:
        files["label"] = write_image(pred.label, out / "label.nii.gz")
    if dicom_seg or dicom_sr:
        from samd_core.dicom_out import AlgorithmIdentity, source_datasets, write_dicom_seg, write_dicom_sr

        ident = AlgorithmIdentity.from_model(model)
        sources = source_datasets(input, volume)
        if pred.label is not None:
            files["seg"] = write_dicom_seg(pred, sources, out / "seg.dcm", identity=ident)
        if dicom_sr:
            files["sr"] = write_dicom_sr(pred, sources, out / "sr.dcm", identity=ident, seg=files.get("seg"))
    if pred.probability is not None:
        prob = np.asarray(pred.probability.array)
        probabilities: dict[str, Any] = {"max": float(prob.max()) if prob.size else 0.0,
                                         "map_sha256": pred.probability.content_sha256()}
    else:  # classification: class -> probability
        probabilities = {str(k): float(v) for k, v in (getattr(pred, "probabilities", None) or {}).items()}
    record = {
        "schema": PREDICTION_SCHEMA,
        "samd_core_version": __version__,
        "bundle": {"name": model.name, "version": model.version, "manifest_sha256": model.manifest_sha256},
        "input": {"kind": kind, "sha256": sha256_tree(input) if Path(input).is_dir() else sha256_file(input),
                  "shape": list(volume.shape), "spacing_mm": list(volume.spacing)},
        "score": float(pred.score),
        "case_threshold": float(pred.case_threshold),
        "positive": bool(pred.positive),
        "probabilities": probabilities,
        "lesions": [les.to_dict() for les in pred.lesions],
        "label_sha256": pred.label.content_sha256() if pred.label is not None else None,
        "files": sorted(["prediction.json", *(p.name for p in files.values())]),
    }
    (out / "prediction.json").write_bytes(json.dumps(record, indent=2, sort_keys=True, allow_nan=False).encode() + b"\n")
    files["prediction"] = out / "prediction.json"
    return PredictFileResult(pred, record, files)
