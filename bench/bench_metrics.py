"""Benchmark: HD95 + ASSD + NSD on 256×256×200 masks, samd vs MONAI, in one process.

Run: ``python bench/bench_metrics.py [--repeats 3]``. Prints a Markdown table of median times
and the ratio samd/MONAI (lower is better; the goal is ≤ 0.5, i.e. ≥ 2× faster), and the
largest difference between the values (voxel convention, where both define the same numbers).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
import torch

from validation.metrics import surface_metrics


def _ellipsoid(shape: tuple[int, int, int], c: tuple[float, ...], r: tuple[float, ...]) -> np.ndarray:
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2 <= 1.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, nothing written unless --out: checks that the script runs")
    args = ap.parse_args()
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance, compute_surface_dice

    shape = (200, 256, 256)  # (z, y, x)
    k = 10.0 if args.smoke else 1.0  # --smoke: a 20x26x26 version of the same scene
    if args.smoke:
        shape, args.repeats = (20, 26, 26), 1
    ref = _ellipsoid(shape, (100 / k, 128 / k, 128 / k), (60 / k, 80 / k, 70 / k))
    pred = _ellipsoid(shape, (103 / k, 125 / k, 131 / k), (57 / k, 84 / k, 66 / k))
    sp = (1.5, 0.8, 0.8)
    tol = 2.0
    P = torch.from_numpy(pred[None, None].astype(np.float32))
    R = torch.from_numpy(ref[None, None].astype(np.float32))
    P, R = torch.cat([1 - P, P], 1), torch.cat([1 - R, R], 1)

    def ours() -> tuple[float, float, float]:
        m = surface_metrics(pred, ref, spacing=sp, tolerance_mm=tol, percentile=95, convention="voxel")
        return m.hausdorff_percentile, m.assd, m.nsd

    def monai() -> tuple[float, float, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hd = compute_hausdorff_distance(P, R, percentile=95, spacing=sp).item()
            asd = compute_average_surface_distance(P, R, symmetric=True, spacing=sp).item()
            nsd = compute_surface_dice(P, R, class_thresholds=[tol], spacing=sp).item()
        return hd, asd, nsd

    times: dict[str, list[float]] = {"samd": [], "monai": []}
    vals = {}
    for _ in range(args.repeats):
        for name, fn in (("samd", ours), ("monai", monai)):
            t0 = time.perf_counter()
            vals[name] = fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    diff = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(vals["samd"], vals["monai"], strict=True))
    print(f"machine: {platform.machine()}, torch threads {torch.get_num_threads()}, repeats {args.repeats}")
    print("| task | samd (s) | MONAI (s) | ratio samd/MONAI | goal | max rel. value difference |")
    print("|---|---|---|---|---|---|")
    print(
        f"| HD95 + ASSD + NSD, 256×256×200, voxel convention | {med['samd']:.3f} | {med['monai']:.3f} "
        f"| {med['samd'] / med['monai']:.2f} | ≤ 0.5 | {diff:.1e} |"
    )
    print(f"values samd={vals['samd']}, monai={vals['monai']}")


if __name__ == "__main__":
    main()
