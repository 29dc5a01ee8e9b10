"""CSV that a spreadsheet may open, safe from formula injection (OWASP "CSV Injection").

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (``=cmd|' /C calc'!A0``). Every CSV that samd
writes for people (``cases.csv``, audit exports, tables of results) goes through `safe_cell`:
such text gets a leading apostrophe, which spreadsheets show as text. Numbers are left as they
are (``-0.5`` is a number, not a formula). The raw value is always kept in the JSON outputs, which
are the record; the CSV is a convenience copy.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["FORMULA_PREFIXES", "safe_cell", "safe_frame", "write_safe_csv"]

#: Leading characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would evaluate; then ``"'" + value``.

    Numbers (including their text forms such as ``"-1.5e-3"``, ``"-inf"``) are not formulas and
    are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _is_number_text(value):
        return "'" + value
    return value


def safe_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame whose text cells (and column names) pass `safe_cell`."""
    out = frame.copy()
    out.columns = [safe_cell(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("str", "string"):  # pandas 3: "str" dtype
            out[col] = out[col].map(safe_cell)
    return out


def write_safe_csv(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write rows as UTF-8 CSV (``\\n`` line ends), every cell through `safe_cell`.

    Floats are written with ``repr`` (shortest round-trip form); non-finite floats as
    ``nan``/``inf``/``-inf``.
    """

    def cell(v: Any) -> Any:
        if isinstance(v, float) or (isinstance(v, numbers.Real) and not isinstance(v, (bool, numbers.Integral))):
            f = float(v)
            return repr(f) if math.isfinite(f) else ("nan" if math.isnan(f) else ("inf" if f > 0 else "-inf"))
        return safe_cell(v)

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([safe_cell(h) for h in header])
        for row in rows:
            w.writerow([cell(v) for v in row])
