"""Lock the chest-radiograph triage classifier with `samd_core.bundle.create_bundle`."""

from __future__ import annotations

import os
import pathlib
import tempfile
from typing import Any

import yaml

from reference_devices.radiograph._train import INPUT_SHAPE, TARGET_SPECIFICITY

__all__ = ["BUNDLE_NAME", "BUNDLE_VERSION", "INPUT_DOMAIN", "REFERENCE_SEED", "build_cxr_bundle", "model_card"]

BUNDLE_NAME = "samd-cxr-triage"
BUNDLE_VERSION = "1.0.0"
#: Cohort seed of the OQ reference inputs (the tuning cohort: never a test cohort).
REFERENCE_SEED = 2028
#: The input domain the device was developed on: the generator's detectors (DX and CR, 1.5-1.7 mm
#: pixels, 256 x 256 matrix, 12-bit presentation values).
INPUT_DOMAIN: dict[str, Any] = {
    "modality": ["DX", "CR"], "dims": 2, "spacing_mm": [[1.5, 1.7], [1.5, 1.7]],
    "size_voxels": [[256, 256], [256, 256]], "intensity": [0, 4095], "required_attributes": [],
}

INTENDED_USE = (
    "Demonstration only: flags synthetic chest radiographs made by samd's generator that hold a "
    "nodule-like opacity or a pneumothorax-like pleural line, for prioritised review. Trained and tested on "
    "synthetic data only; not a medical device and not for clinical use."
)


def model_card(training: dict[str, Any]) -> str:
    """The model card, from the training record (numbers are computed, not typed)."""
    return f"""# {BUNDLE_NAME} {BUNDLE_VERSION}

**Synthetic data only.** This classifier was trained, tuned and tested on synthetic chest
radiographs from samd's deterministic generator (`reference_devices.radiograph`). It demonstrates
the validation workflow for a 2-D triage classifier exported to ONNX; it is not a medical device.

- Intended use: {INTENDED_USE}
- Input: one DX or CR image in presentation form, 12-bit, read with `samd_core.io.read_dicom_image`
  (MONOCHROME1 inverted); preprocessing `intensity_window [0, 4095]`, then `resize` to
  {INPUT_SHAPE[0]} x {INPUT_SHAPE[1]} (aspect `pad`).
- Model: a 2-D ResNet (3 stages, 16/32/64 channels), two logits (normal, finding), softmax;
  exported to ONNX (opset 17) and run with onnxruntime's CPU provider.
- Training: generator seed {training['seed']}, {training['n_train']} cases (prevalence 0.5),
  {training['epochs']} epochs, weights SHA-256 `{training['weights_sha256']}`.
- Locked operating point: probability of `finding` >= {training['threshold']!r}, the lowest
  threshold with tuning specificity >= {TARGET_SPECIFICITY} (tuning cohort seed {training['seed'] + 1},
  {training['n_tune']} cases: AUC {training['tuning_auc']:.3f}, sensitivity
  {training['tuning_sensitivity']:.3f}, specificity {training['tuning_specificity']:.3f}).
- Known limitations: synthetic anatomy and findings; three synthetic detectors; fixed 256 x 256
  matrix (the declared input domain refuses anything else).
"""


def build_cxr_bundle(out_dir: str | os.PathLike[str], *, onnx_bytes: bytes, training: dict[str, Any],
                     private_key: Any = None) -> pathlib.Path:
    """Write reference inputs, spec and model card to a scratch folder and lock the bundle at ``out_dir``.

    Parameters
    ----------
    out_dir : path
        New (or empty) bundle directory.
    onnx_bytes : bytes
        The trained network's ONNX export (`CxrTrainingResult.onnx_bytes`).
    training : mapping
        The training record (seed, n_train, n_tune, epochs, threshold, tuning_* figures, weights_sha256).
    private_key : Ed25519PrivateKey, optional
        Signs the manifest.
    """
    from reference_devices.radiograph._cohort import write_radiograph_cohort
    from samd_core.bundle import create_bundle

    with tempfile.TemporaryDirectory() as tmp:
        base = pathlib.Path(tmp)
        (base / "model.onnx").write_bytes(onnx_bytes)
        (base / "model_card.md").write_text(model_card(training), encoding="utf-8")
        manifest = write_radiograph_cohort(base / "ref", n_cases=3, seed=REFERENCE_SEED, prevalence=0.5,
                                           split="reference")
        refs = sorted(p.relative_to(base).as_posix() for p in manifest.parent.glob("*/image.dcm"))
        spec = {
            "name": BUNDLE_NAME, "version": BUNDLE_VERSION, "intended_use": INTENDED_USE,
            "model": {"format": "onnx", "path": "model.onnx"},
            "task": {"kind": "classification", "classes": ["normal", "finding"], "positive_class": "finding",
                     "activation": "softmax", "threshold": float(training["threshold"])},
            "input": {"dims": 2, "channels": 1, "modality": ["DX", "CR"], "shape": list(INPUT_SHAPE)},
            "preprocessing": [{"intensity_window": [0, 4095]},
                              {"op": "resize", "shape": list(INPUT_SHAPE), "aspect": "pad",
                               "interpolation": "linear"}],
            "input_domain": INPUT_DOMAIN,
            "reference_inputs": refs,
            "model_card": "model_card.md",
        }
        (base / "bundle_spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        return create_bundle(base / "bundle_spec.yaml", out_dir, private_key=private_key)
