"""U-Net (Ronneberger et al. 2015; 3-D: Çiçek et al. 2016) and Attention U-Net (Oktay et al. 2018)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from samd_core.errors import InvalidParameterError
from samd_core.models._blocks import AttentionGate, ConvBlock, conv_cls, init_weights
from samd_core.models._config import AttentionUNetConfig, UNetConfig, config_from_dict
from samd_core.models._seed import as_generator

__all__ = ["AttentionUNet", "UNet"]


class UNet(nn.Module):
    """Encoder-decoder with skip concatenation, built from a `UNetConfig`.

    Input ``(N, in_channels, *spatial)``; output logits ``(N, out_channels, *spatial)``. Spatial
    sizes must be multiples of ``config.divisor``.

    Parameters
    ----------
    config : UNetConfig
    rng : torch.Generator or int, default 0
        Generator (or seed) of the deterministic weight initialisation.

    References
    ----------
    Ronneberger O, Fischer P, Brox T. U-Net: convolutional networks for biomedical image
    segmentation. MICCAI 2015. Çiçek Ö et al. 3D U-Net: learning dense volumetric segmentation
    from sparse annotation. MICCAI 2016.
    """

    config_class: type[UNetConfig] = UNetConfig

    def __init__(self, config: UNetConfig, *, rng: torch.Generator | int = 0) -> None:
        super().__init__()
        if type(config) is not self.config_class:
            raise InvalidParameterError(
                "config", type(self).__name__, f"a {self.config_class.__name__}", type(config).__name__
            )
        self._config = config
        with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
            self._build(config)
        init_weights(self, as_generator(rng, "rng", type(self).__name__))

    def _build(self, c: UNetConfig) -> None:
        d = c.spatial_dims
        n = len(c.channels)
        pool = nn.MaxPool2d if d == 2 else nn.MaxPool3d
        self.encoder = nn.ModuleList()
        in_ch = c.in_channels
        for i in range(n):
            stride = c.strides[i]
            layers: list[nn.Module] = []
            if c.downsample == "maxpool" and any(s > 1 for s in stride):
                layers.append(pool(kernel_size=stride, stride=stride))
                block_stride: tuple[int, ...] = (1,) * d
            else:
                block_stride = stride
            layers.append(
                ConvBlock(
                    d, in_ch, c.channels[i], c.kernel_sizes[i], block_stride,
                    c.convs_per_block, c.norm, c.act, c.residual,
                )
            )
            self.encoder.append(nn.Sequential(*layers))
            in_ch = c.channels[i]
        tconv = conv_cls(d, transposed=True)
        self.upsample = nn.ModuleList()
        self.decoder = nn.ModuleList()
        self.gates = nn.ModuleList()
        for i in range(n - 1):
            s = c.strides[i + 1]
            self.upsample.append(tconv(c.channels[i + 1], c.channels[i], s, stride=s, bias=False))
            self.decoder.append(
                ConvBlock(
                    d, 2 * c.channels[i], c.channels[i], c.kernel_sizes[i], (1,) * d,
                    c.convs_per_block, c.norm, c.act, c.residual,
                )
            )
            if self._attention:
                self.gates.append(AttentionGate(d, c.channels[i], max(c.channels[i] // 2, 1), c.norm))
        s0 = c.strides[0]
        if any(s > 1 for s in s0):
            self.head: nn.Module = tconv(c.channels[0], c.out_channels, s0, stride=s0)
        else:
            self.head = conv_cls(d)(c.channels[0], c.out_channels, 1)

    _attention = False

    @property
    def config(self) -> UNetConfig:
        """The frozen config this network was built from."""
        return self._config

    @classmethod
    def from_config(cls, config: UNetConfig | Mapping[str, Any], *, rng: torch.Generator | int = 0) -> UNet:
        """Build from a config object or its plain-data dict (validated, never executed)."""
        if isinstance(config, Mapping):
            config = config_from_dict(config)  # type: ignore[assignment]
        return cls(config, rng=rng)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self._config
        if x.dim() != c.spatial_dims + 2 or x.shape[1] != c.in_channels:
            raise InvalidParameterError(
                "x.shape", type(self).__name__,
                f"(N, {c.in_channels}, {', '.join(['size'] * c.spatial_dims)})", tuple(x.shape),
            )
        if any(int(s) % q for s, q in zip(x.shape[2:], c.divisor)):
            raise InvalidParameterError(
                "x.shape", type(self).__name__, f"spatial sizes divisible by {c.divisor}", tuple(x.shape)
            )
        skips = []
        for enc in self.encoder:
            x = enc(x)
            skips.append(x)
        x = skips.pop()
        for i in range(len(self.decoder) - 1, -1, -1):
            x = self.upsample[i](x)
            skip = skips[i]
            if self._attention:
                skip = self.gates[i](skip, x)
            x = self.decoder[i](torch.cat((skip, x), dim=1))
        return self.head(x)


class AttentionUNet(UNet):
    """`UNet` with additive attention gates on every skip connection.

    References
    ----------
    Oktay O et al. Attention U-Net: learning where to look for the pancreas. MIDL 2018.
    """

    config_class = AttentionUNetConfig
    _attention = True
