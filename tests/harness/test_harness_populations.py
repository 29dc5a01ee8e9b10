"""Analysis populations (issue #14): every endpoint states n eligible / analysed / excluded and why,
and undefined values (HD95 of an empty prediction) follow the protocol's pre-specified rule.

Independent references: the imputed vectors are rebuilt here with numpy from the masks (eligibility
by ``np.any`` of the reference, the image diagonal as ``sqrt(sum((shape * spacing) ** 2))``, the
BraTS definition of the worst HD95); point values against ``numpy.mean``, intervals against
`validation.stats.bootstrap_ci` called directly on that vector with the run's generator.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from samd.cli import main
from validation import metrics as M
from validation import stats as S
from validation.errors import ProtocolError
from validation.harness import UndefinedRule, format_summary, load_protocol, population_line, run_validation

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

SPACING = (2.0, 0.8, 0.8)
SHAPE = (12, 24, 24)
REPS, SEED = 300, 11

PROTOCOL = """\
id: SAP-POP-001
device: {predictions: predictions.csv, mask_column: mask}
manifest: manifest.csv
truth: {mask_column: ref}
endpoints:
  - {id: hd95_default, metric: hd95, ci: bootstrap_percentile, acceptance: {value_at_most: 50.0}}
  - {id: hd95_exclude, metric: hd95, ci: bootstrap_percentile, undefined: exclude, acceptance: {value_at_most: 50.0}}
  - {id: hd95_worst, metric: hd95, ci: bootstrap_percentile, undefined: worst, acceptance: {value_at_most: 50.0}}
  - {id: hd95_value, metric: hd95, ci: bootstrap_bca, undefined: {value: 20.0}, acceptance: {value_at_most: 50.0}}
  - {id: dice, metric: dice, ci: bootstrap_percentile, acceptance: {value_at_least: 0.1}}
subgroups:
  min_size: 1
  variables: [{column: scanner}]
bootstrap: {replicates: 300, seed: 11}
multiplicity: holm
"""

#: cases whose prediction is empty (HD95 undefined) and whose reference is empty (not eligible)
EMPTY_PRED = ("S03", "S07", "S10")
EMPTY_REF = ("S05", "S12")


def _study(root: Path, n: int = 14) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(4)
    (root / "m").mkdir(parents=True)
    man, pred, masks = ["case_id,ref,scanner"], ["case_id,mask"], {}
    zz, yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    for i in range(n):
        cid = f"S{i:02d}"
        c = np.array([6, 12, 12]) + rng.integers(-1, 2, 3)
        r = 3 + rng.integers(0, 3)
        ref = ((zz - c[0]) * 2.0) ** 2 + ((yy - c[1]) * 0.8) ** 2 + ((xx - c[2]) * 0.8) ** 2 <= (r * 1.6) ** 2
        p = np.roll(ref, tuple(rng.integers(0, 2, 3)), axis=(0, 1, 2))
        if cid in EMPTY_PRED:
            p = np.zeros_like(ref)
        if cid in EMPTY_REF:
            ref = np.zeros_like(ref)
        np.savez_compressed(root / "m" / f"r{i}.npz", mask=ref, spacing=np.array(SPACING))
        np.savez_compressed(root / "m" / f"p{i}.npz", mask=p, spacing=np.array(SPACING))
        man.append(f"{cid},m/r{i}.npz,{'AB'[i % 2]}")
        pred.append(f"{cid},m/p{i}.npz")
        masks[cid] = (p, ref)
    (root / "manifest.csv").write_text("\n".join(man) + "\n")
    (root / "predictions.csv").write_text("\n".join(pred) + "\n")
    (root / "protocol.yaml").write_text(PROTOCOL)
    return masks


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Any]:
    root = tmp_path_factory.mktemp("pop")
    masks = _study(root)
    o = run_validation(root / "protocol.yaml", out_dir=root / "out", audit_log=root / "a.jsonl",
                       tracking_uri=f"sqlite:///{root}/mlflow.db", progress=False)
    return root, masks, o


def _vectors(masks: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """The analysed HD95 vector of each rule, built independently of the harness."""
    diag = float(np.sqrt(np.sum((np.array(SHAPE, float) * np.array(SPACING)) ** 2)))
    defined, worst, value = [], [], []
    for p, r in masks.values():
        if not np.any(r):
            continue  # not eligible
        if not np.any(p):
            worst.append(diag)
            value.append(20.0)
            continue
        h = float(getattr(M.hausdorff_distance(p, r, spacing=SPACING, percentile=95), "value",
                          M.hausdorff_distance(p, r, spacing=SPACING, percentile=95)))
        defined.append(h)
        worst.append(h)
        value.append(h)
    return {"exclude": np.array(defined), "worst": np.array(worst), "value": np.array(value)}


@pytest.mark.verifies("SRS-HARNESS-021")
def test_each_undefined_rule_equals_an_independent_computation(study: Any) -> None:
    _, masks, o = study
    vec = _vectors(masks)
    assert vec["exclude"].size == 9 and vec["worst"].size == 12
    eps = {e["id"]: (i, e) for i, e in enumerate(o.result["endpoints"])}
    for eid, rule, method in (("hd95_default", "exclude", "percentile"), ("hd95_exclude", "exclude", "percentile"),
                              ("hd95_worst", "worst", "percentile"), ("hd95_value", "value", "bca")):
        i, e = eps[eid]
        x = vec[rule]
        assert e["value"] == pytest.approx(float(np.mean(x)), rel=1e-15, abs=0), eid
        ref = S.bootstrap_ci(lambda v: v.mean(axis=-1), x, method=method, n_resamples=REPS,
                             rng=np.random.default_rng([SEED, i, 0, 0]), confidence_level=0.95, vectorized=True)
        assert (e["ci_low"], e["ci_high"], e["n"]) == (ref.ci_low, ref.ci_high, x.size), eid
        und = e["undefined"]
        assert und["rule"] == rule and und["n"] == 3 and und["case_ids"] == list(EMPTY_PRED)
        assert und["declared"] is (eid != "hd95_default")
    # the subgroup interaction test analyses the same population with the same rule (scipy peer)
    from scipy import stats as sps

    order = sorted(masks)
    for eid, rule in (("hd95_exclude", "exclude"), ("hd95_worst", "worst")):
        levels = {lev: _vectors({c: masks[c] for i, c in enumerate(order) if "AB"[i % 2] == lev})[rule]
                  for lev in "AB"}
        h, pv = sps.kruskal(levels["A"], levels["B"])
        t = next(t for t in o.result["interaction_tests"] if t["endpoint"] == eid)
        assert (t["statistic"], t["pvalue"]) == (pytest.approx(h, abs=1e-12), pytest.approx(pv, abs=1e-12))
    # worst is the image diagonal, beyond any defined HD95 (BraTS: 373.13 mm for 240 x 240 x 155 at 1 mm)
    assert eps["hd95_worst"][1]["value"] > eps["hd95_exclude"][1]["value"]
    assert np.sqrt(240.0**2 + 240**2 + 155**2) == pytest.approx(373.13, abs=5e-3)


@pytest.mark.verifies("SRS-HARNESS-021")
def test_population_blocks_state_every_excluded_case(study: Any) -> None:
    _, masks, o = study
    eps = {e["id"]: e for e in o.result["endpoints"]}
    pop = eps["hd95_default"]["population"]
    assert (pop["n_eligible"], pop["n_analysed"], pop["n_excluded"]) == (12, 9, 3)
    assert pop["exclusions"] == [{"reason": "empty prediction, hd95 undefined (rule: exclude)", "n": 3,
                                  "case_ids": list(EMPTY_PRED), "case_ids_not_listed": 0}]
    assert pop["not_eligible"] == [{"reason": "reference mask empty (not eligible)", "n": 2,
                                    "case_ids": list(EMPTY_REF), "case_ids_not_listed": 0}]
    for eid in ("hd95_worst", "hd95_value", "dice"):  # imputed or defined: analysed, not excluded
        p = eps[eid]["population"]
        assert (p["n_eligible"], p["n_analysed"], p["n_excluded"], p["exclusions"]) == (12, 12, 0, [])
    assert eps["dice"]["undefined"]["n"] == 0  # Dice of an empty prediction is 0, defined
    # subgroups: the same rule, level by level; n_eligible = n_analysed + n_excluded everywhere
    for g in o.result["subgroups"]:
        level = [c for i, c in enumerate(sorted(masks)) if "AB"[i % 2] == g["level"]]
        for eid, e in g["endpoints"].items():
            p = e["population"]
            assert p["n_eligible"] == p["n_analysed"] + p["n_excluded"] and e["n"] == p["n_analysed"]
            if eid == "hd95_default":
                assert p["exclusions"][0]["case_ids"] == [c for c in EMPTY_PRED if c in level]
    text = format_summary(o.result)
    assert "n = 9 analysed of 12 eligible; 3 excluded: empty prediction, hd95 undefined (rule: exclude)" in text
    assert "3 undefined value(s) imputed (rule: value, 20.0)" in text


def test_population_line_without_exclusions() -> None:
    pop = {"n_eligible": 5, "n_analysed": 5, "n_excluded": 0, "exclusions": []}
    assert population_line(pop) == "n = 5 analysed of 5 eligible; none excluded"


BASE = """\
id: P
device: {predictions: p.csv, mask_column: mask, score: {column: s, higher_is_positive: true}, threshold: 0.5}
manifest: m.csv
truth: {mask_column: ref, column: y, positive: 1}
endpoints:
  - {id: e, metric: METRIC, ci: CIM, acceptance: {value_at_least: 0.1}UNDEF}
bootstrap: {replicates: 100, seed: 1}
"""


def _protocol(tmp: Path, metric: str, undef: str | None) -> Path:
    ci = "wilson" if metric == "sensitivity" else "bootstrap_percentile"
    extra = "" if undef is None else f", undefined: {undef}"
    if metric == "nsd":
        extra += ", tolerance_mm: 1.0"
    p = tmp / "protocol.yaml"
    p.write_text(BASE.replace("METRIC", metric).replace("CIM", ci).replace("UNDEF", extra))
    return p


@pytest.mark.parametrize(("metric", "undef", "expected"), [
    ("hd95", None, UndefinedRule("exclude", None, False)),
    ("hd95", "exclude", UndefinedRule("exclude", None, True)),
    ("hd95", "worst", UndefinedRule("worst", None, True)),
    ("hd95", "{value: 12.5}", UndefinedRule("value", 12.5, True)),
    ("hd95", "{value: 0}", UndefinedRule("value", 0.0, True)),
    ("dice", "{value: 1}", UndefinedRule("value", 1.0, True)),
    ("nsd", "worst", UndefinedRule("worst", None, True)),
])
def test_every_form_of_undefined_parses(tmp_path: Path, metric: str, undef: str | None,
                                        expected: UndefinedRule) -> None:
    assert load_protocol(_protocol(tmp_path, metric, undef)).endpoints[0].undefined == expected


EXPECT = "'exclude', 'worst' or a mapping {value: X}"


@pytest.mark.parametrize(("metric", "undef", "field", "shown", "expect"), [
    ("hd95", "excluded", "endpoints[0].undefined", "'excluded'", EXPECT),
    ("hd95", "impute", "endpoints[0].undefined", "'impute'", EXPECT),
    ("hd95", "true", "endpoints[0].undefined", "True", EXPECT),
    ("hd95", "3.0", "endpoints[0].undefined", "3.0", EXPECT),
    ("hd95", "[worst]", "endpoints[0].undefined", "a list of 1 item(s)", EXPECT),
    ("hd95", "{value: abc}", "endpoints[0].undefined", "", EXPECT),
    ("hd95", "{valu: 3}", "endpoints[0].undefined", "", EXPECT),
    ("hd95", "{value: 3, rule: x}", "endpoints[0].undefined", "", EXPECT),
    ("hd95", "{value: -1}", "endpoints[0].undefined.value", "-1", "a finite number >= 0 (mm) for metric 'hd95'"),
    ("hd95", "{value: .inf}", "endpoints[0].undefined.value", "inf", "a finite number"),
    ("hd95", "{value: .nan}", "endpoints[0].undefined.value", "nan", "a finite number"),
    ("dice", "{value: 1.5}", "endpoints[0].undefined.value", "1.5", "a finite number in [0, 1] for metric 'dice'"),
    ("dice", "{value: -0.1}", "endpoints[0].undefined.value", "-0.1", "a finite number in [0, 1] for metric 'dice'"),
    ("sensitivity", "exclude", "endpoints[0].undefined", "'exclude'", "absent for metric 'sensitivity'"),
])
def test_bad_undefined_is_one_line_naming_field_value_expectation(
        tmp_path: Path, metric: str, undef: str, field: str, shown: str, expect: str) -> None:
    p = _protocol(tmp_path, metric, undef)
    with pytest.raises(ProtocolError) as ei:
        load_protocol(p)
    msg = str(ei.value)
    assert "\n" not in msg and f"`{field}" in msg and expect in msg and shown in msg, msg
    r = CliRunner().invoke(main, ["validate", str(p), "--out", str(tmp_path / "o"),
                                  "--audit-log", str(tmp_path / "a.jsonl")])
    assert r.exit_code == 2 and field in r.output, r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1, r.output


def _text(path: Path) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", path.read_text("utf-8"))))


@pytest.mark.verifies("SRS-HARNESS-021")
def test_excluded_cases_are_stated_in_the_rendered_report(study: Any, tmp_path: Path) -> None:
    from risk.report import init_submission_config, render_submission
    from tests.report.test_report_any_device import _fill

    root, _, o = study
    cfg = tmp_path / "submission.yaml"
    uri = f"sqlite:///{root}/mlflow.db"
    init_submission_config(run_ids=[o.run_id], out=cfg, tracking_uri=uri)
    _fill(cfg, tmp_path, device_name=True)
    render_submission(config_path=cfg, run_ids=[o.run_id], out_dir=tmp_path / "r", tracking_uri=uri,
                      pdf=False, draft=True)
    text = _text(tmp_path / "r" / "standalone_performance.html")
    assert ("3 of 12 eligible (empty prediction, hd95 undefined (rule: exclude): 3 "
            "(case ids: S03, S07, S10))") in text, text[:4000]
    assert ("3 undefined value(s) imputed by the pre-specified rule 'worst' (per-case image diagonal (mm)) "
            "(case ids: S03, S07, S10)") in text, text[text.find("hd95_worst"):][:600]
    assert "3 undefined value(s) imputed by the pre-specified rule 'value' (20.0)" in text


def test_cases_excluded_before_evaluation_join_their_subgroup_level() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from validation.harness._protocol import SubgroupVariable
    from validation.harness._run import _add_pre_exclusions

    full = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "site": ["X", "Y", "X", "Y"]})
    empty = {"definition": "d", "n_eligible": 1, "n_analysed": 1, "n_excluded": 0, "exclusions": [], "not_eligible": []}
    groups = [{"variable": "site", "level": lev, "endpoints": {"auc": {"population": dict(empty)}}} for lev in "XY"]
    proto = SimpleNamespace(subgroups=SimpleNamespace(variables=(SubgroupVariable("site"),)))
    _add_pre_exclusions(groups, proto, {"out_of_domain": {"count": 2, "case_ids": ["c", "d"]}}, full)  # type: ignore[arg-type]
    for g, cid in zip(groups, "cd", strict=True):
        p = g["endpoints"]["auc"]["population"]
        assert (p["n_eligible"], p["n_analysed"], p["n_excluded"]) == (2, 1, 1)
        assert p["exclusions"][0]["case_ids"] == [cid] and "input domain" in p["exclusions"][0]["reason"]
