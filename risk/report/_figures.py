"""Figures of the performance report, drawn from a run's result (and its per-case table).

One forest plot per endpoint family (proportions, AUC, distances in mm, ...), each on its own
scale, every row labelled with the endpoint's n; the ROC curve with the locked operating point
and its CI. Drawn at print size (6.5 in wide, shown at the text width) with text of 8 pt, so no
label is smaller than 7 pt on paper. Deterministic: fixed metadata, no timestamps.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FIGURE_FONT_PT", "Figure", "endpoint_family", "forest_figures", "froc_figure", "roc_figure"]

#: Font size of all figure text, in points at the drawn size (figures are never shown smaller).
FIGURE_FONT_PT = 8.0
_WIDTH_IN = 6.5

#: metric name pattern -> (family id, axis label)
_FAMILIES: tuple[tuple[str, str, str], ...] = (
    (r"auc|auroc|roc_auc|auc_", "auc", "Area under the ROC curve"),
    (r"^fp_per_image$", "fp_per_image", "False positives per image"),
    (r"sensitivity|specificity|ppv|npv|accuracy|precision|recall|proportion|rate|dice|iou|jaccard|kappa",
     "proportion", "Proportion"),
    (r"_mm$|hd95|hausdorff|assd|distance|mm", "distance_mm", "Distance (mm)"),
    (r"volume|_ml$", "volume_ml", "Volume (mL)"),
)


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure file written by this module, with the caption the documents print under it."""

    file: str
    caption: str
    run_id: str


def endpoint_family(metric: str) -> tuple[str, str]:
    """``(family id, axis label)`` of a metric; an unknown metric is a family of its own."""
    m = metric.lower()
    for pattern, fam, label in _FAMILIES:
        if re.search(pattern, m):
            return fam, label
    return m, metric


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": FIGURE_FONT_PT, "axes.titlesize": FIGURE_FONT_PT + 1,
                         "axes.labelsize": FIGURE_FONT_PT, "xtick.labelsize": FIGURE_FONT_PT,
                         "ytick.labelsize": FIGURE_FONT_PT, "legend.fontsize": FIGURE_FONT_PT,
                         "svg.hashsalt": "samd", "font.family": "DejaVu Sans"})
    return plt


def _save(fig: Any, path: Path) -> None:
    fig.savefig(path, dpi=200, metadata={"Software": None}, bbox_inches="tight")


def _threshold(criterion: Any) -> float | None:
    m = re.search(r"(?:ci_low|ci_high|value)\s*[<>]=?\s*(-?[0-9.]+)", str(criterion or ""))
    return float(m.group(1)) if m else None


def _finite(*xs: Any) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in xs)


def forest_figures(
    endpoints: Sequence[Mapping[str, Any]],
    subgroups: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    run_id: str,
    label: str = "",
) -> list[Figure]:
    """One forest plot per endpoint family: each endpoint overall, then its subgroup levels.

    ``endpoints`` are `endpoint_rows`, ``subgroups`` `subgroup_rows`. Every row is labelled with
    the n of that estimate (the endpoint's n: positives for sensitivity, negatives for
    specificity), never a subgroup's case count; the acceptance threshold is drawn dashed.
    """
    plt = _pyplot()
    families: dict[str, list[Mapping[str, Any]]] = {}
    axis: dict[str, str] = {}
    for ep in endpoints:
        fam, lab = endpoint_family(str(ep["metric"]))
        families.setdefault(fam, []).append(ep)
        axis[fam] = lab
    figures = []
    for fam, eps in families.items():
        rows: list[tuple[str, Any, Any, Any, bool]] = []
        lines: list[tuple[float, int, int]] = []
        for ep in eps:
            start = len(rows)
            rows.append((f"{ep['id']}: all (n={ep['n']})", ep["value"], ep["ci_low"], ep["ci_high"], True))
            for s in subgroups:
                if s["endpoint"] == ep["id"]:
                    rows.append((f"  {s['attribute']}={s['level']} (n={s['n']})", s["value"], s["ci_low"],
                                 s["ci_high"], False))
            t = _threshold(ep.get("criterion"))
            if t is not None:
                lines.append((t, start, len(rows)))
        height = 0.8 + 0.28 * len(rows)
        fig, ax = plt.subplots(figsize=(_WIDTH_IN, height))
        for i, (_, v, lo, hi, overall) in enumerate(rows):
            y = len(rows) - 1 - i
            if _finite(lo, hi):
                ax.plot([lo, hi], [y, y], color="black", linewidth=1.2 if overall else 0.8)
            if _finite(v):
                ax.plot([v], [y], marker="s" if overall else "o", color="black", markersize=5 if overall else 3.5)
        for t, a, b in lines:
            ax.plot([t, t], [len(rows) - b - 0.4, len(rows) - 1 - a + 0.4], linestyle="--", color="#a00",
                    linewidth=0.9)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r[0] for r in reversed(rows)])
        ax.set_xlabel(f"{axis[fam]} (point estimate and CI; dashed: acceptance threshold)")
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.grid(axis="x", color="#ddd", linewidth=0.5)
        name = f"forest_{fam}.png"
        _save(fig, out_dir / name)
        plt.close(fig)
        ids = ", ".join(str(ep["id"]) for ep in eps)
        figures.append(Figure(name, f"Forest plot, {axis[fam].lower()}{label}: {ids}, overall and by subgroup; "
                                    "n is the number of units each estimate is based on.", run_id))
    return figures


def roc_figure(
    truth: Sequence[Any],
    score: Sequence[Any],
    endpoints: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    run_id: str,
    label: str = "",
) -> Figure | None:
    """Empirical ROC curve (`validation.stats.roc_curve`) with the locked operating point.

    The operating point is the run's sensitivity and specificity endpoints (the device's
    pre-specified threshold), drawn at ``(1 − specificity, sensitivity)`` with both CIs.
    Returns None when the per-case truth and score are not both available.
    """
    import numpy as np

    from validation.stats import roc_curve

    y = np.asarray(truth, dtype=float)
    s = np.asarray(score, dtype=float)
    keep = np.isfinite(y) & np.isfinite(s)
    y, s = y[keep].astype(int), s[keep]
    if y.size == 0 or y.min() == y.max():
        return None
    curve = roc_curve(y, s)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH_IN * 0.6, _WIDTH_IN * 0.6))
    ax.plot(curve.fpr, curve.tpr, color="black", linewidth=1.0, label="empirical ROC")
    ax.plot([0, 1], [0, 1], color="#999", linewidth=0.6, linestyle=":")
    by_metric = {str(e["metric"]).lower(): e for e in endpoints}
    se, sp = by_metric.get("sensitivity"), by_metric.get("specificity")
    op = ""
    if se and sp and _finite(se["value"], sp["value"]):
        x, yv = 1.0 - sp["value"], se["value"]
        if _finite(sp["ci_low"], sp["ci_high"], se["ci_low"], se["ci_high"]):
            ax.errorbar([x], [yv], xerr=[[x - (1 - sp["ci_high"])], [(1 - sp["ci_low"]) - x]],
                        yerr=[[yv - se["ci_low"]], [se["ci_high"] - yv]], fmt="s", color="#a00", markersize=5,
                        capsize=2, linewidth=1.0, label="locked operating point (CI)")
        else:
            ax.plot([x], [yv], "s", color="#a00", label="locked operating point")
        op = (f"; locked operating point: sensitivity {se['value']:.3f} (n={se['n']}), specificity "
              f"{sp['value']:.3f} (n={sp['n']}), with their CIs")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("1 − specificity")
    ax.set_ylabel("Sensitivity")
    ax.legend(loc="lower right", frameon=False)
    ax.set_aspect("equal")
    _save(fig, out_dir / "roc.png")
    plt.close(fig)
    return Figure("roc.png", f"ROC curve{label} ({int(y.sum())} positive, {int((1 - y).sum())} negative cases){op}.",
                  run_id)


def froc_figure(
    froc: Mapping[str, Any] | None,
    endpoints: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    run_id: str,
    label: str = "",
) -> Figure | None:
    """FROC curve with its pointwise cluster-bootstrap band and the locked operating point.

    ``froc`` is ``result.json`` ``froc`` (written by ``samd validate`` when the protocol has a
    lesion endpoint): the empirical step curve, the band on an FP-rate grid up to the highest
    FP rate reached, and the operating point at the locked candidate threshold. The run's
    ``lesion_sensitivity`` / ``fp_per_image`` endpoints give the operating point's CIs.
    Returns None without a FROC record.
    """
    if not isinstance(froc, Mapping) or not isinstance(froc.get("curve"), Mapping):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH_IN * 0.75, _WIDTH_IN * 0.5))
    grid, lo, hi = (froc.get(k) or [] for k in ("fp_per_image", "ci_low", "ci_high"))
    pts = [(x, a, b) for x, a, b in zip(grid, lo, hi, strict=False) if _finite(x, a, b)]
    level = froc.get("confidence_level")
    if pts:
        ax.fill_between([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts], step="post",
                        color="#9ab", alpha=0.5, linewidth=0,
                        label=f"{level:.0%} pointwise cluster-bootstrap band" if _finite(level) else "bootstrap band")
    cx, cy = froc["curve"].get("fp_per_image", []), froc["curve"].get("sensitivity", [])
    ax.step(cx, cy, where="post", color="black", linewidth=1.0, label="empirical FROC")
    top = froc.get("fp_rate_reached")
    op = froc.get("operating_point")
    text = ""
    if isinstance(op, Mapping) and _finite(op.get("fp_per_image"), op.get("sensitivity")):
        x, y = float(op["fp_per_image"]), float(op["sensitivity"])
        by = {str(e["metric"]): e for e in endpoints}
        se, fp = by.get("lesion_sensitivity"), by.get("fp_per_image")
        if se and fp and _finite(se["ci_low"], se["ci_high"], fp["ci_low"], fp["ci_high"]):
            ax.errorbar([x], [y], xerr=[[x - fp["ci_low"]], [fp["ci_high"] - x]],
                        yerr=[[y - se["ci_low"]], [se["ci_high"] - y]], fmt="s", color="#a00", markersize=5,
                        capsize=2, linewidth=1.0, label="locked operating point (CI)")
        else:
            ax.plot([x], [y], "s", color="#a00", label="locked operating point")
        text = (f"; locked operating point (candidate threshold {float(op['threshold']):.4g}): "
                f"sensitivity {y:.3f} at {x:.3f} false positives per image")
    if _finite(top):
        ax.axvline(float(top), color="#999", linestyle=":", linewidth=0.8)
    ax.set_xlabel("False positives per image")
    ax.set_ylabel("Lesion sensitivity")
    ax.set_ylim(-0.01, 1.15)
    ax.set_xlim(left=0)
    ax.legend(loc="upper left", frameon=False)
    ax.grid(color="#ddd", linewidth=0.5)
    _save(fig, out_dir / "froc.png")
    plt.close(fig)
    reached = f"; the curve ends at {float(top):.3f} false positives per image (dotted line)" if _finite(top) else ""
    return Figure("froc.png", f"FROC curve{label} ({froc.get('n_lesions')} lesions, {froc.get('n_images')} images; "
                              f"hit rule {froc.get('criterion')}){reached}{text}; band: pointwise percentile "
                              "interval of sensitivity, patients (or images) resampled.", run_id)
