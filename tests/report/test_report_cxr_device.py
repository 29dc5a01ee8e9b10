"""The chest-radiograph triage device's own documents (examples/cxr_triage) render from real runs.

A small `samd phantom --kind radiograph` cohort is validated with `samd validate` in bundle mode
(the shipped `cxr_triage_v1` bundle, the device's own protocol with its placeholders filled) and
in predictions mode (`protocol_predictions.yaml`, scores written by `make_predictions.py`); the
device's submission.yaml, risk file and requirements render with no missing input and no wording
of the lung-nodule device.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.report.conftest import REPO, write_junit

CXR = REPO / "examples" / "cxr_triage"
BUNDLE = REPO / "samd_core" / "bundles" / "cxr_triage_v1"
# words of the lung-nodule device that must not appear in this device's documents
NODULE_WORDS = re.compile(r"nodule|lesion|\bCT\b|\bHU\b|Hounsfield|slice thickness", re.IGNORECASE)


def _cli(args: list[str]) -> Any:
    from samd.cli import main

    return CliRunner().invoke(main, args, catch_exceptions=False)


def _cited_tests() -> dict[str, tuple[str, str]]:
    """Every test the device's risk file and requirements cite, as a passed JUnit case."""
    text = (CXR / "risk_file.yaml").read_text("utf-8") + (CXR / "srs" / "cxr_triage.yaml").read_text("utf-8")
    ids = sorted(set(re.findall(r"tests/[\w/]+\.py::\w+", text)))
    assert len(ids) >= 10
    for nodeid in ids:  # each cited test exists
        path, _, name = nodeid.partition("::")
        assert re.search(rf"^def {name}\(", (REPO / path).read_text("utf-8"), re.MULTILINE), nodeid
    return {nodeid: ("passed", "") for nodeid in ids}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("cxr")
    cohort = tmp / "cohort"
    res = _cli(["phantom", "--kind", "radiograph", "--n-cases", "60", "--seed", "2029", "--out", str(cohort),
                "--prevalence", "0.5"])
    assert res.exit_code == 0, res.output
    uri, audit = f"sqlite:///{tmp / 'mlflow.db'}", tmp / "audit.jsonl"
    proto = (CXR / "protocol.yaml").read_text("utf-8")
    proto = (proto.replace("{{BUNDLE}}", str(BUNDLE)).replace("{{MANIFEST}}", str(cohort / "manifest.csv"))
             .replace("{{REPLICATES}}", "100"))
    (tmp / "protocol.yaml").write_text(proto, "utf-8")
    out: dict[str, Any] = {"tmp": tmp, "uri": uri, "audit": audit}
    for mode, protocol in (("bundle", tmp / "protocol.yaml"), ("predictions", tmp / "protocol_predictions.yaml")):
        if mode == "predictions":
            import importlib.util

            spec = importlib.util.spec_from_file_location("cxr_make_predictions", CXR / "make_predictions.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            write_predictions = module.write_predictions
            shutil.copy(CXR / "protocol_predictions.yaml", protocol)
            assert write_predictions(cohort / "manifest.csv", tmp / "predictions.csv", bundle=BUNDLE) == 60
        res = _cli(["validate", str(protocol), "--out", str(tmp / f"run_{mode}"), "--tracking-uri", uri,
                    "--audit-log", str(audit)])
        assert res.exit_code in (0, 1), res.output
        out[mode] = json.loads((tmp / f"run_{mode}" / "result.json").read_text("utf-8"))
    return out


def test_both_modes_record_one_device_identity(runs: dict[str, Any]) -> None:
    b, p = runs["bundle"]["device"], runs["predictions"]["device"]
    assert (b["mode"], p["mode"]) == ("bundle", "predictions")
    assert (p["name"], p["version"]) == ("samd-cxr-triage", "1.0.0")  # declared in protocol_predictions.yaml
    spec = yaml.safe_load((CXR / "bundle_spec.yaml").read_text("utf-8"))
    assert (spec["name"], str(spec["version"])) == (p["name"], p["version"])
    # the predictions are the bundle's own scores: same estimates in both modes
    for eb, ep in zip(runs["bundle"]["endpoints"], runs["predictions"]["endpoints"], strict=True):
        assert (eb["id"], eb["value"], eb["n"]) == (ep["id"], ep["value"], ep["n"])


@pytest.mark.parametrize("mode", ["bundle", "predictions"])
def test_cxr_documents_render_without_nodule_wording(runs: dict[str, Any], mode: str) -> None:
    from risk.report import render_submission

    tmp = runs["tmp"]
    junit = write_junit(tmp / f"junit_{mode}.xml", _cited_tests())
    out = tmp / f"sub_{mode}"
    res = render_submission(config_path=CXR / "submission.yaml", run_ids=[runs[mode]["mlflow_run_id"]],
                            out_dir=out, tracking_uri=runs["uri"], audit_log=runs["audit"], junit=[junit], pdf=False)
    assert res is not None
    html = sorted(out.glob("*.html"))
    assert {p.stem for p in html} >= {"submission", "510k_summary", "risk_management", "standalone_performance"}
    for page in html:
        text = re.sub(r"<[^>]+>", " ", page.read_text("utf-8"))
        hits = sorted({m.group(0) for m in NODULE_WORDS.finditer(text)})
        assert not hits, f"{page.name}: {hits}"
        assert "MISSING" not in text and "TODO" not in text, page.name
    text = re.sub(r"<[^>]+>", " ", (out / "submission.html").read_text("utf-8"))
    assert "samd-cxr-triage" in text and "1.0.0" in text
    assert "samd Chest Radiograph Triage" in text
    for hazard in ("HAZ-001", "HAZ-004", "HAZ-005", "SRS-CXR-005", "RC-008"):
        assert hazard in text
