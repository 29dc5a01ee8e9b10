"""`LossConfig`: a loss as plain data, for training configs and bundles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Literal

import torch
import torch.nn.functional as F

from samd_core.errors import InvalidParameterError
from samd_core.losses._dice import dice_ce_loss, soft_dice_loss

__all__ = ["LossConfig", "build_loss"]

_KINDS = ("ce", "dice", "dice_ce")


@dataclass(frozen=True, kw_only=True)
class LossConfig:
    """Which loss to train with, as plain data (see `soft_dice_loss`, `dice_ce_loss`).

    ``kind``: ``"dice_ce"`` (default, nnU-Net), ``"dice"`` (on softmax of the logits) or ``"ce"``.
    """

    kind: Literal["ce", "dice", "dice_ce"] = "dice_ce"
    lambda_dice: float = 1.0
    lambda_ce: float = 1.0
    smooth_nr: float = 1e-5
    smooth_dr: float = 1e-5
    include_background: bool = True
    class_weights: tuple[float, ...] | None = None
    batch_dice: bool = False
    empty: Literal["smooth", "ignore"] = "smooth"

    def __post_init__(self) -> None:
        fn = "LossConfig"
        if self.kind not in _KINDS:
            raise InvalidParameterError("kind", fn, f"one of {list(_KINDS)}", self.kind, options=_KINDS)
        for name in ("lambda_dice", "lambda_ce", "smooth_nr", "smooth_dr"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise InvalidParameterError(name, fn, "a number >= 0", v)
        if self.empty not in ("smooth", "ignore"):
            raise InvalidParameterError("empty", fn, "one of ['smooth', 'ignore']", self.empty, options=("smooth", "ignore"))
        if not isinstance(self.include_background, bool) or not isinstance(self.batch_dice, bool):
            raise InvalidParameterError("include_background/batch_dice", fn, "bools", (self.include_background, self.batch_dice))
        if self.class_weights is not None:
            object.__setattr__(self, "class_weights", tuple(float(v) for v in self.class_weights))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        d = asdict(self)
        if d["class_weights"] is not None:
            d["class_weights"] = list(d["class_weights"])
        return d


def build_loss(config: LossConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss(logits, target)`` for a `LossConfig` (``target``: integer labels ``(N, *spatial)``)."""
    if not isinstance(config, LossConfig):
        raise InvalidParameterError("config", "build_loss", "a LossConfig", type(config).__name__)
    common = dict(
        smooth_nr=config.smooth_nr, smooth_dr=config.smooth_dr, include_background=config.include_background,
        class_weights=config.class_weights, batch_dice=config.batch_dice, empty=config.empty,
    )
    if config.kind == "dice_ce":
        return partial(dice_ce_loss, lambda_dice=config.lambda_dice, lambda_ce=config.lambda_ce, **common)  # type: ignore[arg-type]
    if config.kind == "dice":

        def dice(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return soft_dice_loss(torch.softmax(logits.float(), 1), target, **common)  # type: ignore[arg-type]

        return dice
    w = None if config.class_weights is None else torch.tensor(config.class_weights, dtype=torch.float32)

    def ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), target.long(), weight=w)

    return ce
