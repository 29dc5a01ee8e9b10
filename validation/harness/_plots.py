"""Plots of a validation run (matplotlib, Agg backend): ROC with CI band, forest, calibration.

Each figure is written as PNG and SVG (SVG keeps text as text, so its content can be
audited, e.g. scanned for identifiers).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from validation.stats._bootstrap import percentile_interval

__all__ = ["calibration_plot", "forest_plot", "froc_plot", "roc_plot"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["svg.hashsalt"] = "samd"
    return plt


def _save(fig: Any, out: Path, stem: str) -> list[Path]:
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=120, metadata={"Software": None})
    fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
    _plt().close(fig)
    return paths


def _roc_points(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    distinct = np.flatnonzero(np.diff(ss)) if ss.size > 1 else np.array([], int)
    ends = np.r_[distinct, ys.size - 1]
    tps = np.cumsum(ys)[ends]
    fps = (ends + 1) - tps
    tpr = np.r_[0.0, tps / max(1, ys.sum())]
    fpr = np.r_[0.0, fps / max(1, (1 - ys).sum())]
    return fpr, tpr


class _SortedScores:
    """Scores sorted once (descending, stable) with the last position of each distinct score."""

    def __init__(self, y: np.ndarray, s: np.ndarray) -> None:
        self.order = np.argsort(-s, kind="mergesort")
        ss = s[self.order]
        distinct = np.flatnonzero(np.diff(ss)) if ss.size > 1 else np.array([], int)
        self.ends = np.r_[distinct, ss.size - 1]
        self.y = np.asarray(y)[self.order].astype(np.int64)


def _roc_points_resampled(sc: _SortedScores, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_roc_points(y[idx], s[idx])`` without sorting the resample: its multiplicities summed in the
    pre-sorted order, one point per distinct score the resample holds (bit-identical: the same
    integer counts and the same divisions)."""
    w = np.bincount(idx, minlength=sc.order.size)[sc.order]
    wp = w * sc.y
    cw = np.cumsum(w)[sc.ends]
    ctp = np.cumsum(wp)[sc.ends]
    keep = np.diff(cw, prepend=0) > 0  # distinct scores present in the resample
    tps = ctp[keep]
    fps = cw[keep] - tps
    npos = int(ctp[-1]) if ctp.size else 0
    tpr = np.r_[0.0, tps / max(1, npos)]
    fpr = np.r_[0.0, fps / max(1, int(cw[-1]) - npos)]
    return fpr, tpr


def roc_plot(y: np.ndarray, s: np.ndarray, auc: dict[str, Any] | None, out: Path, *,
             replicates: int, seed: int, confidence_level: float = 0.95) -> list[Path]:
    """ROC curve with a pointwise bootstrap band of sensitivity over a specificity grid."""
    plt = _plt()
    fpr, tpr = _roc_points(y, s)
    grid = np.linspace(0, 1, 101)
    rng = np.random.default_rng([seed, 99])
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    b = min(replicates, 200)
    sorted_scores = _SortedScores(y, s)
    band = np.empty((b, grid.size))
    for i in range(b):
        idx = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
        f, t = _roc_points_resampled(sorted_scores, idx)
        band[i] = np.interp(grid, f, t)
    lo, hi = np.array([percentile_interval(band[:, j], confidence_level) for j in range(grid.size)]).T
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.fill_between(grid, lo, hi, color="tab:blue", alpha=0.2,
                    label=f"{confidence_level:.0%} pointwise bootstrap band ({b} replicates)")
    label = "ROC"
    if auc is not None and math.isfinite(auc["value"]):
        label = f"AUC {auc['value']:.3f} ({auc['ci_low']:.3f}-{auc['ci_high']:.3f}, {auc['method']})"
    ax.plot(fpr, tpr, color="tab:blue", label=label)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=7)
    return _save(fig, out, "roc")


def forest_plot(endpoints: list[dict[str, Any]], groups: list[dict[str, Any]], out: Path) -> list[Path]:
    """Forest plot: each endpoint overall and per subgroup level, value with CI."""
    plt = _plt()
    rows: list[tuple[str, float, float, float, bool]] = []
    for ep in endpoints:
        rows.append((f"{ep['id']} (all, n={ep['n']})", ep["value"], ep["ci_low"], ep["ci_high"], True))
        for g in groups:
            e = g["endpoints"].get(ep["id"])
            if e is not None:
                rows.append((f"  {g['variable']}={g['level']} (n={g['n']})", e["value"], e["ci_low"],
                             e["ci_high"], False))
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1))
    for i, (lab, v, lo, hi, overall) in enumerate(rows):
        yy = len(rows) - i
        vals = [float(x) if not isinstance(x, str) else float(x) for x in (v, lo, hi)]
        if all(math.isfinite(x) for x in vals):
            ax.plot([vals[1], vals[2]], [yy, yy], color="black", lw=1)
        if math.isfinite(vals[0]):
            ax.plot(vals[0], yy, "D" if overall else "s", color="tab:red" if overall else "tab:blue")
    ax.set_yticks(range(len(rows), 0, -1))
    ax.set_yticklabels([r[0] for r in rows], fontsize=7)
    ax.set_xlabel("estimate with confidence interval")
    fig.tight_layout()
    return _save(fig, out, "forest")


def calibration_plot(y: np.ndarray, p: np.ndarray, out: Path, *, bins: int = 10) -> list[Path]:
    """Reliability diagram: observed fraction positive per quantile bin of predicted probability."""
    plt = _plt()
    qs = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(qs, p, side="right") - 1, 0, max(0, qs.size - 2))
    mean_p = np.array([p[which == b].mean() for b in range(qs.size - 1) if np.any(which == b)])
    obs = np.array([y[which == b].mean() for b in range(qs.size - 1) if np.any(which == b)])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.plot(mean_p, obs, "o-", color="tab:blue", label="quantile bins")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed fraction positive")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=7)
    return _save(fig, out, "calibration")


def froc_plot(froc: dict[str, Any], out: Path) -> list[Path]:
    """FROC step curve with its pointwise cluster-bootstrap band (``result.json`` ``froc``), the
    locked operating point and the highest FP rate reached (dotted)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    grid = np.asarray(froc["fp_per_image"], float)
    lo, hi = np.asarray(froc["ci_low"], float), np.asarray(froc["ci_high"], float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.fill_between(grid[ok], lo[ok], hi[ok], step="post", color="tab:blue", alpha=0.2,
                    label=f"{froc['confidence_level']:.0%} pointwise cluster-bootstrap band")
    ax.step(froc["curve"]["fp_per_image"], froc["curve"]["sensitivity"], where="post", color="tab:blue",
            label="FROC")
    op = froc.get("operating_point")
    if op:
        ax.plot([op["fp_per_image"]], [op["sensitivity"]], "s", color="tab:red",
                label=f"locked operating point (threshold {op['threshold']:.4g})")
    ax.axvline(froc["fp_rate_reached"], color="grey", lw=0.8, ls=":")
    ax.set_xlabel("false positives per image")
    ax.set_ylabel("lesion sensitivity")
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1.15)
    ax.legend(loc="upper left", fontsize=7)
    return _save(fig, out, "froc")
