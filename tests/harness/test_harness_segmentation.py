"""Segmentation endpoints through the harness: per-case values from `validation.metrics`,
mean with a case-bootstrap CI, acceptance, subgroups (Kruskal-Wallis)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from validation import metrics as M
from validation.errors import ProtocolError
from validation.harness import run_validation

PROTOCOL = """\
id: SAP-SEG-001
device:
  predictions: predictions.csv
  mask_column: mask
manifest: manifest.csv
truth: {mask_column: ref}
endpoints:
  - {id: dice, metric: dice, ci: bootstrap_percentile, acceptance: {ci_low_at_least: 0.5}}
  - {id: hd95, metric: hd95, ci: bootstrap_bca, acceptance: {value_at_most: 5.0}}
  - {id: nsd2, metric: nsd, tolerance_mm: 2.0, ci: bootstrap_percentile, acceptance: {value_at_least: 0.5}}
subgroups:
  min_size: 3
  variables: [{column: scanner}]
bootstrap: {replicates: 400, seed: 5}
multiplicity: bonferroni
"""


def _study(root: Path, n: int = 12) -> list[tuple[np.ndarray, np.ndarray, tuple]]:
    rng = np.random.default_rng(2)
    (root / "m").mkdir(parents=True)
    man, pred, pairs = ["case_id,ref,scanner"], ["case_id,mask"], []
    spacing = (2.0, 0.8, 0.8)
    zz, yy, xx = np.mgrid[:12, :24, :24]
    for i in range(n):
        c = np.array([6, 12, 12]) + rng.integers(-1, 2, 3)
        r = 4 + rng.integers(0, 3)
        ref = ((zz - c[0]) * 2.0) ** 2 + ((yy - c[1]) * 0.8) ** 2 + ((xx - c[2]) * 0.8) ** 2 <= (r * 1.6) ** 2
        shift = rng.integers(0, 2, 3)
        p = np.roll(ref, tuple(shift), axis=(0, 1, 2))
        np.savez_compressed(root / "m" / f"r{i}.npz", mask=ref, spacing=np.array(spacing))
        np.savez_compressed(root / "m" / f"p{i}.npz", mask=p, spacing=np.array(spacing))
        man.append(f"S{i:02d},m/r{i}.npz,{'AB'[i % 2]}")
        pred.append(f"S{i:02d},m/p{i}.npz")
        pairs.append((p, ref, spacing))
    (root / "manifest.csv").write_text("\n".join(man) + "\n")
    (root / "predictions.csv").write_text("\n".join(pred) + "\n")
    (root / "protocol.yaml").write_text(PROTOCOL)
    return pairs


@pytest.mark.slow
@pytest.mark.verifies("SRS-HARNESS-021", "SRS-HARNESS-022")
def test_harness_segmentation_endpoints(tmp_path: Path) -> None:
    pairs = _study(tmp_path)
    o = run_validation(tmp_path / "protocol.yaml", out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
    dice = np.array([M.dice(p, r) for p, r, _ in pairs])
    hd95 = np.array([M.hausdorff_distance(p, r, spacing=s, percentile=95) for p, r, s in pairs])
    nsd = np.array([M.normalized_surface_dice(p, r, spacing=s, tolerance_mm=2.0) for p, r, s in pairs])
    ep = {e["id"]: e for e in o.result["endpoints"]}
    assert ep["dice"]["value"] == pytest.approx(dice.mean(), abs=1e-15)
    assert ep["hd95"]["value"] == pytest.approx(hd95.mean(), abs=1e-12)
    assert ep["nsd2"]["value"] == pytest.approx(nsd.mean(), abs=1e-15)
    for e in ep.values():
        assert e["ci_low"] <= e["value"] <= e["ci_high"] and e["n"] == 12
    assert ep["hd95"]["method"] == "bootstrap_bca" and ep["dice"]["method"] == "bootstrap_percentile"
    assert ep["hd95"]["passed"] == bool(hd95.mean() <= 5.0)
    t = next(t for t in o.result["interaction_tests"] if t["endpoint"] == "dice")
    h, pv = sps.kruskal(dice[0::2], dice[1::2])  # scanner A = even cases, B = odd (scipy peer)
    assert t["statistic"] == pytest.approx(h, abs=1e-12) and t["pvalue"] == pytest.approx(pv, abs=1e-12)
    assert t["pvalue_adjusted"] == pytest.approx(min(1.0, 3 * pv), abs=1e-12)
    cases = (tmp_path / "out" / "cases.csv").read_text().splitlines()
    assert cases[0].startswith("case_id,dice,hd95,nsd@2.0") and len(cases) == 13
    assert json.loads((tmp_path / "out" / "result.json").read_text())["verdict"] == o.verdict


LESION_PROTOCOL = """\
id: SAP-DET-001
device:
  predictions: predictions.csv
  detections: detections.csv
manifest: manifest.csv
truth: {lesions: lesions.csv}
endpoints:
  - {id: les1, metric: lesion_sensitivity_at_fp, fp_per_image: 1.0, ci: bootstrap_percentile,
     acceptance: {value_at_least: 0.5}}
subgroups:
  variables: [{column: site}]
bootstrap: {replicates: 300, seed: 9}
multiplicity: none
"""


@pytest.mark.slow
@pytest.mark.verifies("SRS-HARNESS-021")
def test_harness_lesion_sensitivity_at_fp_endpoint(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 30
    man, les, det = ["case_id,site,patient_id"], ["case_id,center_z_mm,center_y_mm,center_x_mm,diameter_mm"], [
        "case_id,score,center_z_mm,center_y_mm,center_x_mm"]
    for i in range(n):
        man.append(f"D{i:02d},{'NS'[i % 2]},P{i // 2:02d}")
        for _ in range(int(rng.integers(0, 3))):
            c = [float(v) for v in rng.uniform(10, 90, 3)]
            les.append(f"D{i:02d},{c[0]!r},{c[1]!r},{c[2]!r},8.0")
            if rng.random() < 0.7:
                jit = [float(v) for v in np.asarray(c) + rng.normal(0, 1.0, 3)]
                det.append(f"D{i:02d},{float(rng.uniform(0.4, 1.0))!r},{jit[0]!r},{jit[1]!r},{jit[2]!r}")
        for _ in range(int(rng.integers(0, 3))):
            c = [float(v) for v in rng.uniform(10, 90, 3)]
            det.append(f"D{i:02d},{float(rng.uniform(0.0, 0.7))!r},{c[0]!r},{c[1]!r},{c[2]!r}")
        if not any(r.startswith(f"D{i:02d},") for r in det):
            det.append(f"D{i:02d},,,,")  # image read, no candidates
    for name, rows in (("manifest", man), ("lesions", les), ("detections", det)):
        (tmp_path / f"{name}.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "predictions.csv").write_text("case_id\n" + "".join(f"D{i:02d}\n" for i in range(n)))
    (tmp_path / "protocol.yaml").write_text(LESION_PROTOCOL)
    o = run_validation(tmp_path / "protocol.yaml", out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
    # the same computation called directly on validation.metrics (cluster = patient)
    import pandas as pd

    L, D = pd.read_csv(tmp_path / "lesions.csv"), pd.read_csv(tmp_path / "detections.csv").dropna()
    cz = ["center_z_mm", "center_y_mm", "center_x_mm"]
    cases = [f"D{i:02d}" for i in range(n)]
    match = M.match_detections(
        cases, {"case": L["case_id"].to_numpy(object), "center_mm": L[cz].to_numpy(), "diameter_mm": L["diameter_mm"].to_numpy()},
        {"case": D["case_id"].to_numpy(object), "score": D["score"].to_numpy(), "center_mm": D[cz].to_numpy()},
        clusters={c: f"P{int(c[1:]) // 2:02d}" for c in cases})
    ref = M.lesion_sensitivity_at_fp(match, 1.0, n_resamples=300, rng=np.random.default_rng([9, 0, 0, 0]))
    e = o.result["endpoints"][0]
    assert (e["value"], e["ci_low"], e["ci_high"]) == pytest.approx((ref.value, ref.ci_low, ref.ci_high), abs=0)
    assert e["n"] == ref.n
    assert e["fp_rate_reached"] == match.fp_score.size / n and e["reached"] == (match.fp_score.size / n >= 1.0)
    assert e["population"]["n_images_analysed"] == n and e["population"]["cluster"] == "patient_id"
    assert e["n_lesions"] == len(L) and e["method"] == ref.method
    assert o.result["reference_files"]["lesions_sha256"] and o.result["device"]["detections_sha256"]
    assert {g["level"] for g in o.result["subgroups"]} == {"N", "S"}


def test_harness_bootstrap_intervals_never_drop_undefined_replicates() -> None:
    from validation.stats import bootstrap_interval

    reps = np.array([1.0, 2.0, np.inf, 3.0])
    for method in ("percentile", "bca"):
        est = bootstrap_interval(reps, 2.0, method=method, theta_jack=np.array([1.0, 2.0]))
        assert np.isnan([est.ci_low, est.ci_high]).all()
    est = bootstrap_interval(np.arange(101.0), 50.0, method="percentile", confidence_level=0.9)
    a = (1 - 0.9) / 2
    assert (est.ci_low, est.ci_high) == tuple(np.quantile(np.arange(101.0), [a, 1 - a]))  # numpy linear quantiles
