"""Bounded resources: hostile sizes end in a clear samd error, fast, under a 2 GiB address-space limit.

Each case runs in a fresh interpreter whose address space is capped with
``resource.setrlimit(RLIMIT_AS, 2 GiB)`` and whose wall time is capped by a timeout. The child
prints the class and message of the error it got; the test asserts a samd error (not
MemoryError, not killed, not timed out).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT_BYTES = 2 * 2**30
TIMEOUT_S = 120

PRELUDE = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({LIMIT_BYTES}, {LIMIT_BYTES}))
import numpy as np, pydicom
from pathlib import Path
from samd_core import Volume
from samd_core.errors import SamdError
from samd_core.io import read_dicom_series, write_dicom_series
d = Path(sys.argv[1])

def series(n=4, rows=8, cols=8, **kw):
    arr = np.arange(n * rows * cols, dtype=np.int16).reshape(n, rows, cols)
    return write_dicom_series(Volume(arr, (1.0, 0.5, 0.5)), d, **kw)

def edit(path, **values):
    ds = pydicom.dcmread(path)
    for k, v in values.items():
        setattr(ds, k, v)
    ds.save_as(path)
"""

CASES = {
    # Rows x Columns 65535^2 declared, 128 bytes of PixelData: refused before allocating 8 GiB.
    "rows-columns-65535-native": """
f = series()
for p in f:
    edit(p, Rows=65535, Columns=65535)
read_dicom_series(d)
""",
    # The same declared size with RLE-compressed data: refused before decoding.
    "rows-columns-65535-rle": """
f = series(transfer_syntax="rle")
for p in f:
    edit(p, Rows=65535, Columns=65535)
read_dicom_series(d)
""",
    # 30000 x 30000 (1.8 GB at 16 bits) declared with tiny data: the length check refuses it.
    "rows-columns-30000-native": """
f = series()
edit(f[0], Rows=30000, Columns=30000)
read_dicom_series(d)
""",
    # A multi-frame file declaring 2**31 - 1 frames.
    "number-of-frames-huge": """
f = series(n=1)
edit(f[0], NumberOfFrames=2**31 - 1)
read_dicom_series(d)
""",
    # The whole series is sized before stacking (limit lowered so the test stays small).
    "series-total-above-limit": """
import samd_core.volume
samd_core.volume.MAX_ARRAY_BYTES = 1000
series(n=6)
read_dicom_series(d)
""",
    # Gap filling onto a 0.002 mm grid over 1e6 mm: 5e8 slices planned, refused.
    "gap-fill-absurd": """
f = series(n=4)
for k, p in enumerate(f):
    edit(p, ImagePositionPatient=[0, 0, [0, 0.002, 0.004, 1e6][k]])
read_dicom_series(d, accept_gaps=True)
""",
    # De-shearing with PixelSpacing 1e-6 mm: the enlarged grid would need PiB.
    "deshear-tiny-spacing": """
f = series(n=4)
for k, p in enumerate(f):
    edit(p, PixelSpacing=[1e-6, 1e-6], ImagePositionPatient=[k * 0.5, k * 0.5, k * 1.0])
read_dicom_series(d, tilt="deshear")
""",
    # Preprocessing resample: PixelSpacing 1e6 mm resampled to 1 mm.
    "resample-spacing-1e6": """
from samd_core.preprocess import Pipeline
v = Volume(np.zeros((4, 8, 8), np.float32), (1e6, 1e6, 1e6))
Pipeline.from_spec({"version": 1, "steps": [{"op": "resample", "spacing": [1, 1, 1]}]}).forward(v)
""",
    # Preprocessing resample to 1e-6 mm.
    "resample-to-1e-6": """
from samd_core.preprocess import Pipeline
v = Volume(np.zeros((4, 8, 8), np.float32), (1.0, 1.0, 1.0))
Pipeline.from_spec({"version": 1, "steps": [{"op": "resample", "spacing": [1e-6, 1e-6, 1e-6]}]}).forward(v)
""",
    # A single DX image declaring 65535 x 65535 pixels with a few bytes of data.
    "image-rows-columns-65535": """
from samd_core.io import read_dicom_image, write_dicom_image
p = write_dicom_image(Volume(np.zeros((8, 8), np.int16), (0.2, 0.2)), d / "dx.dcm")
edit(p, Rows=65535, Columns=65535)
read_dicom_image(p)
""",
    # A PNG whose header declares 100000 x 100000 pixels.
    "png-100000-squared": """
import struct, zlib
from samd_core.io import read_image
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
(d / "a.png").write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(16))) + chunk(b"IEND", b""))
read_image(d / "a.png")
""",
    # Crop/pad to an absurd shape.
    "crop-pad-absurd": """
from samd_core.preprocess import Pipeline
v = Volume(np.zeros((4, 8, 8), np.float32), (1.0, 1.0, 1.0))
Pipeline.from_spec({"version": 1, "steps": [{"op": "crop_pad", "shape": [100000, 100000, 100000]}]}).forward(v)
""",
}

EXPECTED = {
    "rows-columns-65535-native": "DicomReadError: file 0 (SOPInstanceUID",
    "rows-columns-65535-rle": "exceeds the limit of 2147483648 bytes per frame",
    "rows-columns-30000-native": "PixelData holds 128 bytes but Rows 30000 x Columns 30000",
    "number-of-frames-huge": "exceeds the limit",
    "series-total-above-limit": "DicomReadError: series",
    "gap-fill-absurd": "SliceSpacingError: gap filling at a step of 0.002 mm",
    "deshear-tiny-spacing": "GantryTiltError: de-shearing with pixel spacing (1e-06, 1e-06) mm",
    "resample-spacing-1e6": "GeometryError: resampling shape (4, 8, 8) from spacing (1000000.0, 1000000.0, 1000000.0) mm",
    "resample-to-1e-6": "GeometryError: resampling shape (4, 8, 8)",
    "image-rows-columns-65535": "DicomReadError: file (SOPInstanceUID",
    "png-100000-squared": "ImageReadError: .png file",
    "crop-pad-absurd": "GeometryError: steps[0]: crop/pad: the output would have shape (100000, 100000, 100000)",
}


def run_limited(body: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run ``body`` under the address-space cap; it prints ``<ErrorClass>: <message>`` or OK."""
    code = PRELUDE + "try:\n" + textwrap.indent(body.strip(), "    ") + (
        "\n    print('OK: no error')\n"
        "except SamdError as exc:\n"
        "    print(f'SAMD {type(exc).__name__}: {exc}')\n"
        "except BaseException as exc:\n"
        "    print(f'OTHER {type(exc).__name__}: {exc}')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=TIMEOUT_S, env=env
    )


@pytest.mark.verifies("SRS-IO-019")
@pytest.mark.parametrize("name", sorted(CASES))
def test_io_hostile_sizes_give_clear_errors_in_bounded_memory(name: str, tmp_path: Path) -> None:
    assert set(CASES) == set(EXPECTED)
    res = run_limited(CASES[name], tmp_path)
    assert res.returncode == 0, f"child died (rc {res.returncode}): {res.stderr[-2000:]}"
    line = res.stdout.strip().splitlines()[-1]
    assert line.startswith("SAMD "), line
    assert "MemoryError" not in line
    assert EXPECTED[name] in line, line
