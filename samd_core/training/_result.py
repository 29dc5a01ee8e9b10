"""Result of a training run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

__all__ = ["TrainingResult"]


@dataclass(frozen=True)
class TrainingResult:
    """What `Trainer.fit` returns.

    Attributes
    ----------
    network : torch.nn.Module
        The trained network (weights of the last epoch; the best ones are in
        ``checkpoint_dir/best`` when a directory was given).
    history : tuple of mapping
        One ``{"epoch", "train_loss", "learning_rate"[, "val_dice"]}`` per epoch run.
    best_epoch : int or None
        Epoch (0-based) with the highest validation Dice; None without validation.
    best_val_dice : float or None
    stopped_early : bool
    weights_sha256 : str
        `state_dict_sha256` of the final weights (the reproducibility fingerprint).
    """

    network: nn.Module
    history: tuple[Mapping[str, float], ...]
    best_epoch: int | None
    best_val_dice: float | None
    stopped_early: bool
    weights_sha256: str

    def summary(self) -> dict[str, Any]:
        """Plain data without the network."""
        return {
            "epochs_run": len(self.history),
            "best_epoch": self.best_epoch,
            "best_val_dice": self.best_val_dice,
            "stopped_early": self.stopped_early,
            "weights_sha256": self.weights_sha256,
        }
