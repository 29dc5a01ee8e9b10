"""Render the submission documents from real MLflow runs and read the PDF back (pypdf)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from risk.errors import IntegrityError, MissingInputsError, SamdError
from risk.report import SECTIONS, render_submission
from risk.report._render import _check_html
from tests.report.conftest import BUNDLE_SHA, CORE_FP, EXAMPLE_TESTS, WEIGHTS_SHA, write_junit

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module")
def rendered(store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tests.report.conftest import EXAMPLE, REPO

    tmp = tmp_path_factory.mktemp("render")
    cfg = tmp / "cfg"
    import shutil

    shutil.copytree(EXAMPLE, cfg)
    text = (cfg / "submission.yaml").read_text("utf-8")
    text = text.replace("../../requirements.lock", str(REPO / "requirements.lock"))
    text = text.replace("../../CHANGELOG.md", str(REPO / "CHANGELOG.md"))
    (cfg / "submission.yaml").write_text(text, "utf-8")
    junit = write_junit(tmp / "junit.xml", EXAMPLE_TESTS)
    out = tmp / "out"
    res = render_submission(config_path=cfg / "submission.yaml", run_ids=store["run_ids"], out_dir=out,
                            tracking_uri=store["uri"], audit_log=store["audit"], junit=[junit])
    pages = [p.extract_text() or "" for p in PdfReader(out / "submission.pdf").pages]
    return {"res": res, "out": out, "pages": pages, "cfg": cfg / "submission.yaml", "junit": junit}


def _section_text(pages: list[str], title: str, next_title: str) -> str:
    start = next(i for i, t in enumerate(pages) if t.lstrip().startswith(title))
    end = next(i for i, t in enumerate(pages) if i > start and t.lstrip().startswith(next_title))
    return "\n".join(pages[start:end])


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.verifies("SRS-REPORT-001", "SRS-REF-004")
def test_pdf_has_numbers_in_sections(rendered: dict[str, Any]) -> None:
    pages = rendered["pages"]
    standalone = _flat(_section_text(pages, "Standalone Performance Report", "Reader Study Report"))
    # values from the fixture result.json, rounded by the template to 3 decimals
    assert "0.873" in standalone and "0.812 to 0.921" in standalone
    assert "0.901" in standalone and "0.851 to 0.936" in standalone
    assert "0.946" in standalone and "0.912 to 0.979" in standalone
    assert "wilson" in standalone and "delong" in standalone and "95%" in standalone
    assert standalone.count("PASS") == 2 and standalone.count("FAIL") == 1  # case_auc missed its criterion
    assert "ci_low >= 0.95" in standalone
    # subgroup rows with their n and the small-subgroup note; the interaction test
    assert re.search(r"5 mm case_sensitivity 0\.778 0\.456 to 0\.937 9 below the protocol's minimum", standalone)
    assert re.search(r"VendorA case_sensitivity 0\.861 0\.762 to 0\.923 57", standalone)
    assert re.search(r"vendor case_sensitivity 1\.235 0\.2665 0\.5331", standalone)
    assert "samd-reference-nodule 1.1.0" in standalone
    # flagged subgroup finding in the discussion: the 5 mm subgroup's CI crosses the criterion
    assert "case_sensitivity in subgroup slice_thickness = 5 mm 0.778 (CI 0.456 to 0.937), n = 9: ci_low 0.456 " \
           "does not satisfy ci_low >= 0.800" in standalone
    reader = _flat(_section_text(pages, "Reader Study Report", "Risk Management Summary"))
    assert "0.053" in reader and "0.021 to 0.085" in reader and "0.0034" in reader
    assert "0.812" in reader and "0.865" in reader  # unaided / aided
    assert "modality aided minus modality unaided" in reader
    assert re.search(r"R4 0\.830 0\.880", reader)  # per-reader FOMs (reader_auc[i][j])
    se = _flat(_section_text(pages, "Substantial Equivalence", "Software Documentation"))
    assert "sensitivity 0.873 (95% CI 0.812 to 0.921, wilson, n = 150)" in se
    assert "K000000" in se and "table 2" in se  # predicate cell with citation
    summary = _flat(_section_text(pages, "510(k) Summary", "Indications for Use"))
    assert "Pre-specified acceptance criteria met: 2 of 3 endpoints" in summary
    # nothing unrounded leaked from the result (templates do the rounding)
    assert "0.8734567" not in "".join(pages)


@pytest.mark.verifies("SRS-REPORT-002")
def test_510k_summary_on_own_pages_in_807_92_order(rendered: dict[str, Any]) -> None:
    pages = rendered["pages"]
    assert pages[0].lstrip().startswith("510(k) Summary")
    nxt = next(i for i, t in enumerate(pages) if t.lstrip().startswith("Indications for Use"))
    summary = pages[:nxt]
    assert all("Indications for Use\n" not in t.split("\n", 1)[0] for t in summary)
    text = "\n".join(summary)
    marks = ["(a)(1)", "(a)(2)", "(a)(3)", "(a)(4)", "(a)(5)", "(a)(6)", "(b)(1)", "(b)(2)", "(b)(3)"]
    pos = [text.index(m) for m in marks]
    assert pos == sorted(pos)
    # nothing of the next section on the summary's last page; and the page before the summary's end
    assert "Device Description" not in text and "Substantial Equivalence Comparison" not in text
    # the per-section file holds only the summary plus the sources appendix
    own = [p.extract_text() for p in PdfReader(rendered["out"] / "510k_summary.pdf").pages]
    assert own[0].lstrip().startswith("510(k) Summary")
    assert own[-1].lstrip().startswith("Appendix: Sources")
    assert len(own) == nxt + 1


@pytest.mark.verifies("SRS-REPORT-012")
def test_no_template_syntax_left(rendered: dict[str, Any]) -> None:
    out: Path = rendered["out"]
    for name in [f"{s}.html" for s, _ in SECTIONS] + ["submission.html"]:
        text = (out / name).read_text("utf-8")
        for token in ("{{", "{%", "{#", "%}", "}}"):
            assert token not in text, (name, token)
        assert "MISSING" not in text
    for sid, _ in SECTIONS:
        for page in PdfReader(out / f"{sid}.pdf").pages:
            t = page.extract_text()
            assert "{{" not in t and "{%" not in t and "MISSING" not in t


@pytest.mark.verifies("SRS-REPORT-005")
def test_index_sources_and_audit_records(rendered: dict[str, Any], store: dict[str, Any]) -> None:
    from validation.audit import iter_records, sha256_file, verify_audit_log

    out: Path = rendered["out"]
    index = json.loads((out / "submission_index.json").read_text("utf-8"))
    assert set(index["sections"]) == {s for s, _ in SECTIONS} | {"submission", "sbom", "figures"}
    figs = index["sections"]["figures"]
    assert sorted(Path(f["file"]).name for f in figs) == ["forest_auc.png", "forest_proportion.png", "froc.png", "roc.png"]
    assert all(f["caption"] and f["drawn_from"][0].startswith("result.json (SHA-256 ") for f in figs)
    for sid, entries in index["sections"].items():
        for e in entries:
            assert sha256_file(out / e["file"]) == e["sha256"]
            assert set(e["run_ids"]) <= set(store["run_ids"]) and e["run_ids"]
    assert index["sections"]["standalone_performance"][0]["run_ids"] == [store["validation"]]
    records = list(iter_records(store["audit"]))
    assert verify_audit_log(store["audit"]).ok
    rendered_recs = {r["object"]["file"]: r["object_sha256"] for r in records
                     if r["action"] == "report.render" and r["object"]["out_dir"] == str(out.resolve())}
    for name, sha in rendered["res"].files.items():
        if name != "submission_index.json":
            assert rendered_recs[name] == sha
    assert any(r["action"] == "report.index" and r["object_sha256"] == sha256_file(out / "submission_index.json")
               for r in records)
    # each run is cited with its audit record hash (the mlflow.run.end record)
    run_end = {r["object"]["id"]: r["hash"] for r in records if r["action"] == "mlflow.run.end"}
    html = (out / "standalone_performance.html").read_text("utf-8")
    for run_id in store["run_ids"]:
        assert run_id in html and run_end[run_id] in html
    assert {s["audit_hash"] for s in index["sources"]} == {run_end[r] for r in store["run_ids"]}
    # the locked core's identity comes from the validation run (result.json device block, params)
    desc = (out / "device_description.html").read_text("utf-8")
    for h in (CORE_FP, BUNDLE_SHA, WEIGHTS_SHA):
        assert h in desc


@pytest.mark.verifies("SRS-REPORT-003")
def test_ifu_identical_everywhere(rendered: dict[str, Any]) -> None:
    from risk.report import ifu_sha256, load_submission_config

    cfg = load_submission_config(rendered["cfg"])
    sha = ifu_sha256(cfg["indications_for_use"])
    html = (rendered["out"] / "submission.html").read_text("utf-8")
    assert html.count(f'data-sha256="{sha}"') >= 4  # summary, IFU form, device description, SE table
    tampered = html.replace("concurrent aid to a physician", "concurrent aid to any physician", 1)
    with pytest.raises(IntegrityError, match="indications-for-use text differs"):
        _check_html("x.html", tampered, draft=False, ifu={"sha256": sha})
    with pytest.raises(SamdError, match="template syntax"):
        _check_html("x.html", html + "{{ oops }}", draft=False, ifu={"sha256": sha})


@pytest.mark.verifies("SRS-REPORT-004")
def test_missing_inputs_are_listed_and_nothing_written(store: dict[str, Any], example_config: Path,
                                                      tmp_path: Path) -> None:
    text = example_config.read_text("utf-8")
    start = text.index("predicates:")
    end = text.index("substantial_equivalence:")
    example_config.write_text(text[:start] + text[end:], "utf-8")
    out = tmp_path / "out"
    with pytest.raises(MissingInputsError) as info:
        render_submission(config_path=example_config, run_ids=[store["validation"]], out_dir=out,
                          tracking_uri=store["uri"], audit_log=None, junit=[])
    missing = "\n".join(info.value.missing)
    assert "predicate device: `predicates` not configured" in missing
    assert "substantial equivalence row 4 (Reader-study effect): no reader study run given" in missing
    assert not any(m.startswith("reader study:") for m in info.value.missing)  # the reader study is optional
    assert "test results: --junit FILE not given" in missing
    assert "audit trail: --audit-log FILE not given" in missing
    assert not out.exists()


@pytest.mark.verifies("SRS-REPORT-004")
def test_draft_renders_visible_placeholders(store: dict[str, Any], example_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "draft"
    res = render_submission(config_path=example_config, run_ids=[store["validation"]], out_dir=out,
                            tracking_uri=store["uri"], audit_log=None, junit=[], draft=True, pdf=False)
    assert not (out / "reader_study.html").exists()  # no reader study given: the section is left out
    html = (out / "substantial_equivalence.html").read_text("utf-8")
    assert "[MISSING: reader study run]" in html
    assert "DRAFT" in html
    assert res.draft and any("reader study" in m for m in res.missing)
    index = json.loads((out / "submission_index.json").read_text("utf-8"))
    assert index["draft"] is True and index["missing"] == list(res.missing)


@pytest.mark.verifies("SRS-REPORT-006")
def test_changed_result_artifact_is_refused(store: dict[str, Any], example_config: Path, tmp_path: Path) -> None:
    db_dir = Path(store["uri"].removeprefix("sqlite:///")).parent
    path = next(p for p in db_dir.rglob("result.json") if store["validation"] in str(p))
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"0.8734567", b"0.9734567"))
        with pytest.raises(IntegrityError, match="changed after the run") as info:
            render_submission(config_path=example_config, run_ids=store["run_ids"], out_dir=tmp_path / "o",
                              tracking_uri=store["uri"], audit_log=store["audit"], junit=[], draft=True, pdf=False)
        assert store["validation"] in str(info.value)
    finally:
        path.write_bytes(original)


@pytest.mark.verifies("SRS-REPORT-006")
def test_unknown_run_is_a_missing_input(store: dict[str, Any], example_config: Path, tmp_path: Path) -> None:
    with pytest.raises(MissingInputsError, match="run 0123456789abcdef: not found"):
        render_submission(config_path=example_config, run_ids=[*store["run_ids"], "0123456789abcdef"],
                          out_dir=tmp_path / "o", tracking_uri=store["uri"], audit_log=store["audit"],
                          junit=[], pdf=False)


@pytest.mark.verifies("SRS-REPORT-011")
def test_report_cli(store: dict[str, Any], example_config: Path, tmp_path: Path) -> None:
    """The command is thin: samd's errors reach `samd/cli.py` (which maps them to exit 2) unchanged."""
    from click.testing import CliRunner

    from samd.cli import main

    base = ["report", "--config", str(example_config), "--tracking-uri", store["uri"], "--no-pdf"]
    r = CliRunner().invoke(main, [*base, "--run", store["validation"], "--out", str(tmp_path / "a")])
    assert r.exit_code == 2 and r.output.startswith("error: ") and len(r.output.splitlines()) == 1
    assert "no reader study run given" in r.output and "--draft" in r.output
    r = CliRunner().invoke(main, [*base, "--run", store["validation"], "--out", str(tmp_path / "b"), "--draft"])
    assert r.exit_code == 0, r.output
    assert "submission_index.json" in r.output and "DRAFT" in r.output and "verdict: fail" in r.output
    r = CliRunner().invoke(main, [*base, "--latest", "--out", str(tmp_path / "l"), "--draft"])
    assert r.exit_code == 0, r.output
    index = json.loads((tmp_path / "l" / "submission_index.json").read_text("utf-8"))
    assert [s["run_id"] for s in index["sources"]] == store["run_ids"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("device: {trade_name: x}\nunknown_key: 1\n", "utf-8")
    r = CliRunner().invoke(main, ["report", "--config", str(bad), "--run", "x", "--out", str(tmp_path / "c"),
                                  "--tracking-uri", store["uri"]])
    assert r.exit_code == 2 and r.output.startswith("error: ") and len(r.output.splitlines()) == 1
    assert "`/`: Additional properties are not allowed ('unknown_key'" in r.output
    assert "`/device`: 'common_name' is a required property" in r.output
    r = CliRunner().invoke(main, ["report", "--run", "x"])
    assert r.exit_code == 2 and "--config" in r.output  # usage error


@pytest.mark.verifies("SRS-REPORT-012")
def test_same_inputs_give_identical_documents(store: dict[str, Any], example_config: Path, tmp_path: Path) -> None:
    import hashlib
    from datetime import datetime, timezone

    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    digests = []
    for name in ("a", "b"):
        res = render_submission(config_path=example_config, run_ids=store["run_ids"], out_dir=tmp_path / name,
                                tracking_uri=store["uri"], audit_log=None, junit=[], draft=True, pdf=False, now=now)
        digests.append({k: v for k, v in res.files.items()})
        assert hashlib.sha256((tmp_path / name / "submission.html").read_bytes()).hexdigest() == res.files[
            "submission.html"]
    assert digests[0] == digests[1]


@pytest.mark.verifies("SRS-REPORT-011", "SRS-REPORT-008")
def test_risk_check_reads_endpoints_from_a_run(store: dict[str, Any], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from samd.cli import main
    from tests.report.conftest import EXAMPLE

    junit = write_junit(tmp_path / "j.xml", EXAMPLE_TESTS)
    args = ["risk", "check", "--junit", str(junit), "--srs", str(EXAMPLE / "srs"),
            "--risk-file", str(EXAMPLE / "risk_file.yaml"), "--tracking-uri", store["uri"]]
    r = CliRunner().invoke(main, [*args, "--run", store["validation"]])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, args)  # without the run the endpoint verifications are missing
    assert r.exit_code == 1 and "VERIFICATION-MISSING RC-001: endpoint case_sensitivity" in r.output


_ASSERTS_MET = re.compile(
    r"performs as intended|(?<!not )meets its|criteria (?:were|are) met|all \d+ pre-specified acceptance criteria"
    r"|favourable benefit|improves detection|benefit, shown", re.I)


@pytest.mark.verifies("SRS-REPORT-013")
def test_failing_run_makes_no_claim_of_meeting_criteria(rendered: dict[str, Any]) -> None:
    """A run with a failed criterion (case_auc): read the PDF back; nothing claims success."""
    pages = rendered["pages"]
    assert all("ACCEPTANCE CRITERIA NOT MET" in p for p in pages)  # the running header of every page
    for sid, _ in SECTIONS:
        for page in PdfReader(rendered["out"] / f"{sid}.pdf").pages:
            assert "ACCEPTANCE CRITERIA NOT MET" in (page.extract_text() or "")
    text = _flat(" ".join(pages))
    for sentence in re.split(r"(?<=[.;:])\s+", text):
        m = _ASSERTS_MET.search(sentence)
        assert m is None or re.search(r"\bnot\b", sentence), sentence
    summary = _flat(_section_text(pages, "510(k) Summary", "Indications for Use"))
    # the failed criterion is named with its value, CI and criterion
    assert "1 of 3 criteria were not met" in summary
    assert "Criterion not met: case_auc (roc_auc) 0.946 (95% CI 0.912 to 0.979), n = 320; acceptance criterion " \
           "ci_low >= 0.95: not met" in summary
    assert "The manufacturer's typed conclusion is not reproduced" in summary
    risk = _flat(_section_text(pages, "Risk Management Summary", "Appendix: Sources"))
    assert "Benefit: not established; 1 of 3 pre-specified standalone acceptance criteria were not met" in risk
    index = json.loads((rendered["out"] / "submission_index.json").read_text("utf-8"))
    v = index["verdict"]
    assert v["acceptance_criteria"] == "fail" and (v["criteria_met"], v["criteria_total"]) == (2, 3)
    assert [f["endpoint"] for f in v["failed_criteria"]] == ["case_auc"] and v["claims_supported"] is False
    assert rendered["res"].verdict == "fail"


@pytest.mark.verifies("SRS-REPORT-014")
def test_simulated_reader_study_is_never_clinical(rendered: dict[str, Any]) -> None:
    pages = rendered["pages"]
    summary = _flat(_section_text(pages, "510(k) Summary", "Indications for Use"))
    b2 = summary[summary.index("(b)(2) Clinical performance data"):summary.index("(b)(3)")]
    assert "Multi-reader" not in b2 and "No clinical performance data are included" in b2
    b1 = summary[summary.index("(b)(1)"):summary.index("(b)(2)")]
    assert "Reader study (simulated data); not clinical performance data" in b1
    assert "Standalone performance (synthetic data)" in b1
    reader = _flat(_section_text(pages, "Reader Study Report", "Risk Management Summary"))
    assert reader.startswith("Reader Study Report (simulated data)")
    assert "Effect of the device (simulated data)" in reader
    standalone = _flat(_section_text(pages, "Standalone Performance Report", "Reader Study Report"))
    assert standalone.startswith("Standalone Performance Report (synthetic test set)")
    assert "Endpoints (synthetic data)" in standalone and "Subgroups (synthetic data)" in standalone
    assert not any(p.lstrip().startswith("Clinical Performance") for p in pages)


@pytest.mark.verifies("SRS-REPORT-015")
def test_performance_rows_of_the_se_table_are_computed(rendered: dict[str, Any]) -> None:
    se = _flat(_section_text(rendered["pages"], "Substantial Equivalence", "Software Documentation"))
    # sensitivity 0.873 (0.812-0.921) vs the predicate's 0.90 (0.85-0.94), non-inferiority margin 0.05:
    # difference -0.027, CI d -/+ z*hypot(0.1087531/(2z), 0.09/(2z)), z = 1.959964: (-0.0971, 0.0440)
    assert "Non-inferiority not shown: difference (subject − predicate) -0.027 (95% CI -0.097 to 0.044)" in se
    assert "Non-inferiority shown: difference (subject − predicate) 0.013 (95% CI -0.031 to 0.057)" in se
    assert "margin 0.050: lower 95% confidence bound of (subject − predicate) > −0.050" in se
    assert "0.900 (95% CI 0.850 to 0.940)" in se  # the predicate's published value, as configured
    assert "similar" not in se.split("Case-level sensitivity")[1].split("Reader-study effect")[0]


@pytest.mark.verifies("SRS-REPORT-018")
def test_every_page_has_content_and_every_figure_its_caption(rendered: dict[str, Any], tmp_path: Path) -> None:
    """Render each PDF page to an image with poppler's pdftoppm: no blank page; figures captioned."""
    import shutil
    import subprocess

    import numpy as np
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) not installed")
    out: Path = rendered["out"]
    subprocess.run(["pdftoppm", "-r", "30", "-gray", str(out / "submission.pdf"), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p-*.pgm"))
    assert len(images) == len(rendered["pages"])
    for img in images:
        a = np.asarray(Image.open(img))
        h = a.shape[0]
        body = a[int(0.09 * h):int(0.91 * h)]  # without the running header and footer
        assert (body < 200).mean() > 0.002, f"{img.name}: blank page"
    html = (out / "standalone_performance.html").read_text("utf-8")
    figures = re.findall(r"<figure>(.*?)</figure>", html, re.S)
    assert len(figures) == 4 and len(re.findall(r"<img ", html)) == 4  # no image outside a figure
    text = _flat(" ".join(rendered["pages"]))
    for i, f in enumerate(figures, start=1):
        assert f"<figcaption><b>Figure {i}.</b>" in f
        assert f"Figure {i}." in text
    # each forest plot on its own scale, labelled with the endpoint's n (not a subgroup's case count)
    assert "Forest plot, proportion (synthetic data): case_sensitivity, case_specificity" in text
    assert "Forest plot, area under the roc curve (synthetic data): case_auc" in text
    assert "locked operating point: sensitivity 0.873 (n=150), specificity 0.901 (n=170)" in text
    # the FROC figure: band, where the curve ends, the locked operating point
    assert "FROC curve (synthetic data) (150 lesions, 320 images" in text
    assert "the curve ends at 0.900 false positives per image" in text
    assert "sensitivity 0.520 at 0.250 false positives per image" in text


def test_figure_text_is_readable_at_print_size() -> None:
    """Figure text is 8 pt at the drawn width (6.5 in), shown at >= the drawn width on the page."""
    from risk.report._figures import FIGURE_FONT_PT, _WIDTH_IN

    assert FIGURE_FONT_PT >= 7.0
    text_width_in = (215.9 - 2 * 18) / 25.4  # Letter minus the 18 mm margins of style.css
    assert text_width_in >= _WIDTH_IN  # img.figure is shown at 100% of the text width: never scaled down
    assert 0.62 * text_width_in >= 0.6 * _WIDTH_IN  # the square ROC figure neither


@pytest.mark.verifies("SRS-REPORT-013")
def test_passing_run_states_success_and_shows_the_manufacturer_text(example_config: Path, tmp_path: Path) -> None:
    from tests.report.conftest import make_runs

    (tmp_path / "store").mkdir()
    store = make_runs(tmp_path / "store", passing=True)
    out = tmp_path / "out"
    res = render_submission(config_path=example_config, run_ids=store["run_ids"], out_dir=out,
                            tracking_uri=store["uri"], audit_log=store["audit"], junit=[], draft=True, pdf=False)
    assert res.verdict == "pass"
    summary = _flat(re.sub(r"<[^>]+>", " ", (out / "510k_summary.html").read_text("utf-8")))
    assert "All 3 pre-specified acceptance criteria of the standalone performance study were met on synthetic " \
           "data (not clinical performance data)." in summary
    assert "reader-study hypothesis (superiority of aided over unaided reading) was met" in summary
    assert "Manufacturer's remarks." in summary and "ACCEPTANCE CRITERIA NOT MET" not in summary
    html = (out / "submission.html").read_text("utf-8")
    assert "ACCEPTANCE CRITERIA NOT MET" not in html and "@top-center" not in html
    risk = _flat(re.sub(r"<[^>]+>", " ", (out / "risk_management.html").read_text("utf-8")))
    assert "Benefit: all 3 pre-specified standalone acceptance criteria were met." in risk
    index = json.loads((out / "submission_index.json").read_text("utf-8"))
    assert index["verdict"]["acceptance_criteria"] == "pass" and index["verdict"]["claims_supported"] is True
