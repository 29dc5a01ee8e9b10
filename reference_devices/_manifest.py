"""Writing a synthetic cohort's ``manifest.csv`` (both reference devices use this)."""

from __future__ import annotations

import csv
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["write_manifest"]


def write_manifest(path: pathlib.Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> pathlib.Path:
    """Write ``rows`` as UTF-8 CSV with header ``columns`` and ``\\n`` line ends; return ``path``.

    Same arguments, same bytes (the cohort generators are deterministic).
    """
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path
