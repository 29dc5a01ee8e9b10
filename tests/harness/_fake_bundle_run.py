"""Runs `run_validation` in bundle mode with a stand-in for `samd_core.load_locked`.

Usage: python _fake_bundle_run.py PROTOCOL OUT AUDIT URI CALLS DELAY
The stand-in model's score is the mean voxel value of the case volume; every predict call is
appended to CALLS so that tests can count recomputation.
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace
from typing import Any

import samd_core


class FakeLockedModel:
    manifest_sha256 = "f" * 64
    name = "fake"
    version = "1.0"
    threshold = 50.0  # the locked case threshold (protocol: 50)
    input_domain = None

    def __init__(self, calls: str, delay: float) -> None:
        self.calls, self.delay = calls, delay

    def predict(self, volume: Any) -> Any:
        time.sleep(self.delay)
        with open(self.calls, "a") as fh:
            fh.write(f"{float(volume.array.mean())!r}\n")
        return SimpleNamespace(score=float(volume.array.mean()), label=volume.with_array(volume.array > 50))


def install(calls: str, delay: float) -> None:
    samd_core.load_locked = lambda path, **kw: FakeLockedModel(calls, delay)  # type: ignore[attr-defined]


if __name__ == "__main__":
    proto, out, audit, uri, calls, delay = sys.argv[1:7]
    install(calls, float(delay))
    from validation.harness import run_validation

    o = run_validation(proto, out_dir=out, audit_log=audit, tracking_uri=uri, progress=True)
    sys.exit(0 if o.verdict == "pass" else 1)
