"""Bootstrap replicates in seeded chunks: in-process against a local Dask cluster, same run.

    .venv/bin/python bench/bench_bootstrap_chunks.py [--cases 1000000] [--replicates 400]
                                                    [--chunk 25] [--workers 2] [--repeats 3]

The work is the stratified bootstrap percentile CI of the AUC (`validation.stats.roc_auc`) on
``--cases`` predictions, its replicates drawn as `validation.stats.ChunkedStreams` of ``--chunk``.
Times (min of the repeats): the single-generator scheme, the chunked scheme in-process, and the
chunked scheme with its chunks on ``--workers`` local Dask workers (`validation.executor.chunk_mapper`,
the map `samd validate --workers` uses), with the cluster's start-up time reported apart. The
cluster result must equal the in-process one bit for bit (the script fails otherwise). Prints one
JSON line.

With ``--validate N`` it also times ``samd validate`` end to end (`run_validation`, predictions mode,
N cases; AUC bootstrap BCa, sensitivity and specificity bootstrap percentile, one subgroup variable
with 2 levels, ``bootstrap.chunk_size`` = ``--chunk``) in-process and with ``workers=--workers``,
and checks that both ``result.json`` files are identical apart from run ids.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--replicates", type=int, default=400)
    ap.add_argument("--chunk", type=int, default=25)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--validate", type=int, default=0, help="also time run_validation on this many cases")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: checks that the script runs")
    a = ap.parse_args()
    if a.smoke:
        a.cases, a.replicates, a.chunk, a.workers, a.repeats = 2_000, 100, 30, 1, 1
        a.validate = min(a.validate, 500)
    import numpy as np

    from validation import stats as S
    from validation.executor import ExecutorSpec, chunk_mapper

    rng = np.random.default_rng(2026)
    y = (rng.random(a.cases) < 0.3).astype(int)
    score = rng.normal(size=a.cases) + 1.2 * y

    def auc(streams: object) -> object:
        return S.roc_auc(y, score, method="bootstrap_percentile", n_resamples=a.replicates, rng=streams)

    single, inproc, cluster = [], [], []
    t = time.perf_counter()
    with chunk_mapper(ExecutorSpec(workers=a.workers)) as cmap:
        startup = time.perf_counter() - t
        for _ in range(a.repeats):  # interleaved, so that machine load hits all three alike
            t = time.perf_counter()
            auc(np.random.default_rng([7, 0, 0, 0]))
            single.append(time.perf_counter() - t)
            t = time.perf_counter()
            ref = auc(S.ChunkedStreams((7, 0, 0, 0), a.chunk))
            inproc.append(time.perf_counter() - t)
            t = time.perf_counter()
            got = auc(S.ChunkedStreams((7, 0, 0, 0), a.chunk, cmap))
            cluster.append(time.perf_counter() - t)
            if got != ref:
                raise SystemExit(f"cluster result {got} != in-process {ref}")
    extra = _validate(a) if a.validate else {}
    print(json.dumps({**extra, "bench": "bootstrap_chunks", "cases": a.cases, "replicates": a.replicates, "chunk": a.chunk,
                      "workers": a.workers, "single_stream_s": round(min(single), 3),
                      "chunked_in_process_s": round(min(inproc), 3), "chunked_cluster_s": round(min(cluster), 3),
                      "cluster_startup_s": round(startup, 3),
                      "ratio_cluster_vs_in_process": round(min(cluster) / min(inproc), 3),
                      "ratio_chunked_vs_single": round(min(inproc) / min(single), 3), "identical": True}))
    return 0


_PROTOCOL = """\
id: BENCH-CHUNKS
device:
  predictions: predictions.csv
  score: {{column: score, higher_is_positive: true, is_probability: false}}
  threshold: 0.5
manifest: manifest.csv
truth: {{column: label, positive: "1"}}
endpoints:
  - {{id: auc, metric: roc_auc, ci: bootstrap_bca, acceptance: {{ci_low_at_least: 0.5}}}}
  - {{id: sens, metric: sensitivity, ci: bootstrap_percentile, acceptance: {{value_at_least: 0.5}}}}
  - {{id: spec, metric: specificity, ci: bootstrap_percentile, acceptance: {{value_at_least: 0.5}}}}
subgroups:
  min_size: 1
  variables: [{{column: site}}]
bootstrap: {{replicates: {reps}, seed: 7, chunk_size: {chunk}}}
multiplicity: holm
"""


def _validate(a: argparse.Namespace) -> dict[str, object]:
    """``run_validation`` on ``a.validate`` predictions, in-process and on ``a.workers`` workers."""
    import resource
    import tempfile

    import numpy as np
    import pandas as pd

    from validation.harness import run_validation

    n = a.validate
    rng = np.random.default_rng(11)
    y = (rng.random(n) < 0.3).astype(int)
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        ids = [f"C{i:08d}" for i in range(n)]
        pd.DataFrame({"case_id": ids, "label": y, "site": np.where(rng.random(n) < 0.5, "A", "B")}).to_csv(
            root / "manifest.csv", index=False)
        pd.DataFrame({"case_id": ids, "score": rng.normal(size=n) + 1.2 * y}).to_csv(
            root / "predictions.csv", index=False, float_format="%.17g")
        (root / "protocol.yaml").write_text(_PROTOCOL.format(reps=a.replicates, chunk=a.chunk))
        del ids, y  # the peak memory reported is the runs', not the generator's
        times, results, peaks = {}, {}, {}
        for name, kw in (("in_process", {}), ("workers", {"workers": a.workers})):
            d = root / name
            t = time.perf_counter()
            run_validation(root / "protocol.yaml", out_dir=d / "out", tracking_uri=f"sqlite:///{d / 'm.db'}",
                           audit_log=d / "audit.jsonl", progress=False, **kw)  # type: ignore[arg-type]
            times[name] = time.perf_counter() - t
            peaks[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB, so far
            res = json.loads((d / "out" / "result.json").read_text())
            results[name] = {k: v for k, v in res.items() if k not in ("mlflow_run_id", "mlflow_experiment_id")}
        if results["in_process"] != results["workers"]:
            raise SystemExit("run_validation: result.json differs between in-process and workers")
    return {"validate_cases": n, "validate_in_process_s": round(times["in_process"], 2),
            "validate_workers_s": round(times["workers"], 2),
            "validate_ratio": round(times["workers"] / times["in_process"], 3),
            "validate_peak_rss_gib_in_process": round(peaks["in_process"], 2),
            "validate_peak_rss_gib_coordinator": round(peaks["workers"], 2)}


if __name__ == "__main__":
    raise SystemExit(main())
