"""Rebuild a bundle's network from its plain-data ``network.json`` (never from code), safely.

``network.json`` is a `samd_core.models` config dict (``{"architecture": "unet", ...}``);
`samd_core.models.config_from_dict` validates it, `samd_core.models.check_network_resources`
bounds its size (before anything is allocated) and `samd_core.models.build_network` builds the
network. The weights file is checked against the network's parameter names, shapes and dtype
(float32 only: other dtypes are refused, never cast) and for finiteness before it is loaded into
the network. No `eval`, no import by name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from samd_core.bundle._strict import strict_json
from samd_core.bundle.errors import BundleIntegrityError
from samd_core.errors import InvalidParameterError
from samd_core.models import NetworkConfig, build_network, config_from_dict

__all__ = [
    "build_bundle_network",
    "bundle_network_config",
    "check_weights",
    "network_divisor",
    "weights_size_limit",
]

_WEIGHTS = "weights.safetensors"
_MAX_HEADER = 16 << 20


def bundle_network_config(config: Mapping[str, Any]) -> NetworkConfig:
    """Validate ``network.json`` data: a config whose network emits one sigmoid lesion channel."""
    cfg = config_from_dict(config)
    if getattr(cfg, "out_channels", None) != 1:
        raise InvalidParameterError(
            "out_channels", "build_bundle_network", "1 (one sigmoid lesion channel)", getattr(cfg, "out_channels", None)
        )
    return cfg


def build_bundle_network(config: Mapping[str, Any]) -> nn.Module:
    """Build the network a bundle's ``network.json`` describes (weights not loaded).

    Bundles hold binary lesion segmenters: one sigmoid output channel. The config's size is
    bounded by `samd_core.models.check_network_resources` before anything is allocated.
    """
    from samd_core.models import check_network_resources

    cfg = bundle_network_config(config)
    check_network_resources(cfg)
    return build_network(cfg, rng=0)


def network_divisor(config: Mapping[str, Any]) -> tuple[int, ...]:
    """Per-axis multiple every window size must be (product of the network's strides)."""
    return tuple(int(d) for d in config_from_dict(config).divisor)  # type: ignore[attr-defined]


def weights_size_limit(shapes: Mapping[str, tuple[tuple[int, ...], torch.dtype]]) -> int:
    """Largest acceptable ``weights.safetensors`` (bytes): float32 parameters plus a header allowance."""
    n = sum(math.prod(s) for s, _ in shapes.values())
    return 4 * n + 64 * 1024 + 512 * len(shapes)


def _safetensors_header(data: bytes) -> dict[str, Any]:
    if len(data) < 8:
        raise BundleIntegrityError(f"bundle file {_WEIGHTS!r} is too short for safetensors", kind="content", file=_WEIGHTS)
    n = int.from_bytes(data[:8], "little")
    if n > min(len(data) - 8, _MAX_HEADER):
        raise BundleIntegrityError(
            f"bundle file {_WEIGHTS!r}: safetensors header length {n} exceeds the file", kind="content", file=_WEIGHTS
        )
    header = strict_json(data[8 : 8 + n], _WEIGHTS)
    if not isinstance(header, dict):
        raise BundleIntegrityError(f"bundle file {_WEIGHTS!r}: safetensors header is not a mapping", kind="content",
                                   file=_WEIGHTS)
    header.pop("__metadata__", None)
    return header


def check_weights(data: bytes, shapes: Mapping[str, tuple[tuple[int, ...], torch.dtype]]) -> dict[str, torch.Tensor]:
    """Tensors of ``weights.safetensors`` after checking names, float32 dtype, shapes and finiteness.

    Raises
    ------
    BundleIntegrityError
        (kind ``"content"``) naming the tensor and what differs; nothing is cast or repaired.
    """
    header = _safetensors_header(data)

    def bad(msg: str) -> BundleIntegrityError:
        return BundleIntegrityError(f"bundle file {_WEIGHTS!r} does not fit network.json: {msg}", kind="content",
                                    file=_WEIGHTS)

    missing = sorted(set(shapes) - set(header))
    extra = sorted(set(header) - set(shapes))
    if missing or extra:
        raise bad(f"missing tensors {missing[:5]}, unexpected tensors {[e[:60] for e in extra[:5]]}")
    for name, (shape, _) in sorted(shapes.items()):
        entry = header[name]
        if not isinstance(entry, dict) or entry.get("dtype") != "F32":
            got = entry.get("dtype") if isinstance(entry, dict) else entry
            raise bad(f"tensor {name!r} must be float32 (F32); got dtype {str(got)[:20]!r} (never cast)")
        if entry.get("shape") != list(shape):
            raise bad(f"tensor {name!r} must have shape {list(shape)}; got {str(entry.get('shape'))[:60]}")
    from safetensors.torch import load as load_safetensors

    try:
        tensors = load_safetensors(data)
    except Exception as exc:  # safetensors raises its own error types; normalise
        raise bad(f"unreadable safetensors ({type(exc).__name__})") from exc
    for name, t in sorted(tensors.items()):
        if not bool(torch.isfinite(t).all()):
            n_bad = int((~torch.isfinite(t)).sum())
            raise bad(f"tensor {name!r} holds {n_bad} non-finite values (NaN or infinity)")
    return tensors
