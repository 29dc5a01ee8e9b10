"""The bundle's network registry: rebuild a network from plain-data JSON, never from code.

``network.json`` holds ``{"architecture": <name>, ...parameters}``. The registry maps names to
builders; unknown names are refused with a "did you mean" hint. No `eval`, no import by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from samd_core.errors import InvalidParameterError

__all__ = ["NETWORKS", "TinyUNet3D", "build_bundle_network"]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel_size=3, padding=1),
        nn.InstanceNorm3d(c_out, affine=True),
        nn.LeakyReLU(0.01),
        nn.Conv3d(c_out, c_out, kernel_size=3, padding=1),
        nn.InstanceNorm3d(c_out, affine=True),
        nn.LeakyReLU(0.01),
    )


class TinyUNet3D(nn.Module):
    """A small 3-D U-Net (Çiçek et al. 2016): double 3×3×3 conv blocks, 2×2×2 max pooling,
    transposed-conv upsampling and skip concatenation.

    Input spatial sizes must be divisible by ``2 ** (len(channels) - 1)``.

    Parameters
    ----------
    in_channels, out_channels : int
        Image channels in; logit channels out.
    channels : sequence of int
        Feature widths per level, top to bottom.

    References
    ----------
    Ö. Çiçek et al., "3D U-Net: Learning Dense Volumetric Segmentation from Sparse Annotation",
    MICCAI 2016.
    """

    def __init__(self, *, in_channels: int, out_channels: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.down = nn.ModuleList()
        c_prev = in_channels
        for c in channels:
            self.down.append(_block(c_prev, c))
            c_prev = c
        self.pool = nn.MaxPool3d(2)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for c_hi, c_lo in zip(reversed(channels[:-1]), reversed(channels[1:]), strict=True):
            self.up.append(nn.ConvTranspose3d(c_lo, c_hi, kernel_size=2, stride=2))
            self.dec.append(_block(2 * c_hi, c_hi))
        self.head = nn.Conv3d(channels[0], out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips), strict=True):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)  # type: ignore[no-any-return]


def _tiny_unet(cfg: Mapping[str, Any]) -> nn.Module:
    allowed = {"architecture", "in_channels", "out_channels", "channels"}
    extra = sorted(set(cfg) - allowed)
    if extra:
        raise InvalidParameterError("network config", "build_bundle_network", f"keys within {sorted(allowed)}", extra)
    channels = tuple(int(c) for c in cfg["channels"])
    if not channels or any(c < 1 for c in channels):
        raise InvalidParameterError("channels", "build_bundle_network", "positive integers", cfg["channels"])
    return TinyUNet3D(in_channels=int(cfg["in_channels"]), out_channels=int(cfg["out_channels"]), channels=channels)


#: architecture name -> builder taking the plain-data config.
NETWORKS: dict[str, Callable[[Mapping[str, Any]], nn.Module]] = {"TinyUNet3D": _tiny_unet}


def build_bundle_network(config: Mapping[str, Any]) -> nn.Module:
    """Build the network a bundle's ``network.json`` describes (weights not loaded)."""
    name = config.get("architecture") if isinstance(config, Mapping) else None
    if name not in NETWORKS:
        raise InvalidParameterError(
            "architecture", "build_bundle_network", f"one of {sorted(NETWORKS)}", name, options=NETWORKS
        )
    return NETWORKS[str(name)](config)


def divisor(config: Mapping[str, Any]) -> int:
    """Spatial size multiple the network needs."""
    return int(2 ** (len(config["channels"]) - 1))
