"""Inputs the demo writes for its steps, and the sign-off of the rendered documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from samd_core.hashing import sha256_file

__all__ = [
    "EXAMPLE",
    "READER_STUDY_SEED",
    "TEST_COHORT_SEED",
    "sign_off",
    "verification_tests",
    "write_protocol",
    "write_reader_study",
]

#: The example device's plan, submission config and risk file (``examples/reference_device``).
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "reference_device"
#: Seed of the sequestered test cohort (the reference model was developed on seeds 1001-1003).
TEST_COHORT_SEED = 2026
#: Seed of the simulated reader study.
READER_STUDY_SEED = 20261


def verification_tests(config_path: Path) -> list[str]:
    """pytest node ids that the risk file and requirements of a submission cite as verification."""
    from risk import load_requirements, load_risk_file
    from risk.report import load_submission_config

    cfg = load_submission_config(config_path)
    base = config_path.parent
    ids: set[str] = set()
    for hazard in load_risk_file(base / cfg["risk_file"]).hazards:
        for control in hazard.controls:
            ids.update(v.ref for v in control.verification if v.kind == "test")
    for req in load_requirements([base / p for p in cfg.get("requirements", [])]):
        ids.update(ref for kind, ref in req.verified_by if kind == "test")
    return sorted(ids)


def sign_off(audit: Path, document: Path, private_key: Path) -> dict[str, Any]:
    """Append a signed ``sign`` record (meaning "approved") for ``document`` to the audit trail."""
    from validation.audit import AuditLog

    log = AuditLog(audit, signing_key=private_key)
    return log.append(
        "sign",
        object={"type": "document", "id": document.name, "folder": document.parent.parent.name},
        object_sha256=sha256_file(document),
        reason="sign-off of the rendered submission documents (demonstration key)",
        signature_meaning="approved",
    )


def write_protocol(path: Path, cohort: Path, bundle: Path, *, replicates: int) -> None:
    """Fill the plan's template: where the data are, and the bundle's own locked threshold."""
    settings = json.loads((bundle / "inference.json").read_text(encoding="utf-8"))
    fields = {
        "{{MANIFEST}}": (cohort / "manifest.csv").as_posix(),
        "{{LESIONS}}": (cohort / "lesions.csv").as_posix(),
        "{{BUNDLE}}": bundle.as_posix(),
        "{{THRESHOLD}}": repr(float(settings["case_threshold"])),
        "{{REPLICATES}}": str(replicates),
    }
    text = (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    for key, value in fields.items():
        text = text.replace(key, value)
    path.write_text(text, encoding="utf-8")


def write_reader_study(path: Path, *, n_readers: int, n_cases: int) -> None:
    """Simulated unaided/aided study (Roe & Metz 1997 'HH' structure, AUC ~0.86 unaided)."""
    from clinical_eval.simulation import roe_metz_config, simulate_roe_metz

    cfg = roe_metz_config("HH", 1.5, delta_mu=0.4)
    df = simulate_roe_metz(
        cfg, n_readers=n_readers, n_nondiseased=n_cases // 2, n_diseased=n_cases - n_cases // 2,
        rng=READER_STUDY_SEED,
    )
    df["modality"] = df["modality"].map({1: "unaided", 2: "aided"})
    df["reader"] = df["reader"].map(lambda r: f"R{int(r):02d}")
    df["case"] = df["case"].map(lambda c: f"C{int(c):04d}")
    df.to_csv(path, index=False, float_format="%.10g")
