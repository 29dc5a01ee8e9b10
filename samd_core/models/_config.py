"""Frozen, plain-data network configurations.

A config holds only ints, floats, strings, bools and (nested) tuples of them, so that
``config.to_dict()`` is strict JSON and ``config_from_dict`` rebuilds it without executing code.
Every field is validated when the config is created; invalid values raise
`InvalidParameterError` naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

from samd_core.errors import InvalidParameterError
from samd_core.hashing import canonical_json, sha256_json
from samd_core.models._blocks import ACTS, NORMS
from samd_core.models._validate import (
    check_bool,
    check_float,
    check_int,
    check_option,
    int_tuple,
    per_stage,
    reject_unknown,
)

__all__ = ["AttentionUNetConfig", "NetworkConfig", "ResNetConfig", "UNetConfig", "config_from_dict"]


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


class NetworkConfig:
    """Mixin of every network config: plain-data export, canonical JSON and its SHA-256."""

    architecture: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (tuples become lists) including the ``architecture`` key."""

        def plain(v: Any) -> Any:
            if isinstance(v, tuple):
                return [plain(x) for x in v]
            return v

        out: dict[str, Any] = {"architecture": self.architecture}
        for f in fields(self):  # type: ignore[arg-type]
            out[f.name] = plain(getattr(self, f.name))
        return out

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace)."""
        return canonical_json(self.to_dict()).decode("utf-8")

    def sha256(self) -> str:
        """SHA-256 of the canonical JSON: identifies the architecture exactly."""
        return sha256_json(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class UNetConfig(NetworkConfig):
    """Configuration of a 2-D/3-D U-Net (Ronneberger et al. 2015; Çiçek et al. 2016).

    Parameters
    ----------
    spatial_dims : {2, 3}
        Number of spatial axes.
    in_channels, out_channels : int
        Input channels (modalities) and output channels (classes, background included); the
        network outputs logits.
    channels : tuple of int
        Feature channels per stage, finest first; its length is the number of stages (depth).
    strides : int or per-stage tuple
        Downsampling factor at the entry of each stage, one entry per stage, each an int or one
        int per axis (anisotropic plans use e.g. ``(1, 2, 2)``). Default ``(1, 2, 2, ...)``: the
        first stage works at full resolution (Ronneberger). A first stride > 1 downsamples at
        once and a final transposed convolution restores the input size.
    kernel_sizes : int or per-stage tuple
        Convolution kernel per stage (default 3, i.e. 3x3 or 3x3x3).
    convs_per_block : int
        Convolutions per encoder/decoder block (2 in the original papers); with ``residual`` this
        is the number of units in each residual block.
    residual : bool
        Residual blocks (identity or 1x1 projection shortcut) instead of plain conv blocks.
    norm : {"instance", "batch", "none"}
    act : {"leaky_relu", "relu", "prelu"}
    downsample : {"maxpool", "strided"}
        Max pooling (kernel = stride) before the block, or the block's first convolution strided.

    The decoder upsamples with a transposed convolution (kernel = stride), concatenates the skip
    and applies a block. Input sizes must be divisible by the product of strides per axis
    (`divisor`).
    """

    architecture: ClassVar[str] = "unet"
    spatial_dims: int
    in_channels: int
    out_channels: int
    channels: tuple[int, ...] = (32, 64, 128, 256, 320)
    strides: Any = None
    kernel_sizes: Any = 3
    convs_per_block: int = 2
    residual: bool = False
    norm: Literal["instance", "batch", "none"] = "instance"
    act: Literal["leaky_relu", "relu", "prelu"] = "leaky_relu"
    downsample: Literal["maxpool", "strided"] = "maxpool"

    def __post_init__(self) -> None:
        fn = type(self).__name__
        if self.spatial_dims not in (2, 3) or isinstance(self.spatial_dims, bool):
            raise InvalidParameterError("spatial_dims", fn, "2 or 3", self.spatial_dims)
        check_int(self.in_channels, "in_channels", fn)
        check_int(self.out_channels, "out_channels", fn)
        ch = int_tuple(self.channels, "channels", fn)
        if len(ch) < 2:
            raise InvalidParameterError("channels", fn, "at least 2 stages", self.channels)
        _set(self, "channels", ch)
        n, d = len(ch), self.spatial_dims
        strides = self.strides if self.strides is not None else (1,) + (2,) * (n - 1)
        _set(self, "strides", per_stage(strides, n, d, "strides", fn))
        ks = per_stage(self.kernel_sizes, n, d, "kernel_sizes", fn)
        if any(k % 2 == 0 for st in ks for k in st):
            raise InvalidParameterError("kernel_sizes", fn, "odd kernel sizes", self.kernel_sizes)
        _set(self, "kernel_sizes", ks)
        check_int(self.convs_per_block, "convs_per_block", fn)
        check_bool(self.residual, "residual", fn)
        check_option(self.norm, "norm", fn, NORMS)
        check_option(self.act, "act", fn, ACTS)
        check_option(self.downsample, "downsample", fn, ("maxpool", "strided"))

    @property
    def divisor(self) -> tuple[int, ...]:
        """Per-axis factor every input size must be a multiple of (product of strides)."""
        out = [1] * self.spatial_dims
        for st in self.strides:
            out = [o * s for o, s in zip(out, st)]
        return tuple(out)


@dataclass(frozen=True, kw_only=True)
class AttentionUNetConfig(UNetConfig):
    """A `UNetConfig` whose skips pass through attention gates (Oktay et al. 2018)."""

    architecture: ClassVar[str] = "attention_unet"


@dataclass(frozen=True, kw_only=True)
class ResNetConfig(NetworkConfig):
    """Configuration of a ResNet-style classifier, 2-D or 3-D (He et al. 2016, basic blocks).

    Parameters
    ----------
    spatial_dims : {2, 3}
    in_channels : int
    num_classes : int
        Number of output logits (case-level scores).
    channels : tuple of int
        Channels per stage (ResNet-18: ``(64, 128, 256, 512)``).
    blocks : tuple of int
        Basic blocks per stage (ResNet-18: ``(2, 2, 2, 2)``); the first block of every stage but
        the first has stride 2.
    stem_channels, stem_kernel, stem_stride : int
        The stem convolution (ResNet: 64, 7, 2), followed by a 3x3 max pool when ``stem_pool``.
    norm, act : str
        As in `UNetConfig` (ResNet default: batch norm, ReLU).
    dropout : float
        Dropout probability before the final linear layer (0 disables it).
    """

    architecture: ClassVar[str] = "resnet"
    spatial_dims: int
    in_channels: int
    num_classes: int
    channels: tuple[int, ...] = (64, 128, 256, 512)
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    stem_channels: int = 64
    stem_kernel: int = 7
    stem_stride: int = 2
    stem_pool: bool = True
    norm: Literal["instance", "batch", "none"] = "batch"
    act: Literal["leaky_relu", "relu", "prelu"] = "relu"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        fn = type(self).__name__
        if self.spatial_dims not in (2, 3) or isinstance(self.spatial_dims, bool):
            raise InvalidParameterError("spatial_dims", fn, "2 or 3", self.spatial_dims)
        check_int(self.in_channels, "in_channels", fn)
        check_int(self.num_classes, "num_classes", fn)
        _set(self, "channels", int_tuple(self.channels, "channels", fn))
        _set(self, "blocks", int_tuple(self.blocks, "blocks", fn))
        if len(self.blocks) != len(self.channels):
            raise InvalidParameterError("blocks", fn, f"{len(self.channels)} entries (one per stage)", self.blocks)
        check_int(self.stem_channels, "stem_channels", fn)
        check_int(self.stem_kernel, "stem_kernel", fn)
        if self.stem_kernel % 2 == 0:
            raise InvalidParameterError("stem_kernel", fn, "an odd integer", self.stem_kernel)
        check_int(self.stem_stride, "stem_stride", fn)
        check_bool(self.stem_pool, "stem_pool", fn)
        check_option(self.norm, "norm", fn, NORMS)
        check_option(self.act, "act", fn, ACTS)
        check_float(self.dropout, "dropout", fn, low=0.0, high=0.99)


_REGISTRY: dict[str, type[NetworkConfig]] = {
    c.architecture: c for c in (UNetConfig, AttentionUNetConfig, ResNetConfig)
}


def _tuplify(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_tuplify(x) for x in v)
    return v


def config_from_dict(data: Mapping[str, Any]) -> NetworkConfig:
    """Rebuild a network config from plain data (e.g. parsed JSON); validates every field.

    Parameters
    ----------
    data : mapping
        Must hold ``architecture`` (one of ``"unet"``, ``"attention_unet"``, ``"resnet"``) and
        the config's fields; unknown keys are rejected.
    """
    fn = "config_from_dict"
    if not isinstance(data, Mapping):
        raise InvalidParameterError("data", fn, "a mapping of config fields", data)
    arch = check_option(data.get("architecture"), "architecture", fn, sorted(_REGISTRY))
    cls = _REGISTRY[arch]
    body = {k: v for k, v in data.items() if k != "architecture"}
    reject_unknown(body, [f.name for f in fields(cls)], fn)  # type: ignore[arg-type]
    return cls(**{k: _tuplify(v) for k, v in body.items()})
