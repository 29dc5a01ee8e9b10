"""SOUP list from the hashed lock file and the CycloneDX SBOM."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

import risk
from risk.errors import RiskFileError
from tests.report.conftest import EXAMPLE, REPO

LOCK = REPO / "requirements.lock"
TS = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.verifies("SRS-REPORT-010")
def test_lock_parsed_with_every_hash() -> None:
    pkgs = {p.name: p for p in risk.parse_lock(LOCK)}
    text = LOCK.read_text("utf-8")
    # independent count: pinned lines and hash lines in the raw file
    assert len(pkgs) == sum(1 for line in text.splitlines() if "==" in line and not line.startswith("#"))
    assert sum(len(p.hashes) for p in pkgs.values()) == text.count("--hash=sha256:")
    assert pkgs["torch"].version.startswith("2.13.0")
    assert all(len(h) == 64 for p in pkgs.values() for h in p.hashes)


@pytest.mark.verifies("SRS-REPORT-010")
def test_soup_list_roots_purposes_and_anomalies() -> None:
    items = {s.name: s for s in risk.soup_list(LOCK, purposes=EXAMPLE / "soup_purposes.yaml",
                                                 roots=risk.CORE_RUNTIME_ROOTS)}
    assert {"numpy", "torch", "pydicom", "safetensors"} <= set(items)
    assert "mlflow" not in items and "jinja2" in items  # jinja2 is pulled in by torch
    assert items["torch"].purpose.startswith("neural-network inference")
    assert "OQ tolerance" in items["torch"].known_anomalies
    assert items["markupsafe"].purpose == "dependency of jinja2"
    assert "no anomaly evaluation recorded" in items["markupsafe"].known_anomalies


@pytest.mark.verifies("SRS-REPORT-010")
def test_bad_lock_files(tmp_path: Path) -> None:
    (tmp_path / "a.lock").write_text("numpy==2.0.0\n    # via -r requirements.in\n", "utf-8")
    with pytest.raises(RiskFileError, match="`numpy==2.0.0` has no --hash line"):
        risk.parse_lock(tmp_path / "a.lock")
    with pytest.raises(RiskFileError, match="root package 'nosuchpkg' is not pinned"):
        risk.soup_list(LOCK, roots=["nosuchpkg"])


@pytest.mark.verifies("SRS-REPORT-010")
def test_sbom_is_valid_cyclonedx_and_deterministic() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    items = risk.soup_list(LOCK, roots=risk.CORE_RUNTIME_ROOTS)
    text = risk.sbom_json(items, device_name="dev", device_version="1.2.3", model_hashes=["ab" * 32],
                          properties=[("samd:core_fingerprint", "cd" * 32)], timestamp=TS)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["metadata"]["component"]["type"] == "machine-learning-model"
    assert doc["metadata"]["component"]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    comps = {c["name"]: c for c in doc["components"]}
    assert comps["torch"]["purl"].startswith("pkg:pypi/torch@2.13.0")
    assert len(comps["numpy"]["hashes"]) == len(next(p for p in risk.parse_lock(LOCK) if p.name == "numpy").hashes)
    again = risk.sbom_json(items, device_name="dev", device_version="1.2.3", model_hashes=["ab" * 32],
                           properties=[("samd:core_fingerprint", "cd" * 32)], timestamp=TS)
    assert again == text


@pytest.mark.verifies("SRS-REPORT-010", "SRS-REPORT-011")
def test_soup_and_sbom_commands(tmp_path: Path) -> None:
    from samd.cli import main

    r = CliRunner().invoke(main, ["risk", "soup", "--lock", str(LOCK), "--root", "safetensors"])
    assert r.exit_code == 0, r.output
    assert [s["name"] for s in json.loads(r.output)] == ["safetensors"]
    out = tmp_path / "s.cdx.json"
    r = CliRunner().invoke(main, ["risk", "sbom", "--lock", str(LOCK), "--name", "d", "--version", "1", "--out",
                                  str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text("utf-8"))["bomFormat"] == "CycloneDX"
