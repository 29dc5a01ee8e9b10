"""Training of the chest-radiograph triage classifier (the second reference device) and its ONNX export.

Deterministic end to end: cases come from `sample_radiograph` / `render_radiograph` (seeded),
preprocessing is the bundle's own `samd_core.preprocess.Pipeline`, the network a
`samd_core.models.ResNetConfig` built with a seeded generator, batches drawn from a seeded
generator, and training runs under `samd_core.training.deterministic` with one thread. Rerunning
gives bit-identical weights on the same platform.

The locked operating point (``threshold``) is chosen on a separate tuning cohort, before any test
cohort exists: the lowest score threshold whose tuning specificity is at least
`TARGET_SPECIFICITY`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference_devices.radiograph._render import RadiographSpec, render_radiograph, sample_radiograph

__all__ = [
    "INPUT_SHAPE",
    "NETWORK",
    "PREPROCESSING",
    "TARGET_SPECIFICITY",
    "CxrTrainingResult",
    "presentation_image",
    "preprocess_batch",
    "train_cxr_classifier",
]

#: Model input size (rows, columns).
INPUT_SHAPE = (64, 64)
#: The bundle's preprocessing, as a `samd_core.preprocess.Pipeline` spec.
PREPROCESSING: dict[str, Any] = {
    "version": 1,
    "steps": [
        {"op": "intensity_window", "lower": 0, "upper": 4095},
        {"op": "resize", "shape": list(INPUT_SHAPE), "aspect": "pad", "interpolation": "linear"},
    ],
}
#: The classifier: a small 2-D ResNet (two logits: normal, finding).
NETWORK: dict[str, Any] = {
    "architecture": "resnet", "spatial_dims": 2, "in_channels": 1, "num_classes": 2,
    "channels": [16, 32, 64], "blocks": [1, 1, 1], "stem_channels": 16, "stem_kernel": 5,
    "stem_stride": 1, "stem_pool": False, "norm": "batch", "act": "relu", "dropout": 0.0,
}
#: Tuning specificity that sets the locked threshold.
TARGET_SPECIFICITY = 0.85


def presentation_image(spec: RadiographSpec) -> tuple[np.ndarray, float]:
    """The rendered image in presentation form (MONOCHROME1 undone), as a reader gives it."""
    from reference_devices.radiograph._render import DETECTORS

    stored, spacing = render_radiograph(spec)
    if DETECTORS[spec.detector].monochrome1:
        stored = 4095 - stored
    return stored.astype(np.float32), spacing


def preprocess_batch(specs: Sequence[RadiographSpec]) -> np.ndarray:
    """Model inputs ``(N, 1, 64, 64)`` float32 through the bundle's own preprocessing pipeline."""
    from samd_core import Volume
    from samd_core.preprocess import Pipeline

    pipe = Pipeline.from_spec(PREPROCESSING)
    out = np.empty((len(specs), 1, *INPUT_SHAPE), np.float32)
    for i, s in enumerate(specs):
        img, spacing = presentation_image(s)
        out[i, 0] = pipe(Volume(img, spacing=(spacing, spacing))).array
    return out


@dataclass(frozen=True)
class CxrTrainingResult:
    """What training produced: the network, its ONNX export and the locked threshold."""

    network: Any
    onnx_bytes: bytes
    threshold: float
    tuning_auc: float
    tuning_sensitivity: float
    tuning_specificity: float
    weights_sha256: str
    history: tuple[float, ...]


def _scores(net: Any, x: np.ndarray) -> np.ndarray:
    import torch

    net.eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(x))
        return torch.softmax(logits, dim=1)[:, 1].double().numpy()


def train_cxr_classifier(*, seed: int = 2027, n_train: int = 1600, n_tune: int = 400, epochs: int = 12,
                         batch_size: int = 32, lr: float = 2e-3) -> CxrTrainingResult:
    """Train the reference classifier on synthetic radiographs; export it to ONNX.

    Training cases are ``sample_radiograph(seed, i)`` for ``i < n_train`` (prevalence 0.5); tuning
    cases use ``seed + 1``. Returns the trained network (eval mode), its ONNX bytes (opset 17,
    input ``image`` of shape ``(N, 1, 64, 64)``, output ``logits``), and the threshold.
    """
    import torch

    from samd_core.models import build_network
    from samd_core.training import deterministic, state_dict_sha256
    from validation.stats import roc_auc

    train = [sample_radiograph(seed, i, prevalence=0.5) for i in range(n_train)]
    tune = [sample_radiograph(seed + 1, i, prevalence=0.5) for i in range(n_tune)]
    xt, yt = preprocess_batch(train), np.array([s.positive for s in train], np.int64)
    xv, yv = preprocess_batch(tune), np.array([s.positive for s in tune], np.int64)
    gen = torch.Generator().manual_seed(seed)
    history: list[float] = []
    with deterministic(1):
        net = build_network(NETWORK, rng=seed)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        xt_t, yt_t = torch.from_numpy(xt), torch.from_numpy(yt)
        for _ in range(epochs):
            net.train()
            order = torch.randperm(n_train, generator=gen)
            total = 0.0
            for b in range(0, n_train, batch_size):
                idx = order[b:b + batch_size]
                xb = xt_t[idx]
                flip = torch.rand(len(idx), generator=gen) < 0.5  # left-right flip: findings occur on both sides
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
                loss = torch.nn.functional.cross_entropy(net(xb), yt_t[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            sched.step()
            history.append(total / n_train)
        net.eval()
        sv = _scores(net, xv)
    neg = np.sort(sv[yv == 0])
    k = int(np.ceil(TARGET_SPECIFICITY * len(neg))) - 1
    threshold = float(np.nextafter(neg[k], np.inf))
    sens = float(np.mean(sv[yv == 1] >= threshold))
    spec_ = float(np.mean(sv[yv == 0] < threshold))
    auc = float(roc_auc(yv, sv).value)
    buf = io.BytesIO()
    torch.onnx.export(net, (torch.from_numpy(xv[:1]),), buf, dynamo=False, opset_version=17,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    return CxrTrainingResult(net, buf.getvalue(), threshold, auc, sens, spec_, state_dict_sha256(net),
                             tuple(history))

