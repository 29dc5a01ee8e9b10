"""The bundle-mode protocol of the scale-out tests: the nodule bundle over a phantom CT cohort."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def nodule_protocol(manifest: Path, protocol_id: str, title: str, *, seed: int, replicates: int,
                    extra: str = "") -> str:
    """Protocol text: AUC (DeLong) and sensitivity (Wilson) of ``samd_core/bundles/nodule_v1`` on
    the cohort ``manifest`` (`reference_devices.phantom.write_cohort`), plus ``extra`` YAML lines."""
    bundle = ROOT / "samd_core" / "bundles" / "nodule_v1"
    return f"""
id: {protocol_id}
title: {title}
device: {{bundle: "{bundle}", image_column: series_dir, score: {{column: score, higher_is_positive: true}}}}
manifest: "{manifest}"
truth: {{column: has_nodule, positive: "1"}}
endpoints:
  - {{id: auc, metric: roc_auc, ci: delong, confidence_level: 0.95, acceptance: {{ci_low_at_least: 0.0}}}}
  - {{id: sens, metric: sensitivity, ci: wilson, confidence_level: 0.95, acceptance: {{ci_low_at_least: 0.0}}}}
bootstrap: {{replicates: {replicates}, seed: {seed}}}
{extra}"""
