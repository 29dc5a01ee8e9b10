"""The golden-output criterion of operational qualification, for tests that run a shipped bundle.

Reference: docs/bundle.md (OQ) and `samd_core.qualification.check_bundle`: on the platform that made
the goldens (`samd_core.bundle.platform_id`: OS, CPU architecture and vector ISA, library versions)
the outputs are bit-exact, probability map and the whole prediction record; on another platform
the probabilities and the case score agree within `PROBABILITY_TOLERANCE` and the case decision is
the same. CPU inference is not bit-reproducible across vector ISAs (the nodule goldens, made on an
AVX2 machine, differ by up to 8e-7 on an AVX-512 machine with AMX), so a test that demands bit
identity everywhere tests the machine, not samd.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_reproduces_golden(pred: Any, golden: np.ndarray, record: dict[str, Any],
                             golden_platform: dict[str, str], case_id: str) -> None:
    """Assert OQ's criterion for one reference case (``pred``: a `Prediction`)."""
    from samd_core.bundle import platform_id
    from samd_core.qualification import PROBABILITY_TOLERANCE

    arr = pred.probability.array
    if golden_platform == platform_id():
        assert np.array_equal(arr, golden), case_id
        assert pred.to_dict() == record, case_id
        return
    assert arr.shape == golden.shape, case_id
    diff = float(np.max(np.abs(arr.astype(np.float64) - golden.astype(np.float64)))) if golden.size else 0.0
    assert diff <= PROBABILITY_TOLERANCE, (case_id, diff)
    assert abs(float(record["score"]) - pred.score) <= PROBABILITY_TOLERANCE, case_id
    assert pred.positive == record["positive"], case_id
