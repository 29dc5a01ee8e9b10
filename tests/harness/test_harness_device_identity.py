"""`device: {name, version}` of a protocol: the device's declared identity.

Recorded in result.json in predictions mode (the report's device identity); in bundle mode it must
equal the locked bundle's name and version.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from validation.harness import load_protocol
from validation.errors import ProtocolError

REPO = Path(__file__).resolve().parents[2]
CXR_BUNDLE = REPO / "samd_core" / "bundles" / "cxr_triage_v1"

PROTOCOL = """\
id: SAP-ID-001
title: t
description: d
device:
  {device}
  score: {{column: score, higher_is_positive: true, is_probability: true}}
manifest: cohort/manifest.csv
truth: {{column: finding, positive: finding, negative: normal}}
endpoints:
  - {{id: auc, metric: roc_auc, ci: delong, acceptance: {{ci_low_at_least: 0.5}}}}
bootstrap: {{replicates: 100, seed: 1}}
"""


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from samd.cli import main

    tmp = tmp_path_factory.mktemp("id")
    res = CliRunner().invoke(main, ["phantom", "--kind", "radiograph", "--n-cases", "12", "--seed", "5",
                                    "--prevalence", "0.5", "--out", str(tmp / "cohort")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = (tmp / "cohort" / "manifest.csv").read_text("utf-8").splitlines()[1:]
    (tmp / "predictions.csv").write_text(
        "case_id,score\n" + "".join(f"{r.split(',')[0]},{i / 20}\n" for i, r in enumerate(rows)), "utf-8")
    return tmp


def _validate(tmp: Path, device: str, name: str) -> tuple[int, str]:
    from samd.cli import main

    p = tmp / f"{name}.yaml"
    p.write_text(PROTOCOL.format(device=device), "utf-8")
    res = CliRunner().invoke(main, ["validate", str(p), "--out", str(tmp / name), "--tracking-uri",
                                    f"sqlite:///{tmp / 'mlflow.db'}", "--audit-log", str(tmp / f"{name}.jsonl")])
    return res.exit_code, res.output + str(res.exception or "")


def test_predictions_mode_records_the_declared_identity(cohort: Path) -> None:
    code, out = _validate(cohort, "predictions: predictions.csv\n  name: acme-cxr\n  version: 2.3.0\n"
                                  "  threshold: 0.5", "preds")
    assert code in (0, 1), out
    device = json.loads((cohort / "preds" / "result.json").read_text("utf-8"))["device"]
    assert (device["mode"], device["name"], device["version"]) == ("predictions", "acme-cxr", "2.3.0")


@pytest.mark.parametrize("field, value", [("name", "other-device"), ("version", "9.9.9")])
def test_bundle_mode_identity_must_be_the_bundles(cohort: Path, field: str, value: str) -> None:
    ident = {"name": "samd-cxr-triage", "version": "1.0.0", field: value}
    code, out = _validate(cohort, f"bundle: {CXR_BUNDLE}\n  image_column: image_path\n"
                                  f"  name: {ident['name']}\n  version: {ident['version']}", f"b_{field}")
    assert code == 2
    assert f"`device.{field}`" in out and repr(value) in out
    assert not (cohort / f"b_{field}" / "result.json").exists()


@pytest.mark.parametrize("value", ["''", "[1]", "3"])
def test_identity_fields_are_schema_checked(tmp_path: Path, value: str) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(PROTOCOL.format(device=f"predictions: predictions.csv\n  name: {value}"), "utf-8")
    with pytest.raises(ProtocolError, match="name"):
        load_protocol(p)
