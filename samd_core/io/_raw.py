"""Fast access to text attributes without pydicom's per-value conversion and validation.

Header parsing of a 300-file series is dominated by pydicom converting values it does not
need converted; these helpers read the raw element bytes once (ASCII text VRs: CS, DS, IS, UI,
LO, SH) and leave validation to the series checks that follow.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset

__all__ = ["raw_float", "raw_floats", "raw_text"]


def raw_text(ds: Dataset, tag: int) -> str | None:
    """The value of ``tag`` as text (multi-values joined by ``\\``), or None when absent/empty."""
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value: Any = elem.value
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("latin-1").strip(" \x00")
    elif isinstance(value, str):
        text = value.strip(" \x00")
    elif isinstance(value, (list, tuple)) or hasattr(value, "__len__") and not isinstance(value, (int, float)):
        text = "\\".join(str(v).strip() for v in value)
    else:
        text = str(value)
    return text or None


def raw_floats(ds: Dataset, tag: int, n: int) -> tuple[float, ...] | None:
    """``n`` decimal values of ``tag``, or None when absent, malformed or of another length."""
    text = raw_text(ds, tag)
    if text is None:
        return None
    try:
        out = tuple(float(v) for v in text.split("\\"))
    except ValueError:
        return None
    return out if len(out) == n else None


def raw_float(ds: Dataset, tag: int, default: float) -> float:
    """First decimal value of ``tag`` (``default`` when absent); ValueError when malformed."""
    text = raw_text(ds, tag)
    return default if text is None else float(text.split("\\")[0])
