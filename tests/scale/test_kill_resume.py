"""kill -9 during a distributed validation run, then resume (issue #16, "must show").

A real ``dask scheduler`` with two ``dask worker`` processes; ``samd validate --scheduler`` runs the
nodule bundle over synthetic CTs. While cases are stored, one worker is killed with SIGKILL (its
cases are re-run on the other); later the coordinator itself is killed with SIGKILL. A rerun of the
same command resumes: it reuses every stored case and computes only the rest. Reference: an
uninterrupted in-process run in its own folder and audit log. Checked: the results are equal, every
case is stored exactly once, and the audit trail verifies, with every record of the killed run kept
and none written twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.scale._protocols import nodule_protocol
from tests.scale.test_executor import dask_cluster  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
N_CASES = 40
COMPARED = ("endpoints", "subgroups", "interaction_tests", "verdict", "model_sha256", "protocol_sha256",
            "manifest_sha256", "n_cases", "training_overlap", "exclusions")


def _validate(proto: Path, d: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "samd", "validate", str(proto), "--out", str(d / "out"),
            "--audit-log", str(d / "audit.jsonl"), "--tracking-uri", f"sqlite:///{d / 'mlflow.db'}", *extra]


def _stored(d: Path) -> int:
    cases = d / "out" / "cases"
    return len(list(cases.glob("*.json"))) if cases.is_dir() else 0


def _wait_for(cond, proc: subprocess.Popen, what: str, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.slow
def test_kill9_of_a_worker_and_of_the_coordinator_then_resume(tmp_path: Path, dask_cluster) -> None:  # noqa: F811
    from reference_devices.phantom import write_cohort
    from validation.audit import iter_records, verify_audit_log

    addr, procs = dask_cluster
    manifest = write_cohort(tmp_path / "cohort", n_cases=N_CASES, seed=53, prevalence=0.5)
    proto = tmp_path / "protocol.yaml"
    proto.write_text(nodule_protocol(manifest, "SAP-KILL-001", "kill and resume on a Dask cluster", seed=11,
                                     replicates=200, extra="subgroups: {min_size: 5, variables: [{column: site}]}\n"),
                     encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    ref_dir = tmp_path / "reference"
    r = subprocess.run(_validate(proto, ref_dir), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    reference = json.loads((ref_dir / "out" / "result.json").read_text(encoding="utf-8"))

    d = tmp_path / "killed"
    coordinator = subprocess.Popen(_validate(proto, d, "--scheduler", addr), env=env, cwd=tmp_path,
                                   start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _stored(d) >= 4, coordinator, "the first cases were stored")
        os.killpg(procs[1].pid, signal.SIGKILL)  # a worker (and its nanny) dies with cases in flight
        at_worker_kill = _stored(d)
        _wait_for(lambda: _stored(d) >= at_worker_kill + 8, coordinator, "cases were stored after the worker died")
        os.killpg(coordinator.pid, signal.SIGKILL)
        coordinator.wait(timeout=30)
    finally:
        if coordinator.poll() is None:
            os.killpg(coordinator.pid, signal.SIGKILL)
    stored = _stored(d)
    assert 12 <= stored < N_CASES, stored
    assert not (d / "out" / "result.json").exists()

    r = subprocess.run(_validate(proto, d, "--scheduler", addr), env=env, cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    resumed = json.loads((d / "out" / "result.json").read_text(encoding="utf-8"))
    assert {k: resumed.get(k) for k in COMPARED} == {k: reference.get(k) for k in COMPARED}
    assert resumed["device"]["cases_reused"] == stored
    assert resumed["device"]["cases_reused"] + resumed["device"]["cases_computed"] == N_CASES
    assert _stored(d) == N_CASES  # one record per case: nothing lost, nothing stored twice
    assert (d / "out" / "cases.csv").read_bytes() == (ref_dir / "out" / "cases.csv").read_bytes()

    check = verify_audit_log(d / "audit.jsonl")
    assert check.ok, check.message
    records = list(iter_records(d / "audit.jsonl"))
    actions = [rec["action"] for rec in records]
    # the killed run's lock, access and start are all kept; the rerun adds its own, once each
    assert actions == ["protocol.lock", "testset.access", "run.start",
                       "testset.access", "run.start", "mlflow.run.end", "checkpoint"], actions
    starts = [rec["object"]["id"] for rec in records if rec["action"] == "run.start"]
    assert len(set(starts)) == 2
    assert [rec["object"]["id"] for rec in records if rec["action"] == "mlflow.run.end"] == [starts[1]]
    assert resumed["test_set_prior_accesses"] == 1  # the killed run's access is on record
    assert not [k for k, n in Counter(rec["hash"] for rec in records).items() if n > 1]
