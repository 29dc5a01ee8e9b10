"""Bundle mode with a real locked bundle (`samd_core.bundle`, tiny untrained U-Net built at test time)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.harness._factory import sha256

PROTOCOL = """\
id: SAP-REAL-BUNDLE-001
device:
  bundle: bundle
  score: {column: score, higher_is_positive: true, is_probability: true}
manifest: manifest.csv
truth: {column: label, positive: "1", mask_column: ref_path}
endpoints:
  - {id: auc, metric: roc_auc, ci: bootstrap_percentile, acceptance: {ci_low_at_least: 0.0}}
  - {id: dice, metric: dice, ci: bootstrap_percentile, acceptance: {value_at_least: 0.0}}
bootstrap: {replicates: 200, seed: 1}
multiplicity: none
"""


@pytest.mark.slow
@pytest.mark.verifies("SRS-HARNESS-030")
def test_harness_real_bundle_mode(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import SimpleITK as sitk

    import samd_core
    from tests.bundle._factory import make_bundle, small_volume
    from validation.harness import run_validation

    make_bundle(tmp_path / "bundle")
    (tmp_path / "img").mkdir()
    rows = ["case_id,label,path,sha256,ref_path,ref_path_sha256"]
    vols = []
    for i in range(6):
        v = small_volume(i)
        f = tmp_path / "img" / f"v{i}.mha"
        sitk.WriteImage(v.to_sitk(), str(f))
        ref = np.zeros(v.array.shape, bool)
        ref[4:8, 8:12, 8:12] = True
        r = tmp_path / "img" / f"r{i}.npz"
        np.savez_compressed(r, mask=ref, spacing=np.asarray(v.spacing))
        rows.append(f"V{i},{i % 2},img/v{i}.mha,{sha256(f)},img/r{i}.npz,{sha256(r)}")
        vols.append(f)
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "protocol.yaml").write_text(PROTOCOL)
    o = run_validation(tmp_path / "protocol.yaml", out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
    model = samd_core.load_locked(tmp_path / "bundle")
    assert o.result["model_sha256"] == model.manifest_sha256
    assert o.result["device"]["name"] == "tiny-test" and o.result["device"]["cases_computed"] == 6
    from validation.harness._bundle import load_volume

    direct = [model.predict(load_volume(f)).score for f in vols]
    table = json.loads(json.dumps(__import__("pandas").read_csv(tmp_path / "out" / "cases.csv")["score"].tolist()))
    assert table == direct
    assert o.result["endpoints"][1]["n"] == 6
    for stem in ("roc", "forest", "calibration"):
        for ext in ("png", "svg"):
            assert (tmp_path / "out" / "plots" / f"{stem}.{ext}").stat().st_size > 0
