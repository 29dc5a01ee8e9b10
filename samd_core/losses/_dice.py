"""Soft Dice, cross-entropy and Dice + cross-entropy losses for segmentation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from samd_core.errors import InvalidParameterError

__all__ = ["dice_ce_loss", "soft_dice_loss"]

EmptyPolicy = Literal["smooth", "ignore"]


def one_hot_target(target: torch.Tensor, n_classes: int, function: str) -> torch.Tensor:
    """``(N, *sp)`` integer labels -> ``(N, K, *sp)`` float one-hot; a ``(N, K, *sp)`` float map passes."""
    if target.dtype.is_floating_point:
        return target
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= n_classes):
        raise InvalidParameterError(
            "target", function, f"integer labels in [0, {n_classes - 1}]", (int(target.min()), int(target.max()))
        )
    oh = F.one_hot(target.long(), n_classes)
    return torch.movedim(oh, -1, 1).to(torch.float32)


def _check(probs: torch.Tensor, target: torch.Tensor, function: str) -> torch.Tensor:
    if not isinstance(probs, torch.Tensor) or probs.dim() < 3:
        raise InvalidParameterError("y_pred", function, "a tensor (N, K, *spatial)", getattr(probs, "shape", probs))
    k = int(probs.shape[1])
    if not isinstance(target, torch.Tensor):
        raise InvalidParameterError("target", function, "a tensor", type(target).__name__)
    if target.dtype.is_floating_point:
        if target.shape != probs.shape:
            raise InvalidParameterError("target", function, f"one-hot of shape {tuple(probs.shape)}", tuple(target.shape))
    elif tuple(target.shape) != (probs.shape[0],) + tuple(probs.shape[2:]):
        raise InvalidParameterError(
            "target", function, f"labels of shape {(probs.shape[0],) + tuple(probs.shape[2:])}", tuple(target.shape)
        )
    return one_hot_target(target, k, function)


def _weights(class_weights: Sequence[float] | None, k: int, function: str, device: torch.device) -> torch.Tensor:
    if class_weights is None:
        return torch.ones(k, device=device)
    w = torch.as_tensor([float(v) for v in class_weights], dtype=torch.float32, device=device)
    if w.numel() != k or bool((w < 0).any()) or float(w.sum()) <= 0:
        raise InvalidParameterError("class_weights", function, f"{k} non-negative numbers, not all 0", class_weights)
    return w


def soft_dice_loss(
    y_pred: torch.Tensor,
    target: torch.Tensor,
    *,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    include_background: bool = True,
    class_weights: Sequence[float] | None = None,
    batch_dice: bool = False,
    empty: EmptyPolicy = "smooth",
) -> torch.Tensor:
    """Soft Dice loss ``1 - (2 sum(p g) + smooth_nr) / (sum(p) + sum(g) + smooth_dr)``.

    Parameters
    ----------
    y_pred : torch.Tensor
        Probabilities ``(N, K, *spatial)`` (softmax or sigmoid already applied).
    target : torch.Tensor
        Integer labels ``(N, *spatial)`` in ``[0, K)``, or a float one-hot / soft map shaped like
        ``y_pred``.
    smooth_nr, smooth_dr : float
        Smoothing added to numerator and denominator (Milletari et al. 2016). With both equal
        and positive, an empty class predicted empty scores Dice 1 (loss 0).
    include_background : bool
        Whether class 0 enters the mean.
    class_weights : sequence of float, optional
        Weight of each class in the (weighted) mean over classes.
    batch_dice : bool
        Sum over the batch before the ratio (nnU-Net "batch Dice") instead of per sample.
    empty : {"smooth", "ignore"}
        Classes with no foreground in the target (per sample, or in the batch with
        ``batch_dice``): ``"smooth"`` scores them with the smoothing terms; ``"ignore"`` drops
        them from the mean (the loss is 0 when every term is dropped).

    Returns
    -------
    torch.Tensor
        Scalar loss (differentiable).

    References
    ----------
    Milletari F, Navab N, Ahmadi SA. V-Net. 3DV 2016. Isensee F et al. nnU-Net. Nat Methods 2021.
    """
    fn = "soft_dice_loss"
    g = _check(y_pred, target, fn)
    if smooth_nr < 0 or smooth_dr < 0:
        raise InvalidParameterError("smooth_dr" if smooth_dr < 0 else "smooth_nr", fn, "a number >= 0", min(smooth_nr, smooth_dr))
    if empty not in ("smooth", "ignore"):
        raise InvalidParameterError("empty", fn, "one of ['smooth', 'ignore']", empty, options=("smooth", "ignore"))
    k = int(y_pred.shape[1])
    w = _weights(class_weights, k, fn, y_pred.device)
    p = y_pred.float()
    dims = tuple(range(2, p.dim()))
    inter = (p * g).sum(dims)
    psum = p.sum(dims)
    gsum = g.sum(dims)
    if batch_dice:
        inter, psum, gsum = inter.sum(0, keepdim=True), psum.sum(0, keepdim=True), gsum.sum(0, keepdim=True)
    dice = (2.0 * inter + smooth_nr) / (psum + gsum + smooth_dr)
    loss = 1.0 - dice  # (N or 1, K)
    mask = torch.ones_like(loss)
    if not include_background:
        mask[:, 0] = 0
    if empty == "ignore":
        mask = mask * (gsum > 0).float()
    wm = mask * w[None, :]
    total = wm.sum()
    if float(total) == 0.0:
        return (loss * 0.0).sum()
    return (loss * wm).sum() / total


def dice_ce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    lambda_dice: float = 1.0,
    lambda_ce: float = 1.0,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    include_background: bool = True,
    class_weights: Sequence[float] | None = None,
    batch_dice: bool = False,
    empty: EmptyPolicy = "smooth",
) -> torch.Tensor:
    """``lambda_dice * soft_dice(softmax(logits)) + lambda_ce * cross_entropy(logits)``.

    ``class_weights`` weight both the Dice mean and the cross-entropy (PyTorch's weighted mean:
    ``sum(w[y] * ce) / sum(w[y])``). ``target`` must be integer labels ``(N, *spatial)``.
    Other parameters as in `soft_dice_loss`.

    References
    ----------
    Isensee F et al. nnU-Net. Nat Methods 2021 (Dice + CE with equal weights).
    """
    fn = "dice_ce_loss"
    if not isinstance(target, torch.Tensor) or target.dtype.is_floating_point:
        raise InvalidParameterError("target", fn, "an integer label tensor (N, *spatial)", getattr(target, "dtype", target))
    if lambda_dice < 0 or lambda_ce < 0:
        raise InvalidParameterError("lambda_ce" if lambda_ce < 0 else "lambda_dice", fn, "a number >= 0", min(lambda_ce, lambda_dice))
    probs = torch.softmax(logits.float(), dim=1)
    d = soft_dice_loss(
        probs, target, smooth_nr=smooth_nr, smooth_dr=smooth_dr, include_background=include_background,
        class_weights=class_weights, batch_dice=batch_dice, empty=empty,
    )
    w = None if class_weights is None else _weights(class_weights, int(logits.shape[1]), fn, logits.device)
    ce = F.cross_entropy(logits.float(), target.long(), weight=w)
    return lambda_dice * d + lambda_ce * ce
