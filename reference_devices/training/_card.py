"""The model card of the reference bundle (Markdown), written from measured numbers only."""

from __future__ import annotations

from typing import Any

__all__ = ["model_card"]


_RULES = {
    "largest_lesion_volume_mm3": "the volume in mm^3 of the largest predicted lesion, 0 when there is none",
    "max_probability": "the largest voxel probability of nodule in the case, in [0, 1]",
}


def _f(v: float) -> str:
    return "n/a" if v != v else f"{v:.3f}"


def model_card(recipe: dict[str, Any], *, dev: dict[str, Any], test: dict[str, Any], threshold: float) -> str:
    """Markdown model card: intended use, training data, performance at lock, limitations.

    The card names the phantom generator by its module at lock time (``validation.phantom``,
    release 0.1.0; now `reference_devices.phantom`), so that retraining reproduces the shipped
    bundle's ``model_card.md`` byte for byte.
    """
    c = recipe["cohorts"]
    t = recipe["training"]
    inf = recipe["inference"]
    rows = []
    for name, r in (("development (threshold chosen here)", dev), ("lock-test (held out)", test)):
        rows.append(
            f"| {name} | {r['n_cases']} | {r['n_positive']} | {_f(r['auc'])} | {_f(r['sensitivity'])} | "
            f"{_f(r['specificity'])} | {_f(r['mean_dice_positive_cases'])} |"
        )
    return f"""# Model card: {recipe['name']} {recipe['version']}

## Intended use
Demonstration and testing of the samd validation workflow. The model segments **simulated**
lung nodules in **procedural chest-CT phantoms** and gives a case-level nodule score. It is
**not a medical device, not for clinical use, and must never be used on patient data.**

## Model
3-D U-Net (`samd_core.models`, config in `network.json`), one sigmoid channel (nodule).
Input: CT in HU, resampled to 1.5 mm isotropic, clipped to [-1000, 400] HU and scaled
(`preprocessing.json`). Sliding-window inference (`inference.json`); voxels with probability
>= {inf['voxel_threshold']} form lesions of at least {inf['min_lesion_volume_mm3']} mm^3. Case score:
`{inf['case_score_rule']}` ({_RULES[inf['case_score_rule']]}). Locked case threshold: **{threshold:.6f}**
(maximum Youden J on the development cohort; never chosen on test data).

## Training data
Synthetic phantoms from `validation.phantom` (generator `chest-phantom/1`): training cohort seed
{c['train']['seed']}, {c['train']['n_cases']} cases (nodule prevalence {c['train']['prevalence']}),
three simulated scanner vendors, slice thickness 1-5 mm, two dose levels, sites A-C. No real
patient data. The SHA-256 of the training-data manifest is in `bundle.json`.
Training: {t['steps']} steps of AdamW (lr {t['learning_rate']}, cosine schedule), batch
{t['batch_size']} patches of {t['patch_size']} voxels, {round(t['foreground_fraction'] * 100)} %
centred on nodules, {round(t.get('hard_negative_fraction', 0.0) * 100)} % on hard negatives (soft tissue inside the lungs:
the vessels), the rest anywhere; soft Dice + BCE; single-threaded, deterministic.

## Performance at lock
Case-level detection (score vs. "has a nodule"; sensitivity and specificity at the locked
threshold), voxel Dice on positive cases:

| cohort | cases | positives | AUC | sensitivity | specificity | mean Dice |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Point estimates only, on small synthetic cohorts; the validation harness reports confidence
intervals on its own test cohorts.

## Limitations
- Trained and tested on synthetic phantoms only (96 mm field of view, idealised anatomy,
  spherical nodules); says nothing about performance on real CT.
- Small nodules (about 3-5 mm) on thick (3-5 mm) slices are hard for this small network.
- Bit-exact outputs are guaranteed only on the platform that made the golden outputs
  (`reference/golden.json`); elsewhere `samd verify` applies a documented tolerance.
"""
