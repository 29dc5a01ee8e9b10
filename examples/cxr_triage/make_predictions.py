"""Write the predictions CSV of the chest-radiograph triage device for a `samd phantom` cohort.

The device's scores are produced by running the locked, verified bundle over every image of
the cohort's manifest; the CSV (``case_id,score``) is what a manufacturer whose model runs
outside samd would hand to ``samd validate`` in predictions mode
(``examples/cxr_triage/protocol_predictions.yaml``).

Usage::

    python examples/cxr_triage/make_predictions.py --manifest COHORT/manifest.csv --out predictions.csv
        [--bundle samd_core/bundles/cxr_triage_v1]

Deterministic: same bundle and cohort give a byte-identical CSV (scores written with 17
significant digits, cases in manifest order).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import samd_core
from samd_core.io import read_dicom_image

DEFAULT_BUNDLE = Path(samd_core.__file__).parent / "bundles" / "cxr_triage_v1"


def write_predictions(manifest: Path, out: Path, *, bundle: Path = DEFAULT_BUNDLE,
                      image_column: str = "image_path") -> int:
    """Run the locked ``bundle`` on each image of ``manifest`` and write ``case_id,score`` to ``out``.

    Parameters
    ----------
    manifest : Path
        Cohort manifest CSV with ``case_id`` and ``image_column`` (single-image DICOM DX/CR files,
        paths relative to the manifest).
    out : Path
        Predictions CSV to write.
    bundle : Path
        Locked bundle folder (verified by `samd_core.load_locked` before any image is read).
    image_column : str
        Manifest column holding each case's image path.

    Returns
    -------
    int
        Number of cases written.
    """
    model = samd_core.load_locked(bundle)
    with manifest.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case_id", "score"])
        for row in rows:
            volume = read_dicom_image(manifest.parent / row[image_column])
            w.writerow([row["case_id"], f"{float(model.predict(volume).score):.17g}"])
    return len(rows)


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    args = ap.parse_args()
    n = write_predictions(args.manifest, args.out, bundle=args.bundle)
    print(f"{n} predictions written to {args.out}")


if __name__ == "__main__":
    main()
