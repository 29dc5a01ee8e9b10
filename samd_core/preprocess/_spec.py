"""Spec plumbing: canonical JSON, hashing, the step base class and field validators.

A pipeline spec is plain data::

    {"version": 1, "steps": [{"op": "resample", "spacing": [2.5, 1.5, 1.5]}, ...]}

Each validator turns a raw value into its canonical form (numbers as floats, sequences as
lists) or raises `InvalidParameterError` naming the key path (``steps[1].spacing``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from samd_core.errors import InvalidParameterError
from samd_core.hashing import canonical_json as _canonical_bytes
from samd_core.hashing import sha256_json

__all__ = ["FN", "Grid", "Step", "canonical_json", "sha256_of"]

FN = "Pipeline.from_spec"

Validator = Callable[[Any, str], Any]


def canonical_json(data: Any) -> str:
    """`samd_core.hashing.canonical_json` of ``data``, as text: the string that is hashed.

    A validated spec holds only numbers, lists and ASCII option names (every string goes
    through `v_choice`), so this text is pure ASCII and its bytes equal those of release
    0.1.0's ``ensure_ascii=True`` encoding: spec hashes are unchanged.
    """
    return _canonical_bytes(data).decode("utf-8")


def sha256_of(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``data`` (`samd_core.hashing.sha256_json`)."""
    return sha256_json(data)


# ---------------------------------------------------------------------- validators
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(float(v))


def v_number(v: Any, path: str) -> float:
    if not _is_number(v):
        raise InvalidParameterError(path, FN, "a finite number", v)
    return float(v) + 0.0  # -0.0 -> 0.0, so the canonical JSON has one spelling of zero


def v_positive(v: Any, path: str) -> float:
    if not _is_number(v) or float(v) <= 0:
        raise InvalidParameterError(path, FN, "a finite number > 0", v)
    return float(v)


def v_optional_number(v: Any, path: str) -> float | None:
    return None if v is None else v_number(v, path)


def v_optional_positive(v: Any, path: str) -> float | None:
    return None if v is None else v_positive(v, path)


#: Most values a per-channel parameter list may hold (one per input channel).
MAX_CHANNEL_VALUES = 64


def _channel_list(v: Any, path: str, positive: bool) -> list[float] | None:
    ok = isinstance(v, (list, tuple)) and 1 <= len(v) <= MAX_CHANNEL_VALUES
    ok = ok and all(_is_number(x) and (not positive or float(x) > 0) for x in v)
    if not ok:
        return None
    return [float(x) + 0.0 for x in v]


def v_optional_number_or_list(v: Any, path: str) -> float | list[float] | None:
    """None, a finite number, or one finite number per channel (a list)."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        out = _channel_list(v, path, positive=False)
        if out is None:
            raise InvalidParameterError(path, FN, f"a finite number or a list of 1 to {MAX_CHANNEL_VALUES} (one per "
                                        "channel)", v)
        return out
    return v_number(v, path)


def v_optional_positive_or_list(v: Any, path: str) -> float | list[float] | None:
    """None, a finite number > 0, or one such number per channel (a list)."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        out = _channel_list(v, path, positive=True)
        if out is None:
            raise InvalidParameterError(path, FN, f"a finite number > 0 or a list of 1 to {MAX_CHANNEL_VALUES} of them "
                                        "(one per channel)", v)
        return out
    return v_positive(v, path)


def v_optional_bool(v: Any, path: str) -> bool | None:
    if v is not None and not isinstance(v, bool):
        raise InvalidParameterError(path, FN, "true, false or null", v)
    return v


def v_percentile(v: Any, path: str) -> float:
    if not _is_number(v) or not 0 <= float(v) <= 100:
        raise InvalidParameterError(path, FN, "a number in [0, 100] (percent)", v)
    return float(v)


def v_spacing(v: Any, path: str) -> list[float]:
    if not isinstance(v, (list, tuple)) or len(v) not in (2, 3) or not all(_is_number(x) and float(x) > 0 for x in v):
        raise InvalidParameterError(path, FN, "2 or 3 numbers > 0 (mm, array order z, y, x)", v)
    return [float(x) for x in v]


def v_shape(v: Any, path: str) -> list[int]:
    ok = isinstance(v, (list, tuple)) and len(v) in (2, 3)
    ok = ok and all(_is_number(x) and float(x) == int(x) and int(x) >= 1 for x in v)
    if not ok:
        raise InvalidParameterError(path, FN, "2 or 3 integers >= 1 (voxels, array order)", v)
    return [int(x) for x in v]


def v_margin(v: Any, path: str) -> list[int]:
    vals = [v] if _is_number(v) else v
    ok = isinstance(vals, (list, tuple)) and len(vals) in (1, 2, 3)
    ok = ok and all(_is_number(x) and float(x) == int(x) and int(x) >= 0 for x in vals)
    if not ok:
        raise InvalidParameterError(path, FN, "an integer >= 0 or 2-3 of them (voxels)", v)
    return [int(x) for x in vals]


def v_choice(options: tuple[str, ...]) -> Validator:
    def check(v: Any, path: str) -> str:
        if v not in options:
            raise InvalidParameterError(path, FN, f"one of {list(options)}", v, options=options)
        return str(v)

    return check


# ---------------------------------------------------------------------- grids
@dataclass(frozen=True)
class Grid:
    """Voxel grid: shape and spacing in array order (mm), LPS origin, direction columns."""

    shape: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, float, float]
    direction: tuple[tuple[float, float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "spacing": list(self.spacing),
            "origin": list(self.origin),
            "direction": [list(r) for r in self.direction],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Grid:
        return cls(
            tuple(int(x) for x in d["shape"]),
            tuple(float(x) for x in d["spacing"]),
            tuple(float(x) for x in d["origin"]),  # type: ignore[arg-type]
            tuple(tuple(float(x) for x in r) for r in d["direction"]),
        )

    def shifted(self, index_offset: Any, shape: tuple[int, ...]) -> Grid:
        """Grid of ``shape`` whose voxel 0 sits at (continuous) index ``index_offset`` of this grid."""
        off = np.asarray(index_offset, dtype=float) * np.asarray(self.spacing)
        if len(self.shape) == 2:
            off = np.concatenate([[0.0], off])
        origin = np.asarray(self.origin) + np.asarray(self.direction) @ off
        return Grid(tuple(shape), self.spacing, tuple(float(x) for x in origin), self.direction)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- steps
class Step:
    """One pipeline step. Subclasses declare ``op``, ``geometric`` and a ``schema``.

    ``schema`` maps each parameter to ``(validator, default)``; ``REQUIRED`` as default makes
    it mandatory. Kernels receive arrays that are spatial (labels) or channel-first
    ``(C, *spatial)`` (probabilities, in `inverse` only).
    """

    op: ClassVar[str] = ""
    geometric: ClassVar[bool] = False
    schema: ClassVar[dict[str, tuple[Validator, Any]]] = {}
    REQUIRED: ClassVar[object] = object()

    def __init__(self, params: dict[str, Any], path: str) -> None:
        self.params = params
        self.path = path

    @classmethod
    def from_spec(cls, raw: Mapping[str, Any], path: str) -> Step:
        allowed = set(cls.schema) | {"op"}
        for key in raw:
            if key not in allowed:
                raise InvalidParameterError(
                    f"{path}.{key}", FN, f"absent (op {cls.op!r} takes {sorted(allowed)})", key, options=sorted(allowed)
                )
        params: dict[str, Any] = {}
        for key, (check, default) in cls.schema.items():
            if key not in raw:
                if default is Step.REQUIRED:
                    raise InvalidParameterError(f"{path}.{key}", FN, f"given (required by op {cls.op!r})", None)
                params[key] = default
            else:
                params[key] = check(raw[key], f"{path}.{key}")
        step = cls(params, path)
        step.check()
        return step

    def check(self) -> None:
        """Cross-field checks (override)."""

    def spec(self) -> dict[str, Any]:
        return {"op": self.op, **self.params}

    # kernels -------------------------------------------------------------
    def forward(self, arr: np.ndarray, grid: Grid, kind: str) -> tuple[np.ndarray, Grid, dict[str, Any]]:
        """Apply to an image (``kind="image"``) or label map; return array, grid, resolved record."""
        raise NotImplementedError

    def replay(self, arr: np.ndarray, grid: Grid, rec: dict[str, Any], kind: str) -> tuple[np.ndarray, Grid]:
        """Apply with the parameters resolved in ``rec`` (from a forward pass on another volume)."""
        raise NotImplementedError

    def inverse(self, arr: np.ndarray, rec: dict[str, Any], kind: str) -> np.ndarray:
        """Map an array on this step's output grid back to its input grid (identity by default)."""
        return arr

    def bad(self, key: str, allowed: str, value: Any, function: str = "Pipeline.forward") -> InvalidParameterError:
        """The one error template, naming this step's key path."""
        return InvalidParameterError(f"{self.path}.{key}", function, allowed, value)
