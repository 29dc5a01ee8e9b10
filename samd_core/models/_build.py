"""`build_network`: config (object or plain data) -> network, without executing any code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from samd_core.errors import InvalidParameterError
from samd_core.models._config import AttentionUNetConfig, NetworkConfig, ResNetConfig, UNetConfig, config_from_dict
from samd_core.models._resnet import ResNet
from samd_core.models._unet import AttentionUNet, UNet

__all__ = ["build_network"]


def build_network(config: NetworkConfig | Mapping[str, Any], *, rng: torch.Generator | int = 0) -> nn.Module:
    """Build the network a config describes, with deterministic initial weights.

    Parameters
    ----------
    config : NetworkConfig or mapping
        A config object, or its ``to_dict()`` form (validated by `config_from_dict`).
    rng : torch.Generator or int, default 0
        Generator or seed of the weight initialisation; the global torch RNG is not used.

    Returns
    -------
    torch.nn.Module
        A `UNet`, `AttentionUNet` or `ResNet` whose ``config`` equals the (validated) input.
    """
    if isinstance(config, Mapping):
        config = config_from_dict(config)
    if type(config) is UNetConfig:
        return UNet(config, rng=rng)
    if type(config) is AttentionUNetConfig:
        return AttentionUNet(config, rng=rng)
    if type(config) is ResNetConfig:
        return ResNet(config, rng=rng)
    raise InvalidParameterError("config", "build_network", "a network config or its dict", config)
