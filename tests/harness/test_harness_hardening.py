"""Hostile and careless input to the harness (issue #18 classes in the harness): bounded protocol
loading, one-line errors naming key path and value, truth labels, non-finite thresholds, crashes
after output, audit order, formula injection, bundle threshold, accepted older spellings."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import yaml

from samd_core.hashing import sha256_file
from tests.harness._factory import BASE_PROTOCOL, make_study
from validation.audit import iter_records
from validation.errors import ProtocolError
from validation.harness import format_summary, load_protocol, run_validation

REPO = Path(__file__).resolve().parents[2]

FULL_PROTOCOL = """\
id: SAP-FULL-001
title: t
description: d
device:
  predictions: predictions.csv
  model_sha256: "%s"
  score: {column: score, higher_is_positive: true, is_probability: true}
  threshold: 0.5
  mask_column: mask
  detections: det.csv
  detection_threshold: 0.5
  missing_detections: no_findings
  image_column: path
manifest: manifest.csv
truth: {column: label, positive: "1", negative: "0", mask_column: ref, lesions: les.csv}
endpoints:
  - {id: auc, metric: roc_auc, ci: delong, confidence_level: 0.95, acceptance: {ci_low_at_least: 0.6, value_at_least: 0.5, ci_high_at_most: 1.0, value_at_most: 1.0}}
  - {id: sens, metric: sensitivity, ci: wilson, acceptance: {margin: 0.1, reference: 0.8}}
  - {id: nsd, metric: nsd, tolerance_mm: 2.0, ci: bootstrap_percentile, acceptance: {value_at_least: 0.5}}
  - {id: les, metric: lesion_sensitivity_at_fp, fp_per_image: 1.0, radius_mm: 5.0, ci: bootstrap_percentile, acceptance: {value_at_least: 0.5}}
  - {id: fpi, metric: fp_per_image, ci: bootstrap_percentile, acceptance: {value_at_most: 1.0}}
subgroups:
  min_size: 2
  variables:
    - {column: site}
    - {column: age, bins: [0, 60, 200], labels: [young, old]}
bootstrap: {replicates: 200, seed: 7}
multiplicity: holm
""" % ("0" * 64)


def _write(tmp: Path, text: str | bytes, name: str = "p.yaml") -> Path:
    p = tmp / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def _one_line_error(path: Path) -> str:
    with pytest.raises(ProtocolError) as ei:
        load_protocol(path)
    msg = str(ei.value)
    assert "\n" not in msg and len(msg) < 3000, msg[:500]
    return msg


def test_full_protocol_parses_into_frozen_typed_objects(tmp_path: Path) -> None:
    p = load_protocol(_write(tmp_path, FULL_PROTOCOL))
    assert p.device.threshold == 0.5 and p.device.score is not None and p.device.score.is_probability
    assert p.truth.negative == ("0",) and p.endpoints[1].acceptance.margin == 0.1
    assert p.endpoints[2].seg_key == "nsd@2.0" and p.subgroups is not None
    assert p.subgroups.variables[1].labels == ("young", "old") and p.bootstrap.replicates == 200
    with pytest.raises(AttributeError):
        p.endpoints[0].ci = "wilson"  # type: ignore[misc]
    assert not hasattr(p, "data")


# ----------------------------------------------------------------------------- bounded loading
def _leaf_paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(obj, dict):
        return [q for k, v in obj.items() for q in _leaf_paths(v, (*prefix, k))] + ([prefix] if prefix else [])
    if isinstance(obj, list):
        return [q for i, v in enumerate(obj) for q in _leaf_paths(v, (*prefix, i))] + [prefix]
    return [prefix]


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _set(obj: Any, path: tuple, value: Any) -> Any:
    obj = json.loads(json.dumps(obj))
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


FULL = yaml.safe_load(FULL_PROTOCOL)
PATHS = sorted({p for p in _leaf_paths(FULL) if p}, key=str)
HOSTILE = {
    "huge_list": list(range(3000)),
    "deep_mapping": {"a": {"b": {"c": [[[[1]]]]}}},
    "long_string": "x" * 50000,
    "nan": math.nan,
    "inf": math.inf,
    "null": None,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("path", PATHS, ids=_dotted)
def test_every_protocol_key_with_hostile_values_gives_one_line_error(tmp_path: Path, path: tuple, kind: str) -> None:
    """Table-driven over every key of a full protocol: the error is one bounded line naming the
    key path (or the protocol is accepted when the value happens to be valid there)."""
    data = _set(FULL, path, HOSTILE[kind])
    p = _write(tmp_path, yaml.safe_dump(data, allow_unicode=True))
    try:
        load_protocol(p)
    except ProtocolError as exc:
        msg = str(exc)
        assert "\n" not in msg and len(msg) < 3000, msg[:300]
        assert "x" * 200 not in msg and "0, 1, 2, 3, 4" not in msg  # the instance is never repr()'d whole
        return
    assert kind in ("long_string", "null") or path[-1] in ("title", "description")


@pytest.mark.parametrize("key", ["device.threshold", "endpoints[0].confidence_level", "bootstrap.seed",
                                 "endpoints[0].acceptance.ci_low_at_least", "subgroups.variables[1].bins[1]"])
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
def test_non_finite_numbers_are_refused_naming_the_key(tmp_path: Path, key: str, value: str) -> None:
    path = next(p for p in PATHS if _dotted(p) == key)
    text = yaml.safe_dump(_set(FULL, path, "@@")).replace("'@@'", value)
    msg = _one_line_error(_write(tmp_path, text))
    assert f"`{key}`" in msg and "finite" in msg


BOUNDS = {
    "too_large": "id: x\n" + "#" * (1 << 20) + "\n",
    "billion_laughs": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + chr(ord(c) - 1)] * 10)}]\n" for c in "bcdefghi"),
    "nested_sequences": "[" * 100000,
    "nested_mappings": "a: " * 5000 + "1\n",
    "nested_flow_mappings": "{a: " * 100000,
    "not_utf8": b"id: \xff\xfe\n",
    "binary_tag": "id: !!python/object:os.system x\n",
    "not_a_mapping": "- 1\n- 2\n",
    "duplicate_keys": "id: a\nid: b\n",
    "non_scalar_key": "? [a, b]\n: 1\n",
}


@pytest.mark.parametrize("kind", sorted(BOUNDS))
def test_protocol_loading_is_bounded(tmp_path: Path, kind: str) -> None:
    """No RecursionError / MemoryError / hang: one-line ProtocolError."""
    _one_line_error(_write(tmp_path, BOUNDS[kind]))


def test_protocol_loading_under_2gb_address_space_and_timeout(tmp_path: Path) -> None:
    """The hostile protocols under resource.setrlimit(RLIMIT_AS, 2 GiB) and a 60 s timeout."""
    for kind in ("billion_laughs", "nested_sequences", "nested_flow_mappings"):
        _write(tmp_path, BOUNDS[kind], f"{kind}.yaml")
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from validation.errors import ProtocolError
        from validation.harness import load_protocol
        for k in ("billion_laughs", "nested_sequences", "nested_flow_mappings"):
            try:
                load_protocol({str(tmp_path)!r} + "/" + k + ".yaml")
            except ProtocolError as e:
                print("ok", k)
    """)
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert res.stdout.split().count("ok") == 3, res.stderr[-1000:]


# ----------------------------------------------------------------------------- truth labels
def _study(tmp: Path, labels: list[str] | None = None, protocol: str = BASE_PROTOCOL) -> Path:
    proto = make_study(tmp, n=40, files=False)
    if labels is not None:
        m = pd.read_csv(tmp / "manifest.csv", dtype=str)
        m.loc[: len(labels) - 1, "label"] = labels
        m.to_csv(tmp / "manifest.csv", index=False)
    proto.write_text(protocol)
    return proto


def _run(tmp: Path, proto: Path) -> Any:
    return run_validation(proto, out_dir=tmp / "out", audit_log=tmp / "a.jsonl",
                          tracking_uri=f"sqlite:///{tmp}/mlflow.db", progress=False)


@pytest.mark.parametrize("labels,declared,fragment", [
    (["2", "2"], None, "exactly two distinct labels"),
    (["yes"], None, "exactly two distinct labels"),
    (["2", "x"], '"0"', "neither truth.positive nor truth.negative"),
    (["2", "x"], '["0", "2"]', "['x']"),
])
def test_unexpected_truth_labels_are_errors_listing_labels_and_rows(tmp_path: Path, labels: list[str],
                                                                     declared: str | None, fragment: str) -> None:
    truth = 'truth: {column: label, positive: "1"}'
    proto_text = BASE_PROTOCOL if declared is None else BASE_PROTOCOL.replace(
        truth, f'truth: {{column: label, positive: "1", negative: {declared}}}')
    proto = _study(tmp_path, labels, proto_text)
    with pytest.raises(ProtocolError) as ei:
        _run(tmp_path, proto)
    msg = str(ei.value)
    assert fragment in msg and ("K0000" in msg or "K0001" in msg) and "\n" not in msg
    actions = [r["action"] for r in iter_records(tmp_path / "a.jsonl")]
    assert actions[-1] == "run.fail"


def test_declared_negative_list_accepts_several_negative_labels(tmp_path: Path) -> None:
    truth = 'truth: {column: label, positive: "1"}'
    proto = _study(tmp_path, ["2", "2"], BASE_PROTOCOL.replace(
        truth, 'truth: {column: label, positive: "1", negative: ["0", "2"]}'))
    o = _run(tmp_path, proto)
    sens = next(e for e in o.result["endpoints"] if e["id"] == "sens")
    assert sens["tp"] + sens["fn"] == 20 - 2  # the two relabelled positives are negatives now


def test_negative_equal_to_positive_is_refused(tmp_path: Path) -> None:
    text = BASE_PROTOCOL.replace('truth: {column: label, positive: "1"}',
                                 'truth: {column: label, positive: "1", negative: ["0", "1"]}')
    assert "`truth.negative`" in _one_line_error(_write(tmp_path, text))


# ----------------------------------------------------------------------------- crashes after output
LEVELS = ["Site A/", "a b", "Zürich", "..", ".", "x" * 300, "=cmd|' /C calc'!A0", " lead", "a/../b"]


def test_hostile_subgroup_levels_are_sanitised_in_mlflow_and_kept_in_results(tmp_path: Path) -> None:
    proto = make_study(tmp_path, n=len(LEVELS) * 6, files=False)
    m = pd.read_csv(tmp_path / "manifest.csv", dtype=str)
    m["site"] = [LEVELS[i % len(LEVELS)] for i in range(len(m))]
    m.to_csv(tmp_path / "manifest.csv", index=False)
    o = _run(tmp_path, proto)
    assert {g["level"] for g in o.result["subgroups"] if g["variable"] == "site"} == set(LEVELS)
    assert (tmp_path / "out" / "result.json").is_file()
    actions = [r["action"] for r in iter_records(tmp_path / "a.jsonl")]
    assert "run.fail" not in actions and "mlflow.run.end" in actions
    # cases.csv is formula-safe; parquet keeps the raw value
    csv = (tmp_path / "out" / "cases.csv").read_text()
    assert "\n=cmd" not in csv and ",=cmd" not in csv and "'=cmd" in csv
    assert "=cmd|' /C calc'!A0" in set(pd.read_parquet(tmp_path / "out" / "cases.parquet")["subgroup:site"])


@pytest.mark.parametrize("stage", ["log_metrics", "log_artifact", "set_tags", "checkpoint"])
def test_failure_after_lock_leaves_run_fail_and_no_result_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               stage: str) -> None:
    from validation.audit import AuditLog
    from validation.tracking import TrackedRun

    proto = make_study(tmp_path, n=40, files=False)

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError(f"forced failure in {stage}")

    monkeypatch.setattr(AuditLog if stage == "checkpoint" else TrackedRun, stage, boom)
    with pytest.raises(RuntimeError):
        _run(tmp_path, proto)
    assert not (tmp_path / "out" / "result.json").exists()
    assert not any((tmp_path / "out").rglob("result.json"))
    last = list(iter_records(tmp_path / "a.jsonl"))[-1]
    assert last["action"] == "run.fail" and last["context"]["error"] == "RuntimeError"


def test_testset_access_is_recorded_before_any_case_is_evaluated(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import validation.harness._run as R

    proto = make_study(tmp_path, n=40, files=False)
    real = R.build_case_data
    seen: list[list[str]] = []

    def spy(*a: Any, **k: Any) -> Any:
        seen.append([r["action"] for r in iter_records(tmp_path / "a.jsonl")])
        return real(*a, **k)

    monkeypatch.setattr(R, "build_case_data", spy)
    _run(tmp_path, proto)
    assert seen and seen[0][-2:] == ["testset.access", "run.start"]


# ----------------------------------------------------------------------------- bundle threshold
def _fake_bundle(monkeypatch: pytest.MonkeyPatch, tmp: Path, threshold: float, seen: list) -> None:
    import samd_core
    import validation.harness._bundle as B

    model = SimpleNamespace(threshold=threshold, manifest_sha256="b" * 64)
    monkeypatch.setattr(samd_core, "load_locked", lambda path: model)

    def run_bundle(*a: Any, **k: Any) -> Any:
        seen.append([r["action"] for r in iter_records(tmp / "a.jsonl")])
        raise KeyboardInterrupt  # any exception type ends in run.fail

    monkeypatch.setattr(B, "run_bundle", run_bundle)


@pytest.mark.parametrize("protocol_threshold,error", [(None, None), (0.5, None), (0.25, "0.25")])
def test_bundle_threshold_must_equal_the_locked_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   protocol_threshold: float | None, error: str | None) -> None:
    make_study(tmp_path, n=40, files=True)
    seen: list = []
    _fake_bundle(monkeypatch, tmp_path, 0.5, seen)
    (tmp_path / "bundle").mkdir()
    thr = "" if protocol_threshold is None else f"\n  threshold: {protocol_threshold}"
    text = BASE_PROTOCOL.replace("  predictions: predictions.csv", "  bundle: bundle").replace(
        "\n  threshold: 0.5", thr)
    proto = _write(tmp_path, text, "protocol.yaml")
    if error is not None:
        with pytest.raises(ProtocolError) as ei:
            _run(tmp_path, proto)
        assert error in str(ei.value) and "0.5" in str(ei.value)
        assert not seen  # refused before the test set is opened
    else:
        with pytest.raises(KeyboardInterrupt):
            _run(tmp_path, proto)
        assert seen and seen[0][-2:] == ["testset.access", "run.start"]  # access recorded before inference
    assert [r["action"] for r in iter_records(tmp_path / "a.jsonl")][-1] == "run.fail"


# ----------------------------------------------------------------------------- spellings
def test_older_spellings_are_accepted_and_recorded_as_normalised(tmp_path: Path) -> None:
    proto = make_study(tmp_path, n=40, files=False)
    text = BASE_PROTOCOL.replace("ci: wilson, acceptance: {value_at_least: 0.5}}\n  - {id: spec",
                                 "ci: clopper-pearson, acceptance: {value_at_least: 0.5}}\n  - {id: spec")
    text = text.replace("multiplicity: holm", "multiplicity: benjamini-hochberg")
    text = text.replace("- {id: spec, metric: specificity, ci: wilson", "- {id: spec, metric: specificity, ci: bootstrap-bca")
    proto.write_text(text)
    o = _run(tmp_path, proto)
    assert o.result["normalised"] == [
        {"path": "endpoints[1].ci", "given": "clopper-pearson", "used": "clopper_pearson"},
        {"path": "endpoints[2].ci", "given": "bootstrap-bca", "used": "bootstrap_bca"},
        {"path": "multiplicity", "given": "benjamini-hochberg", "used": "benjamini_hochberg"},
    ]
    assert o.result["protocol_sha256"] == sha256_file(proto)  # the file as written is what is locked
    assert [e["ci"] for e in o.result["endpoints"]][1:] == ["clopper_pearson", "bootstrap_bca"]


def test_schema_lists_one_spelling_per_option() -> None:
    from validation.harness import protocol_schema

    ci = protocol_schema()["properties"]["endpoints"]["items"]["properties"]["ci"]["enum"]
    assert all("-" not in c for c in ci)
    src = "\n".join(p.read_text() for p in (REPO / "validation" / "harness").glob("*.py"))
    assert '.replace("_", "-")' not in src and ".replace('_', '-')" not in src


# ----------------------------------------------------------------------------- console summary
def test_format_summary_rounds_for_people_and_result_keeps_full_precision() -> None:
    r = {"protocol_id": "P", "protocol_version": 2, "protocol_sha256": "c" * 64, "n_cases": 3, "mlflow_run_id": "r",
         "verdict": "fail", "warnings": ["w"], "endpoints": [
             {"id": "e", "metric": "sensitivity", "value": 2 / 3, "ci_low": "nan", "ci_high": 0.99999,
              "method": "wilson", "criterion": "value >= 0.7", "passed": False}]}
    text = format_summary(r)
    assert "0.667 [nan, 1.000]" in text and "FAIL" in text and "warning: w" in text
    assert r["endpoints"][0]["value"] == 2 / 3


def test_shipped_example_protocol_parses_without_aliases(tmp_path: Path) -> None:
    """examples/reference_device/protocol.yaml (placeholders filled as `samd demo` does)."""
    text = (REPO / "examples" / "reference_device" / "protocol.yaml").read_text(encoding="utf-8")
    for k, v in {"{{BUNDLE}}": "bundle", "{{THRESHOLD}}": "0.9980661869049072", "{{MANIFEST}}": "m.csv",
                 "{{LESIONS}}": "l.csv", "{{REPLICATES}}": "200"}.items():
        text = text.replace(k, v)
    p = load_protocol(_write(tmp_path, text))
    assert p.normalised == () and p.mode == "bundle" and p.device.threshold == 0.9980661869049072
    assert [e.ci for e in p.endpoints] == ["wilson", "wilson", "delong"] + ["bootstrap_percentile"] * 6


@pytest.mark.parametrize("key", ["k" * 5000, "a\nb", "=cmd|' /C calc'!A0", "é" * 100])
@pytest.mark.parametrize("where", ["top", "device", "endpoint"])
def test_hostile_unknown_keys_give_one_bounded_line(tmp_path: Path, key: str, where: str) -> None:
    data = json.loads(json.dumps(FULL))
    target = {"top": data, "device": data["device"], "endpoint": data["endpoints"][0]}[where]
    target[key] = 1
    msg = _one_line_error(_write(tmp_path, yaml.safe_dump(data, allow_unicode=True)))
    assert "k" * 200 not in msg and "known keys" in msg
