"""Benchmarks of the harness (issue 6): audit verification at 10^6 records, and a 10^5-case
validation in predictions mode with 2000 bootstrap replicates.

Usage: PYTHONPATH=. python bench/bench_harness.py [--records N] [--cases N] [--out FILE]
Peers in the same run: a straightforward verifier (json.loads + re-canonicalize + hash per
record) for the audit log; scikit-learn's roc_auc_score in a resampling loop for the AUC
bootstrap kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def build_log(path: Path, n: int) -> None:
    """n chained records in the on-disk format, written in-process (no locking, no fsync)."""
    from samd_core.hashing import canonical_json, sha256_bytes
    from validation.audit._log import GENESIS_HASH, SCHEMA, _uuid7, encode_line

    prev = GENESIS_HASH
    actor = {"user_id": "bench", "auth_method": "os-login"}
    host = {"hostname": "bench", "pid": 1, "python": "3.11", "samd_version": "0.1.0"}
    with open(path, "wb") as fh:
        buf = []
        for seq in range(1, n + 1):
            body = {"action": "testset.access", "actor": actor, "context": {"run": seq % 97},
                    "event_id": _uuid7(), "host": host, "key_id": None,
                    "object": {"type": "test_set", "id": "manifest.csv"}, "object_sha256": "a" * 64,
                    "prev_hash": prev, "reason": None, "schema": SCHEMA, "seq": seq,
                    "signature_meaning": None, "ts_source": "system", "ts_utc": "2026-11-29T04:00:00.000000Z"}
            prev = sha256_bytes(canonical_json(body))
            buf.append(encode_line(body, prev, None))
            if len(buf) >= 10000:
                fh.write(b"".join(buf))
                buf.clear()
        fh.write(b"".join(buf))


def naive_verify(path: Path) -> bool:
    from samd_core.hashing import canonical_json, sha256_bytes

    prev, seq = "0" * 64, 0
    with open(path, "rb") as fh:
        for line in fh:
            rec = json.loads(line)
            h = rec.pop("hash")
            rec.pop("sig", None)
            seq += 1
            if rec["seq"] != seq or rec["prev_hash"] != prev or sha256_bytes(canonical_json(rec)) != h:
                return False
            prev = h
    return True


def bench_audit(n: int, tmp: Path) -> dict:
    from validation.audit import verify_audit_log

    p = tmp / "audit.jsonl"
    t = time.perf_counter()
    build_log(p, n)
    build = time.perf_counter() - t
    t = time.perf_counter()
    res = verify_audit_log(p)
    ours = time.perf_counter() - t
    assert res.ok and res.n_records == n
    t = time.perf_counter()
    assert naive_verify(p)
    naive = time.perf_counter() - t
    return {"records": n, "bytes": p.stat().st_size, "build_s": build, "verify_s": ours, "naive_s": naive}


def bench_validation(n: int, tmp: Path, replicates: int = 2000) -> dict:
    from validation.harness import run_validation
    from validation.stats import roc_auc

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, n)
    s = np.round(rng.normal(y * 0.8, 1.0), 4)
    site = np.where(rng.random(n) < 0.5, "A", "B")
    root = tmp / "val"
    root.mkdir()
    with open(root / "manifest.csv", "w") as fh:
        fh.write("case_id,label,site\n")
        fh.writelines(f"c{i},{y[i]},{site[i]}\n" for i in range(n))
    with open(root / "predictions.csv", "w") as fh:
        fh.write("case_id,score\n")
        fh.writelines(f"c{i},{float(s[i])!r}\n" for i in range(n))
    (root / "protocol.yaml").write_text(
        "id: BENCH-1\ndevice:\n  predictions: predictions.csv\n  score: {column: score, higher_is_positive: true, "
        "is_probability: false}\n  threshold: 0.4\nmanifest: manifest.csv\ntruth: {column: label, positive: '1'}\n"
        "endpoints:\n  - {id: auc, metric: roc_auc, ci: delong, acceptance: {ci_low_at_least: 0.6}}\n"
        "  - {id: auc_boot, metric: roc_auc, ci: bootstrap_bca, acceptance: {ci_low_at_least: 0.6}}\n"
        "  - {id: sens, metric: sensitivity, ci: bootstrap_percentile, acceptance: {value_at_least: 0.5}}\n"
        "  - {id: spec, metric: specificity, ci: wilson, acceptance: {value_at_least: 0.5}}\n"
        "subgroups: {min_size: 100, variables: [{column: site}]}\n"
        f"bootstrap: {{replicates: {replicates}, seed: 3}}\nmultiplicity: holm\n")
    t = time.perf_counter()
    o = run_validation(root / "protocol.yaml", out_dir=root / "out", audit_log=root / "audit.jsonl",
                       tracking_uri=f"sqlite:///{root}/mlflow.db", progress=False)
    total = time.perf_counter() - t
    # kernel vs peer: 200 stratified AUC replicates
    from sklearn.metrics import roc_auc_score

    t = time.perf_counter()
    roc_auc(y, s, method="bootstrap_percentile", n_resamples=200, rng=np.random.default_rng(0))
    ours = time.perf_counter() - t
    r = np.random.default_rng(0)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    t = time.perf_counter()
    for _ in range(200):
        idx = np.r_[r.choice(pos, pos.size), r.choice(neg, neg.size)]
        roc_auc_score(y[idx], s[idx])
    peer = time.perf_counter() - t
    return {"cases": n, "total_s": total, "verdict": o.verdict, "kernel_200_s": ours, "sklearn_200_s": peer}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--out", default="docs/benchmarks.d/harness.md")
    ap.add_argument("--replicates", type=int, default=2000, help="bootstrap replicates of the validation run")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, nothing written unless --out: checks that the script runs")
    a = ap.parse_args()
    if a.smoke:
        a.records, a.cases, a.replicates = 200, 400, 100
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        au = bench_audit(a.records, tmp)
        print(au)
        va = bench_validation(a.cases, tmp, a.replicates)
        print(va)
    lines = [
        "# Benchmarks: validation harness and audit trail",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (noisy); "
        f"Python {platform.python_version()}. Script: `bench/bench_harness.py`.",
        "",
        "| task | ours (s) | peer (s) | ratio ours/peer | goal |",
        "|---|---|---|---|---|",
        f"| `verify_audit_log` on {au['records']:,} records ({au['bytes'] / 1e6:.0f} MB) | {au['verify_s']:.2f} | "
        f"{au['naive_s']:.2f} (json.loads + re-canonicalize + SHA-256 per record) | "
        f"{au['verify_s'] / au['naive_s']:.2f} | ≤ 5 s |",
        f"| `samd validate` predictions mode, {va['cases']:,} cases, {a.replicates} bootstrap replicates "
        f"(AUC DeLong, AUC BCa, sensitivity percentile, specificity Wilson; 2 subgroup levels; "
        f"MLflow sqlite, plots) | {va['total_s']:.1f} | — | — | record the time |",
        f"| `validation.stats.roc_auc` stratified bootstrap, 200 replicates at n={va['cases']:,} | {va['kernel_200_s']:.2f} | "
        f"{va['sklearn_200_s']:.2f} (sklearn `roc_auc_score` loop) | {va['kernel_200_s'] / va['sklearn_200_s']:.2f} | — |",
        "",
    ]
    print("\n".join(lines))
    if a.smoke and a.out == "docs/benchmarks.d/harness.md":
        return
    Path(a.out).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
