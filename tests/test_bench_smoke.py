"""Every bench script runs from a checkout exactly as docs/benchmarks.md says (tiny sizes).

Each script is run as ``python bench/<script>.py --smoke`` in a subprocess whose working
directory is the repository root and whose ``PYTHONPATH`` is the repository root (so the
checkout's packages are the ones measured); the script's own folder is on ``sys.path`` as for
any script, and nothing from ``tests`` may be imported. ``--smoke`` writes no document.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.name for p in (ROOT / "bench").glob("bench_*.py") if p.name != "bench_data.py")


def test_every_script_is_listed() -> None:
    assert len(SCRIPTS) >= 9
    for script in SCRIPTS:  # each documents or accepts the smoke flag the test below uses
        assert '"--smoke"' in (ROOT / "bench" / script).read_text(encoding="utf-8"), script
    docs = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert "bench/bench_<area>.py" in docs


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_runs(script: str, tmp_path: pathlib.Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_DISABLE_TELEMETRY": "true"}
    before = {p: p.stat().st_mtime_ns for p in (ROOT / "docs").rglob("*") if p.is_file()}
    res = subprocess.run([sys.executable, f"bench/{script}", "--smoke"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert "No module named 'tests'" not in res.stderr
    after = {p: p.stat().st_mtime_ns for p in (ROOT / "docs").rglob("*") if p.is_file()}
    assert after == before, "a --smoke run must not rewrite the benchmark documents"
