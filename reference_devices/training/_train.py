"""Train the reference nodule segmenter on phantom data and lock it into a bundle.

Deterministic: data come from fixed seeds, the network is initialised by
`samd_core.models.build_network` from seed 0, patches and batches are drawn from one
``torch.Generator``, and training runs single-threaded with deterministic algorithms, so the
same platform gives the same weights SHA-256.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from samd_core import Volume
from samd_core.bundle import ResampleClipScale, build_bundle_network, canonical_json, load_locked, write_bundle
from samd_core.hashing import sha256_bytes, sha256_file
from samd_core.training import deterministic
from reference_devices.phantom import PhantomCase, generate_cases
from reference_devices.training._card import model_card
from reference_devices.training._recipe import RECIPE

__all__ = ["choose_threshold", "prepare_case", "summary", "train_reference", "training_manifest_sha256", "weights_sha256"]

Progress = Callable[[str], None]


def prepare_case(case: PhantomCase, pre: ResampleClipScale) -> tuple[np.ndarray, np.ndarray]:
    """Network input and mask on the preprocessing grid (mask: nearest-neighbour resampling)."""
    import SimpleITK as sitk

    x, grid = pre.forward(case.ct)
    m = sitk.Resample(case.mask.to_sitk(), grid.to_sitk(), sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    return x, sitk.GetArrayFromImage(m).astype(np.float32)


def training_manifest_sha256(cases: list[PhantomCase]) -> str:
    """SHA-256 of the canonical JSON list of (case spec, CT and mask content hashes)."""
    items = [
        {"spec": c.spec.to_dict(), "ct_sha256": c.ct.content_sha256(), "mask_sha256": c.mask.content_sha256()}
        for c in cases
    ]
    return sha256_bytes(canonical_json(items))  # bundle manifest form: with the trailing newline


def _sample_patch(
    x: np.ndarray,
    y: np.ndarray,
    size: tuple[int, int, int],
    fg: bool,
    gen: torch.Generator,
    centres: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    pad = [(0, max(0, s - n)) for s, n in zip(size, x.shape, strict=True)]
    if any(p[1] for p in pad):
        x = np.pad(x, pad, constant_values=float(x.min()))
        y = np.pad(y, pad)
    starts = []
    if centres is None:
        centres = np.argwhere(y > 0) if fg else np.empty((0, 3))
    if len(centres):
        c = centres[int(torch.randint(len(centres), (1,), generator=gen))]
        for ax in range(3):
            lo = int(c[ax]) - size[ax] // 2 + int(torch.randint(-size[ax] // 4, size[ax] // 4 + 1, (1,), generator=gen))
            starts.append(int(np.clip(lo, 0, x.shape[ax] - size[ax])))
    else:
        for ax in range(3):
            starts.append(int(torch.randint(0, x.shape[ax] - size[ax] + 1, (1,), generator=gen)))
    sl = tuple(slice(s, s + n) for s, n in zip(starts, size, strict=True))
    return x[sl], y[sl]


def _hard_negative_centres(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of hard negatives: soft-tissue voxels (>= -300 HU) inside the lungs, outside nodules.

    These are the pulmonary vessels, where an under-trained network puts its false positives. ``x`` is on the preprocessing scale of `RECIPE`.
    """
    from scipy import ndimage

    p = RECIPE["preprocessing"]
    soft = x >= (-300.0 - p["offset_hu"]) / p["scale_hu"]
    air = x <= (-600.0 - p["offset_hu"]) / p["scale_hu"]
    inside = np.zeros_like(air)
    for k, sl in enumerate(air):
        # lung = low-density regions not touching the slice border (that is the air around the body);
        # vessels cross each axial slice as holes in the lung: fill them
        comps, _ = ndimage.label(sl)
        border = np.unique(np.concatenate([comps[0], comps[-1], comps[:, 0], comps[:, -1]]))
        lung = sl & ~np.isin(comps, border)
        inside[k] = ndimage.binary_fill_holes(ndimage.binary_closing(lung, iterations=2))
    near_nodule = ndimage.binary_dilation(y > 0, iterations=4)
    return np.argwhere(soft & inside & ~near_nodule)


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Soft Dice (batch Dice, smoothing 1) + binary cross-entropy (Milletari et al. 2016)."""
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    dice = 1.0 - (2.0 * inter + 1.0) / (p.sum() + target.sum() + 1.0)
    return dice + torch.nn.functional.binary_cross_entropy_with_logits(logits, target)


def _train(data: list[tuple[np.ndarray, np.ndarray]], progress: Progress | None) -> dict[str, torch.Tensor]:
    t = RECIPE["training"]
    net = build_bundle_network(RECIPE["network"])
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=t["learning_rate"], weight_decay=t["weight_decay"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t["steps"])
    gen = torch.Generator().manual_seed(int(t["torch_seed"]))
    size = tuple(t["patch_size"])
    positives = [i for i, (_, y) in enumerate(data) if y.any()]
    hard_fraction = float(t.get("hard_negative_fraction", 0.0))
    hard = [_hard_negative_centres(x, y) for x, y in data] if hard_fraction > 0 else []
    hard_pool = [i for i, c in enumerate(hard) if len(c)]
    for step in range(t["steps"]):
        xs, ys = [], []
        for _ in range(t["batch_size"]):
            u = float(torch.rand((1,), generator=gen))
            fg = u < t["foreground_fraction"] and bool(positives)
            hn = not fg and u < t["foreground_fraction"] + hard_fraction and bool(hard_pool)
            pool = positives if fg else hard_pool if hn else list(range(len(data)))
            i = pool[int(torch.randint(len(pool), (1,), generator=gen))]
            px, py = _sample_patch(*data[i], size, fg, gen, hard[i] if hn else None)
            xs.append(px)
            ys.append(py)
        xb = torch.from_numpy(np.stack(xs)[:, None].copy())
        yb = torch.from_numpy(np.stack(ys)[:, None].copy())
        opt.zero_grad(set_to_none=True)
        loss = _loss(net(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and (step % 20 == 0 or step == t["steps"] - 1):
            progress(f"step {step + 1}/{t['steps']} loss {float(loss.detach()):.4f}")
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def choose_threshold(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Case threshold maximising Youden's J = sens + spec - 1 over the observed scores.

    Candidates are the distinct scores (a case is positive when ``score >= threshold``); ties
    in J go to the highest threshold (fewest false positives).

    References
    ----------
    W. J. Youden, "Index for rating diagnostic tests", Cancer 3(1), 1950.
    """
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(y_score, dtype=float)
    best_j, best_t = -np.inf, 1.0
    for thr in np.unique(s):
        pred = s >= thr
        j = pred[y].mean() + (~pred[~y]).mean() - 1.0
        if j >= best_j:
            best_j, best_t = j, float(thr)
    return best_t


def _evaluate(model: Any, cases: list[PhantomCase]) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    y, s, pos, dice = [], [], [], []
    for c in cases:
        pred = model.predict(c.ct)
        y.append(c.spec.has_nodule)
        s.append(pred.score)
        pos.append(pred.positive)
        if c.spec.has_nodule:
            a, b = pred.label.array > 0, c.mask.array > 0
            dice.append(2.0 * (a & b).sum() / max(1, a.sum() + b.sum()))
    ya, sa, pa = np.array(y), np.array(s), np.array(pos)
    return {
        "n_cases": len(cases),
        "n_positive": int(ya.sum()),
        "auc": float(roc_auc_score(ya, sa)) if 0 < ya.sum() < len(ya) else float("nan"),
        "sensitivity": float(pa[ya].mean()) if ya.any() else float("nan"),
        "specificity": float((~pa[~ya]).mean()) if (~ya).any() else float("nan"),
        "mean_dice_positive_cases": float(np.mean(dice)) if dice else float("nan"),
        "scores": s,
        "truth": [bool(v) for v in y],
    }


def train_reference(out: str | pathlib.Path, *, progress: Progress | None = None) -> pathlib.Path:
    """Train the reference nodule model from `RECIPE` and write its locked bundle at ``out``.

    Returns the bundle directory. ``out`` must not exist or be empty.
    """
    rc = RECIPE["cohorts"]
    pre = ResampleClipScale.from_spec(RECIPE["preprocessing"])

    def cohort(key: str) -> list[PhantomCase]:
        c = rc[key]
        return list(generate_cases(c["n_cases"], seed=c["seed"], prevalence=c["prevalence"]))

    if progress:
        progress("generating phantom cohorts")
    train_cases = cohort("train")
    dev_cases = cohort("development")
    test_cases = cohort("lock_test")
    with deterministic(int(RECIPE["training"]["threads"])):
        data = [prepare_case(c, pre) for c in train_cases]
        weights = _train(data, progress)
        inference = dict(RECIPE["inference"], case_threshold=0.5)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="samd-ref-"))
        try:
            common = dict(
                name=RECIPE["name"],
                version=RECIPE["version"],
                network_config=RECIPE["network"],
                state_dict=weights,
                preprocessing=RECIPE["preprocessing"],
                intended_use=_INTENDED_USE,
                training_data_manifest_sha256=training_manifest_sha256(train_cases),
            )
            write_bundle(tmp / "b", inference=inference, model_card="provisional\n", **common)
            provisional = load_locked(tmp / "b")
            if progress:
                progress("choosing the case threshold on the development cohort")
            dev = _evaluate(provisional, dev_cases)
            threshold = choose_threshold(np.array(dev["truth"]), np.array(dev["scores"]))
            truth, called = np.array(dev["truth"]), np.array(dev["scores"]) >= threshold
            dev["sensitivity"] = float(called[truth].mean())
            dev["specificity"] = float((~called[~truth]).mean())
            inference = dict(RECIPE["inference"], case_threshold=threshold)
            write_bundle(tmp / "c", inference=inference, model_card="provisional\n", **common)
            locked = load_locked(tmp / "c")
            if progress:
                progress("measuring performance at lock on the lock-test cohort")
            test = _evaluate(locked, test_cases)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        refs = _reference_inputs(dev_cases)
        card = model_card(RECIPE, dev=dev, test=test, threshold=threshold)
        path = write_bundle(out, inference=inference, model_card=card, reference_inputs=refs, **common)
    return path


def _reference_inputs(cases: list[PhantomCase]) -> dict[str, Volume]:
    small = [c for c in cases if c.ct.shape[0] <= RECIPE["reference_cases"]["max_slices"]]
    pos = next(c for c in small if c.spec.has_nodule)
    neg = next(c for c in small if not c.spec.has_nodule)
    return {c.spec.case_id: c.ct for c in (pos, neg)}


_INTENDED_USE = (
    "Demonstration and testing of the samd validation workflow only: segments simulated lung "
    "nodules and scores simulated chest-CT phantoms. Not for clinical use; never use on patient data."
)


def weights_sha256(bundle: str | pathlib.Path) -> str:
    """SHA-256 of a bundle's ``weights.safetensors``."""
    return sha256_file(pathlib.Path(bundle) / "weights.safetensors")


def summary(bundle: str | pathlib.Path) -> dict[str, Any]:
    """Identity of a bundle: name, version, weights and manifest SHA-256."""
    meta = json.loads((pathlib.Path(bundle) / "bundle.json").read_text())
    return {
        "name": meta["name"],
        "version": meta["version"],
        "weights_sha256": weights_sha256(bundle),
        "manifest_sha256": sha256_file(pathlib.Path(bundle) / "manifest.json"),
    }
