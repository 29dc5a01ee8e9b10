"""Networks of the locked core: U-Net 2-D/3-D, Attention U-Net, ResNet classifiers.

Every network is built from a frozen, plain-data config (`UNetConfig`, `AttentionUNetConfig`,
`ResNetConfig`); ``network.config.to_dict()`` is strict JSON and `build_network` /
``Class.from_config`` rebuild the network from it without executing code. Weights are saved and
loaded as safetensors (`save_weights`, `load_weights`).
"""

from samd_core.models._build import build_network
from samd_core.models._config import AttentionUNetConfig, NetworkConfig, ResNetConfig, UNetConfig, config_from_dict
from samd_core.models._limits import (
    MAX_ACTIVATION_BYTES,
    MAX_PARAMETERS,
    NetworkResources,
    check_network_resources,
    parameter_shapes,
)
from samd_core.models._resnet import ResNet
from samd_core.models._unet import AttentionUNet, UNet
from samd_core.models._weights import LoadReport, WeightsError, load_weights, save_weights

__all__ = [
    "AttentionUNet",
    "AttentionUNetConfig",
    "LoadReport",
    "MAX_ACTIVATION_BYTES",
    "MAX_PARAMETERS",
    "NetworkResources",
    "NetworkConfig",
    "ResNet",
    "ResNetConfig",
    "UNet",
    "UNetConfig",
    "WeightsError",
    "build_network",
    "check_network_resources",
    "config_from_dict",
    "load_weights",
    "parameter_shapes",
    "save_weights",
]
