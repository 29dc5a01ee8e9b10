"""Argument checks shared by every samd package: one module, one error template.

Every check raises `samd_core.errors.InvalidParameterError` with the template
"`<field>` of `<function>` must be <allowed>; got <value>" (plus "did you mean ...?" for a
misspelled option), then returns the value in its canonical form, so a public function reads
"validate, then call a pure kernel" (scikit-learn ``_param_validation``, scipy ``_bootstrap_iv``).

Contents: options (`check_option`), the confidence level (`check_confidence_level`, the one
rule: a real number strictly between 0 and 1), random generators (`as_rng`), numbers
(`check_number`, `as_count`, `check_probability`), arrays (`as_array`, `as_labels`,
`as_scores`, `check_same_length`, `check_two_classes`) and integer tuples (`int_tuple`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from samd_core.errors import InvalidParameterError

__all__ = [
    "Described",
    "as_array",
    "as_count",
    "as_labels",
    "as_rng",
    "as_scores",
    "check_confidence_level",
    "check_number",
    "check_option",
    "check_probability",
    "check_same_length",
    "check_two_classes",
    "int_tuple",
]


class Described(str):
    """A description of an offending value, shown without quotes in the error template."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


class _Found:
    """Renders an offending entry as ``<value> at index <i>`` inside the error template."""

    __slots__ = ("index", "value")

    def __init__(self, value: Any, index: Any) -> None:
        self.value = value
        self.index = index

    def __repr__(self) -> str:
        v = self.value
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return f"{v!r} at index {self.index}"


# ---------------------------------------------------------------------- options
def check_option(value: Any, field: str, function: str, options: Iterable[str]) -> str:
    """``value`` must be one of ``options``; a near miss gets a "did you mean" hint.

    Near misses are those `samd_core.errors.format_invalid` finds (edit distance), and also
    spellings that differ only in case or in ``_`` versus ``-`` (``"Clopper-Pearson"``).
    """
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


# ---------------------------------------------------------------------- numbers
def check_confidence_level(value: Any, function: str, field: str = "confidence_level") -> float:
    """The one rule for a two-sided confidence level: a real number strictly in (0, 1).

    Booleans, strings, NaN and infinities are refused. Returns a Python float.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(field, function, "a float in (0, 1)", value)
    x = float(value)
    if not (0.0 < x < 1.0):  # also false for NaN
        raise InvalidParameterError(field, function, "a float in (0, 1)", value)
    return x


def check_number(
    value: Any,
    field: str,
    function: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (not a bool), optionally within ``[low, high]``; returns a float.

    ``low_open``/``high_open`` make a bound strict (``check_number(x, ..., low=0,
    low_open=True)`` is "a finite number > 0").
    """
    lo = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
    hi = "" if high is None else (f"< {high:g}" if high_open else f"<= {high:g}")
    allowed = "a finite number" + (f" {lo}" if lo else "") + (" and" if lo and hi else "") + (f" {hi}" if hi else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InvalidParameterError(field, function, allowed, value)
    x = float(value)
    if low is not None and (x < low or (low_open and x == low)):
        raise InvalidParameterError(field, function, allowed, value)
    if high is not None and (x > high or (high_open and x == high)):
        raise InvalidParameterError(field, function, allowed, value)
    return x


def check_probability(value: Any, field: str, function: str) -> float:
    """A number in [0, 1] (not a bool); returns a float."""
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(field, function, "a number in [0, 1]", value) from None
    if not (0.0 <= p <= 1.0) or isinstance(value, bool):
        raise InvalidParameterError(field, function, "a number in [0, 1]", value)
    return p


def as_count(value: Any, field: str, function: str, *, minimum: int = 0) -> int:
    """An integer count ``>= minimum`` (Python or numpy integer, or an integral float)."""
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


def int_tuple(value: Any, n: int | None, field: str, function: str, *, minimum: int = 1) -> tuple[int, ...]:
    """``value`` as a tuple of ``n`` integers ``>= minimum`` (a scalar is broadcast to ``n``)."""
    try:
        arr = np.atleast_1d(np.asarray(value))
    except Exception:  # noqa: BLE001 - any conversion failure is a bad value
        raise InvalidParameterError(field, function, f"{n} integers >= {minimum}", value) from None
    if n is not None and arr.size == 1 and n > 1:
        arr = np.repeat(arr, n)
    ok = (
        arr.ndim == 1
        and (n is None or arr.size == n)
        and arr.size > 0
        and arr.dtype.kind in "iuf"
        and bool(np.all(np.isfinite(arr)))
        and bool(np.all(arr == np.round(arr)))
        and bool(np.all(arr >= minimum))
    )
    if not ok:
        what = f"{n} integers >= {minimum}" if n is not None else f"integers >= {minimum}"
        raise InvalidParameterError(field, function, what, value)
    return tuple(int(v) for v in arr)


# ---------------------------------------------------------------------- randomness
def as_rng(rng: Any, function: str, field: str = "rng", *, allow_none: bool = False) -> np.random.Generator:
    """A `numpy.random.Generator` from a Generator or a non-negative integer seed.

    An integer seeds a new PCG64 generator (``numpy.random.default_rng``), so the same seed
    gives the same stream. ``None`` is refused unless ``allow_none`` (then a fresh,
    OS-seeded generator is returned: results are not reproducible).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and int(rng) >= 0:
        return np.random.default_rng(int(rng))
    if rng is None and allow_none:
        return np.random.default_rng()
    raise InvalidParameterError(field, function, "a numpy.random.Generator or a non-negative int seed", rng)


# ---------------------------------------------------------------------- arrays
def as_array(
    values: Any,
    field: str,
    function: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int, ...] | None = None,
    dtype_kinds: str = "biuf",
    finite: bool = False,
    non_empty: bool = True,
) -> np.ndarray:
    """``values`` as a numpy array with the stated number of dimensions, shape and dtype kinds.

    Parameters
    ----------
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    shape : tuple of int, optional
        Exact shape required.
    dtype_kinds : str
        Allowed ``dtype.kind`` letters (default: bool, signed, unsigned, float).
    finite : bool
        Refuse NaN and infinities (the first offending index is named).
    non_empty : bool
        Refuse an array with no elements.
    """
    try:
        arr = np.asarray(values)
    except Exception as exc:  # noqa: BLE001 - ragged input and the like
        raise InvalidParameterError(field, function, "an array of numbers", Described("a ragged or non-array value")) from exc
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if dims is not None and arr.ndim not in dims:
        want = " or ".join(f"{d}-d" for d in dims)
        raise InvalidParameterError(field, function, f"a {want} array", Described(f"array of shape {arr.shape}"))
    if shape is not None and arr.shape != tuple(shape):
        raise InvalidParameterError(field, function, f"an array of shape {tuple(shape)}", Described(f"shape {arr.shape}"))
    if non_empty and arr.size == 0:
        raise InvalidParameterError(field, function, "a non-empty array", Described(f"shape {arr.shape}"))
    if arr.dtype.kind not in dtype_kinds:
        raise InvalidParameterError(field, function, "an array of numbers", Described(f"dtype {arr.dtype}"))
    if finite and arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            idx = where[0] if len(where) == 1 else where
            raise InvalidParameterError(field, function, "finite values (no NaN or inf)", _Found(arr[where].item(), idx))
    return arr


def _as_1d(values: Any, field: str, function: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except Exception as exc:  # noqa: BLE001 - ragged input and the like
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


def check_same_length(function: str, **arrays: Any) -> None:
    """All 1-d arrays have the length of the first one."""
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
