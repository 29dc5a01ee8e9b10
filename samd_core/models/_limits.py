"""Resource limits of a network config, checked before any weight or activation is allocated.

A bundle's ``network.json`` comes from outside; a config with 10^5 channels or a 8000^3 window
would otherwise ask for terabytes. `check_network_resources` refuses it first:

* structural bounds (`MAX_STAGES` stages, `MAX_CHANNELS` channels per stage, `MAX_IO_CHANNELS`
  input/output channels, `MAX_ROI_AXIS` voxels per window axis);
* the exact parameter count, computed on PyTorch's ``meta`` device (shapes only, no memory),
  at most `MAX_PARAMETERS`;
* an activation estimate for one window, at most `MAX_ACTIVATION_BYTES`:
  ``4 bytes x 6 x sum over stages of (voxels at that stage x channels of that stage)``
  (encoder, decoder and skip tensors of every block kept live, float32), plus the input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from samd_core.errors import InvalidParameterError
from samd_core.models._config import NetworkConfig, ResNetConfig, UNetConfig

__all__ = [
    "MAX_ACTIVATION_BYTES",
    "MAX_CHANNELS",
    "MAX_IO_CHANNELS",
    "MAX_PARAMETERS",
    "MAX_ROI_AXIS",
    "MAX_STAGES",
    "NetworkResources",
    "check_network_resources",
    "parameter_shapes",
]

MAX_STAGES = 10
MAX_CHANNELS = 2048
MAX_IO_CHANNELS = 256
MAX_ROI_AXIS = 1024
MAX_PARAMETERS = 200_000_000
MAX_ACTIVATION_BYTES = 8 << 30
_FN = "check_network_resources"


class NetworkResources:
    """Parameter count and activation estimate of a config (see the module docstring)."""

    __slots__ = ("activation_bytes", "parameters")

    def __init__(self, parameters: int, activation_bytes: int) -> None:
        self.parameters = parameters
        self.activation_bytes = activation_bytes

    def __repr__(self) -> str:
        return f"NetworkResources(parameters={self.parameters}, activation_bytes={self.activation_bytes})"


def _structure(config: NetworkConfig) -> None:
    if isinstance(config, UNetConfig):
        chans, io = config.channels, (config.in_channels, config.out_channels)
    elif isinstance(config, ResNetConfig):
        chans, io = config.channels + (config.stem_channels,), (config.in_channels, config.num_classes)
        if max(config.blocks) > 64:
            raise InvalidParameterError("blocks", _FN, "at most 64 blocks per stage", config.blocks)
    else:
        raise InvalidParameterError("config", _FN, "a UNet or ResNet config", type(config).__name__)
    if len(config.channels) > MAX_STAGES:
        raise InvalidParameterError("channels", _FN, f"at most {MAX_STAGES} stages", len(config.channels))
    if max(chans) > MAX_CHANNELS:
        raise InvalidParameterError("channels", _FN, f"at most {MAX_CHANNELS} channels per stage", max(chans))
    if max(io) > MAX_IO_CHANNELS:
        raise InvalidParameterError("in/out channels", _FN, f"at most {MAX_IO_CHANNELS}", max(io))


def parameter_shapes(config: NetworkConfig) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Name -> (shape, dtype) of every state-dict tensor, built on the ``meta`` device (no memory).

    The structural bounds are checked first, so this stays fast and small for any config.
    """
    from samd_core.models._build import build_network

    _structure(config)
    with torch.device("meta"):
        net = build_network(config, rng=0)
    return {k: (tuple(int(s) for s in v.shape), v.dtype) for k, v in net.state_dict().items()}


def check_network_resources(config: NetworkConfig, input_size: Sequence[int] | None = None) -> NetworkResources:
    """Refuse a config (and window/input size) that would exceed the documented limits.

    Parameters
    ----------
    config : NetworkConfig
    input_size : sequence of int, optional
        Window (segmentation) or input (classification) size in voxels, array order.

    Returns
    -------
    NetworkResources

    Raises
    ------
    InvalidParameterError
        Naming the exceeded quantity, its value and the limit.
    """
    shapes = parameter_shapes(config)
    n_params = sum(math.prod(s) for s, _ in shapes.values())
    if n_params > MAX_PARAMETERS:
        raise InvalidParameterError("parameters", _FN, f"at most {MAX_PARAMETERS} parameters", n_params)
    act = 0
    if input_size is not None:
        size = [int(v) for v in input_size]
        if len(size) != config.spatial_dims or any(v < 1 or v > MAX_ROI_AXIS for v in size):  # type: ignore[attr-defined]
            raise InvalidParameterError(
                "input size", _FN, f"{config.spatial_dims} integers in [1, {MAX_ROI_AXIS}] voxels", size  # type: ignore[attr-defined]
            )
        voxels = math.prod(size)
        act = 4 * voxels * int(config.in_channels)  # type: ignore[attr-defined]
        if isinstance(config, UNetConfig):
            scale = [1] * config.spatial_dims
            for ch, st in zip(config.channels, config.strides, strict=True):
                scale = [a * b for a, b in zip(scale, st, strict=True)]
                act += 4 * 6 * max(1, voxels // math.prod(scale)) * ch
        else:
            act += 4 * 6 * voxels * max(config.channels + (config.stem_channels,))  # type: ignore[attr-defined]
        if act > MAX_ACTIVATION_BYTES:
            raise InvalidParameterError(
                "activation memory", _FN, f"at most {MAX_ACTIVATION_BYTES} bytes (estimate for one window)", act
            )
    return NetworkResources(int(n_params), int(act))
