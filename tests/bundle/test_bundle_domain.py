"""Declared input domain: refused or flagged out-of-domain input; harness exclusion (issue #15, SRS-BUNDLE-014)."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil
from typing import Any

import numpy as np
import pytest

from samd_core import Volume, load_locked
from samd_core.bundle import (
    InputDomain,
    InputDomainError,
    decode_goldens,
    decode_reference_inputs,
    write_manifest,
)
from samd_core.errors import InvalidParameterError
from tests.bundle._factory import make_bundle, small_volume

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "samd_core" / "bundles" / "nodule_v1"

TINY_DOMAIN = {
    "modality": ["CT"],
    "dims": 3,
    "slice_thickness_mm": [1.0, 5.0],
    "spacing_mm": [[1.0, 5.0], [0.5, 2.0], [0.5, 2.0]],
    "size_voxels": [[4, 64], [8, 64], [8, 64]],
    "intensity": [-2000, 3071],
    "required_attributes": [],
}


def _vol(**kw: Any) -> Volume:
    base = small_volume(0)
    arr = kw.pop("array", base.array)
    spacing = kw.pop("spacing", base.spacing)
    return Volume(arr, spacing, base.origin, base.direction, meta=kw.pop("meta", {}))


# (volume, violated attribute): one row per declared attribute, plus the inclusive boundaries
CASES: list[tuple[str, Volume, str | None]] = [  # attributes comma-separated, in check order
    ("in-domain", _vol(), None),
    ("modality-MR", _vol(meta={"modality": "MR"}), "modality"),
    ("modality-CT", _vol(meta={"modality": "CT"}), None),
    ("dims-2", Volume(np.zeros((20, 22), np.int16), (1.0, 1.0)), "dims"),
    ("spacing-z-10mm", _vol(spacing=(10.0, 1.2, 1.1)), "spacing_mm[0],slice_thickness_mm"),  # thickness from spacing
    ("spacing-y-small", _vol(spacing=(2.5, 0.3, 1.1)), "spacing_mm[1]"),
    ("spacing-x-large", _vol(spacing=(2.5, 1.2, 3.0)), "spacing_mm[2]"),
    ("spacing-boundary", _vol(spacing=(5.0, 2.0, 0.5)), None),
    ("thickness-meta-10mm", _vol(meta={"slice_thickness_mm": 10.0}), "slice_thickness_mm"),
    ("thickness-meta-0.5mm", _vol(meta={"slice_thickness_mm": 0.5}), "slice_thickness_mm"),
    ("thickness-boundary", _vol(meta={"slice_thickness_mm": 1.0}), None),
    ("size-z-small", _vol(array=np.full((3, 20, 22), -800, np.int16)), "size_voxels[0]"),
    ("size-x-large", _vol(array=np.full((12, 20, 65), -800, np.int16)), "size_voxels[2]"),
    ("intensity-high", _vol(array=np.full((12, 20, 22), 4000, np.int16)), "intensity"),
    ("intensity-low", _vol(array=np.full((12, 20, 22), -2001, np.int16)), "intensity"),
    ("intensity-boundary", _vol(array=np.full((12, 20, 22), 3071, np.int16)), None),
]


@pytest.mark.verifies("SRS-BUNDLE-014")
@pytest.mark.parametrize(("case", "vol", "attribute"), CASES, ids=[c[0] for c in CASES])
def test_each_domain_attribute(case: str, vol: Volume, attribute: str | None) -> None:
    found = InputDomain.from_dict(TINY_DOMAIN).violations(vol)
    if attribute is None:
        assert found == ()
    else:
        assert [a for a, _, _ in found] == attribute.split(",")


@pytest.mark.verifies("SRS-BUNDLE-014")
def test_required_attributes() -> None:
    dom = InputDomain.from_dict({**TINY_DOMAIN, "required_attributes": ["modality", "slice_thickness_mm"]})
    assert [a for a, _, _ in dom.violations(_vol())] == ["modality", "slice_thickness_mm"]
    assert dom.violations(_vol(meta={"modality": "CT", "slice_thickness_mm": 2.5})) == ()
    assert InputDomain.from_dict(dom.to_dict()) == dom
    with pytest.raises(InvalidParameterError, match="required_attributes"):
        InputDomain.from_dict({"required_attributes": ["PatientName"]})


@pytest.fixture(scope="module")
def domain_bundle(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return make_bundle(tmp_path_factory.mktemp("d") / "b", input_domain=TINY_DOMAIN)


@pytest.mark.verifies("SRS-BUNDLE-014")
def test_predict_refuses_or_flags_out_of_domain(domain_bundle: pathlib.Path) -> None:
    model = load_locked(domain_bundle)
    assert model.input_domain == InputDomain.from_dict(TINY_DOMAIN)
    assert json.loads((domain_bundle / "bundle.json").read_text())["input_domain"]["modality"] == ["CT"]
    ten = _vol(spacing=(10.0, 1.2, 1.1), meta={"modality": "CT", "slice_thickness_mm": 10.0})
    with pytest.raises(InputDomainError) as err:
        model.predict(ten)
    assert isinstance(err.value, ValueError)
    assert err.value.attribute == "spacing_mm[0]" and err.value.value == 10.0
    assert "[1, 5]" in str(err.value) and "slice_thickness_mm" in str(err.value)
    assert len(err.value.reasons) == 2 and "\n" not in str(err.value)
    flagged = model.predict(ten, allow_out_of_domain=True)
    assert flagged.out_of_domain and flagged.domain_violations == err.value.reasons
    assert flagged.to_dict()["out_of_domain"] is True
    ok = model.predict(_vol())
    assert not ok.out_of_domain and "out_of_domain" not in ok.to_dict()


@pytest.mark.verifies("SRS-BUNDLE-014")
def test_bundle_without_domain_accepts_everything(tmp_path: pathlib.Path) -> None:
    model = load_locked(make_bundle(tmp_path / "nd", reference=False))
    assert model.input_domain is None
    pred = model.predict(_vol(spacing=(10.0, 1.2, 1.1), meta={"modality": "MR"}))
    assert not pred.out_of_domain


def _release_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("release_core", ROOT / "scripts" / "release_core.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.verifies("SRS-BUNDLE-014")
def test_shipped_domain_keeps_goldens_and_refuses_10mm(tmp_path: pathlib.Path) -> None:
    """The prepared nodule_v1 domain, applied as the release re-lock does: goldens unchanged
    (bit-exact on the goldens' platform, OQ's tolerance elsewhere: `tests.bundle._goldens`)."""
    from tests.bundle._goldens import assert_reproduces_golden

    b = pathlib.Path(shutil.copytree(SHIPPED, tmp_path / "nodule_v1"))
    domain = _release_module().input_domain_for("nodule_v1")
    assert domain is not None and domain["modality"] == ["CT"] and domain["slice_thickness_mm"] == [1.0, 5.0]
    meta = json.loads((b / "bundle.json").read_text())
    meta["input_domain"] = domain
    (b / "bundle.json").write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n")
    write_manifest(b)
    model = load_locked(b, check_core_fingerprint=False)
    cases = decode_reference_inputs((b / "reference/inputs.safetensors").read_bytes(),
                                    (b / "reference/inputs.json").read_bytes())
    probs, doc = decode_goldens((b / "reference/golden.safetensors").read_bytes(),
                                (b / "reference/golden.json").read_bytes())
    for cid, vol in cases.items():
        pred = model.predict(vol)
        assert_reproduces_golden(pred, probs[cid], doc["cases"][cid], doc["platform"], cid)
    vol = next(iter(cases.values()))
    ten = Volume(vol.array[::2], (10.0, *vol.spacing[1:]), vol.origin, vol.direction, meta={"modality": "CT"})
    with pytest.raises(InputDomainError, match="spacing_mm"):
        model.predict(ten)


def _study(root: pathlib.Path, n: int = 6) -> pathlib.Path:
    import SimpleITK as sitk

    from tests.harness._factory import sha256

    (root / "img").mkdir(parents=True)
    rows = ["case_id,label,path,sha256"]
    for i in range(n):
        v = small_volume(i)
        if i == 3:  # a 10 mm-slice series
            v = Volume(v.array, (10.0, *v.spacing[1:]), v.origin, v.direction)
        f = root / "img" / f"v{i}.mha"
        sitk.WriteImage(v.to_sitk(), str(f))
        rows.append(f"V{i},{i % 2},img/v{i}.mha,{sha256(f)}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root / "manifest.csv"


@pytest.mark.verifies("SRS-BUNDLE-014")
def test_harness_excludes_out_of_domain_with_count(domain_bundle: pathlib.Path, tmp_path: pathlib.Path) -> None:
    from validation.harness._bundle import exclude_cases, run_bundle
    from validation.harness._manifest import read_manifest

    manifest = read_manifest(_study(tmp_path))
    for rerun in (False, True):
        table, _, facts, _ = run_bundle(domain_bundle, manifest, tmp_path / "out", progress=False)
        assert facts["exclusions"] == {"out_of_domain": {"count": 1, "case_ids": ["V3"]}}
        assert list(table["case_id"]) == ["V0", "V1", "V2", "V4", "V5"]
        assert facts["cases_reused" if rerun else "cases_computed"] == 6
        rows = (tmp_path / "out" / "exclusions.csv").read_text().splitlines()
        assert rows[0] == "case_id,exclusion,reasons" and rows[1].startswith("V3,out_of_domain,\"spacing_mm[0]=10.0 outside [1, 5]")
    kept = exclude_cases(manifest, facts)
    assert list(kept.table["case_id"]) == ["V0", "V1", "V2", "V4", "V5"] and kept.sha256 == manifest.sha256


PROTOCOL = """\
id: SAP-DOMAIN-001
device:
  bundle: bundle
  score: {column: score, higher_is_positive: true, is_probability: true}
  threshold: 0.5
manifest: manifest.csv
truth: {column: label, positive: "1"}
endpoints:
  - {id: auc, metric: roc_auc, ci: bootstrap_percentile, acceptance: {ci_low_at_least: 0.0}}
bootstrap: {replicates: 100, seed: 1}
multiplicity: none
"""


@pytest.mark.slow
@pytest.mark.verifies("SRS-BUNDLE-014")
def test_validation_result_reports_the_exclusion(domain_bundle: pathlib.Path, tmp_path: pathlib.Path) -> None:
    from validation.harness import run_validation

    shutil.copytree(domain_bundle, tmp_path / "bundle")
    _study(tmp_path, n=8)
    (tmp_path / "protocol.yaml").write_text(PROTOCOL)
    o = run_validation(tmp_path / "protocol.yaml", out_dir=tmp_path / "out", audit_log=tmp_path / "a.jsonl",
                       tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", progress=False)
    assert o.result["exclusions"] == {"out_of_domain": {"count": 1, "case_ids": ["V3"]}}
    assert o.result["n_cases"] == 7
    pop = o.result["endpoints"][0]["population"]  # stated in the endpoint's analysis population too
    assert (pop["n_eligible"], pop["n_analysed"], pop["n_excluded"]) == (8, 7, 1)
    assert pop["exclusions"] == [{"reason": "outside the bundle's declared input domain (not scored)", "n": 1,
                                  "case_ids": ["V3"], "case_ids_not_listed": 0}]
