"""Bootstrap replicates in independently seeded chunks (`validation.stats.ChunkedStreams`).

Reference: NumPy's parallel-stream construction, ``SeedSequence(seed).spawn(K)[k]``, and resampling
loops written out here with NumPy alone. The chunked scheme must (a) equal those loops bit for bit,
(b) not depend on where or in which order the chunks are computed (built-in map, threads,
reversed order, a local Dask cluster, a real ``dask scheduler``), and (c) be declared by the
protocol (``bootstrap.chunk_size``) and recorded in ``result.json``; a protocol without it keeps
the single-generator numbers.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.harness._factory import BASE_PROTOCOL, make_study
from tests.scale.test_executor import dask_cluster  # noqa: F401 - fixture
from tests.scale.test_harness_executors import _run
from validation import stats as S
from validation.stats import ChunkedStreams


def _children(seed, n_resamples: int, chunk: int) -> list[tuple[np.random.Generator, int]]:
    k = -(-n_resamples // chunk)
    kids = np.random.SeedSequence(seed).spawn(k)
    return [(np.random.default_rng(kids[i]), min(chunk, n_resamples - i * chunk)) for i in range(k)]


def _reversed_map(fn, items):
    items = list(items)
    out = [fn(x) for x in reversed(items)]
    return out[::-1]


def _thread_map(fn, items):
    with ThreadPoolExecutor(3) as ex:
        return list(ex.map(fn, items))


def test_chunk_seeds_are_numpy_spawned_children():
    cs = ChunkedStreams((5, 1, 0, 0), 64)
    kids = np.random.SeedSequence([5, 1, 0, 0]).spawn(4)
    got = cs.chunks(200)
    assert [n for _, n in got] == [64, 64, 64, 8]
    for (ss, _), ref in zip(got, kids, strict=True):
        assert np.array_equal(ss.generate_state(8), ref.generate_state(8))


def test_bootstrap_ci_of_the_mean_equals_a_numpy_loop_over_spawned_streams():
    x = np.random.default_rng(0).gamma(2.0, 1.5, 57)
    est = S.bootstrap_ci(lambda a: a.mean(axis=-1), x, method="percentile", n_resamples=300,
                         rng=ChunkedStreams(11, 70), vectorized=True)
    reps = np.concatenate([x[g.integers(0, x.size, size=(b, x.size))].mean(axis=1)
                           for g, b in _children(11, 300, 70)])
    lo, hi = np.percentile(reps, [2.5, 97.5])
    assert (est.value, est.ci_low, est.ci_high) == (x.mean(), lo, hi)


@pytest.mark.parametrize("mapper", [None, map, _reversed_map, _thread_map], ids=["default", "map", "reversed", "threads"])
def test_results_do_not_depend_on_the_map(mapper):
    y = np.r_[np.ones(40, int), np.zeros(50, int)]
    s = np.random.default_rng(2).normal(size=90) + y
    ref = S.roc_auc(y, s, method="bootstrap_bca", n_resamples=250, rng=ChunkedStreams((3, 9), 60))
    got = S.roc_auc(y, s, method="bootstrap_bca", n_resamples=250, rng=ChunkedStreams((3, 9), 60, mapper))
    assert got == ref


@pytest.mark.parametrize("clustered", [False, True])
def test_auc_fast_path_equals_generic_bootstrap_under_chunked_streams(clustered):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 80)
    y[:2] = [0, 1]
    s = rng.normal(size=80) + 0.8 * y
    s[5] = s[6]  # a tie
    kw = {"clusters": np.repeat(np.arange(40), 2)} if clustered else {"strata": y}
    fast = S.roc_auc(y, s, method="bootstrap_percentile", n_resamples=300, rng=ChunkedStreams(8, 45),
                     **({"clusters": kw["clusters"]} if clustered else {}))
    generic = S.bootstrap_ci(lambda a, b: S.roc_auc(a, b).value, y, s, method="percentile", n_resamples=300,
                             rng=ChunkedStreams(8, 45), **kw)
    assert (fast.value, fast.ci_low, fast.ci_high) == (generic.value, generic.ci_low, generic.ci_high)


def test_lesion_sensitivity_at_threshold_equals_a_multinomial_loop():
    from validation.metrics import lesion_sensitivity_at_threshold, match_detections

    rng = np.random.default_rng(6)
    cases = [f"c{i}" for i in range(30)]
    les = {"case": np.repeat(cases, 2), "center_mm": rng.uniform(0, 100, (60, 3)), "diameter_mm": np.full(60, 8.0)}
    hit = rng.random(60) < 0.6
    cand = {"case": les["case"][hit], "score": rng.random(int(hit.sum())),
            "center_mm": les["center_mm"][hit] + 0.5}
    m = match_detections(cases, les, cand, criterion="center_in_radius")
    est = lesion_sensitivity_at_threshold(m, 0.3, n_resamples=400, rng=ChunkedStreams((1, 2), 150))
    k = int(m.case_cluster.max()) + 1
    det_c = np.bincount(m.lesion_cluster, weights=(m.lesion_score >= 0.3), minlength=k)
    n_c = np.bincount(m.lesion_cluster, minlength=k)
    reps = []
    for g, b in _children((1, 2), 400, 150):
        w = g.multinomial(k, np.full(k, 1.0 / k), size=b).astype(float)
        reps.append(w @ det_c / (w @ n_c))
    lo, hi = np.percentile(np.concatenate(reps), [2.5, 97.5])
    assert est.value == det_c.sum() / n_c.sum()
    assert (est.ci_low, est.ci_high) == (min(lo, est.value), max(hi, est.value))


@settings(max_examples=25, deadline=None)
@given(chunk=st.integers(1, 40), n_chunks=st.integers(1, 5), extra=st.integers(1, 4), seed=st.integers(0, 2**32))
def test_whole_chunks_are_a_prefix_of_longer_runs(chunk, n_chunks, extra, seed):
    """Chunk k depends on the seed and k only: more replicates append chunks, never change earlier ones."""
    x = np.arange(13, dtype=float) ** 1.5

    def draw(g, b):
        return x[g.integers(0, x.size, size=(b, x.size))].mean(axis=1)

    short = S.bootstrap_replicates(draw, chunk * n_chunks, ChunkedStreams(seed, chunk))
    long = S.bootstrap_replicates(draw, chunk * (n_chunks + extra), ChunkedStreams(seed, chunk))
    assert np.array_equal(long[: short.size], short)


def test_a_chunked_stream_is_a_different_stream_from_the_single_generator():
    x = np.random.default_rng(1).normal(size=40)
    one = S.bootstrap_ci(np.mean, x, method="percentile", n_resamples=200, rng=5)
    chunked = S.bootstrap_ci(np.mean, x, method="percentile", n_resamples=200, rng=ChunkedStreams(5, 200))
    assert one.value == chunked.value and (one.ci_low, one.ci_high) != (chunked.ci_low, chunked.ci_high)


@pytest.mark.parametrize("kwargs, field", [
    ({"seed": -1, "chunk_size": 5}, "seed"), ({"seed": (), "chunk_size": 5}, "seed"),
    ({"seed": True, "chunk_size": 5}, "seed"), ({"seed": 1.5, "chunk_size": 5}, "seed"),
    ({"seed": 1, "chunk_size": 0}, "chunk_size"), ({"seed": 1, "chunk_size": 2.5}, "chunk_size"),
    ({"seed": 1, "chunk_size": 5, "map": 3}, "map"),
])
def test_bad_chunked_streams_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        ChunkedStreams(**kwargs)


# ---------------------------------------------------------------------- the harness
# the factory's protocol with bootstrap intervals and the chunked scheme declared
CHUNKED = (BASE_PROTOCOL.replace("ci: delong, confidence_level: 0.95, acceptance: {ci_low_at_least: 0.6}",
                                 "ci: bootstrap_bca, confidence_level: 0.95, acceptance: {ci_low_at_least: 0.6}")
           .replace("{id: sens, metric: sensitivity, ci: wilson", "{id: sens, metric: sensitivity, ci: bootstrap_percentile")
           .replace("{id: spec, metric: specificity, ci: wilson", "{id: spec, metric: specificity, ci: bootstrap_bca")
           .replace("bootstrap: {replicates: 200, seed: 7}", "bootstrap: {replicates: 300, seed: 7, chunk_size: CHUNK}"))


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    proto = make_study(tmp_path_factory.mktemp("chunked"), n=120, files=False)
    assert CHUNKED.count("ci: bootstrap_") == 3 and "chunk_size: CHUNK" in CHUNKED  # the replacements took
    proto.write_text(CHUNKED.replace("CHUNK", "128"))
    return proto


def test_the_protocol_declares_the_scheme_and_result_json_records_it(study: Path, tmp_path: Path):
    import pandas as pd

    res = _run(study, tmp_path, "inproc")
    assert res["bootstrap"]["chunk_size"] == 128 and "spawn" in res["bootstrap"]["streams"]
    pred = pd.read_csv(study.parent / "predictions.csv")
    man = pd.read_csv(study.parent / "manifest.csv")
    y, s = man["label"].to_numpy(), pred["score"].to_numpy()
    auc = S.roc_auc(y, s, method="bootstrap_bca", n_resamples=300, rng=ChunkedStreams((7, 0, 0, 0), 128))
    got = next(e for e in res["endpoints"] if e["id"] == "auc")
    assert (got["value"], got["ci_low"], got["ci_high"]) == (auc.value, auc.ci_low, auc.ci_high)
    # sensitivity: binomial TP counts of each chunk from its own spawned stream
    tp = int(((s >= 0.5) & (y == 1)).sum())
    m = int((y == 1).sum())
    reps = np.concatenate([g.binomial(m, tp / m, b) / m for g, b in _children((7, 1, 0, 0), 300, 128)])
    sens = next(e for e in res["endpoints"] if e["id"] == "sens")
    assert [sens["ci_low"], sens["ci_high"]] == list(np.percentile(reps, [2.5, 97.5]))


def test_without_chunk_size_the_single_generator_numbers_are_kept(study: Path, tmp_path: Path):
    import pandas as pd

    plain = study.parent / "plain.yaml"
    plain.write_text(CHUNKED.replace(", chunk_size: CHUNK", ""))
    res = _run(plain, tmp_path, "plain")
    assert res["bootstrap"] == {"replicates": 300, "seed": 7}
    man = pd.read_csv(study.parent / "manifest.csv")
    s = pd.read_csv(study.parent / "predictions.csv")["score"].to_numpy()
    auc = S.roc_auc(man["label"].to_numpy(), s, method="bootstrap_bca", n_resamples=300,
                    rng=np.random.default_rng([7, 0, 0, 0]))
    got = next(e for e in res["endpoints"] if e["id"] == "auc")
    assert (got["ci_low"], got["ci_high"]) == (auc.ci_low, auc.ci_high)


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "'64'", "2000000"])
def test_a_bad_chunk_size_is_a_protocol_error(study: Path, tmp_path: Path, value: str):
    from validation.errors import ProtocolError
    from validation.harness import load_protocol

    bad = study.parent / f"bad{abs(hash(value))}.yaml"
    bad.write_text(CHUNKED.replace("CHUNK", value))
    with pytest.raises(ProtocolError, match="chunk_size"):
        load_protocol(bad)


@pytest.mark.slow
def test_chunks_on_a_local_cluster_and_a_real_scheduler_equal_in_process(study: Path, tmp_path: Path,
                                                                        dask_cluster):  # noqa: F811
    ref = _run(study, tmp_path, "inproc")
    assert _run(study, tmp_path, "w2", workers=2) == ref
    addr, _ = dask_cluster
    assert _run(study, tmp_path, "sched", scheduler=addr) == ref


@pytest.mark.slow
def test_a_worker_killed_mid_bootstrap_changes_nothing(dask_cluster):  # noqa: F811 - fixture
    """kill -9 of one of two workers while its chunks run: Dask re-runs them on the other worker and
    the interval equals the in-process one (a chunk depends only on the seed and its index)."""
    import os
    import signal
    import threading
    import time

    from tests.scale import _work
    from validation.executor import chunk_mapper, executor_spec

    addr, procs = dask_cluster
    x = np.random.default_rng(5).normal(size=60)
    ref = S.bootstrap_ci(_work.slow_mean, x, n_resamples=200, rng=ChunkedStreams(21, 10), method="percentile")
    victim = procs[1]
    t0 = time.monotonic()
    timer = threading.Timer(1.0, os.killpg, (victim.pid, signal.SIGKILL))
    with chunk_mapper(executor_spec(scheduler=addr, retries=2)) as cluster_map:
        timer.start()
        got = S.bootstrap_ci(_work.slow_mean, x, n_resamples=200, rng=ChunkedStreams(21, 10, cluster_map),
                             method="percentile")
    elapsed = time.monotonic() - t0
    timer.join()
    assert victim.wait(timeout=10) is not None and elapsed > 1.0  # killed while chunks were running
    assert (got.value, got.ci_low, got.ci_high) == (ref.value, ref.ci_low, ref.ci_high)
