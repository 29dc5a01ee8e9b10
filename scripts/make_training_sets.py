#!/usr/bin/env python
"""Write the shipped bundles' training-set identifier files ``scripts/training_sets/<bundle>.json``.

Usage (from the repository root, with the project's Python)::

    python scripts/make_training_sets.py            # both bundles
    python scripts/make_training_sets.py nodule_v1  # one

Each file is the ``training_set.json`` (`samd_core.bundle.TrainingSet`) of a shipped bundle: the
hashed identifiers (patient pseudonym = the phantom's PatientID, Study and Series Instance UID,
pixel data) of every case the model was developed on, regenerated deterministically from the
reference devices' recipes and written as DICOM exactly as ``samd phantom`` writes test cohorts:

* ``nodule_v1``: phantom training cohort (seed 1001, 96 cases, prevalence 0.75) and development
  cohort (seed 1002, 40 cases: the case threshold and the OQ reference inputs come from it);
* ``cxr_triage_v1``: radiograph training cohort (seed 2027, 1600 cases, prevalence 0.5) and tuning
  cohort (seed 2028, 400 cases: the locked threshold and the OQ reference inputs).

``scripts/release_core.py`` writes these files into the bundles at re-lock. Same sources, same
bytes: rerunning this script must not change the files.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "scripts" / "training_sets"


def _cohorts(name: str, tmp: pathlib.Path) -> tuple[list[str], str]:
    """Write the development cohorts of bundle ``name`` under ``tmp``; return the manifests and image column."""
    if name == "nodule_v1":
        from reference_devices.phantom import write_cohort
        from reference_devices.training import RECIPE

        c = RECIPE["cohorts"]
        out = []
        for key, split in (("train", "train"), ("development", "development")):
            m = write_cohort(tmp / key, n_cases=c[key]["n_cases"], seed=c[key]["seed"],
                             prevalence=c[key]["prevalence"], split=split)
            out.append(m.relative_to(tmp).as_posix())
        return out, "series_dir"
    if name == "cxr_triage_v1":
        import inspect

        from reference_devices.radiograph import write_radiograph_cohort
        from reference_devices.radiograph._train import train_cxr_classifier

        d = {k: p.default for k, p in inspect.signature(train_cxr_classifier).parameters.items()}
        out = []
        for key, seed, n in (("train", d["seed"], d["n_train"]), ("tune", d["seed"] + 1, d["n_tune"])):
            m = write_radiograph_cohort(tmp / key, n_cases=n, seed=seed, prevalence=0.5, split=key)
            out.append(m.relative_to(tmp).as_posix())
        return out, "image_path"
    raise SystemExit(f"unknown shipped bundle {name!r}; known: nodule_v1, cxr_triage_v1")


def make(name: str) -> pathlib.Path:
    """Regenerate ``scripts/training_sets/<name>.json``; return its path."""
    from samd_core.bundle import training_set_from_spec

    with tempfile.TemporaryDirectory(prefix="samd-training-set-") as tmp:
        base = pathlib.Path(tmp)
        manifests, column = _cohorts(name, base)
        ts = training_set_from_spec({"manifest": manifests, "image_column": column}, base)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_bytes(ts.to_bytes())
    return path


def main(argv: list[str]) -> int:
    for name in argv or ["nodule_v1", "cxr_triage_v1"]:
        p = make(name)
        print(f"{name}: wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
