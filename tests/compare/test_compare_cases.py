"""Paired endpoints as pure functions, and hostile comparison inputs (clear errors, no verdict)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validation.compare import Endpoint, PairedCases, estimate_paired_endpoint, run_comparison
from validation.errors import ProtocolError
from validation.stats import delong_test, paired_proportion_difference_ci


@st.composite
def paired(draw: object) -> PairedCases:
    n = draw(st.integers(8, 60))  # type: ignore[operator]
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))  # type: ignore[operator]
    y[:4] = [0, 1, 0, 1]
    a = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), float) + y  # type: ignore[operator]
    b = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), float) + y  # type: ignore[operator]
    return PairedCases(y=y, score_reference=a, score_candidate=b, pred_reference=(a >= 4).astype(np.int8),
                       pred_candidate=(b >= 4).astype(np.int8))


def _swap(c: PairedCases) -> PairedCases:
    return PairedCases(c.y, c.score_candidate, c.score_reference, c.pred_candidate, c.pred_reference)


EPS = [Endpoint("auc", "roc_auc", "delong", 0.95, 0.05, "asymptotic_cc"),
       Endpoint("se", "sensitivity", "tango", 0.95, 0.05, "exact"),
       Endpoint("sp", "specificity", "newcombe", 0.9, 0.1, "mid-p")]


@pytest.mark.verifies("SRS-COMPARE-001", "SRS-COMPARE-002")
@settings(max_examples=40, deadline=None)
@given(paired(), st.sampled_from(EPS))
def test_swapping_models_negates_the_difference(cases: PairedCases, ep: Endpoint) -> None:
    idx = np.arange(cases.y.size)
    r = estimate_paired_endpoint(ep, cases, idx)
    s = estimate_paired_endpoint(ep, _swap(cases), idx)
    assert s["value"] == pytest.approx(-r["value"], abs=1e-12)
    assert s["ci_low"] == pytest.approx(-r["ci_high"], abs=1e-9) and s["ci_high"] == pytest.approx(-r["ci_low"], abs=1e-9)
    assert r["passed"] == (r["ci_low"] > -ep.non_inferiority_margin)
    if ep.metric == "roc_auc":  # the one implementation in validation.stats, called unchanged
        t = delong_test(cases.y, cases.score_candidate, cases.score_reference)
        assert (r["value"], r["ci_low"], r["ci_high"]) == (t.estimate.value, t.estimate.ci_low, t.estimate.ci_high)
    else:
        e = paired_proportion_difference_ci(r["table"], method=ep.ci, confidence_level=ep.confidence_level)  # type: ignore[arg-type]
        assert (r["value"], r["ci_low"], r["ci_high"]) == (e.value, e.ci_low, e.ci_high)
        assert sum(map(sum, r["table"])) == r["n"]


BASE = """\
id: PCCP-H
manifest: manifest.csv
truth: {column: label, positive: "1"}
reference: {predictions: r.csv, score: {column: s, higher_is_positive: true}, threshold: 0.5}
candidate: {predictions: c.csv, score: {column: s, higher_is_positive: true}, threshold: 0.5}
endpoints:
  - {id: auc, metric: roc_auc, ci: delong, acceptance: {non_inferiority_margin: 0.1}}
"""


def _files(root: Path, labels: list[int], r: list[str], c: list[str]) -> None:
    ids = [f"K{i}" for i in range(len(labels))]
    (root / "manifest.csv").write_text("case_id,label\n" + "".join(f"{i},{y}\n" for i, y in zip(ids, labels, strict=True)))
    (root / "r.csv").write_text("case_id,s\n" + "".join(f"{i},{v}\n" for i, v in zip(ids, r, strict=True)))
    (root / "c.csv").write_text("case_id,s\n" + "".join(f"{i},{v}\n" for i, v in zip(ids, c, strict=True)))
    (root / "p.yaml").write_text(BASE)


HOSTILE = [
    ([0, 1, 0, 1], ["0.1", "0.9", "nan", "0.8"], ["0.2", "0.7", "0.3", "0.6"], r"reference.*not a finite number"),
    ([0, 1, 0, 1], ["0.1", "0.9", "0.2", "0.8"], ["0.2", "=cmd()", "0.3", "0.6"], r"candidate.*not a finite number"),
    ([1, 1, 1, 1], ["0.1", "0.9", "0.2", "0.8"], ["0.2", "0.7", "0.3", "0.6"], r"single class"),
]


@pytest.mark.verifies("SRS-COMPARE-003")
@pytest.mark.parametrize(("labels", "r", "c", "match"), HOSTILE)
def test_hostile_inputs_stop_with_a_named_error(tmp_path: Path, labels: list[int], r: list[str], c: list[str],
                                                match: str) -> None:
    _files(tmp_path, labels, r, c)
    with pytest.raises(ProtocolError, match=match):
        run_comparison(tmp_path / "p.yaml", out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
    assert not (tmp_path / "out" / "result.json").exists()
    assert "run.fail" in (tmp_path / "a.jsonl").read_text()


@pytest.mark.verifies("SRS-COMPARE-003")
def test_missing_prediction_rows_are_named(tmp_path: Path) -> None:
    _files(tmp_path, [0, 1, 0, 1], ["0.1", "0.9", "0.2", "0.8"], ["0.2", "0.7", "0.3", "0.6"])
    (tmp_path / "c.csv").write_text("case_id,s\nK0,0.1\nK1,0.2\n")
    with pytest.raises(ProtocolError, match=r"no prediction for 2 manifest case"):
        run_comparison(tmp_path / "p.yaml", out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
