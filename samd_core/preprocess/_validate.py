"""Small validation helpers shared by the preprocessing modules (one error template)."""

from __future__ import annotations

from typing import Any

import numpy as np

from samd_core.errors import InvalidParameterError


def as_rng(rng: Any, function: str) -> np.random.Generator:
    """``rng`` as a numpy Generator (an int seeds a new PCG64 generator)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and int(rng) >= 0:
        return np.random.default_rng(int(rng))
    raise InvalidParameterError("rng", function, "a numpy.random.Generator or an int >= 0", rng)


def int_tuple(value: Any, n: int | None, field: str, function: str, *, minimum: int = 1) -> tuple[int, ...]:
    """``value`` as a tuple of ``n`` ints >= ``minimum`` (a scalar is broadcast)."""
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


def probability(value: Any, field: str, function: str) -> float:
    """``value`` as a float in [0, 1]."""
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(field, function, "a number in [0, 1]", value) from None
    if not (0.0 <= p <= 1.0) or isinstance(value, bool):
        raise InvalidParameterError(field, function, "a number in [0, 1]", value)
    return p
