"""Benchmark: DICOM series load of a 512x512x300 CT.

Compares, in one process on the same warm files:
* ``samd_core.io.read_dicom_series`` (all checks on),
* SimpleITK ``ImageSeriesReader`` with its GDCM file-name scan (goal: ours <= 0.5x its time),
* a bare pydicom loop that reads, sorts by IPP z and stacks ``pixel_array``, checking nothing
  (goal: ours <= 1.5x its time).

The series is generated with ``write_dicom_series`` from the InVesalius head CT (tiled to
512x512x300) into a temporary folder, or from seeded noise when that package is absent.

Run: ``PYTHONPATH=. python bench/bench_io.py [--slices 300] [--size 512] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from bench_data import INV3, cranium_hu
from samd_core import Volume
from samd_core.io import read_dicom_series, write_dicom_series

def make_volume(slices: int, size: int) -> Volume:
    if INV3.exists():
        src = cranium_hu()
        reps = -(-size // src.shape[1])
        arr = np.stack([np.kron(src[k % src.shape[0]], np.ones((reps, reps), np.int16))[:size, :size]
                        for k in range(slices)])
    else:
        arr = np.random.default_rng(0).integers(-1024, 2000, size=(slices, size, size)).astype(np.int16)
    return Volume(arr, (1.0, 0.5, 0.5), (-128.0, -128.0, 0.0))


def load_sitk(folder: str) -> np.ndarray:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    return sitk.GetArrayViewFromImage(reader.Execute())


def load_bare(folder: str) -> np.ndarray:
    dss = [pydicom.dcmread(os.path.join(folder, f)) for f in os.listdir(folder)]
    dss.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    return np.stack([ds.pixel_array for ds in dss])


def load_samd(folder: str) -> np.ndarray:
    return read_dicom_series(folder).array


def timed(fn, folder: str, repeats: int) -> tuple[float, float]:
    """Median wall time and median process CPU time (all threads) over ``repeats`` warm runs."""
    fn(folder)  # warm-up (page cache, imports)
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn(folder)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, nothing written unless --out: checks that the script runs")
    args = ap.parse_args()
    if args.smoke:
        args.slices, args.size, args.repeats = 4, 32, 1
    with tempfile.TemporaryDirectory() as d:
        vol = make_volume(args.slices, args.size)
        t0 = time.perf_counter()
        write_dicom_series(vol, d)
        t_write = time.perf_counter() - t0
        assert np.array_equal(load_samd(d), vol.array)
        t_samd = timed(load_samd, d, args.repeats)
        t_sitk = timed(load_sitk, d, args.repeats)
        t_bare = timed(load_bare, d, args.repeats)
    shape = f"{args.size}x{args.size}x{args.slices}"
    rows = [
        ("SimpleITK ImageSeriesReader + GDCM scan", t_sitk, 0.5),
        ("bare pydicom read-sort-stack", t_bare, 1.5),
    ]
    lines = [
        f"### Series load, {shape} CT (explicit VR LE, {args.slices} files), median of {args.repeats} warm runs",
        "",
        "| reader | wall (s) | CPU (s) | ours / peer (wall) | ours / peer (CPU) | goal | met (wall) |",
        "|---|---|---|---|---|---|---|",
        f"| samd read_dicom_series | {t_samd[0]:.2f} | {t_samd[1]:.2f} | | | | |",
    ]
    for name, (wall, cpu), goal in rows:
        ratio = t_samd[0] / wall
        met = "yes" if ratio <= goal else "**no**"
        lines.append(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {ratio:.2f} | {t_samd[1] / cpu:.2f} | <= {goal} | {met} |"
        )
    lines += [
        "",
        f"Writing the series with `write_dicom_series` took {t_write:.1f} s. Machine: "
        f"{os.cpu_count()} shared cores ({platform.processor() or platform.machine()}), noisy; "
        f"Python {platform.python_version()}, pydicom {pydicom.__version__}, "
        f"SimpleITK {sitk.Version.VersionString()}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
