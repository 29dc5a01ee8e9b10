"""The report's wording of lesion endpoints: a sensitivity at an FP rate the FROC curve never
reaches is "not reached (highest FP rate reached: x)", never a number; the FROC figure is drawn
with its caption from result.json ``froc``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from risk.report._figures import froc_figure
from risk.report._normalize import endpoint_rows
from risk.report._render import _environment

EP = {"id": "les1fp", "metric": "lesion_sensitivity_at_fp", "value": "nan", "ci_low": "nan", "ci_high": "nan",
      "confidence_level": 0.95, "method": "cluster-bootstrap-percentile", "n": 300, "criterion": "value >= 0.4",
      "passed": False, "reached": False, "fp_rate_reached": 0.9566666666666667,
      "population": {"n_images_analysed": 300, "n_images_without_detection_rows": 0, "missing_detections": "error",
                     "cluster": "patient_id", "n_clusters": 280, "coordinates": "3-D mm"}}


def _row() -> dict:
    return endpoint_rows(SimpleNamespace(result={"endpoints": [EP]}, run_id="r1"))[0]  # type: ignore[arg-type]


def test_not_reached_in_every_estimate_macro() -> None:
    row = _row()
    assert row["reached"] is False and row["fp_rate_reached"] == EP["fp_rate_reached"]
    macros = _environment().get_template("macros.html.j2").module
    for text in (str(macros.estimate(row)), str(macros.endpoint_sentence(row))):  # type: ignore[attr-defined]
        assert "not reached (highest FP rate reached: 0.957" in text and "nan" not in text


def test_reached_estimate_is_a_number() -> None:
    row = {**_row(), "reached": True, "value": 0.61, "ci_low": 0.5, "ci_high": 0.7}
    macros = _environment().get_template("macros.html.j2").module
    assert str(macros.estimate(row)) == "0.610 (0.500 to 0.700)"  # type: ignore[attr-defined]


def test_froc_figure_is_drawn_and_captioned(tmp_path: Path) -> None:
    froc = {"criterion": "center_in_radius(lesion radius)", "n_lesions": 10, "n_images": 20,
            "fp_per_image": [0.0, 0.5], "ci_low": [0.1, 0.2], "ci_high": [0.5, 0.7], "confidence_level": 0.95,
            "fp_rate_reached": 0.5, "curve": {"fp_per_image": [0.0, 0.25, 0.5], "sensitivity": [0.0, 0.3, 0.5]},
            "operating_point": {"threshold": 0.7, "sensitivity": 0.3, "fp_per_image": 0.25}}
    fig = froc_figure(froc, [], tmp_path, run_id="r1")
    assert fig is not None and (tmp_path / "froc.png").stat().st_size > 1000
    assert "the curve ends at 0.500 false positives per image" in fig.caption
    assert "sensitivity 0.300 at 0.250 false positives per image" in fig.caption
    assert froc_figure(None, [], tmp_path, run_id="r1") is None


def test_not_reached_in_the_subgroup_table_too() -> None:
    from risk.report._normalize import subgroup_rows

    est = {k: EP[k] for k in ("value", "ci_low", "ci_high", "confidence_level", "method", "n", "reached",
                              "fp_rate_reached")}
    rows = subgroup_rows(SimpleNamespace(result={"subgroups": [  # type: ignore[arg-type]
        {"variable": "site", "level": "A", "n": 87, "endpoints": {"les1fp": {**est, "fp_rate_reached": 0.6667}}}]}))
    assert rows[0]["reached"] is False
    src = (Path(__file__).parents[2] / "risk/report/templates/sections/standalone_performance.html.j2").read_text()
    row_tpl = next(line for line in src.splitlines() if line.startswith("{% for s in v.subgroups %}"))
    html = _environment().from_string(row_tpl).render(v={"subgroups": rows})
    assert "not reached (highest FP rate reached: 0.667)" in html and "not estimable" not in html
