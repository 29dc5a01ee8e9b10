"""Traceability checks: findings for each broken link, JUnit from a real pytest run, samd's own SRS."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import risk
from risk.errors import RiskFileError
from tests.report.conftest import EXAMPLE, EXAMPLE_TESTS, REPO, write_junit

RISK_DOC = yaml.safe_load((EXAMPLE / "risk_file.yaml").read_text("utf-8"))
REF_ENDPOINTS = {"case_sensitivity": True, "case_specificity": True}


def _reqs() -> tuple[risk.Requirement, ...]:
    return risk.load_requirements([EXAMPLE / "srs"])


def _codes(rep: risk.TraceabilityReport) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in rep.findings:
        out.setdefault(f.code, []).append(f.subject)
    return out


@pytest.mark.verifies("SRS-REPORT-008")
def test_reference_device_risk_file_is_consistent(tmp_path: Path) -> None:
    rf = risk.load_risk_file(EXAMPLE / "risk_file.yaml")
    tests = risk.parse_junit([write_junit(tmp_path / "j.xml", EXAMPLE_TESTS)])
    rep = risk.check_traceability(_reqs(), tests, risk_file=rf, endpoints=REF_ENDPOINTS)
    assert rep.ok, [str(f) for f in rep.findings]
    assert {r.item: r.status for r in rep.control_rows} == {f"RC-00{i}": "verified" for i in range(1, 5)}
    # a parametrized test id without brackets covers every parametrization (both [weights] and [config])
    rows = {r.item: r for r in rep.requirement_rows}
    assert rows["SRS-REF-003"].status == "verified"
    assert rf.safety_class == "B"
    assert not rf.initial_acceptable(rf.hazards[0]) and not rf.residual_acceptable(rf.hazards[0])


@pytest.mark.verifies("SRS-REPORT-008")
def test_control_without_verification(tmp_path: Path) -> None:
    doc = copy.deepcopy(RISK_DOC)
    doc["hazards"][1]["controls"][0]["verification"] = []
    rf = risk.parse_risk_file(doc)
    tests = risk.parse_junit([write_junit(tmp_path / "j.xml", EXAMPLE_TESTS)])
    rep = risk.check_traceability(_reqs(), tests, risk_file=rf, endpoints=REF_ENDPOINTS)
    assert _codes(rep) == {"CONTROL-UNVERIFIED": ["RC-003"]}
    assert "RC-003" in str(rep.findings[0]) and "HAZ-002" in rep.findings[0].message
    assert {r.item: r.status for r in rep.control_rows}["RC-003"] == "unverified"


@pytest.mark.verifies("SRS-REPORT-008")
def test_verification_whose_test_failed(tmp_path: Path) -> None:
    cases = dict(EXAMPLE_TESTS)
    cases["tests/bundle/test_bundle_integrity.py::test_one_flipped_byte_in_any_file_is_refused[config]"] = (
        "failed", "")
    tests = risk.parse_junit([write_junit(tmp_path / "j.xml", cases)])
    rf = risk.load_risk_file(EXAMPLE / "risk_file.yaml")
    rep = risk.check_traceability(_reqs(), tests, risk_file=rf, endpoints=REF_ENDPOINTS)
    codes = _codes(rep)
    assert codes["VERIFICATION-FAILED"] == ["RC-003"]
    assert codes["REQUIREMENT-FAILED"] == ["SRS-REF-003"]
    assert "[config] failed" in " ".join(f.message for f in rep.findings)
    # a failed endpoint fails the controls and requirements it verifies
    rep2 = risk.check_traceability(_reqs(), risk.parse_junit([write_junit(tmp_path / "k.xml", EXAMPLE_TESTS)]),
                                   risk_file=rf, endpoints={"case_sensitivity": False, "case_specificity": True})
    assert _codes(rep2) == {"REQUIREMENT-FAILED": ["SRS-REF-001"], "VERIFICATION-FAILED": ["RC-001"]}
    # a verification absent from the results is reported as missing, not as passed
    rep3 = risk.check_traceability(_reqs(), tests, risk_file=rf, endpoints={})
    assert set(_codes(rep3)["VERIFICATION-MISSING"]) == {"RC-001", "RC-004", "SRS-REF-001", "SRS-REF-002"}


@pytest.mark.verifies("SRS-REPORT-008")
def test_requirement_with_no_test(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump([
        {"id": "SRS-X-001", "title": "covered", "text": "t", "source_issue": 8},
        {"id": "SRS-X-002", "title": "nobody tests me", "text": "t", "source_issue": 8},
    ]), "utf-8")
    tests = risk.parse_junit([write_junit(tmp_path / "j.xml", {
        "tests/x/test_x.py::test_a": ("passed", "SRS-X-001"),
        "tests/x/test_x.py::test_b": ("passed", "SRS-X-999 SRS-OTHER-001"),
        "tests/x/test_x.py::test_c": ("skipped", "SRS-X-001"),
    })])
    rep = risk.check_traceability(risk.load_requirements([tmp_path / "a.yaml"]), tests)
    codes = _codes(rep)
    assert codes["REQUIREMENT-UNVERIFIED"] == ["SRS-X-002"]
    assert "nobody tests me" in next(f.message for f in rep.findings if f.code == "REQUIREMENT-UNVERIFIED")
    assert codes["ORPHAN-VERIFIES"] == ["SRS-X-999"]
    assert codes["REQUIREMENT-FAILED"] == ["SRS-X-001"]  # a skipped test does not count as passed


@pytest.mark.verifies("SRS-REPORT-008")
def test_unacceptable_risk_without_control_and_residual(tmp_path: Path) -> None:
    doc = copy.deepcopy(RISK_DOC)
    doc["hazards"][2]["controls"] = []
    del doc["hazards"][0]["residual_risk_justification"]
    rf = risk.parse_risk_file(doc)
    tests = risk.parse_junit([write_junit(tmp_path / "j.xml", EXAMPLE_TESTS)])
    rep = risk.check_traceability(_reqs(), tests, risk_file=rf, endpoints=REF_ENDPOINTS)
    codes = _codes(rep)
    assert codes["RISK-UNCONTROLLED"] == ["HAZ-003"]
    assert codes["RISK-RESIDUAL-UNACCEPTABLE"] == ["HAZ-001"]


@pytest.mark.verifies("SRS-REPORT-007")
@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["hazards"][0].update(severity="deadly"), "`/hazards/0/severity`: must be one of"),
        (lambda d: d["acceptability"]["matrix"].update(minor=["acceptable"]), "must have 5 entries"),
        (lambda d: d["hazards"][1]["controls"][0].update(id="RC-001"), "duplicated id 'RC-001'"),
        (lambda d: d["hazards"][0].pop("harm"), "'harm' is a required property"),
        (lambda d: d["hazards"][0]["controls"][0].update(type="warning label"), "/hazards/0/controls/0/type"),
        (lambda d: d["software_safety_class"].update({"class": "D"}), "/software_safety_class/class"),
        (lambda d: d["hazards"][0]["controls"][0]["verification"].append({"test": "a", "endpoint": "b"}),
         "/hazards/0/controls/0/verification/2"),
    ],
)
def test_bad_risk_file_names_field(edit: Any, expected: str) -> None:
    doc = copy.deepcopy(RISK_DOC)
    edit(doc)
    with pytest.raises(RiskFileError) as info:
        risk.parse_risk_file(doc, path="rf.yaml")
    assert expected in str(info.value) and "rf.yaml" in str(info.value)


@pytest.mark.verifies("SRS-REPORT-007")
def test_bad_requirements_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- {id: SRS-A-001, title: t, text: t, source_issue: 1}\n", "utf-8")
    (tmp_path / "b.yaml").write_text("- {id: SRS-A-001, title: t, text: t, source_issue: 1}\n", "utf-8")
    with pytest.raises(RiskFileError, match="already defined in .*a.yaml"):
        risk.load_requirements([tmp_path])
    (tmp_path / "b.yaml").write_text("- {id: REQ-1, title: t, text: t, source_issue: 1}\n", "utf-8")
    with pytest.raises(RiskFileError, match="`/0/id`: 'REQ-1' does not match"):
        risk.load_requirements([tmp_path / "b.yaml"])
    with pytest.raises(RiskFileError, match="file does not exist"):
        risk.load_requirements([tmp_path / "nope.yaml"])


@pytest.mark.verifies("SRS-REPORT-007")
def test_samd_own_requirements_are_valid() -> None:
    reqs = risk.load_requirements([REPO / "risk" / "srs"])
    assert any(r.id == "SRS-REPORT-001" for r in reqs)
    assert len({r.id for r in reqs}) == len(reqs)


_SAMPLE = '''
import pytest

@pytest.mark.verifies("SRS-S-001")
def test_ok():
    pass

@pytest.mark.verifies("SRS-S-002", "RC-009")
def test_bad():
    assert 1 == 2

@pytest.mark.verifies("SRS-S-003")
@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    assert x == 1

@pytest.mark.skip(reason="no")
@pytest.mark.verifies("SRS-S-001")
def test_skipped():
    pass

class TestGroup:
    @pytest.mark.verifies("SRS-S-001")
    def test_in_class(self):
        pass
'''


@pytest.mark.verifies("SRS-REPORT-009")
def test_junit_from_a_real_pytest_run(tmp_path: Path) -> None:
    pkg = tmp_path / "sample"
    pkg.mkdir()
    (pkg / "test_sample.py").write_text(_SAMPLE, "utf-8")
    # no conftest: samd's pytest plugin (what the pytest11 entry point loads once samd is installed)
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                    "-p", "risk.pytest_plugin", f"--junitxml={junit}", str(pkg)],
                   cwd=tmp_path, env=env, capture_output=True, timeout=300, check=False)
    out = risk.parse_junit([junit])
    by_name = {k.split("::", 1)[1]: v for k, v in out.items()}
    assert by_name["test_ok"].status == "passed" and by_name["test_ok"].verifies == ("SRS-S-001",)
    assert by_name["test_bad"].status == "failed" and by_name["test_bad"].verifies == ("RC-009", "SRS-S-002")
    assert by_name["test_param[1]"].passed and by_name["test_param[2]"].status == "failed"
    assert by_name["test_skipped"].status == "skipped" and by_name["test_skipped"].verifies == ("SRS-S-001",)
    assert by_name["TestGroup::test_in_class"].passed
    assert all(k.startswith("sample/test_sample.py::") for k in out)


@pytest.mark.verifies("SRS-REPORT-009")
def test_junit_worst_status_wins_and_bad_file(tmp_path: Path) -> None:
    a = write_junit(tmp_path / "a.xml", {"tests/t.py::test_x": ("failed", "SRS-A-001")})
    b = write_junit(tmp_path / "b.xml", {"tests/t.py::test_x": ("passed", "SRS-A-001")})
    assert risk.parse_junit([a, b])["tests/t.py::test_x"].status == "failed"
    (tmp_path / "bad.xml").write_text("<testsuites><testcase", "utf-8")
    with pytest.raises(RiskFileError, match="not a readable JUnit XML file"):
        risk.parse_junit([tmp_path / "bad.xml"])


@pytest.mark.verifies("SRS-REPORT-011")
def test_risk_check_cli_exit_codes(tmp_path: Path) -> None:
    from samd.cli import main

    runner = CliRunner()
    ok = write_junit(tmp_path / "ok.xml", EXAMPLE_TESTS)
    result = tmp_path / "result.json"
    result.write_text('{"endpoints": [{"id": "case_sensitivity", "passed": true},'
                      ' {"id": "case_specificity", "passed": true}]}', "utf-8")
    args = ["risk", "check", "--srs", str(EXAMPLE / "srs"), "--risk-file", str(EXAMPLE / "risk_file.yaml"),
            "--result", str(result)]
    r = runner.invoke(main, [*args, "--junit", str(ok), "--json", str(tmp_path / "t.json")])
    assert r.exit_code == 0, r.output
    assert "OK: no findings" in r.output
    cases = dict(EXAMPLE_TESTS)
    cases.pop("tests/bundle/test_bundle_integrity.py::test_code_fingerprint_mismatch_is_refused")
    bad = write_junit(tmp_path / "bad.xml", cases)
    r = runner.invoke(main, [*args, "--junit", str(bad)])
    assert r.exit_code == 1
    assert "VERIFICATION-MISSING SRS-REF-003" in r.output and "FAIL: 1 finding(s)" in r.output
    r = runner.invoke(main, ["risk", "check", "--srs", str(EXAMPLE / "srs"), "--junit", str(tmp_path / "t.json")])
    assert r.exit_code == 2 and "error:" in r.output


@pytest.mark.verifies("SRS-REPORT-008")
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["passed", "failed", "skipped", "error"])),
                max_size=12),
       st.integers(1, 6))
def test_requirement_status_invariants(outcomes: list[tuple[int, str]], n_req: int) -> None:
    reqs = tuple(risk.Requirement(f"SRS-P-{i:03d}", f"t{i}", "x", "8", "p.yaml") for i in range(n_req))
    tests = {f"tests/p.py::test_{k}": risk.TestOutcome(f"tests/p.py::test_{k}", status, (f"SRS-P-{i:03d}",), "j")
             for k, (i, status) in enumerate(outcomes)}
    rep = risk.check_traceability(reqs, tests)
    for row in rep.requirement_rows:
        mine = [t for t in tests.values() if row.item in t.verifies]
        expected = ("unverified" if not mine else "verified" if all(t.passed for t in mine) else "failed")
        assert row.status == expected
    orphans = {i for i, _ in outcomes if i >= n_req}
    assert rep.summary.get("ORPHAN-VERIFIES", 0) == sum(1 for i, _ in outcomes if i >= n_req)
    assert {f.subject for f in rep.findings if f.code == "ORPHAN-VERIFIES"} == {f"SRS-P-{i:03d}" for i in orphans}
    assert rep.ok == (all(r.status == "verified" for r in rep.requirement_rows) and not orphans)
