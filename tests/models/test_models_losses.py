"""Losses against closed forms and against MONAI 1.x (DiceLoss, DiceCELoss) called live."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from samd_core.errors import InvalidParameterError
from samd_core.losses import LossConfig, build_loss, dice_ce_loss, soft_dice_loss

monai_losses = pytest.importorskip("monai.losses")


def _probs_target(seed: int, shape: tuple[int, ...] = (2, 3, 5, 6, 4)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=g)
    target = torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=g)
    return logits, target


@pytest.mark.verifies("SRS-MODELS-005")
def test_models_dice_closed_form_two_voxels() -> None:
    # one sample, 2 classes, 2 voxels: p(class1) = (0.8, 0.3), g(class1) = (1, 0)
    p1 = torch.tensor([0.8, 0.3])
    probs = torch.stack([1 - p1, p1])[None]  # (1, 2, 2)
    target = torch.tensor([[1, 0]])
    # class 1: I = 0.8, S = 1.1 + 1 = 2.1 ; class 0: p0 = (0.2, 0.7), g0 = (0, 1): I = 0.7, S = 0.9 + 1 = 1.9
    d1, d0 = 1.6 / 2.1, 1.4 / 1.9
    got = soft_dice_loss(probs, target, smooth_nr=0.0, smooth_dr=0.0)
    assert got.item() == pytest.approx(1 - (d0 + d1) / 2, rel=1e-6)
    fg_only = soft_dice_loss(probs, target, smooth_nr=0.0, smooth_dr=0.0, include_background=False)
    assert fg_only.item() == pytest.approx(1 - d1, rel=1e-6)
    weighted = soft_dice_loss(probs, target, smooth_nr=0.0, smooth_dr=0.0, class_weights=[1.0, 3.0])
    assert weighted.item() == pytest.approx((1 * (1 - d0) + 3 * (1 - d1)) / 4, rel=1e-6)
    smoothed = soft_dice_loss(probs, target, smooth_nr=1.0, smooth_dr=1.0, include_background=False)
    assert smoothed.item() == pytest.approx(1 - 2.6 / 3.1, rel=1e-6)


@pytest.mark.verifies("SRS-MODELS-005")
def test_models_dice_empty_foreground() -> None:
    probs = torch.zeros(1, 2, 4)
    probs[:, 0] = 1.0
    target = torch.zeros(1, 4, dtype=torch.long)
    # empty class predicted empty: (0 + s) / (0 + s) = 1 -> loss 0, with smoothing
    assert soft_dice_loss(probs, target, include_background=False).item() == pytest.approx(0.0, abs=1e-7)
    # false positives on an empty class: 1 - s / (sum(p) + s)
    probs2 = torch.full((1, 2, 4), 0.5)
    expected = 1 - 1e-5 / (2.0 + 1e-5)
    assert soft_dice_loss(probs2, target, include_background=False).item() == pytest.approx(expected, rel=1e-6)
    # "ignore": the empty class leaves the mean; with nothing left the loss is 0 (and differentiable)
    probs3 = probs2.clone().requires_grad_(True)
    out = soft_dice_loss(probs3, target, include_background=False, empty="ignore")
    assert out.item() == 0.0
    out.backward()
    both = soft_dice_loss(probs2, target, empty="ignore", smooth_nr=0, smooth_dr=0)
    assert both.item() == pytest.approx(1 - 2 * 2.0 / (2.0 + 4.0), rel=1e-6)  # background only


@pytest.mark.verifies("SRS-MODELS-005")
@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("include_background", [False, True])
def test_models_dice_matches_monai(batch: bool, include_background: bool) -> None:
    logits, target = _probs_target(1)
    ref = monai_losses.DiceLoss(softmax=True, to_onehot_y=True, include_background=include_background, batch=batch)(
        logits, target[:, None]
    )
    ours = soft_dice_loss(torch.softmax(logits, 1), target, include_background=include_background, batch_dice=batch)
    assert abs(ours.item() - ref.item()) <= 1e-6


@pytest.mark.verifies("SRS-MODELS-005")
def test_models_dice_ce_matches_monai() -> None:
    logits, target = _probs_target(2)
    ref = monai_losses.DiceCELoss(softmax=True, to_onehot_y=True, lambda_dice=0.7, lambda_ce=1.3)(logits, target[:, None])
    ours = dice_ce_loss(logits, target, lambda_dice=0.7, lambda_ce=1.3)
    assert abs(ours.item() - ref.item()) <= 1e-6
    # CE part alone: closed form mean(-log softmax at the true class)
    ce = build_loss(LossConfig(kind="ce"))(logits, target)
    manual = -torch.log_softmax(logits, 1).gather(1, target[:, None]).mean()
    assert ce.item() == pytest.approx(manual.item(), rel=1e-6)


@settings(max_examples=25)
@given(st.integers(0, 10_000))
def test_models_dice_bounds_and_perfect_prediction(seed: int) -> None:
    logits, target = _probs_target(seed, (1, 2, 3, 4))
    loss = soft_dice_loss(torch.softmax(logits, 1), target)
    assert 0.0 <= loss.item() <= 1.0
    perfect = torch.movedim(torch.nn.functional.one_hot(target, 2), -1, 1).float()
    assert soft_dice_loss(perfect, target).item() == pytest.approx(0.0, abs=1e-6)


def test_models_loss_config_round_trip_and_gradient() -> None:
    cfg = LossConfig(kind="dice", class_weights=[1, 2, 3], batch_dice=True)
    assert LossConfig(**cfg.to_dict()) == cfg
    logits, target = _probs_target(3)
    logits.requires_grad_(True)
    build_loss(cfg)(logits, target).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    assert not math.isnan(build_loss(LossConfig())(logits, target).item())


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p, t: soft_dice_loss(p, t[:, :2]), "target"),
        (lambda p, t: soft_dice_loss(p, t + 5), "target"),
        (lambda p, t: soft_dice_loss(p, t, class_weights=[1, 1]), "class_weights"),
        (lambda p, t: soft_dice_loss(p, t, class_weights=[0, 0, 0]), "class_weights"),
        (lambda p, t: soft_dice_loss(p, t, smooth_dr=-1), "smooth_dr"),
        (lambda p, t: soft_dice_loss(p, t, empty="skip"), "empty"),
        (lambda p, t: soft_dice_loss(p[0, 0, 0], t), "y_pred"),
        (lambda p, t: dice_ce_loss(p, t.float()), "target"),
        (lambda p, t: LossConfig(kind="dice_bce"), "kind"),
        (lambda p, t: LossConfig(lambda_ce=-1), "lambda_ce"),
    ],
)
def test_models_loss_bad_input(call, field: str) -> None:  # type: ignore[no-untyped-def]
    logits, target = _probs_target(4)
    with pytest.raises(InvalidParameterError) as err:
        call(torch.softmax(logits, 1), target)
    assert err.value.field == field
