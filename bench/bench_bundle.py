"""Benchmark of the bundle: verification + load, prediction, phantom generation.

Peers, in the same run: `sha256sum` (coreutils) over the bundle's files for the verification
cost, and a bare forward pass of the same network through `monai.inferers.sliding_window_inference`
for the prediction overhead. Writes docs/benchmarks.d/bundle.md. Machine: 2 shared cores (noisy).
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess

import torch
from _timing import best_of

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "samd_core" / "bundles" / "nodule_v1"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=pathlib.Path, default=None, help="default: docs/benchmarks.d/bundle.md")
    ap.add_argument("--smoke", action="store_true",
                    help="one repeat, nothing written unless --out, and the core-fingerprint check off (a "
                         "checkout between core releases): checks that the script runs")
    args = ap.parse_args()
    n = 1 if args.smoke else 3
    check = not args.smoke
    from monai.inferers import sliding_window_inference

    from samd_core import load_locked
    from samd_core.bundle import ResampleClipScale
    from reference_devices.phantom import generate_cases

    files = [str(p) for p in BUNDLE.rglob("*") if p.is_file()]
    t_load = best_of(lambda: load_locked(BUNDLE, check_core_fingerprint=check), n)
    t_sum = best_of(lambda: subprocess.run([shutil.which("sha256sum") or "sha256sum", *files], capture_output=True, check=True), n)
    model = load_locked(BUNDLE, check_core_fingerprint=check)
    case = next(generate_cases(1, seed=99, start_index=3))
    t_pred = best_of(lambda: model.predict(case.ct), n)
    pre = ResampleClipScale.from_spec(model.preprocessing_spec)
    x, _ = pre.forward(case.ct)
    net = model._network
    s = model.settings

    def bare() -> None:
        with torch.inference_mode():
            sliding_window_inference(torch.from_numpy(x)[None, None], s.roi_size, 1, lambda t: torch.sigmoid(net(t)),
                                     overlap=s.overlap, mode=s.blend_mode)

    t_bare = best_of(bare, n)
    t_gen = best_of(lambda: next(generate_cases(1, seed=99, start_index=3)), n)
    rows = [
        ("load_locked (verify all hashes + fingerprint + build)", t_load, "sha256sum of the bundle files", t_sum),
        ("LockedModel.predict, one phantom case (64x64x" + str(case.ct.shape[0]) + ")", t_pred,
         "MONAI sliding_window_inference, same network, preprocessed array", t_bare),
    ]
    lines = [
        "# Benchmarks: bundle",
        "",
        "Machine: 2 shared cores, noisy (several developers running tests); best of 3. No goal is set",
        "by the issue for these; ratios show the overhead of the checks and the grid round trip.",
        "",
        "| operation | ours (s) | peer | peer (s) | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, ours, peer, tp in rows:
        lines.append(f"| {name} | {ours:.3f} | {peer} | {tp:.3f} | {ours / tp:.2f} |")
    lines += ["", f"Phantom case generation (in memory): {t_gen:.3f} s per case.", ""]
    print("\n".join(lines))
    out = args.out if args.out is not None else (None if args.smoke else ROOT / "docs" / "benchmarks.d" / "bundle.md")
    if out is not None:
        out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
