"""Comparison protocols: schema and consistency errors, and bundle mode pinned by manifest SHA-256."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.harness._factory import sha256
from validation.compare import compare_schema, load_compare_protocol, run_comparison
from validation.errors import IntegrityError, ProtocolError

BASE = """\
id: PCCP-T
manifest: manifest.csv
truth: {column: label, positive: "1"}
reference: {predictions: r.csv, score: {column: s, higher_is_positive: true}, threshold: 0.5}
candidate: {predictions: c.csv, score: {column: s, higher_is_positive: true}, threshold: 0.5}
endpoints:
  - {id: e1, metric: sensitivity, ci: tango, acceptance: {non_inferiority_margin: 0.1}}
"""

BAD = [
    (BASE.replace("ci: tango", "ci: wilson"), r"endpoints\[0\]\.ci"),
    (BASE.replace("metric: sensitivity, ci: tango", "metric: roc_auc, ci: tango"), r"endpoints\[0\]\.ci.*delong"),
    (BASE.replace(", threshold: 0.5}\ncandidate", "}\ncandidate"), r"reference\.threshold"),
    (BASE.replace("reference: {predictions: r.csv,", "reference: {predictions: r.csv, bundle: b,"), r"reference"),
    (BASE.replace("id: PCCP-T", "id: PCCP-T\nsurprise: 1"), r"surprise"),
    (BASE.replace("{non_inferiority_margin: 0.1}", "{non_inferiority_margin: -0.1}"), r"non_inferiority_margin"),
    (BASE + "  - {id: e1, metric: specificity, ci: newcombe, acceptance: {non_inferiority_margin: 0.1}}\n",
     r"endpoints\[1\]\.id"),
    (BASE.replace("threshold: 0.5}\nendpoints", "threshold: 0.5, expected_sha256: " + "a" * 64 + "}\nendpoints"),
     r"candidate\.expected_sha256"),
    ("id: [unclosed", r"not valid YAML"),
]


@pytest.mark.verifies("SRS-COMPARE-003")
@pytest.mark.parametrize(("text", "match"), BAD)
def test_bad_protocols_name_the_key(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(text)
    with pytest.raises(ProtocolError, match=match):
        load_compare_protocol(p)


def test_schema_is_shipped_and_valid() -> None:
    import jsonschema

    s = compare_schema()
    jsonschema.Draft202012Validator.check_schema(s)
    assert set(s["required"]) == {"id", "manifest", "truth", "reference", "candidate", "endpoints"}


BUNDLE_PROTOCOL = """\
id: PCCP-BUNDLE
manifest: manifest.csv
truth: {column: label, positive: "1"}
reference: {bundle: ref_bundle, expected_sha256: "REFSHA", threshold: 0.5}
candidate: {bundle: cand_bundle, expected_sha256: "CANDSHA", threshold: 0.5}
endpoints:
  - {id: auc, metric: roc_auc, ci: delong, acceptance: {non_inferiority_margin: 0.05}}
  - {id: sens, metric: sensitivity, ci: newcombe, acceptance: {non_inferiority_margin: 0.05}}
"""


@pytest.mark.slow
@pytest.mark.verifies("SRS-COMPARE-004")
def test_bundle_mode_runs_both_pinned_bundles_on_the_same_images(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import SimpleITK as sitk

    import samd_core
    from tests.bundle._factory import make_bundle, small_volume

    make_bundle(tmp_path / "ref_bundle")
    make_bundle(tmp_path / "cand_bundle", version="0.0.2")
    (tmp_path / "img").mkdir()
    rows = ["case_id,label,path,sha256"]
    for i in range(6):
        f = tmp_path / "img" / f"v{i}.mha"
        sitk.WriteImage(small_volume(i).to_sitk(), str(f))
        rows.append(f"V{i},{i % 2},img/v{i}.mha,{sha256(f)}")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    ref_sha = samd_core.load_locked(tmp_path / "ref_bundle").manifest_sha256
    cand_sha = samd_core.load_locked(tmp_path / "cand_bundle").manifest_sha256
    assert ref_sha == sha256(tmp_path / "ref_bundle" / "manifest.json")
    # a wrong pin stops the run before any case is run or any test-set access is logged
    (tmp_path / "p.yaml").write_text(BUNDLE_PROTOCOL.replace("REFSHA", ref_sha).replace("CANDSHA", "0" * 64))
    with pytest.raises(IntegrityError, match="candidate.expected_sha256"):
        run_comparison(tmp_path / "p.yaml", out_dir=tmp_path / "bad", audit_log=tmp_path / "bad.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
    assert not (tmp_path / "bad" / "models").exists()
    assert "testset.access" not in (tmp_path / "bad.jsonl").read_text()
    (tmp_path / "p.yaml").write_text(BUNDLE_PROTOCOL.replace("REFSHA", ref_sha).replace("CANDSHA", cand_sha))
    o = run_comparison(tmp_path / "p.yaml", out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
    r = o.result
    assert r["reference"]["sha256"] == ref_sha and r["candidate"]["sha256"] == cand_sha
    assert r["reference"]["cases_computed"] == 6 and r["candidate"]["cases_computed"] == 6
    assert r["candidate"]["version"] == "0.0.2"
    # the same weights on the same images: identical scores, so a zero difference
    ep = {e["id"]: e for e in r["endpoints"]}
    assert ep["auc"]["value"] == 0.0 and ep["sens"]["value"] == 0.0
    import pandas as pd

    cases = pd.read_csv(tmp_path / "out" / "cases.csv")
    assert np.array_equal(cases["reference_score"], cases["candidate_score"])
