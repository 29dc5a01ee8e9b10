"""Write a phantom cohort: DICOM series, NIfTI reference masks and a manifest CSV."""

from __future__ import annotations

import csv

import json
import os
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from samd_core import Volume
from samd_core.hashing import sha256_file, sha256_tree
from validation.errors import InvalidParameterError
from reference_devices._manifest import write_manifest
from reference_devices.phantom._render import render_case
from reference_devices.phantom._spec import GENERATOR_VERSION, VENDORS, CaseSpec, sample_case

__all__ = ["LESION_COLUMNS", "MANIFEST_COLUMNS", "PhantomCase", "generate_cases", "series_sha256", "write_cohort"]

#: Columns of ``manifest.csv``, in order.
MANIFEST_COLUMNS = (
    "case_id",
    "split",
    "series_dir",
    "series_sha256",
    "n_slices",
    "mask_path",
    "mask_sha256",
    "has_nodule",
    "n_nodules",
    "nodule_centres_lps_mm",
    "nodule_diameters_mm",
    "nodule_types",
    "max_nodule_diameter_mm",
    "site",
    "vendor",
    "kernel",
    "slice_thickness_mm",
    "dose",
    "sex",
    "age",
    "seed",
    "case_index",
    "generator_version",
)


@dataclass(frozen=True)
class PhantomCase:
    """One rendered case: its spec, CT volume (HU, int16) and reference mask (uint8)."""

    spec: CaseSpec
    ct: Volume
    mask: Volume


def generate_cases(
    n_cases: int, *, seed: int, start_index: int = 0, prevalence: float = 0.5
) -> Iterator[PhantomCase]:
    """Yield cases ``start_index .. start_index + n_cases - 1`` of the cohort ``seed`` (in memory).

    Case ``i`` depends only on ``(seed, i)``: a larger cohort extends a smaller one.
    """
    if isinstance(n_cases, bool) or not isinstance(n_cases, int) or n_cases < 0:
        raise InvalidParameterError("n_cases", "generate_cases", "an integer >= 0", n_cases)
    for i in range(start_index, start_index + n_cases):
        spec = sample_case(seed, i, prevalence=prevalence)
        ct, mask = render_case(spec)
        yield PhantomCase(spec, ct, mask)


def series_sha256(folder: str | os.PathLike[str]) -> str:
    """SHA-256 over a series folder: ``<file name>\\0<sha256 of file>\\n`` for files sorted by name.

    The directory-tree hash `samd_core.hashing.sha256_tree`, which for the flat series folders
    written here is the same digest as in release 0.1.0.
    """
    return sha256_tree(folder)


def _row(case: PhantomCase, out: pathlib.Path, split: str) -> dict[str, Any]:
    from samd_core.io import write_dicom_series, write_image

    s = case.spec
    sc = VENDORS[s.vendor]
    series_dir = out / s.case_id / "ct"
    write_dicom_series(
        case.ct,
        series_dir,
        uid_seed=f"samd-phantom/{s.seed}/{s.index}",
        series_description=f"Phantom chest CT {sc.kernel}",
        patient={
            "PatientName": f"PHANTOM^{s.case_id}",
            "PatientID": s.case_id,
            "PatientSex": s.sex,
            "PatientAge": f"{s.age:03d}Y",
        },
        manufacturer=sc.name,
        convolution_kernel=sc.kernel,
        kvp=120.0 if s.dose == "standard" else 100.0,
        body_part="CHEST",
    )
    mask_path = out / s.case_id / "mask.nii.gz"
    write_image(case.mask, mask_path)
    return {
        "case_id": s.case_id,
        "split": split,
        "series_dir": series_dir.relative_to(out).as_posix(),
        "series_sha256": series_sha256(series_dir),
        "n_slices": case.ct.shape[0],
        "mask_path": mask_path.relative_to(out).as_posix(),
        "mask_sha256": sha256_file(mask_path),
        "has_nodule": int(s.has_nodule),
        "n_nodules": len(s.nodules),
        "nodule_centres_lps_mm": json.dumps([list(n.centre_lps_mm) for n in s.nodules]),
        "nodule_diameters_mm": json.dumps([n.diameter_mm for n in s.nodules]),
        "nodule_types": json.dumps([n.kind for n in s.nodules]),
        "max_nodule_diameter_mm": max((n.diameter_mm for n in s.nodules), default=0.0),
        "site": s.site,
        "vendor": s.vendor,
        "kernel": sc.kernel,
        "slice_thickness_mm": s.slice_thickness_mm,
        "dose": s.dose,
        "sex": s.sex,
        "age": s.age,
        "seed": s.seed,
        "case_index": s.index,
        "generator_version": GENERATOR_VERSION,
    }


def write_cohort(
    out: str | os.PathLike[str],
    *,
    n_cases: int,
    seed: int,
    start_index: int = 0,
    prevalence: float = 0.5,
    split: str = "test",
) -> pathlib.Path:
    """Generate ``n_cases`` phantom cases and write them under ``out``.

    Layout: ``<out>/<case_id>/ct/IM00000.dcm ...`` (CT Image Storage series),
    ``<out>/<case_id>/mask.nii.gz`` (reference nodule mask on the CT grid), and
    ``<out>/manifest.csv`` with `MANIFEST_COLUMNS` (paths relative to ``out``; list-valued
    columns are JSON), and ``<out>/lesions.csv`` with `LESION_COLUMNS` (one reference nodule
    per row, centre in LPS mm). Deterministic: the same arguments write identical bytes.

    Returns
    -------
    pathlib.Path
        The manifest path.
    """
    base = pathlib.Path(out)
    base.mkdir(parents=True, exist_ok=True)
    rows = [_row(c, base, split) for c in generate_cases(n_cases, seed=seed, start_index=start_index, prevalence=prevalence)]
    manifest = write_manifest(base / "manifest.csv", MANIFEST_COLUMNS, rows)
    _write_lesions(base / "lesions.csv", rows)
    return manifest


#: Columns of ``lesions.csv``: one reference nodule per row, centre in LPS mm.
LESION_COLUMNS = ("case_id", "center_x_mm", "center_y_mm", "center_z_mm", "diameter_mm", "nodule_type")


def _write_lesions(path: pathlib.Path, rows: list[dict[str, Any]]) -> None:
    """Reference lesions for lesion-level (FROC) endpoints, in the LPS frame of the series."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(LESION_COLUMNS)
        for r in rows:
            centres = json.loads(r["nodule_centres_lps_mm"])
            for (x, y, z), d, kind in zip(centres, json.loads(r["nodule_diameters_mm"]),
                                          json.loads(r["nodule_types"]), strict=True):
                w.writerow([r["case_id"], repr(float(x)), repr(float(y)), repr(float(z)), repr(float(d)), kind])
