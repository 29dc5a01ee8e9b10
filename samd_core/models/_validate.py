"""Config-structure validators of the network configs (per-axis, per-stage values, unknown keys).

Generic checks (options, numbers, random generators, arrays) live in `samd_core.checks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from samd_core.checks import check_option
from samd_core.errors import InvalidParameterError

__all__ = ["check_option"]  # re-exported from samd_core.checks (the one home of option checks)


def check_int(value: Any, field: str, function: str, *, minimum: int = 1) -> int:
    """Return ``value`` as int, or raise when it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameterError(field, function, f"an integer >= {minimum}", value)
    return int(value)


def check_float(value: Any, field: str, function: str, *, low: float, high: float) -> float:
    """Return ``value`` as float, or raise when it is not a number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= float(value) <= high):
        raise InvalidParameterError(field, function, f"a number in [{low}, {high}]", value)
    return float(value)


def check_bool(value: Any, field: str, function: str) -> bool:
    """Return ``value`` when it is a bool, else raise."""
    if not isinstance(value, bool):
        raise InvalidParameterError(field, function, "a bool", value)
    return value


def int_tuple(value: Any, field: str, function: str, *, minimum: int = 1) -> tuple[int, ...]:
    """Return a non-empty tuple of ints ``>= minimum``, or raise."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidParameterError(field, function, f"a non-empty sequence of integers >= {minimum}", value)
    out = tuple(value)
    if not out or any(isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in out):
        raise InvalidParameterError(field, function, f"a non-empty sequence of integers >= {minimum}", value)
    return tuple(int(v) for v in out)


def per_axis(value: Any, n_dims: int, field: str, function: str, *, minimum: int = 1) -> tuple[int, ...]:
    """Expand an int to ``n_dims`` copies, or check a per-axis sequence of length ``n_dims``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < minimum:
            raise InvalidParameterError(field, function, f"an integer >= {minimum} or {n_dims} of them", value)
        return (int(value),) * n_dims
    out = int_tuple(value, field, function, minimum=minimum)
    if len(out) != n_dims:
        raise InvalidParameterError(field, function, f"an integer >= {minimum} or {n_dims} of them", value)
    return out


def per_stage(
    value: Any, n_stages: int, n_dims: int, field: str, function: str, *, minimum: int = 1
) -> tuple[tuple[int, ...], ...]:
    """Normalise per-stage, per-axis integers (``2``, ``(1, 2, 2)`` or ``((1,1,1), (2,2,2))``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (per_axis(value, n_dims, field, function, minimum=minimum),) * n_stages
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidParameterError(field, function, f"{n_stages} per-stage values", value)
    items = tuple(value)
    if len(items) != n_stages:
        raise InvalidParameterError(field, function, f"{n_stages} per-stage values (one per entry of `channels`)", value)
    return tuple(per_axis(v, n_dims, field, function, minimum=minimum) for v in items)


def reject_unknown(data: Mapping[str, Any], known: Iterable[str], function: str) -> None:
    """Raise when ``data`` has a key that is not a config field (with a "did you mean" hint)."""
    names = tuple(known)
    for key in data:
        if key not in names:
            raise InvalidParameterError("key", function, f"one of the config fields {sorted(names)}", key, options=names)
