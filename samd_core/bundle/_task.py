"""Task and input declarations of a model-agnostic bundle (``task.json``, ``input.json``).

``task.json``::

    {"kind": "classification" | "segmentation",
     "classes": ["normal", "finding"],        # output channel order
     "positive_class": "finding",              # case score = its probability
     "activation": "softmax" | "sigmoid" | "none",
     "threshold": 0.5}                         # locked operating point on the case score

``input.json``::

    {"dims": 2 | 3, "channels": 1, "modality": ["DX", "CR"], "shape": [64, 64],
     "overlap": 0.25, "blend_mode": "gaussian"}   # segmentation sliding windows (optional keys)

Segmentation inputs of another size are predicted with sliding windows of ``shape``
(`samd_core.inference.sliding_window_inference`, blending the class probabilities with
``overlap`` and ``blend_mode``); classification inputs must have exactly ``shape``.

Output channels: ``softmax`` and ``none`` give one channel per class; ``sigmoid`` gives one per
class, or a single channel for two classes (the probability of the second, the first being its
complement). Segmentation labels are the arg-max class; its case score is the largest
probability of ``positive_class`` on the input grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from samd_core.bundle._settings import MAX_ROI_AXIS, real_number
from samd_core.errors import InvalidParameterError

__all__ = ["ACTIVATIONS", "TASK_KINDS", "InputSpec", "TaskSpec"]

TASK_KINDS = ("classification", "segmentation")
ACTIVATIONS = ("none", "sigmoid", "softmax")
MAX_CLASSES = 1024
#: Most input channels (colour photographs have 3; multi-parametric stacks a few more).
MAX_CHANNELS = 16


def _keys(data: Any, fn: str, required: set[str], optional: frozenset[str] | set[str] = frozenset()) -> Mapping[str, Any]:
    if not isinstance(data, Mapping) or not required <= set(data) <= required | optional:
        got = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise InvalidParameterError("keys", fn, f"the keys {sorted(required)} (optional {sorted(optional)})", got)
    return data


@dataclass(frozen=True)
class TaskSpec:
    """What the network's output means (see the module docstring)."""

    kind: Literal["classification", "segmentation"]
    classes: tuple[str, ...]
    positive_class: str
    activation: Literal["none", "sigmoid", "softmax"]
    threshold: float

    @classmethod
    def from_dict(cls, data: Any) -> TaskSpec:
        """Validate plain data."""
        fn = "TaskSpec.from_dict"
        d = _keys(data, fn, {"kind", "classes", "activation", "threshold"}, {"positive_class"})
        kind = d["kind"]
        if not isinstance(kind, str) or kind not in TASK_KINDS:
            raise InvalidParameterError("kind", fn, f"one of {list(TASK_KINDS)}", kind, options=TASK_KINDS)
        classes = d["classes"]
        if (
            not isinstance(classes, (list, tuple))
            or not 2 <= len(classes) <= MAX_CLASSES
            or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in classes)
            or len(set(classes)) != len(classes)
        ):
            raise InvalidParameterError("classes", fn, f"2 to {MAX_CLASSES} distinct class names", classes)
        pos = d.get("positive_class", classes[-1] if len(classes) == 2 else None)
        if not isinstance(pos, str) or pos not in classes:
            raise InvalidParameterError("positive_class", fn, f"one of {list(classes)}", pos, options=classes)
        act = d["activation"]
        if not isinstance(act, str) or act not in ACTIVATIONS:
            raise InvalidParameterError("activation", fn, f"one of {list(ACTIVATIONS)}", act, options=ACTIVATIONS)
        thr = real_number(d["threshold"], "threshold", fn, low=0.0, high=1.0)
        return cls(kind, tuple(classes), pos, act, thr)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """Plain data; round-trips through `from_dict`."""
        return {"kind": self.kind, "classes": list(self.classes), "positive_class": self.positive_class,
                "activation": self.activation, "threshold": self.threshold}

    @property
    def output_channels(self) -> tuple[int, ...]:
        """Accepted numbers of output channels."""
        n = len(self.classes)
        return (n, 1) if self.activation == "sigmoid" and n == 2 else (n,)


@dataclass(frozen=True)
class InputSpec:
    """The model's input: dimensions, channels, accepted modalities, exact size (array order)."""

    dims: int
    channels: int
    modality: tuple[str, ...]
    shape: tuple[int, ...]
    overlap: float = 0.25
    blend_mode: Literal["gaussian", "constant"] = "gaussian"

    @classmethod
    def from_dict(cls, data: Any) -> InputSpec:
        """Validate plain data."""
        fn = "InputSpec.from_dict"
        d = _keys(data, fn, {"dims", "channels", "shape"}, {"modality", "overlap", "blend_mode"})
        dims = d["dims"]
        if isinstance(dims, bool) or dims not in (2, 3):
            raise InvalidParameterError("dims", fn, "2 or 3", dims)
        ch = d["channels"]
        if isinstance(ch, bool) or not isinstance(ch, int) or not 1 <= ch <= MAX_CHANNELS:
            raise InvalidParameterError("channels", fn, f"an integer in [1, {MAX_CHANNELS}]", ch)
        shape = d["shape"]
        if (
            not isinstance(shape, (list, tuple))
            or len(shape) != dims
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_ROI_AXIS for s in shape)
        ):
            raise InvalidParameterError("shape", fn, f"{dims} integers in [1, {MAX_ROI_AXIS}] (array order)", shape)
        mod = d.get("modality", [])
        if isinstance(mod, str):
            mod = [mod]
        if not isinstance(mod, (list, tuple)) or not all(isinstance(m, str) and 0 < len(m) <= 16 for m in mod):
            raise InvalidParameterError("modality", fn, "a list of Modality codes", mod)
        overlap = real_number(d.get("overlap", 0.25), "overlap", fn, low=0.0, high=0.9)
        blend = d.get("blend_mode", "gaussian")
        if blend not in ("gaussian", "constant"):
            raise InvalidParameterError("blend_mode", fn, "one of ['constant', 'gaussian']", blend,
                                        options=("constant", "gaussian"))
        return cls(int(dims), int(ch), tuple(mod), tuple(int(s) for s in shape), overlap, blend)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; round-trips through `from_dict`."""
        return {"dims": self.dims, "channels": self.channels, "modality": list(self.modality),
                "shape": list(self.shape), "overlap": self.overlap, "blend_mode": self.blend_mode}
