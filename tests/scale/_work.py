"""Module-level work functions for the executor tests (importable on Dask workers)."""

from __future__ import annotations

import hashlib
import os
import time


def digest(seed: int, n: int) -> str:
    """A deterministic, mildly expensive function of its arguments."""
    h = hashlib.sha256(str(seed).encode())
    for _ in range(n):
        h = hashlib.sha256(h.digest())
    return h.hexdigest()


def fail_on(key: str, bad: str) -> str:
    if key == bad:
        raise ValueError(f"case {key} is unreadable")
    return key.upper()


def slow_pid(i: int, seconds: float) -> tuple[int, int]:
    time.sleep(seconds)
    return i, os.getpid()


def slow_mean(x) -> float:
    """The mean of ``x``, after 20 ms (a bootstrap statistic slow enough to kill a worker mid-chunk)."""
    time.sleep(0.02)
    return float(sum(x) / len(x))
