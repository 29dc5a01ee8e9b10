"""The golden criterion the shipped-bundle tests use is OQ's (`samd_core.qualification.check_bundle`):
strict where the platform is the goldens', the documented tolerance elsewhere, and never vacuous."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from samd_core.bundle import decode_goldens, decode_reference_inputs, load_locked, platform_id
from samd_core.qualification import PROBABILITY_TOLERANCE, check_bundle
from tests.bundle._goldens import assert_reproduces_golden

SHIPPED = pathlib.Path(__file__).resolve().parents[2] / "samd_core" / "bundles" / "nodule_v1"


@pytest.fixture(scope="module")
def case() -> tuple[object, np.ndarray, dict, dict]:
    model = load_locked(SHIPPED, check_core_fingerprint=False)
    ref = SHIPPED / "reference"
    cases = decode_reference_inputs((ref / "inputs.safetensors").read_bytes(), (ref / "inputs.json").read_bytes())
    probs, doc = decode_goldens((ref / "golden.safetensors").read_bytes(), (ref / "golden.json").read_bytes())
    cid, vol = next(iter(cases.items()))
    return model.predict(vol), probs[cid], doc["cases"][cid], doc["platform"]


def test_the_criterion_agrees_with_operational_qualification(case: tuple) -> None:
    pred, golden, record, plat = case
    assert_reproduces_golden(pred, golden, record, plat, "c")
    assert check_bundle(SHIPPED).passed


def test_another_platform_refuses_a_difference_past_the_tolerance(case: tuple) -> None:
    pred, golden, record, _ = case
    other = {**platform_id(), "torch_cpu_capability": "NONE"}
    off = golden.copy()
    off.flat[0] += 3 * PROBABILITY_TOLERANCE
    with pytest.raises(AssertionError):
        assert_reproduces_golden(pred, off, record, other, "c")
    with pytest.raises(AssertionError):
        assert_reproduces_golden(pred, golden, {**record, "positive": not record["positive"]}, other, "c")


def test_the_goldens_platform_demands_bit_identity(case: tuple) -> None:
    pred, golden, record, _ = case
    off = pred.probability.array.copy()
    off.flat[0] = np.nextafter(off.flat[0], np.float32(2))  # one unit in the last place
    with pytest.raises(AssertionError):
        assert_reproduces_golden(pred, off, pred.to_dict(), platform_id(), "c")
    assert_reproduces_golden(pred, off, pred.to_dict(), {"x": "y"}, "c")  # goldens made elsewhere: tolerance
