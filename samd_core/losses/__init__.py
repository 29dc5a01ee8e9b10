"""Segmentation losses: soft Dice, cross-entropy and Dice + cross-entropy, with class weights."""

from samd_core.losses._config import LossConfig, build_loss
from samd_core.losses._dice import dice_ce_loss, soft_dice_loss

__all__ = ["LossConfig", "build_loss", "dice_ce_loss", "soft_dice_loss"]
