"""The steps `samd validate` and `samd compare` share (`validation.harness`)."""

from __future__ import annotations

import json
import math

import numpy as np

from validation.harness import result_json_bytes, result_metrics, strict_result


def test_strict_result_encodes_non_finite_and_numpy_values_for_strict_json() -> None:
    obj = {"a": math.nan, "b": (np.float64(math.inf), -math.inf), "c": np.int64(3), "d": np.bool_(True),
           "e": [np.float32(0.5)]}
    out = strict_result(obj)
    assert out == {"a": "nan", "b": ["inf", "-inf"], "c": 3, "d": True, "e": [0.5]}
    assert type(out["c"]) is int and type(out["d"]) is bool
    body = result_json_bytes(out)
    assert body.endswith(b"}\n") and json.loads(body) == out  # strict JSON (allow_nan=False) round trip


def test_result_json_bytes_are_sorted_indented_utf8() -> None:
    assert result_json_bytes({"b": 1, "a": "Zürich"}) == '{\n  "a": "Zürich",\n  "b": 1\n}\n'.encode()


def test_result_metrics_keys_and_options() -> None:
    ep = {"id": "auc", "value": 0.9, "ci_low": 0.8, "ci_high": 0.95, "n": 40, "passed": True,
          "test": {"pvalue": 0.01}}
    result = {"endpoints": [ep],
              "subgroups": [{"variable": "site", "level": "A", "endpoints": {"auc": {**ep, "n": 20}}}],
              "interaction_tests": [{"variable": "site", "endpoint": "auc", "pvalue": 0.5, "pvalue_adjusted": 1.0}]}
    base = result_metrics(result)
    assert base == {"auc/value": 0.9, "auc/ci_low": 0.8, "auc/ci_high": 0.95, "auc/n": 40.0, "auc/passed": 1.0,
                    "subgroup/site/A/auc/value": 0.9, "subgroup/site/A/auc/ci_low": 0.8,
                    "subgroup/site/A/auc/ci_high": 0.95, "interaction/site/auc/pvalue": 0.5,
                    "interaction/site/auc/pvalue_adjusted": 1.0}
    full = result_metrics(result, endpoint_tests=True, subgroup_n=True)
    assert set(full) - set(base) == {"auc/pvalue", "subgroup/site/A/auc/n"}
    assert full["auc/pvalue"] == 0.01 and full["subgroup/site/A/auc/n"] == 20.0
