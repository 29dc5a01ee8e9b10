"""Benchmark: the same network run by onnxruntime (as a ``samd-bundle/2`` locks it) and by torch.

Both in the same process, on the same input, single-threaded (the bundle fixes onnxruntime to one
intra-op and one inter-op thread; torch is set to one thread for a like-for-like ratio). Networks:
a samd 2-D U-Net (channels 16-32-64, 256 x 256) and a samd 2-D ResNet classifier (64 x 64).
Prints the ratio onnxruntime / torch (goal <= 1.0). Machine: 2 shared cores (noisy).

    .venv/bin/python bench/bench_onnx.py [--repeats 5] [--smoke]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

import numpy as np
import torch
from _timing import best_of

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="one repeat: checks that the script runs")
    a = ap.parse_args()
    repeats = 1 if a.smoke else a.repeats
    from samd_core.bundle._onnx import onnx_runner
    from samd_core.models import build_network

    torch.set_num_threads(1)
    cases = [
        ("UNet 2-D 16-32-64, 1x1x256x256",
         {"architecture": "unet", "spatial_dims": 2, "in_channels": 1, "out_channels": 3, "channels": [16, 32, 64]},
         (256, 256), [1, 3, 256, 256]),
        ("ResNet 2-D 16-32-64, 1x1x64x64",
         {"architecture": "resnet", "spatial_dims": 2, "in_channels": 1, "num_classes": 2, "channels": [16, 32, 64],
          "blocks": [1, 1, 1], "stem_channels": 16}, (64, 64), [1, 2]),
    ]
    for label, cfg, shape, out_shape in cases:
        net = build_network(cfg, rng=0).eval()
        x = np.random.default_rng(0).random((1, 1, *shape), dtype=np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            p = pathlib.Path(tmp) / "m.onnx"
            torch.onnx.export(net, (torch.from_numpy(x),), str(p), input_names=["x"], output_names=["y"],
                              opset_version=17, dynamo=False)
            run, _ = onnx_runner("model.onnx", {"model.onnx": p.read_bytes()}, input_shape=[1, 1, *shape],
                                 output_shape=out_shape)
        xt = torch.from_numpy(x)

        def torch_run() -> None:
            with torch.inference_mode():
                net(xt)

        run(x)
        torch_run()
        t_ort, t_torch = best_of(lambda: run(x), repeats), best_of(torch_run, repeats)
        with torch.inference_mode():
            diff = float(np.max(np.abs(run(x) - net(xt).numpy())))
        print(f"{label}: onnxruntime {t_ort:.4f} s, torch {t_torch:.4f} s, ratio {t_ort / t_torch:.2f}, "
              f"max |difference| {diff:.2e}")


if __name__ == "__main__":
    main()
