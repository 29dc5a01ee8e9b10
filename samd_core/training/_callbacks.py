"""The callback protocol through which `Trainer` reports metrics (no logging backend in core)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["TrainingCallback"]


@runtime_checkable
class TrainingCallback(Protocol):
    """Receives training events. An MLflow adapter outside the core implements this.

    ``on_train_begin(config)`` gets the plain-data run description (network config, training
    config, their hashes); ``on_epoch_end(epoch, metrics)`` gets the 0-based epoch and floats
    (``train_loss``, ``learning_rate``, and ``val_dice`` on validation epochs);
    ``on_train_end(summary)`` gets plain data (best epoch, best Dice, weights SHA-256, ...).
    """

    def on_train_begin(self, config: Mapping[str, Any]) -> None: ...

    def on_epoch_end(self, epoch: int, metrics: Mapping[str, float]) -> None: ...

    def on_train_end(self, summary: Mapping[str, Any]) -> None: ...
