"""Conformance: every registered pipeline step and augmentation transform passes the same checks.

Driven by the registries (`preprocess.STEPS`, `augment.TRANSFORMS`), so a new step without an
example here fails the suite instead of going untested.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from samd_core import Volume, augment
from samd_core.errors import InvalidParameterError
from samd_core.preprocess import STEPS, Pipeline

EXAMPLES = {
    "reorient": {"orientation": "RAS"},
    "resample": {"spacing": [1.5, 1.2, 0.9]},
    "clip": {"lower": -100, "upper": 200},
    "window": {"center": 40, "width": 400},
    "intensity_window": {"lower": -1000, "upper": 1000},
    "resize": {"shape": [5, 9, 20]},
    "zscore": {"foreground_threshold": -500},
    "percentile": {"lower": 1, "upper": 99},
    "ct_normalize": {"lower": -1000, "upper": 1000, "mean": 10, "std": 300},
    "crop_pad": {"shape": [9, 14, 20]},
    "crop_foreground": {"threshold": 0, "margin": 1},
}


def _volume() -> Volume:
    rng = np.random.default_rng(1)
    arr = rng.integers(-1000, 1000, size=(8, 12, 16)).astype(np.int16)
    arr[:, :2] = -1000
    direction = ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0), (-1.0, 0.0, 0.0))
    return Volume(arr, (2.0, 0.8, 0.9), (1.0, 2.0, 3.0), direction, provenance=("upstream",))


@pytest.mark.verifies("SRS-PREPROCESS-010", "SRS-PREPROCESS-013")
def test_preprocess_every_step_has_an_example() -> None:
    assert sorted(EXAMPLES) == sorted(STEPS)
    assert sorted(augment.TRANSFORMS) == sorted(
        ["affine", "blur", "elastic", "flip", "gamma", "noise", "rot90", "scale_shift"]
    )


@pytest.mark.verifies("SRS-PREPROCESS-010", "SRS-PREPROCESS-007", "SRS-PREPROCESS-008")
@pytest.mark.parametrize("op", sorted(STEPS))
def test_preprocess_step_conformance(op: str) -> None:
    vol = _volume()
    before = vol.content_sha256()
    pipe = Pipeline.from_spec({"steps": [{"op": op, **EXAMPLES[op]}]})
    out, rec = pipe.forward(vol)
    again, rec2 = pipe.forward(vol)
    # determinism, provenance, immutability of the input, plain-data record
    assert out.content_sha256() == again.content_sha256()
    assert json.dumps(rec, sort_keys=True, allow_nan=False) == json.dumps(rec2, sort_keys=True)
    assert out.provenance == ("upstream", pipe.spec_hash)
    assert vol.content_sha256() == before
    expected = np.float32 if (not STEPS[op].geometric or op in ("resample", "resize")) else vol.array.dtype
    assert out.array.dtype == expected
    # the canonical spec round-trips through JSON to the same hash
    assert Pipeline.from_spec(json.loads(pipe.spec_json)).spec_hash == pipe.spec_hash
    # replay on the same image gives the same bytes; a label follows the image's grid
    assert pipe.replay(vol, json.loads(json.dumps(rec)), kind="image").content_sha256() == out.content_sha256()
    lbl = vol.with_array((np.asarray(vol.array) > 0).astype(np.uint8))
    lbl_out = pipe.replay(lbl, rec)
    assert lbl_out.same_grid(out)
    # inverse lands on the input grid, for labels and for probabilities
    back = pipe.inverse(lbl_out, rec)
    assert back.same_grid(vol, atol=1e-6)
    probs = np.stack([1 - lbl_out.array, lbl_out.array]).astype(np.float32)
    pback = pipe.inverse(probs, rec, kind="probabilities")
    assert pback.shape == (2, *vol.shape)
    # unknown keys are refused with the key path
    with pytest.raises(InvalidParameterError) as err:
        Pipeline.from_spec({"steps": [{"op": op, **EXAMPLES[op], "bogus": 1}]})
    assert err.value.field == "steps[0].bogus"
