"""Building blocks shared by the U-Nets and the ResNet classifiers.

Each block is a small `torch.nn.Module` over 2-D or 3-D tensors (``spatial_dims``). Layer order is
convolution -> normalisation -> activation (He et al. 2016; nnU-Net, Isensee et al. 2021).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__: list[str] = []

NORMS = ("batch", "instance", "none")
ACTS = ("leaky_relu", "prelu", "relu")


def conv_cls(spatial_dims: int, transposed: bool = False) -> type[nn.Module]:
    """``nn.Conv{2,3}d`` or ``nn.ConvTranspose{2,3}d``."""
    if transposed:
        return nn.ConvTranspose2d if spatial_dims == 2 else nn.ConvTranspose3d
    return nn.Conv2d if spatial_dims == 2 else nn.Conv3d


def make_conv(
    spatial_dims: int,
    in_ch: int,
    out_ch: int,
    kernel: Sequence[int],
    stride: Sequence[int] = (1,),
    bias: bool = True,
) -> nn.Module:
    """A 'same' convolution (padding ``k // 2``), strided when ``stride > 1``."""
    stride_t = tuple(stride) if len(stride) == spatial_dims else (stride[0],) * spatial_dims
    return conv_cls(spatial_dims)(
        in_ch, out_ch, tuple(kernel), stride=stride_t, padding=tuple(k // 2 for k in kernel), bias=bias
    )


def make_norm(norm: str, spatial_dims: int, ch: int) -> nn.Module:
    """Batch or instance normalisation (instance norm with learnable affine), or identity."""
    if norm == "batch":
        return (nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d)(ch)
    if norm == "instance":
        return (nn.InstanceNorm2d if spatial_dims == 2 else nn.InstanceNorm3d)(ch, affine=True)
    return nn.Identity()


def make_act(act: str, ch: int) -> nn.Module:
    """ReLU, LeakyReLU (slope 0.01, nnU-Net) or PReLU (one slope per channel)."""
    if act == "relu":
        return nn.ReLU(inplace=True)
    if act == "leaky_relu":
        return nn.LeakyReLU(0.01, inplace=True)
    return nn.PReLU(ch)


class ConvNormAct(nn.Sequential):
    """Convolution, normalisation, optional activation. The bias is dropped when a norm follows."""

    def __init__(
        self,
        spatial_dims: int,
        in_ch: int,
        out_ch: int,
        kernel: Sequence[int],
        stride: Sequence[int],
        norm: str,
        act: str | None,
    ) -> None:
        layers: list[nn.Module] = [make_conv(spatial_dims, in_ch, out_ch, kernel, stride, bias=norm == "none")]
        layers.append(make_norm(norm, spatial_dims, out_ch))
        if act is not None:
            layers.append(make_act(act, out_ch))
        super().__init__(*layers)


class ConvBlock(nn.Module):
    """``n_convs`` conv-norm-act units; the first one carries the stride.

    With ``residual=True`` it is a residual unit (He et al. 2016): the last unit's activation moves
    after the addition, and the shortcut is the identity, or a strided 1x1 convolution plus norm
    when the channel count or the resolution changes.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_ch: int,
        out_ch: int,
        kernel: Sequence[int],
        stride: Sequence[int],
        n_convs: int,
        norm: str,
        act: str,
        residual: bool,
    ) -> None:
        super().__init__()
        ones = (1,) * spatial_dims
        units = []
        for i in range(n_convs):
            last = i == n_convs - 1
            units.append(
                ConvNormAct(
                    spatial_dims,
                    in_ch if i == 0 else out_ch,
                    out_ch,
                    kernel,
                    stride if i == 0 else ones,
                    norm,
                    None if (residual and last) else act,
                )
            )
        self.convs = nn.Sequential(*units)
        self.residual = residual
        if residual:
            if in_ch != out_ch or any(s != 1 for s in stride):
                self.shortcut: nn.Module = ConvNormAct(spatial_dims, in_ch, out_ch, ones, stride, norm, None)
            else:
                self.shortcut = nn.Identity()
            self.out_act = make_act(act, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convs(x)
        if self.residual:
            y = self.out_act(y + self.shortcut(x))
        return y


class AttentionGate(nn.Module):
    """Additive attention gate of Oktay et al. 2018 on a skip connection.

    ``alpha = sigmoid(psi(relu(W_g g + W_x x)))`` and the gated skip is ``x * alpha``, where ``g``
    is the decoder's (already upsampled) gating signal at the skip's resolution.
    """

    def __init__(self, spatial_dims: int, ch: int, inter_ch: int, norm: str) -> None:
        super().__init__()
        ones = (1,) * spatial_dims
        self.w_g = ConvNormAct(spatial_dims, ch, inter_ch, ones, ones, norm, None)
        self.w_x = ConvNormAct(spatial_dims, ch, inter_ch, ones, ones, norm, None)
        self.psi = ConvNormAct(spatial_dims, inter_ch, 1, ones, ones, "none", None)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.w_g(g) + self.w_x(x))
        return x * torch.sigmoid(self.psi(a))


def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """Deterministic initialisation from ``generator`` (He et al. 2015 normal for convolutions).

    Visits parameters in ``named_modules`` order, so the same config and generator state always
    give the same weights, independent of the global torch RNG.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=0.01, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm2d, nn.InstanceNorm3d)):
            if m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.PReLU):
            nn.init.constant_(m.weight, 0.25)
