"""ResNet-style classifiers, 2-D and 3-D (He et al. 2016, basic blocks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from samd_core.errors import InvalidParameterError
from samd_core.models._blocks import ConvBlock, ConvNormAct, init_weights
from samd_core.models._config import ResNetConfig, config_from_dict
from samd_core.models._seed import as_generator

__all__ = ["ResNet"]


class ResNet(nn.Module):
    """Case-level classifier: stem, residual stages, global average pool, linear layer.

    Input ``(N, in_channels, *spatial)``; output logits ``(N, num_classes)``.

    References
    ----------
    He K, Zhang X, Ren S, Sun J. Deep residual learning for image recognition. CVPR 2016.
    """

    def __init__(self, config: ResNetConfig, *, rng: torch.Generator | int = 0) -> None:
        super().__init__()
        if type(config) is not ResNetConfig:
            raise InvalidParameterError("config", "ResNet", "a ResNetConfig", type(config).__name__)
        self._config = config
        with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
            self._build(config)
        init_weights(self, as_generator(rng, "rng", "ResNet"))

    def _build(self, c: ResNetConfig) -> None:
        d = c.spatial_dims
        ones = (1,) * d
        self.stem = nn.Sequential(
            ConvNormAct(d, c.in_channels, c.stem_channels, (c.stem_kernel,) * d, (c.stem_stride,) * d, c.norm, c.act)
        )
        if c.stem_pool:
            pool = nn.MaxPool2d if d == 2 else nn.MaxPool3d
            self.stem.append(pool(kernel_size=3, stride=2, padding=1))
        stages = []
        in_ch = c.stem_channels
        for i, (ch, nb) in enumerate(zip(c.channels, c.blocks)):
            blocks = []
            for b in range(nb):
                stride = (2,) * d if (i > 0 and b == 0) else ones
                blocks.append(ConvBlock(d, in_ch, ch, (3,) * d, stride, 2, c.norm, c.act, True))
                in_ch = ch
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1) if d == 2 else nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(c.dropout) if c.dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_ch, c.num_classes)

    @property
    def config(self) -> ResNetConfig:
        """The frozen config this network was built from."""
        return self._config

    @classmethod
    def from_config(cls, config: ResNetConfig | Mapping[str, Any], *, rng: torch.Generator | int = 0) -> ResNet:
        """Build from a config object or its plain-data dict (validated, never executed)."""
        if isinstance(config, Mapping):
            config = config_from_dict(config)  # type: ignore[assignment]
        return cls(config, rng=rng)  # type: ignore[arg-type]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled feature vector ``(N, channels[-1])`` before the linear layer."""
        c = self._config
        if x.dim() != c.spatial_dims + 2 or x.shape[1] != c.in_channels:
            raise InvalidParameterError(
                "x.shape", "ResNet", f"(N, {c.in_channels}, {', '.join(['size'] * c.spatial_dims)})", tuple(x.shape)
            )
        return torch.flatten(self.pool(self.stages(self.stem(x))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x)))
