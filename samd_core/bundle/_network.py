"""Rebuild a bundle's network from its plain-data ``network.json`` (never from code).

``network.json`` is a `samd_core.models` config dict (``{"architecture": "unet", ...}``);
`samd_core.models.config_from_dict` validates it and `samd_core.models.build_network` builds
the network. No `eval`, no import by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from samd_core.errors import InvalidParameterError
from samd_core.models import build_network, config_from_dict

__all__ = ["build_bundle_network", "network_divisor"]


def build_bundle_network(config: Mapping[str, Any]) -> nn.Module:
    """Build the network a bundle's ``network.json`` describes (weights not loaded).

    Bundles hold binary lesion segmenters: one sigmoid output channel.
    """
    cfg = config_from_dict(config)
    if getattr(cfg, "out_channels", None) != 1:
        raise InvalidParameterError(
            "out_channels", "build_bundle_network", "1 (one sigmoid lesion channel)", getattr(cfg, "out_channels", None)
        )
    return build_network(cfg, rng=0)


def network_divisor(config: Mapping[str, Any]) -> tuple[int, ...]:
    """Per-axis multiple every window size must be (product of the network's strides)."""
    return tuple(int(d) for d in config_from_dict(config).divisor)
