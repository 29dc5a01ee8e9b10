"""Small synthetic test sets for the harness tests (generated at test time)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

BASE_PROTOCOL = """\
id: SAP-TEST-001
device:
  predictions: predictions.csv
  score: {column: score, higher_is_positive: true, is_probability: true}
  threshold: 0.5
manifest: manifest.csv
truth: {column: label, positive: "1"}
endpoints:
  - {id: auc, metric: roc_auc, ci: delong, confidence_level: 0.95, acceptance: {ci_low_at_least: 0.6}}
  - {id: sens, metric: sensitivity, ci: wilson, acceptance: {value_at_least: 0.5}}
  - {id: spec, metric: specificity, ci: wilson, acceptance: {value_at_least: 0.5}}
subgroups:
  min_size: 25
  variables:
    - {column: site}
    - {column: age, bins: [0, 60, 200]}
bootstrap: {replicates: 200, seed: 7}
multiplicity: holm
"""


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def make_study(root: Path, n: int = 120, seed: int = 3, files: bool = True) -> Path:
    """Write manifest.csv (+ per-case files with hashes), predictions.csv, protocol.yaml."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    y = np.r_[np.ones(n // 2, int), np.zeros(n - n // 2, int)]
    score = np.clip(0.5 + 0.25 * (y - 0.5) + rng.normal(0, 0.2, n), 0, 1)
    rows = ["case_id,label,site,age" + (",path,sha256" if files else "")]
    for i in range(n):
        line = f"K{i:04d},{y[i]},{'AB'[i % 2]},{int(rng.integers(30, 90))}"
        if files:
            f = root / "images" / f"K{i:04d}.bin"
            f.parent.mkdir(exist_ok=True)
            f.write_bytes(rng.bytes(64))
            line += f",images/K{i:04d}.bin,{sha256(f)}"
        rows.append(line)
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    (root / "predictions.csv").write_text(
        "case_id,score\n" + "".join(f"K{i:04d},{float(score[i])!r}\n" for i in range(n)))
    (root / "protocol.yaml").write_text(BASE_PROTOCOL)
    return root / "protocol.yaml"
