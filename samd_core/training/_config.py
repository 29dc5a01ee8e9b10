"""`TrainingConfig`: every training choice as frozen, validated plain data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from samd_core.errors import InvalidParameterError
from samd_core.hashing import sha256_json
from samd_core.losses import LossConfig
from samd_core.models._validate import check_bool, check_float, check_int, check_option, int_tuple, reject_unknown

__all__ = ["TrainingConfig"]

_OPTIMIZERS = ("adam", "adamw", "sgd")
_SCHEDULERS = ("constant", "cosine", "poly")


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """Settings of `Trainer` (see docs/models.md, "Training").

    Parameters
    ----------
    patch_size : tuple of int
        Training patch in voxels, array order; 3 values for a 3-D network, 2 for a 2-D one
        (axial slices). Must be divisible by the network's ``divisor``.
    batch_size : int
        Patches per optimisation step.
    max_epochs, iterations_per_epoch : int
        An epoch is a fixed number of steps (nnU-Net style), not a pass over the data.
    optimizer : {"sgd", "adam", "adamw"}
    learning_rate, momentum, weight_decay : float
        ``momentum`` is SGD's (Nesterov when ``nesterov``) or Adam's beta1.
    scheduler : {"poly", "cosine", "constant"}
        Learning rate per epoch ``e`` of ``E``: poly ``lr (1 - e/E)^0.9`` (nnU-Net), cosine
        ``lr (1 + cos(pi e/E)) / 2``, or constant.
    loss : LossConfig
    foreground_oversample : float
        Fraction of patches centred on foreground (see `samd_core.preprocess.PatchSampler`).
    augmentation : list of dict, optional
        A `samd_core.augment.Compose` config (plain data) applied to every patch.
    grad_clip : float or None
        Maximal gradient L2 norm (nnU-Net: 12); None disables clipping.
    validate_every : int
        Validate every this many epochs (sliding window over whole validation cases).
    validation_overlap : float
        Window overlap of the validation sliding window (ROI = ``patch_size``, Gaussian).
    early_stopping_patience : int or None
        Stop after this many validations without a validation-Dice gain above ``min_delta``.
    seed : int
        Seed of every random stream (weights init, case choice, patches, augmentation).
    num_threads : int
        Torch intra-op threads during training; part of the reproducibility contract.
    """

    patch_size: tuple[int, ...]
    batch_size: int = 2
    max_epochs: int = 10
    iterations_per_epoch: int = 50
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    learning_rate: float = 1e-2
    momentum: float = 0.99
    nesterov: bool = True
    weight_decay: float = 3e-5
    scheduler: Literal["poly", "cosine", "constant"] = "poly"
    loss: LossConfig = field(default_factory=LossConfig)
    foreground_oversample: float = 0.33
    augmentation: tuple[Mapping[str, Any], ...] | None = None
    grad_clip: float | None = 12.0
    validate_every: int = 1
    validation_overlap: float = 0.25
    early_stopping_patience: int | None = None
    min_delta: float = 0.0
    seed: int = 0
    num_threads: int = 1

    def __post_init__(self) -> None:
        fn = "TrainingConfig"
        ps = int_tuple(self.patch_size, "patch_size", fn)
        if len(ps) not in (2, 3):
            raise InvalidParameterError("patch_size", fn, "2 or 3 positive integers", self.patch_size)
        object.__setattr__(self, "patch_size", ps)
        for name in ("batch_size", "max_epochs", "iterations_per_epoch", "validate_every", "num_threads"):
            check_int(getattr(self, name), name, fn)
        check_int(self.seed, "seed", fn, minimum=0)
        check_option(self.optimizer, "optimizer", fn, _OPTIMIZERS)
        check_option(self.scheduler, "scheduler", fn, _SCHEDULERS)
        check_float(self.learning_rate, "learning_rate", fn, low=1e-12, high=10.0)
        check_float(self.momentum, "momentum", fn, low=0.0, high=0.9999)
        check_float(self.weight_decay, "weight_decay", fn, low=0.0, high=1.0)
        check_float(self.foreground_oversample, "foreground_oversample", fn, low=0.0, high=1.0)
        check_float(self.validation_overlap, "validation_overlap", fn, low=0.0, high=0.95)
        check_float(self.min_delta, "min_delta", fn, low=0.0, high=1.0)
        check_bool(self.nesterov, "nesterov", fn)
        if self.grad_clip is not None:
            check_float(self.grad_clip, "grad_clip", fn, low=1e-12, high=1e12)
        if self.early_stopping_patience is not None:
            check_int(self.early_stopping_patience, "early_stopping_patience", fn)
        if isinstance(self.loss, Mapping):
            object.__setattr__(self, "loss", LossConfig(**self.loss))
        if not isinstance(self.loss, LossConfig):
            raise InvalidParameterError("loss", fn, "a LossConfig or its dict", self.loss)
        if self.augmentation is not None:
            from samd_core.augment import Compose  # validates names and options, executes nothing

            items = tuple(json.loads(json.dumps(list(self.augmentation))))
            Compose.from_config(list(items))
            object.__setattr__(self, "augmentation", items)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (`from_dict` rebuilds the config)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, LossConfig):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """Rebuild from `to_dict` output (validated; unknown keys rejected)."""
        if not isinstance(data, Mapping):
            raise InvalidParameterError("data", "TrainingConfig.from_dict", "a mapping", data)
        reject_unknown(data, [f.name for f in fields(cls)], "TrainingConfig.from_dict")
        d = dict(data)
        if isinstance(d.get("loss"), Mapping):
            d["loss"] = LossConfig(**d["loss"])
        return cls(**d)

    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of `to_dict`."""
        return sha256_json(self.to_dict())
