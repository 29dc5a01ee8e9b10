"""Input validation shared by the statistics (validate first, then call a pure kernel).

Every check raises `validation.errors.InvalidParameterError` with the one error template
"`<field>` of `<function>` must be <allowed>; got <value>".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from validation.errors import InvalidParameterError

__all__ = [
    "Described",
    "as_count",
    "as_labels",
    "as_rng",
    "as_scores",
    "check_confidence_level",
    "check_option",
    "check_same_length",
    "check_two_classes",
]


class Described(str):
    """A description of an offending value, shown without quotes in the error template."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


class _Found:
    """Renders an offending entry as ``<value> at index <i>`` inside the error template."""

    __slots__ = ("index", "value")

    def __init__(self, value: Any, index: int) -> None:
        self.value = value
        self.index = index

    def __repr__(self) -> str:
        v = self.value
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return f"{v!r} at index {self.index}"


def check_option(value: Any, field: str, function: str, options: Iterable[str]) -> str:
    """``value`` must be one of ``options`` (with a "did you mean" hint)."""
    opts = tuple(options)
    if not isinstance(value, str) or value not in opts:
        allowed = "one of " + ", ".join(repr(o) for o in opts)
        err = InvalidParameterError(field, function, allowed, value, options=opts)
        if isinstance(value, str) and "did you mean" not in str(err):
            folded = {o.lower().replace("_", "-"): o for o in opts}
            hit = folded.get(value.lower().replace("_", "-"))
            if hit is not None:
                err.args = (f"{err}; did you mean {hit!r}?",)
        raise err
    return value


def check_confidence_level(value: Any, function: str, field: str = "confidence_level") -> float:
    """A two-sided confidence level strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(field, function, "a float in (0, 1)", value)
    x = float(value)
    if not (0.0 < x < 1.0):
        raise InvalidParameterError(field, function, "a float in (0, 1)", value)
    return x


def as_count(value: Any, field: str, function: str, *, minimum: int = 0) -> int:
    """A non-negative integer count (Python or numpy integer, or an integral float)."""
    if isinstance(value, bool):
        raise InvalidParameterError(field, function, f"an integer >= {minimum}", value)
    if isinstance(value, numbers.Integral):
        x = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value).is_integer():
        x = int(value)
    else:
        raise InvalidParameterError(field, function, f"an integer >= {minimum}", value)
    if x < minimum:
        raise InvalidParameterError(field, function, f"an integer >= {minimum}", value)
    return x


def _as_1d(values: Any, field: str, function: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except Exception as exc:  # ragged input and the like
        raise InvalidParameterError(field, function, "a 1-d array of numbers", values) from exc
    if arr.ndim != 1:
        raise InvalidParameterError(field, function, "a 1-d array", Described(f"array of shape {arr.shape}"))
    if arr.size == 0:
        raise InvalidParameterError(field, function, "a non-empty 1-d array", Described("an empty array"))
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InvalidParameterError(field, function, "a 1-d array of numbers", Described(f"dtype {arr.dtype}"))
    return arr


def as_labels(values: Any, field: str, function: str) -> np.ndarray:
    """Binary labels: a non-empty 1-d array of 0/1 (bool or numbers) -> ``bool`` array."""
    arr = _as_1d(values, field, function)
    if arr.dtype == np.bool_:
        return arr.copy()
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidParameterError(field, function, "0/1 labels", Described(f"dtype {arr.dtype}"))
    bad = ~((arr == 0) | (arr == 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(field, function, "0/1 labels", _Found(arr[i].item(), i))
    return arr == 1


def as_scores(values: Any, field: str, function: str) -> np.ndarray:
    """Finite real scores: a non-empty 1-d array -> ``float64`` array (a copy)."""
    arr = _as_1d(values, field, function)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidParameterError(field, function, "real, finite scores", Described(f"dtype {arr.dtype}"))
    out = np.array(arr, dtype=np.float64)
    finite = np.isfinite(out)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise InvalidParameterError(field, function, "finite scores (no NaN or inf)", _Found(out[i].item(), i))
    return out


def check_same_length(function: str, **arrays: np.ndarray) -> None:
    """All arrays have the length of the first one."""
    items = list(arrays.items())
    first_name, first = items[0]
    for name, arr in items[1:]:
        if len(arr) != len(first):
            raise InvalidParameterError(
                name, function, f"the same length as `{first_name}` ({len(first)})", Described(f"length {len(arr)}")
            )


def check_two_classes(y: np.ndarray, field: str, function: str, *, minimum: int = 1) -> tuple[int, int]:
    """Both classes present (at least ``minimum`` of each); returns ``(n_pos, n_neg)``."""
    n_pos = int(np.count_nonzero(y))
    n_neg = int(y.size - n_pos)
    if n_pos < minimum or n_neg < minimum:
        raise InvalidParameterError(
            field,
            function,
            f"labels with at least {minimum} positive (1) and {minimum} negative (0) case(s)",
            Described(f"{n_pos} positive and {n_neg} negative"),
        )
    return n_pos, n_neg


def as_rng(rng: Any, function: str, field: str = "rng") -> np.random.Generator:
    """A `numpy.random.Generator` from a Generator or a non-negative integer seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and int(rng) >= 0:
        return np.random.default_rng(int(rng))
    raise InvalidParameterError(field, function, "a numpy.random.Generator or a non-negative int seed", rng)
