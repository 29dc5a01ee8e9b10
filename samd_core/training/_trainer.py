"""`Trainer`: patch-based training with validation Dice, checkpoints, early stopping and resume."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from samd_core.errors import InvalidParameterError
from samd_core.inference import slicewise_inference, sliding_window_inference
from samd_core.losses import build_loss
from samd_core.models import NetworkConfig, UNetConfig, build_network, config_from_dict
from samd_core.preprocess import PatchSampler
from samd_core.training._callbacks import TrainingCallback
from samd_core.training._checkpoint import load_checkpoint, save_checkpoint
from samd_core.training._config import TrainingConfig
from samd_core.training._determinism import deterministic, state_dict_sha256
from samd_core.training._result import TrainingResult

__all__ = ["Case", "Trainer", "learning_rate_at"]

#: One training/validation case: image ``(C, Z, Y, X)`` or ``(Z, Y, X)`` float, label ``(Z, Y, X)`` int.
Case = tuple[np.ndarray, np.ndarray]


def learning_rate_at(config: TrainingConfig, epoch: int) -> float:
    """Learning rate of ``epoch`` (0-based) under the config's scheduler (pure function)."""
    frac = epoch / config.max_epochs
    if config.scheduler == "poly":
        return config.learning_rate * (1.0 - frac) ** 0.9
    if config.scheduler == "cosine":
        return config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * frac))
    return config.learning_rate


def _dice_hard(pred: np.ndarray, label: np.ndarray, n_classes: int) -> float:
    """Mean Dice over foreground classes; a class absent from both scores 1."""
    out = []
    for k in range(1, n_classes):
        p, g = pred == k, label == k
        denom = int(p.sum()) + int(g.sum())
        out.append(1.0 if denom == 0 else 2.0 * int((p & g).sum()) / denom)
    return float(np.mean(out)) if out else 1.0


class Trainer:
    """Train a segmentation network from configs; reproducible bit for bit.

    Parameters
    ----------
    network_config : UNetConfig or AttentionUNetConfig (or its dict)
    training_config : TrainingConfig (or its dict)
    callbacks : sequence of TrainingCallback
        Receive ``on_train_begin``, ``on_epoch_end`` and ``on_train_end`` (see
        `TrainingCallback`); exceptions they raise propagate.

    Notes
    -----
    Every random draw comes from one ``numpy.random.Generator`` seeded with ``config.seed``
    (case choice, patch position, augmentation, in that order per patch) and the initial
    weights from a ``torch.Generator`` with the same seed; nothing reads the global RNGs.
    Training runs inside `deterministic` (``num_threads`` threads, deterministic algorithms).
    Two runs with the same data, configs, seed, platform, torch build and thread count give
    weights with the same `state_dict_sha256`; see docs/models.md for what breaks this.
    """

    def __init__(
        self,
        network_config: NetworkConfig | Mapping[str, Any],
        training_config: TrainingConfig | Mapping[str, Any],
        *,
        callbacks: Sequence[TrainingCallback] = (),
    ) -> None:
        fn = "Trainer"
        net_cfg = config_from_dict(network_config) if isinstance(network_config, Mapping) else network_config
        if not isinstance(net_cfg, UNetConfig):
            raise InvalidParameterError("network_config", fn, "a (Attention)UNetConfig or its dict", network_config)
        cfg = TrainingConfig.from_dict(training_config) if isinstance(training_config, Mapping) else training_config
        if not isinstance(cfg, TrainingConfig):
            raise InvalidParameterError("training_config", fn, "a TrainingConfig or its dict", training_config)
        if len(cfg.patch_size) != net_cfg.spatial_dims:
            raise InvalidParameterError(
                "patch_size", fn, f"{net_cfg.spatial_dims} values for a {net_cfg.spatial_dims}-D network", cfg.patch_size
            )
        if any(p % q for p, q in zip(cfg.patch_size, net_cfg.divisor)):
            raise InvalidParameterError("patch_size", fn, f"multiples of the network divisor {net_cfg.divisor}", cfg.patch_size)
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, TrainingCallback):
                raise InvalidParameterError(f"callbacks[{i}]", fn, "an object with on_train_begin/on_epoch_end/on_train_end", cb)
        self.network_config = net_cfg
        self.config = cfg
        self.callbacks = tuple(callbacks)
        mode = "3d" if net_cfg.spatial_dims == 3 else "2d"
        self._sampler = PatchSampler(cfg.patch_size, foreground_oversample=cfg.foreground_oversample, mode=mode)
        self._augment = None
        if cfg.augmentation is not None:
            from samd_core.augment import Compose

            self._augment = Compose.from_config(list(cfg.augmentation))

    # ------------------------------------------------------------------ data
    def _cases(self, cases: Sequence[Case], field: str) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        c_in = self.network_config.in_channels
        for i, case in enumerate(cases):
            if not isinstance(case, (tuple, list)) or len(case) != 2:
                raise InvalidParameterError(f"{field}[{i}]", "Trainer.fit", "an (image, label) pair", type(case).__name__)
            img = np.asarray(case[0], dtype=np.float32)
            lbl = np.asarray(case[1])
            if img.ndim == 3:
                img = img[None]
            if img.ndim != 4 or img.shape[0] != c_in or img.shape[1:] != lbl.shape:
                raise InvalidParameterError(
                    f"{field}[{i}]", "Trainer.fit", f"image ({c_in}, Z, Y, X) with a label (Z, Y, X) of the same grid",
                    (img.shape, lbl.shape),
                )
            if not np.issubdtype(lbl.dtype, np.integer) or lbl.min() < 0 or lbl.max() >= self.network_config.out_channels:
                raise InvalidParameterError(
                    f"{field}[{i}]", "Trainer.fit", f"integer labels in [0, {self.network_config.out_channels - 1}]",
                    (str(lbl.dtype), int(lbl.min()), int(lbl.max())),
                )
            out.append((np.ascontiguousarray(img), np.ascontiguousarray(lbl.astype(np.int64))))
        return out

    def _batch(self, cases: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        imgs, lbls = [], []
        for _ in range(self.config.batch_size):
            img, lbl = cases[int(rng.integers(len(cases)))]
            pi, pl, _ = self._sampler.sample(img, lbl, rng)
            if self._augment is not None:
                pi, pl, _ = self._augment(pi, pl, rng)
            imgs.append(np.ascontiguousarray(pi, dtype=np.float32))
            lbls.append(np.ascontiguousarray(pl, dtype=np.int64))
        return torch.from_numpy(np.stack(imgs)), torch.from_numpy(np.stack(lbls))

    def _validate(self, net: nn.Module, cases: list[tuple[np.ndarray, np.ndarray]]) -> float:
        net.eval()
        k = self.network_config.out_channels
        scores = []
        with torch.no_grad():
            for img, lbl in cases:
                x = torch.from_numpy(img)[None]
                if self.network_config.spatial_dims == 3:
                    prob = sliding_window_inference(
                        x, net, roi_size=self.config.patch_size, overlap=self.config.validation_overlap, mode="gaussian"
                    )
                else:
                    prob = slicewise_inference(x, net, roi_size=self.config.patch_size, overlap=self.config.validation_overlap)
                scores.append(_dice_hard(prob[0].argmax(0).numpy(), lbl, k))
        net.train()
        return float(np.mean(scores))

    def _optimizer(self, net: nn.Module) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "sgd":
            return torch.optim.SGD(
                net.parameters(), lr=c.learning_rate, momentum=c.momentum, nesterov=c.nesterov and c.momentum > 0,
                weight_decay=c.weight_decay,
            )
        cls = torch.optim.Adam if c.optimizer == "adam" else torch.optim.AdamW
        return cls(net.parameters(), lr=c.learning_rate, betas=(c.momentum, 0.999), weight_decay=c.weight_decay, foreach=False)

    # ------------------------------------------------------------------ training
    def fit(
        self,
        train: Sequence[Case],
        validation: Sequence[Case] = (),
        *,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
    ) -> TrainingResult:
        """Train; return the trained network, per-epoch history and the weights' SHA-256.

        Parameters
        ----------
        train, validation : sequence of (image, label)
            Images ``(C, Z, Y, X)`` (or ``(Z, Y, X)`` for one channel) already preprocessed
            (resampled, normalised); labels ``(Z, Y, X)`` integers in ``[0, out_channels)``.
            Validation cases are segmented whole by sliding window (ROI = ``patch_size``).
        checkpoint_dir : path, optional
            After every epoch ``last/`` is written (weights + optimizer safetensors, JSON
            state incl. the generator state), and ``best/`` when validation Dice improves.
        resume : bool
            Continue from ``checkpoint_dir/last`` when it exists. A resumed run ends with the
            same weights as an uninterrupted one.
        """
        fn = "Trainer.fit"
        if len(train) == 0:
            raise InvalidParameterError("train", fn, "at least one case", len(train))
        if resume and checkpoint_dir is None:
            raise InvalidParameterError("checkpoint_dir", fn, "a directory when resume=True", None)
        tr = self._cases(train, "train")
        va = self._cases(validation, "validation")
        ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
        c = self.config
        run_info = {
            "network_config": self.network_config.to_dict(),
            "network_config_sha256": self.network_config.sha256(),
            "training_config": c.to_dict(),
            "training_config_sha256": c.sha256(),
            "torch_version": torch.__version__,
        }
        for cb in self.callbacks:
            cb.on_train_begin(run_info)
        with deterministic(c.num_threads):
            net = build_network(self.network_config, rng=c.seed)
            net.train()
            opt = self._optimizer(net)
            loss_fn = build_loss(c.loss)
            rng = np.random.default_rng(c.seed)
            history: list[dict[str, float]] = []
            best: float | None = None
            best_epoch: int | None = None
            stale = 0
            start = 0
            if resume and ckpt is not None and (ckpt / "last").is_dir():
                st = load_checkpoint(ckpt / "last", net, opt)
                rng.bit_generator.state = st["rng_state"]
                start = int(st["epoch"]) + 1
                history = [dict(h) for h in st["history"]]
                best, best_epoch, stale = st["best_val_dice"], st["best_epoch"], int(st["stale"])
            stopped = False
            for epoch in range(start, c.max_epochs):
                lr = learning_rate_at(c, epoch)
                for g in opt.param_groups:
                    g["lr"] = lr
                total = 0.0
                for _ in range(c.iterations_per_epoch):
                    x, y = self._batch(tr, rng)
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(net(x), y)
                    loss.backward()
                    if c.grad_clip is not None:
                        nn.utils.clip_grad_norm_(net.parameters(), c.grad_clip, foreach=False)
                    opt.step()
                    total += float(loss.detach())
                rec: dict[str, float] = {"epoch": epoch, "train_loss": total / c.iterations_per_epoch, "learning_rate": lr}
                improved = False
                if va and (epoch + 1) % c.validate_every == 0:
                    d = self._validate(net, va)
                    rec["val_dice"] = d
                    if best is None or d > best + c.min_delta:
                        best, best_epoch, stale, improved = d, epoch, 0, True
                    else:
                        stale += 1
                    if c.early_stopping_patience is not None and stale >= c.early_stopping_patience:
                        stopped = True
                history.append(rec)
                if ckpt is not None:
                    state = {
                        "epoch": epoch, "rng_state": rng.bit_generator.state, "history": history,
                        "best_val_dice": best, "best_epoch": best_epoch, "stale": stale, **run_info,
                    }
                    save_checkpoint(ckpt / "last", net, opt, state)
                    if improved:
                        save_checkpoint(ckpt / "best", net, None, {"epoch": epoch, "val_dice": best, **run_info})
                for cb in self.callbacks:
                    cb.on_epoch_end(epoch, {k: float(v) for k, v in rec.items() if k != "epoch"})
                if stopped:
                    break
            net.eval()
            sha = state_dict_sha256(net)
        result = TrainingResult(net, tuple(history), best_epoch, best, stopped, sha)
        for cb in self.callbacks:
            cb.on_train_end(result.summary())
        return result
