"""Benchmark (issue 16): ``LockedTaskModel.predict`` of a 2-D 1024 x 1024 radiograph classifier
(ONNX) vs a bare onnxruntime session running the same model on the preprocessed array.

The bench takes the network of the chest-radiograph reference device (samd 2-D ResNet, stages
16/32/64, untrained weights from a fixed seed: speed does not depend on them), exports it to ONNX with a fixed 1 x 1 x 1024 x 1024 input and locks it with
`samd_core.bundle.create_bundle` (DX, ``intensity_window [0, 4095]``, no resize). In the same
process, min of ``--repeats``:
* ``model.predict(volume)`` on a 1024 x 1024 DX image volume (all checks, preprocessing,
  inference, softmax, the `Prediction`);
* ``ort.InferenceSession.run`` on the array the locked preprocessing makes from that volume
  (computed once, outside the timing), with the session options a bundle locks (CPU provider,
  one intra-op and one inter-op thread, sequential).
* the same session with the settings the bundle locks (``model.runtime``: graph optimisation
  level, deterministic compute), which separates samd's own overhead from the cost of the
  locked runtime settings.
Goal: predict <= 1.1x the bare session. The two probabilities must agree to float32 rounding.

Run: ``PYTHONPATH=. python bench/bench_predict_2d.py [--size 1024] [--repeats 10] [--smoke]``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


#: The reference device's network configuration (``reference_devices/radiograph/_train.py``).
NETWORK = {
    "architecture": "resnet", "spatial_dims": 2, "in_channels": 1, "num_classes": 2,
    "channels": [16, 32, 64], "blocks": [1, 1, 1], "stem_channels": 16, "stem_kernel": 5,
    "stem_stride": 1, "stem_pool": False, "norm": "batch", "act": "relu", "dropout": 0.0,
}


def onnx_classifier(size: int) -> bytes:
    """The chest-radiograph triage device's network (samd 2-D ResNet, stages 16/32/64, as in
    `reference_devices.radiograph`) with a fixed ``1 x 1 x size x size`` input, exported to ONNX."""
    import io

    import torch

    from samd_core.models import build_network

    net = build_network(dict(NETWORK), rng=0).eval()
    buf = io.BytesIO()
    torch.onnx.export(net, (torch.zeros(1, 1, size, size),), buf, input_names=["image"], output_names=["logits"],
                      opset_version=17, dynamo=False)
    return buf.getvalue()


def build(root: pathlib.Path, size: int) -> tuple[pathlib.Path, pathlib.Path]:
    import SimpleITK as sitk
    import yaml

    from samd_core.bundle import create_bundle

    (root / "model.onnx").write_bytes(onnx_classifier(size))
    (root / "card.md").write_text("# bench classifier\n\nSynthetic; benchmarks only.\n", encoding="utf-8")
    (root / "ref").mkdir()
    yy, xx = np.mgrid[0:size, 0:size]
    arr = ((np.sin(yy / 37.0) + np.cos(xx / 53.0) + 2) * 1000).astype(np.int16)  # smooth 12-bit values
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.2, 0.2))
    sitk.WriteImage(img, str(root / "ref" / "img0.mha"))
    spec = {
        "name": "bench-cxr-1024", "version": "1.0.0", "intended_use": "Benchmarks only.",
        "model": {"format": "onnx", "path": "model.onnx"},
        "task": {"kind": "classification", "classes": ["normal", "finding"], "positive_class": "finding",
                 "activation": "softmax", "threshold": 0.5},
        "input": {"dims": 2, "channels": 1, "modality": ["DX", "CR"], "shape": [size, size]},
        "preprocessing": [{"intensity_window": [0.0, 4095.0]}],
        "reference_inputs": ["ref/img0.mha"],
        "model_card": "card.md",
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return create_bundle(root / "spec.yaml", root / "bundle"), root / "ref" / "img0.mha"


def run(size: int, repeats: int) -> dict:
    import onnxruntime as ort

    from samd_core.bundle import load_locked
    from samd_core.io import read_image

    with tempfile.TemporaryDirectory() as d:
        bundle, image = build(pathlib.Path(d), size)
        model = load_locked(bundle)
        vol = read_image(image)
        vol = type(vol)(array=vol.array, spacing=vol.spacing, origin=vol.origin, direction=vol.direction,
                        meta={**dict(vol.meta), "modality": "DX"})
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        sess = ort.InferenceSession((bundle / "model.onnx").read_bytes(), sess_options=so,
                                    providers=["CPUExecutionProvider"])
        # the same session with the settings the bundle locks (recorded in `model.runtime`)
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, model.runtime["graph_optimization_level"])
        if model.runtime["deterministic_compute"]:
            so.use_deterministic_compute = True
        locked = ort.InferenceSession((bundle / "model.onnx").read_bytes(), sess_options=so,
                                      providers=["CPUExecutionProvider"])
        x = np.ascontiguousarray(model._pipeline(vol).array.astype(np.float32)[None, None])
        feed = {sess.get_inputs()[0].name: x}
        pred = model.predict(vol)
        logits = sess.run(None, feed)[0].astype(np.float64)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        bare_p = float(np.float32((e / e.sum(axis=1, keepdims=True))[0, 1]))
        assert abs(pred.score - bare_p) <= 1e-6, (pred.score, bare_p)
        t_pred, t_bare, t_locked = float("inf"), float("inf"), float("inf")
        for _ in range(repeats):  # interleaved, so that load changes hit all three alike
            t_pred = min(t_pred, best(lambda: model.predict(vol), 1))
            t_bare = min(t_bare, best(lambda: sess.run(None, feed), 1))
            t_locked = min(t_locked, best(lambda: locked.run(None, feed), 1))
    return {"size": size, "repeats": repeats, "predict_s": t_pred, "bare_s": t_bare, "locked_s": t_locked,
            "level": model.runtime["graph_optimization_level"],
            "score": pred.score, "bare_score": bare_p}


def table(r: dict) -> str:
    ratio = r["predict_s"] / r["bare_s"]
    return "\n".join([
        f"`LockedTaskModel.predict`, 2-D {r['size']} x {r['size']} ONNX classifier, min of {r['repeats']}, "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}):",
        "",
        "| what | time (ms) | ratio |",
        "|---|---|---|",
        f"| `model.predict(volume)` | {r['predict_s'] * 1e3:.1f} | {ratio:.2f}x |",
        f"| bare `ort.InferenceSession.run` on the preprocessed array (default graph optimisation) "
        f"| {r['bare_s'] * 1e3:.1f} | 1.00x |",
        f"| the same session with the bundle's locked settings ({r['level']}, deterministic compute) "
        f"| {r['locked_s'] * 1e3:.1f} | {r['locked_s'] / r['bare_s']:.2f}x |",
        "",
        f"samd's own overhead (checks, preprocessing, activation, `Prediction`): predict / locked-settings "
        f"session = {r['predict_s'] / r['locked_s']:.2f}x.",
        "",
        f"Scores: predict {r['score']:.7f}, bare session {r['bare_score']:.7f}. "
        f"Goal <= 1.1x: **{'met' if ratio <= 1.1 else 'not met'}** ({ratio:.2f}x).",
    ]) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", type=pathlib.Path, default=None, help="write the markdown table here")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, nothing written unless --out")
    a = ap.parse_args()
    if a.smoke:
        a.size, a.repeats = 128, 1
    text = table(run(a.size, a.repeats))
    print(text)
    if a.out:
        a.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
