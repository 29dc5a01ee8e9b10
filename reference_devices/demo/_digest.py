"""A digest of a validation ``result.json`` that is equal on every rerun."""

from __future__ import annotations

import json
from typing import Any

from samd_core.hashing import sha256_bytes

__all__ = ["VOLATILE_RESULT_KEYS", "stable_result_sha256"]

#: result.json keys that legitimately differ between two runs of the same protocol and data.
VOLATILE_RESULT_KEYS = ("mlflow_run_id", "mlflow_experiment_id", "test_set_prior_accesses",
                        "test_set_prior_access_records")


def stable_result_sha256(result: dict[str, Any]) -> str:
    """SHA-256 of a validation ``result.json`` without run ids, timestamps and access counts.

    Two runs of the same protocol on the same data and platform give the same digest. The
    bytes hashed are those of release 0.1.0 (sorted keys, compact, ASCII escapes), so digests
    published before stay comparable.
    """
    keep = {k: v for k, v in result.items() if k not in VOLATILE_RESULT_KEYS}
    keep["warnings"] = [w for w in result.get("warnings", []) if "accessed" not in w]
    device = dict(keep.get("device") or {})
    for k in ("cases_computed", "cases_reused"):
        device.pop(k, None)
    keep["device"] = device
    text = json.dumps(keep, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return sha256_bytes(text.encode("utf-8"))
