"""Benchmark of validation.stats against its peers, in one run.

1. AUC + DeLong CI at n = 10^6 vs scikit-learn ``roc_auc_score`` (AUC only) — goal <= 0.5x —
   and vs pROC 1.18 ``roc()`` + ``ci.auc(method="delong")`` (timed inside R).
2. 2000-replicate class-stratified bootstrap CI of the AUC at n = 10^4 vs pROC
   ``ci.auc(method="bootstrap", boot.n=2000, boot.stratified=TRUE)`` — goal <= 0.1x.

Times are the best of ``--repeats`` runs (wall clock). Usage::

    PYTHONPATH=. python bench/bench_stats.py [--repeats 3] [--out docs/benchmarks.d/stats.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from validation.stats import roc_auc
from _timing import best_of


def proc_time(y: np.ndarray, s: np.ndarray, expr: str, repeats: int) -> tuple[float, str] | None:
    """Best-of-``repeats`` time of an R expression on (y, s), measured inside R."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        yp, sp = os.path.join(tmp, "y.bin"), os.path.join(tmp, "s.bin")
        y.astype(np.int32).tofile(yp)
        s.astype(np.float64).tofile(sp)
        n = y.size
        code = f"""
suppressMessages(library(pROC)); set.seed(1)
y <- readBin("{yp}", "integer", {n}, size = 4); s <- readBin("{sp}", "double", {n})
best <- Inf; val <- NA
for (i in 1:{repeats}) {{
  t <- system.time({{ r <- roc(y, s, levels = c(0, 1), direction = "<", quiet = TRUE); val <- {expr} }})[["elapsed"]]
  best <- min(best, t)
}}
cat(sprintf("%.6f", best), paste(sprintf("%.17g", as.numeric(val)), collapse = ","), "\\n")
"""
        res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        print(res.stderr[-500:])
        return None
    parts = res.stdout.split()
    return float(parts[0]), parts[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="docs/benchmarks.d/stats.md")
    ap.add_argument("--skip-r", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, nothing written unless --out: checks that the script runs")
    args = ap.parse_args()
    if args.smoke:
        args.repeats, args.skip_r = 1, True
    n_big, n_boot, boot = (2000, 500, 50) if args.smoke else (10**6, 10**4, 2000)
    g = np.random.default_rng(0)
    rows = []
    notes = []

    n = n_big
    y = (g.random(n) < 0.3).astype(np.int64)
    s = g.normal(size=n) + 0.8 * y
    t_ours = best_of(lambda: roc_auc(y, s, method="delong"), args.repeats)
    t_sk = best_of(lambda: roc_auc_score(y, s), args.repeats)
    est = roc_auc(y, s)
    assert abs(est.value - roc_auc_score(y, s)) < 1e-12
    rows.append(("AUC + DeLong CI, n = 10^6", "scikit-learn roc_auc_score (AUC only)", t_ours, t_sk, "<= 0.5x"))
    pr = None if args.skip_r else proc_time(y, s, 'ci.auc(r, method = "delong")', 1)
    if pr is not None:
        rows.append(("AUC + DeLong CI, n = 10^6", "pROC 1.18 roc() + ci.auc(delong)", t_ours, pr[0], "report"))
        lo, mid, hi = map(float, pr[1].split(","))
        notes.append(
            f"DeLong at n = 10^6: pROC (lower, AUC, upper) = ({lo:.10f}, {mid:.10f}, {hi:.10f}); samd = "
            f"({est.ci_low:.10f}, {est.value:.10f}, {est.ci_high:.10f})."
        )

    n = n_boot
    y = (g.random(n) < 0.3).astype(np.int64)
    s = g.normal(size=n) + 0.8 * y
    t_boot = best_of(
        lambda: roc_auc(y, s, method="bootstrap_percentile", n_resamples=boot, rng=1), args.repeats
    )
    pb = None if args.skip_r else proc_time(
        y, s, 'ci.auc(r, method = "bootstrap", boot.n = 2000, boot.stratified = TRUE, progress = "none")', 1
    )
    if pb is not None:
        rows.append(("stratified bootstrap AUC CI, 2000 resamples, n = 10^4",
                     "pROC 1.18 ci.auc(bootstrap, stratified)", t_boot, pb[0], "<= 0.1x"))
        b = roc_auc(y, s, method="bootstrap_percentile", n_resamples=2000, rng=1)
        plo, pmed, phi = map(float, pb[1].split(","))
        notes.append(
            f"Bootstrap at n = 10^4 (different random numbers): pROC (lower, median of replicates, upper) = "
            f"({plo:.4f}, {pmed:.4f}, {phi:.4f}); samd (lower, AUC, upper) = ({b.ci_low:.4f}, {b.value:.4f}, "
            f"{b.ci_high:.4f})."
        )
    else:
        rows.append(("stratified bootstrap AUC CI, 2000 resamples, n = 10^4", "(pROC not run)", t_boot, float("nan"), "<= 0.1x"))

    lines = [
        "## validation.stats",
        "",
        f"`bench/bench_stats.py`, best of {args.repeats} (pROC: 1 run, timed inside R with `system.time`). "
        f"Machine: {platform.machine()}, 2 shared cores, noisy (other jobs running); Python {platform.python_version()}, "
        f"numpy {np.__version__}.",
        "",
        "| task | peer | samd (s) | peer (s) | ratio samd/peer | goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for task, peer, ours, theirs, goal in rows:
        lines.append(f"| {task} | {peer} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.3f}x | {goal} |")
    lines += ["", *[f"- {n}" for n in notes]]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.smoke and args.out == "docs/benchmarks.d/stats.md":
        return
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
