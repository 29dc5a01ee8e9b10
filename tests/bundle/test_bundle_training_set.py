"""``training_set.json`` in a bundle (issue #15): written, hashed by the manifest, exposed by
`load_locked`; bundles without it keep loading; an edited file is refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from samd_core.bundle import BundleIntegrityError, TrainingSet, load_locked, training_set_from_spec
from samd_core.errors import InvalidParameterError
from tests.bundle._factory import make_bundle

TS = TrainingSet.from_cases([{"patient_id": (hashlib.sha256(b"patient_id:P1").hexdigest(),)},
                             {"pixel_data": ("c" * 64,)}])


def test_written_hashed_and_exposed(tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", training_set=TS)
    manifest = json.loads((b / "manifest.json").read_text())
    data = (b / "training_set.json").read_bytes()
    assert manifest["files"]["training_set.json"] == hashlib.sha256(data).hexdigest()
    m = load_locked(b, check_core_fingerprint=False)
    assert m.training_set == TS and m.training_set.counts() == {"patient_id": 1, "pixel_data": 1}
    assert b"P1" not in data  # raw identifiers never stored
    # edited without re-manifesting: refused by the manifest hash
    doc = json.loads(data)
    doc["hashes"]["pixel_data"] = ["d" * 64]
    (b / "training_set.json").write_text(json.dumps(doc))
    with pytest.raises(BundleIntegrityError, match="training_set.json"):
        load_locked(b, check_core_fingerprint=False)


def test_bundle_without_training_set_loads_with_none(tmp_path: Path) -> None:
    assert load_locked(make_bundle(tmp_path / "b"), check_core_fingerprint=False).training_set is None


def test_spec_forms_and_refusals(tmp_path: Path) -> None:
    (tmp_path / "ts.json").write_bytes(TS.to_bytes())
    assert training_set_from_spec({"file": "ts.json"}, tmp_path) == TS
    (tmp_path / "train.csv").write_text("pid\nP1\n P1 \nP2\n")
    ts = training_set_from_spec({"manifest": "train.csv", "patient_id_column": "pid"}, tmp_path)
    assert ts.n_cases == 3 and ts.hashes["patient_id"] == {hashlib.sha256(f"patient_id:{p}".encode()).hexdigest()
                                                           for p in ("P1", "P2")}
    for bad in ({"manifest": "train.csv"}, {"manifest": "train.csv", "patient_id_column": "nope"},
                {"file": "ts.json", "manifest": "train.csv"}, {"mrn_column": "pid"}, "train.csv"):
        with pytest.raises(InvalidParameterError):
            training_set_from_spec(bad, tmp_path)  # type: ignore[arg-type]
