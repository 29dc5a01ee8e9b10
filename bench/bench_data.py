"""Input data shared by the benchmarks (bench code never imports the test suite).

`cranium_hu` reads the InVesalius example head CT when the Debian package
``invesalius-examples`` is installed (``INV3``); callers fall back to synthetic data otherwise.
"""

from __future__ import annotations

import functools
import tarfile
from pathlib import Path

import numpy as np

__all__ = ["INV3", "cranium_hu"]

INV3 = Path("/usr/share/doc/invesalius-examples/examples/Cranium.inv3")


@functools.lru_cache(maxsize=1)
def cranium_hu() -> np.ndarray:
    """The whole InVesalius head CT, int16 HU, (z, y, x) with DICOM row order (read-only)."""
    with tarfile.open(INV3) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("matrix.dat"))
        raw = tar.extractfile(member).read()  # type: ignore[union-attr]
    arr = np.frombuffer(raw, dtype="<i2").reshape(108, 256, 256)[:, ::-1, :]
    out = np.ascontiguousarray(arr)
    out.flags.writeable = False
    return out
