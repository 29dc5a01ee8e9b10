"""Lesion endpoints in the harness: detection rows required for every image (or a declared
meaning of a missing row), 2-D lesion tables, operating-point endpoints against a hand-worked
example, "not reached" sensitivity at an FP rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from validation.errors import ProtocolError
from validation.harness import format_summary, run_validation

pytestmark = pytest.mark.verifies("SRS-HARNESS-021")

PROTOCOL = """\
id: SAP-CADE-001
device:
  predictions: predictions.csv
  detections: detections.csv
  detection_threshold: 0.5
{extra}manifest: manifest.csv
truth: {{lesions: lesions.csv}}
endpoints:
  - {{id: lsens, metric: lesion_sensitivity, ci: bootstrap_percentile, acceptance: {{value_at_least: 0.5}}}}
  - {{id: fpi, metric: fp_per_image, ci: bootstrap_percentile, acceptance: {{value_at_most: 1.0}}}}
  - {{id: s2fp, metric: lesion_sensitivity_at_fp, fp_per_image: 2.0, ci: bootstrap_percentile,
     acceptance: {{value_at_least: 0.1}}}}
bootstrap: {{replicates: 200, seed: 1}}
multiplicity: none
"""

# 4 images (2-D, mm in the image plane). Lesions: I1 (r=3 mm) hit by a 0.9 mark; I2 (r=3 mm)
# hit only by a 0.3 mark (below the 0.5 threshold); I3 none. FPs: 0.8 on I1, 0.2 on I3; I4 read,
# no candidates. At t = 0.5: sensitivity 1/2, FP/image 1/4. Highest FP rate: 2/4 = 0.5 < 2.
LESIONS = "case_id,center_y_mm,center_x_mm,diameter_mm\nI1,10,10,6\nI2,20,20,6\n"
DETS = ("case_id,score,center_y_mm,center_x_mm\nI1,0.9,11,10\nI1,0.8,40,40\nI2,0.3,20,21\n"
        "I3,0.2,5,5\nI4,,,\n")


def _study(tmp: Path, dets: str = DETS, extra: str = "", lesions: str = LESIONS) -> Path:
    (tmp / "manifest.csv").write_text("case_id\nI1\nI2\nI3\nI4\n")
    (tmp / "predictions.csv").write_text("case_id\nI1\nI2\nI3\nI4\n")
    (tmp / "lesions.csv").write_text(lesions)
    (tmp / "detections.csv").write_text(dets)
    (tmp / "protocol.yaml").write_text(PROTOCOL.format(extra=extra))
    return tmp / "protocol.yaml"


def _run(tmp: Path, p: Path):  # type: ignore[no-untyped-def]
    return run_validation(p, out_dir=tmp / "out", audit_log=tmp / "a.jsonl",
                          tracking_uri=f"sqlite:///{tmp}/mlflow.db", progress=False)


def test_operating_point_endpoints_hand_worked_2d(tmp_path: Path) -> None:
    o = _run(tmp_path, _study(tmp_path))
    ep = {e["id"]: e for e in o.result["endpoints"]}
    assert ep["lsens"]["value"] == 0.5 and ep["lsens"]["n"] == 2 and ep["lsens"]["passed"]
    assert ep["fpi"]["value"] == 0.25 and ep["fpi"]["n"] == 4 and ep["fpi"]["passed"]
    assert ep["fpi"]["candidate_threshold"] == 0.5
    assert ep["fpi"]["candidate_threshold_source"] == "device.detection_threshold"
    assert ep["fpi"]["population"]["coordinates"] == "2-D mm"
    assert ep["fpi"]["population"]["n_images_analysed"] == 4
    assert ep["fpi"]["population"]["n_images_without_detection_rows"] == 0
    s = ep["s2fp"]
    assert s["reached"] is False and s["fp_rate_reached"] == 0.5 and s["passed"] is False
    assert s["value"] == "nan" and "not reached (highest FP rate reached: 0.500)" in s["notes"]
    froc = o.result["froc"]
    assert froc["operating_point"] == {"threshold": 0.5, "sensitivity": 0.5, "fp_per_image": 0.25}
    assert froc["fp_rate_reached"] == 0.5 and froc["curve"]["sensitivity"][-1] == 1.0
    assert (tmp_path / "out" / "plots" / "froc.png").is_file() and (tmp_path / "out" / "plots" / "froc.svg").is_file()
    text = format_summary(o.result)
    assert "not reached (highest FP rate reached: 0.500)" in text and "fpi" in text


def test_missing_detection_rows_are_refused_in_one_line(tmp_path: Path) -> None:
    p = _study(tmp_path, dets=DETS.replace("I4,,,\n", "").replace("I3,0.2,5,5\n", ""))
    with pytest.raises(ProtocolError) as ei:
        _run(tmp_path, p)
    msg = str(ei.value)
    assert "\n" not in msg and "no row for 2 of 4 manifest case(s) ['I3', 'I4']" in msg
    assert "device.missing_detections: no_findings" in msg


def test_missing_rows_mean_no_findings_when_declared(tmp_path: Path) -> None:
    p = _study(tmp_path, dets=DETS.replace("I4,,,\n", ""), extra="  missing_detections: no_findings\n")
    o = _run(tmp_path, p)
    e = next(e for e in o.result["endpoints"] if e["id"] == "fpi")
    assert e["value"] == 0.25 and e["population"]["n_images_without_detection_rows"] == 1
    assert e["population"]["missing_detections"] == "no_findings"


def test_mixed_2d_and_3d_rows_are_refused(tmp_path: Path) -> None:
    les = "case_id,center_z_mm,center_y_mm,center_x_mm,diameter_mm\nI1,1,10,10,6\nI2,,20,20,6\n"
    with pytest.raises(ProtocolError, match=r"mixes 2-D rows \(empty `center_z_mm`, e.g. file line\(s\) \[3\]\)"):
        _run(tmp_path, _study(tmp_path, lesions=les))


def test_2d_lesions_with_3d_detections_are_refused(tmp_path: Path) -> None:
    dets = "case_id,score,center_z_mm,center_y_mm,center_x_mm\nI1,0.9,0,11,10\nI2,,,,\nI3,,,,\nI4,,,,\n"
    with pytest.raises(ProtocolError, match=r"`truth.lesions` has 2-D centres and `device.detections` 3-D"):
        _run(tmp_path, _study(tmp_path, dets=dets))


def test_operating_point_needs_a_threshold(tmp_path: Path) -> None:
    from validation.harness import load_protocol

    p = _study(tmp_path)
    p.write_text(p.read_text().replace("  detection_threshold: 0.5\n", ""))
    with pytest.raises(ProtocolError, match=r"`device.detection_threshold`"):
        load_protocol(p)


@pytest.mark.parametrize(("rule", "declared", "error"), [
    ("max_probability", "0.25", "differs from the bundle's locked threshold 0.5"),
    ("largest_lesion_volume_mm3", None, "lesion operating-point endpoints need `device.detection_threshold`"),
])
def test_bundle_candidate_threshold_is_the_locked_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       rule: str, declared: str | None, error: str) -> None:
    from types import SimpleNamespace

    import samd_core

    model = SimpleNamespace(threshold=0.5, manifest_sha256="b" * 64, settings=SimpleNamespace(case_score_rule=rule))
    monkeypatch.setattr(samd_core, "load_locked", lambda path: model)
    p = _study(tmp_path)
    (tmp_path / "bundle").mkdir()
    text = p.read_text().replace("  predictions: predictions.csv\n  detections: detections.csv\n", "  bundle: bundle\n")
    text = text.replace("  detection_threshold: 0.5\n", "" if declared is None else f"  detection_threshold: {declared}\n")
    p.write_text(text)
    with pytest.raises(ProtocolError, match=error):
        _run(tmp_path, p)


@pytest.mark.parametrize(("hi", "ok"), [(0.59, True), (0.6, False), (0.8, False)])
def test_fp_per_image_is_lower_is_better_in_non_inferiority(hi: float, ok: bool) -> None:
    from validation.harness import Acceptance, Endpoint
    from validation.harness._endpoints import acceptance
    from validation.stats import Estimate

    ep = Endpoint(id="fpi", metric="fp_per_image", ci="bootstrap_percentile", confidence_level=0.95,
                  acceptance=Acceptance(margin=0.1, reference=0.5))
    passed, crit = acceptance(ep, Estimate(0.4, 0.3, hi, 0.95, "cluster-bootstrap-percentile", 10))
    assert passed is ok and crit == "non-inferiority: ci_high < 0.5 + 0.1"
