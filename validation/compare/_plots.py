"""Paired ROC plot of a comparison: both curves and both pre-specified operating points."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from validation.harness._plots import _plt, _roc_points, _save

__all__ = ["paired_roc_plot"]


def paired_roc_plot(y: np.ndarray, score_reference: np.ndarray, score_candidate: np.ndarray,
                    auc_diff: dict[str, Any] | None, points: dict[str, tuple[float, float]],
                    out: Path) -> list[Path]:
    """``roc_paired.png``/``.svg``: reference and candidate ROC curves on the same cases, each
    operating point ``(1 - specificity, sensitivity)`` at its threshold, and the DeLong AUC
    difference in the title. Text stays text in the SVG (no identifiers are drawn)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    styles = {"reference": ("tab:gray", "--", "s"), "candidate": ("tab:blue", "-", "o")}
    for role, s in (("reference", score_reference), ("candidate", score_candidate)):
        color, ls, marker = styles[role]
        fpr, tpr = _roc_points(y, s)
        label = role
        if auc_diff is not None and isinstance(auc_diff.get(role), dict):
            a = auc_diff[role]
            label = f"{role}: AUC {a['value']:.3f} ({a['ci_low']:.3f}-{a['ci_high']:.3f})"
        ax.plot(fpr, tpr, color=color, linestyle=ls, label=label)
        if role in points:
            fx, se = points[role]
            ax.plot([fx], [se], marker=marker, color=color, markersize=8, linestyle="none",
                    label=f"{role} operating point (sens {se:.3f}, spec {1 - fx:.3f})")
    ax.plot([0, 1], [0, 1], color="lightgray", linewidth=0.8)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    title = "Paired ROC, candidate vs reference"
    if auc_diff is not None and isinstance(auc_diff.get("value"), float) and math.isfinite(auc_diff["value"]):
        title += (f"\nAUC difference {auc_diff['value']:+.3f} "
                  f"({auc_diff['ci_low']:+.3f} to {auc_diff['ci_high']:+.3f}, DeLong)")
    ax.set_title(title, fontsize=10)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return _save(fig, out, "roc_paired")
