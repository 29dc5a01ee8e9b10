"""Benchmark (issue 16): ``samd audit verify`` of a 10^6-record log vs ``sha256sum`` of the same file.

In one run, on the same warm file (in the page cache), min of ``--repeats``:
* ``sha256sum FILE`` (GNU coreutils, one core): the floor of reading and hashing the bytes once;
* ``verify_audit_log(FILE, workers=1)``: in-process (parse, canonical re-encode, hash, chain);
* ``verify_audit_log(FILE)``: the default, every available core (chunks of 4 MiB in processes,
  chain checked in order). Goal: <= 1.0x ``sha256sum``.

The log is written in the on-disk format by `bench_harness.build_log` (plain records, as a
validation run writes them).

Run: ``PYTHONPATH=. python bench/bench_audit_verify.py [--records 1000000] [--repeats 3] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench_harness import build_log


def _min_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(records: int, repeats: int, tmp: Path) -> dict:
    from validation.audit import verify_audit_log
    from validation.audit._verify import _n_workers

    p = tmp / "audit.jsonl"
    build_log(p, records)
    size = p.stat().st_size
    sha = shutil.which("sha256sum")
    res: dict = {"records": records, "bytes": size, "workers": _n_workers(None, p)}
    p.read_bytes()  # warm the page cache
    if sha:
        res["sha256sum_s"] = _min_time(lambda: subprocess.run([sha, str(p)], check=True,
                                                              stdout=subprocess.DEVNULL), repeats)
    for name, kw in (("serial_s", {"workers": 1}), ("parallel_s", {})):
        out: list = []
        res[name] = _min_time(lambda kw=kw: out.append(verify_audit_log(p, **kw)), repeats)
        assert out[-1].ok and out[-1].n_records == records, out[-1]
    return res


def table(r: dict) -> str:
    sha = r.get("sha256sum_s")
    ratio = (lambda t: f"{t / sha:.2f}x") if sha else (lambda t: "n/a")
    lines = [
        f"`samd audit verify`, {r['records']:,} records ({r['bytes'] / 1e6:.0f} MB), min of the repeats, "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{r['workers']} worker process(es) by default:",
        "",
        "| verifier | time (s) | vs `sha256sum` |",
        "|---|---|---|",
        f"| `sha256sum` (coreutils, 1 core) | {sha:.2f} | 1.00x |" if sha else "| `sha256sum` | absent | |",
        f"| `verify_audit_log(..., workers=1)` (in-process) | {r['serial_s']:.2f} | {ratio(r['serial_s'])} |",
        f"| `verify_audit_log(...)` default (every core) | {r['parallel_s']:.2f} | {ratio(r['parallel_s'])} |",
    ]
    if sha:
        met = r["parallel_s"] <= sha
        lines += ["", f"Goal <= 1.0x `sha256sum`: **{'met' if met else 'not met'}** "
                      f"({r['parallel_s'] / sha:.2f}x)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, nothing written unless --out")
    a = ap.parse_args()
    if a.smoke:
        a.records, a.repeats = 20_000, 1
    with tempfile.TemporaryDirectory() as d:
        r = run(a.records, a.repeats, Path(d))
    text = table(r)
    print(text)
    if a.out:
        a.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
