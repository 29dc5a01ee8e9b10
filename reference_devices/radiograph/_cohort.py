"""Write a synthetic chest-radiograph cohort as DICOM DX/CR images with a hashed manifest."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from typing import Any

from reference_devices._manifest import write_manifest
from reference_devices.radiograph._render import DETECTORS, GENERATOR_VERSION, RadiographSpec, sample_radiograph
from samd_core.errors import InvalidParameterError

__all__ = ["MANIFEST_COLUMNS", "generate_specs", "write_radiograph_cohort"]

#: Columns of ``manifest.csv``, in order (paths relative to the manifest).
MANIFEST_COLUMNS = (
    "case_id",
    "split",
    "image_path",
    "image_path_sha256",
    "finding",
    "finding_type",
    "side",
    "finding_size_mm",
    "site",
    "detector",
    "modality",
    "photometric",
    "sex",
    "age",
    "seed",
    "case_index",
    "generator_version",
)


def generate_specs(n_cases: int, *, seed: int, start_index: int = 0, prevalence: float = 0.3) -> Iterator[RadiographSpec]:
    """Case specs ``start_index .. start_index + n_cases - 1`` of cohort ``seed``."""
    if isinstance(n_cases, bool) or not isinstance(n_cases, int) or n_cases < 0:
        raise InvalidParameterError("n_cases", "write_radiograph_cohort", "an integer >= 0", n_cases)
    for i in range(start_index, start_index + n_cases):
        yield sample_radiograph(seed, i, prevalence=prevalence)


def _row(spec: RadiographSpec, out: pathlib.Path, split: str) -> dict[str, Any]:
    from reference_devices.radiograph._train import presentation_image
    from samd_core import Volume
    from samd_core.hashing import sha256_file
    from samd_core.io import write_dicom_image

    det = DETECTORS[spec.detector]
    img, spacing = presentation_image(spec)
    path = out / spec.case_id / "image.dcm"
    photometric = "MONOCHROME1" if det.monochrome1 else "MONOCHROME2"
    write_dicom_image(
        Volume(img, spacing=(spacing, spacing)), path, modality=det.modality, photometric=photometric,
        bits_stored=12, uid_seed=f"samd-radiograph/{spec.seed}/{spec.index}", manufacturer=det.name,
        patient={"PatientName": f"PHANTOM^{spec.case_id}", "PatientID": spec.case_id, "PatientSex": spec.sex,
                 "PatientAge": f"{spec.age:03d}Y"},
    )
    return {
        "case_id": spec.case_id, "split": split, "image_path": path.relative_to(out).as_posix(),
        "image_path_sha256": sha256_file(path), "finding": "finding" if spec.positive else "normal",
        "finding_type": spec.finding, "side": spec.side, "finding_size_mm": round(spec.finding_size_mm, 3),
        "site": spec.site, "detector": spec.detector, "modality": det.modality, "photometric": photometric,
        "sex": spec.sex, "age": spec.age, "seed": spec.seed, "case_index": spec.index,
        "generator_version": GENERATOR_VERSION,
    }


def write_radiograph_cohort(
    out: str | os.PathLike[str], *, n_cases: int, seed: int, start_index: int = 0, prevalence: float = 0.3,
    split: str = "test",
) -> pathlib.Path:
    """Generate ``n_cases`` synthetic radiographs and write them under ``out``.

    Layout: ``<out>/<case_id>/image.dcm`` (DX or CR Image Storage, MONOCHROME1 for the CR
    detector), ``<out>/manifest.csv`` with `MANIFEST_COLUMNS` (truth column ``finding``:
    ``finding`` or ``normal``). Deterministic: the same arguments write identical bytes.

    Returns
    -------
    pathlib.Path
        The manifest path.
    """
    base = pathlib.Path(out)
    base.mkdir(parents=True, exist_ok=True)
    rows = [_row(s, base, split) for s in generate_specs(n_cases, seed=seed, start_index=start_index,
                                                        prevalence=prevalence)]
    manifest = write_manifest(base / "manifest.csv", MANIFEST_COLUMNS, rows)
    return manifest
