"""Scheduler overhead: N trivial tasks through samd's fan-out (`validation.executor.map_cases`)
against a bare ``client.map`` + ``client.gather`` on the same local Dask cluster, in the same run.

    .venv/bin/python bench/bench_executor.py [--tasks 10000] [--workers 2] [--repeats 3]

Prints one JSON line: seconds for each and their ratio (goal <= 1.2x).
"""

from __future__ import annotations

import argparse
import json
import operator
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from distributed import Client, LocalCluster

    from validation import executor

    cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1", silence_logs=40)
    client = Client(cluster, set_as_default=False)
    cases = [(f"c{i}", (i, 1)) for i in range(a.tasks)]

    class _Reuse:  # the cluster above, reused by map_cases instead of starting one per repeat
        def __init__(self) -> None:
            self.spec = executor.ExecutorSpec(scheduler=cluster.scheduler_address)

    bare, samd = [], []
    for _ in range(a.repeats):
        t = time.perf_counter()
        futs = client.map(operator.add, range(a.tasks), [1] * a.tasks, pure=False)
        client.gather(futs)
        del futs
        bare.append(time.perf_counter() - t)
        got: dict[str, int] = {}
        t = time.perf_counter()
        executor.map_cases(operator.add, cases, spec=_Reuse().spec, on_result=got.__setitem__)
        samd.append(time.perf_counter() - t)
        assert len(got) == a.tasks
    client.close()
    cluster.close()
    b, s = min(bare), min(samd)
    print(json.dumps({"bench": "executor_overhead", "tasks": a.tasks, "workers": a.workers,
                      "bare_client_map_s": round(b, 3), "samd_map_cases_s": round(s, 3),
                      "ratio": round(s / b, 3), "goal": 1.2}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
