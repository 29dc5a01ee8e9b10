"""Scale-out figures measured on this machine, for `docs/scaling.md` and `docs/benchmarks.md`.

    .venv/bin/python bench/bench_scaling.py [--ct-cases 64] [--records 10000 100000] [--smoke]

Measures, in one run:
1. bundle-mode validation of N synthetic chest CTs (the nodule bundle): in-process vs a local
   Dask cluster of 2 workers (wall time, ratio; goal <= 0.6x), after a warm-up run that pays the
   coordinator's imports (the cluster's start-up and its workers' imports count against it); and
   on an existing 2-worker cluster (``scheduler=``) warmed by one untimed run, as deployed;
2. per-case inference cost of each shipped bundle (in-process, warm);
3. coordinator write rates: per-case records written the way bundle mode writes them (canonical
   JSON, fsync, atomic rename) and audit-trail appends (`AuditLog.append`), at each record count;
4. MLflow logging of the metrics of a run with many subgroup levels (sqlite store).

Prints one JSON object; ``--out FILE`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _protocol(bundle: pathlib.Path, manifest: pathlib.Path) -> str:
    return f"""
id: BENCH-SCALE
title: scale-out benchmark
device: {{bundle: "{bundle}", image_column: series_dir, score: {{column: score, higher_is_positive: true}}}}
manifest: "{manifest}"
truth: {{column: has_nodule, positive: "1"}}
endpoints:
  - {{id: auc, metric: roc_auc, ci: delong, confidence_level: 0.95, acceptance: {{ci_low_at_least: 0.0}}}}
bootstrap: {{replicates: 200, seed: 1}}
"""


def bench_validation(n_cases: int, tmp: pathlib.Path) -> dict[str, Any]:
    from reference_devices.phantom import write_cohort
    from validation.harness import run_validation

    manifest = write_cohort(tmp / "cohort", n_cases=n_cases, seed=77, prevalence=0.5)
    proto = tmp / "protocol.yaml"
    proto.write_text(_protocol(ROOT / "samd_core" / "bundles" / "nodule_v1", manifest), encoding="utf-8")
    out: dict[str, Any] = {"cases": n_cases}

    def timed(name: str, protocol: pathlib.Path, **kw: Any) -> float:
        d = tmp / name
        t = time.perf_counter()
        run_validation(protocol, out_dir=d / "out", tracking_uri=f"sqlite:///{d / 'mlflow.db'}",
                       audit_log=d / "audit.jsonl", progress=False, **kw)
        return round(time.perf_counter() - t, 2)

    # warm-up: the coordinator's imports (torch, MLflow, ...) are paid here, not by the first timed run
    warm = write_cohort(tmp / "warm", n_cases=4, seed=78, prevalence=0.5)
    (tmp / "warm.yaml").write_text(_protocol(ROOT / "samd_core" / "bundles" / "nodule_v1", warm), encoding="utf-8")
    timed("warm", tmp / "warm.yaml")
    out["in_process_s"] = timed("in_process_s", proto)
    out["workers2_s"] = timed("workers2_s", proto, workers=2)
    out["ratio"] = round(out["workers2_s"] / out["in_process_s"], 3)
    # an existing cluster (`--scheduler`), as deployed: started and warmed (imports, bundle loaded
    # on each worker) by one untimed run, so the timed run pays neither start-up nor imports
    from validation.executor import _local_cluster

    cluster = _local_cluster(2)
    try:
        for name in ("scheduler_warmup_s", "scheduler_warm_s"):
            out[name] = timed(name, proto, scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    out["ratio_scheduler_warm"] = round(out["scheduler_warm_s"] / out["in_process_s"], 3)
    out["goal"] = 0.6
    return out


def bench_inference(tmp: pathlib.Path) -> dict[str, float]:
    import samd_core
    from reference_devices.phantom import write_cohort
    from reference_devices.radiograph import write_radiograph_cohort
    from samd_core.io import read_dicom_image, read_dicom_series

    res = {}
    ct = write_cohort(tmp / "ct", n_cases=3, seed=5, prevalence=1.0).parent
    cxr = write_radiograph_cohort(tmp / "cxr", n_cases=20, seed=5).parent
    for name, reader, paths in (("nodule_v1", read_dicom_series, sorted(ct.glob("*/ct"))),
                                ("cxr_triage_v1", read_dicom_image, sorted(cxr.glob("*/image.dcm")))):
        model = samd_core.load_locked(ROOT / "samd_core" / "bundles" / name)
        vols = [reader(p) for p in paths]
        model.predict(vols[0])  # warm
        t = time.perf_counter()
        for v in vols:
            model.predict(v)
        res[f"{name}_predict_s_per_case"] = round((time.perf_counter() - t) / len(vols), 4)
    return res


def bench_writes(n: int, tmp: pathlib.Path) -> dict[str, float]:
    from samd_core.hashing import canonical_json, sha256_bytes, sha256_json
    from validation.audit import AuditLog

    cache = tmp / f"cases{n}"
    cache.mkdir()
    t = time.perf_counter()
    for i in range(n):
        rec = {"case_id": f"C{i:07d}", "input_sha256": "a" * 64, "model_sha256": "b" * 64,
               "protocol_sha256": "c" * 64, "score": 0.123456789, "mask": None, "lesions": []}
        rec["record_sha256"] = sha256_json(rec)
        path = cache / f"{sha256_bytes(rec['case_id'].encode())[:24]}.json"
        tmpf = path.with_suffix(".tmp")
        with open(tmpf, "wb") as fh:
            fh.write(canonical_json(rec))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmpf, path)
    store = time.perf_counter() - t
    log = AuditLog(tmp / f"audit{n}.jsonl", actor="bench")
    t = time.perf_counter()
    for i in range(n):
        log.append("case.result", object={"type": "case", "id": f"C{i:07d}"}, object_sha256="d" * 64)
    audit = time.perf_counter() - t
    return {f"store_records_per_s@{n}": round(n / store, 1), f"audit_appends_per_s@{n}": round(n / audit, 1)}


def bench_mlflow(n_metrics: int, tmp: pathlib.Path) -> dict[str, float]:
    from validation.tracking import track_analysis

    with track_analysis(kind="validation", experiment="bench", run_name="bench", audit=None,
                        tracking_uri=f"sqlite:///{tmp / 'mlflow-bench.db'}") as tracked:
        t = time.perf_counter()
        tracked.log(metrics={f"subgroup.level{i}.auc.value": 0.5 + i * 1e-6 for i in range(n_metrics)})
        dt = time.perf_counter() - t
    return {f"mlflow_metrics_per_s@{n_metrics}": round(n_metrics / dt, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ct-cases", type=int, default=64)
    ap.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--metrics", type=int, default=2000)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: checks that the script runs")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.smoke:
        a.ct_cases, a.records, a.metrics = 4, [50], 20
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    res: dict[str, Any] = {"bench": "scaling", "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        res["validation"] = bench_validation(a.ct_cases, tmp / "v")
        res["inference"] = bench_inference(tmp / "i")
        for n in a.records:
            res.update(bench_writes(n, tmp))
        res.update(bench_mlflow(a.metrics, tmp))
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        pathlib.Path(a.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
