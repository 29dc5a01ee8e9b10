"""Rounding of numbers for people: the one place documents and console lines format estimates."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["fmt_ci", "fmt_num", "fmt_pct"]


def fmt_num(x: Any, digits: int = 3) -> Any:
    """A number rounded to ``digits`` decimals; ``None`` -> "n/a", NaN -> "not estimable".

    Objects that render themselves (a ``Missing`` placeholder) and non-numeric strings pass through.
    """
    if x is None:
        return "n/a"
    if hasattr(x, "__html__"):
        return x
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return x
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "not estimable"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}f}"


def fmt_pct(x: Any, digits: int = 1) -> Any:
    """A proportion as a percentage (``0.95`` -> ``"95.0%"``); other values as `fmt_num`."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return f"{100.0 * x:.{digits}f}%"
    return fmt_num(x, digits)


def fmt_ci(value: Any, ci_low: Any, ci_high: Any, confidence_level: Any = None, digits: int = 3) -> str:
    """``"0.690 (95% CI 0.610 to 0.760)"``; the level is left out when unknown."""
    level = f"{fmt_pct(confidence_level, 0)} " if isinstance(confidence_level, float) else ""
    return f"{fmt_num(value, digits)} ({level}CI {fmt_num(ci_low, digits)} to {fmt_num(ci_high, digits)})"
