"""Reference inputs and golden outputs stored inside a bundle, for operational qualification.

* ``reference/inputs.safetensors``: one tensor per case id (HU voxels, array order).
* ``reference/inputs.json``: ``{case_id: {"spacing", "origin", "direction"}}``, plus
  ``"channel_last": true`` for a colour / multi-channel case (channel axis last).
* ``reference/golden.safetensors``: the probability map (float32, input grid) per case id.
* ``reference/golden.json``: ``{"platform": {...}, "cases": {case_id: Prediction.to_dict()}}``.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from samd_core.volume import Volume

__all__ = [
    "GOLDEN_JSON",
    "GOLDEN_TENSORS",
    "INPUTS_JSON",
    "INPUTS_TENSORS",
    "decode_goldens",
    "decode_reference_inputs",
    "encode_goldens",
    "encode_reference_inputs",
    "platform_id",
]

INPUTS_TENSORS = "reference/inputs.safetensors"
INPUTS_JSON = "reference/inputs.json"
GOLDEN_TENSORS = "reference/golden.safetensors"
GOLDEN_JSON = "reference/golden.json"


def platform_id() -> dict[str, str]:
    """What decides bit-exactness of CPU inference: OS, CPU architecture and vector ISA, libraries."""
    import scipy
    import SimpleITK
    import torch

    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "python": ".".join(map(str, sys.version_info[:3])),
        "torch": torch.__version__,
        "torch_cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "simpleitk": SimpleITK.Version_VersionString(),
    }


def encode_reference_inputs(cases: Mapping[str, Volume]) -> tuple[bytes, bytes]:
    """Bytes of ``inputs.safetensors`` and ``inputs.json`` for ``{case_id: volume}``."""
    from safetensors.numpy import save

    tensors = {cid: np.ascontiguousarray(v.array) for cid, v in cases.items()}
    geom: dict[str, dict[str, Any]] = {
        cid: {"spacing": list(v.spacing), "origin": list(v.origin), "direction": [list(r) for r in v.direction]}
        for cid, v in cases.items()
    }
    for cid, v in cases.items():
        if v.channel_last:  # only colour cases carry the key: grey-scale bytes as in release 0.1.0
            geom[cid]["channel_last"] = True
    return save(tensors), (json.dumps(geom, sort_keys=True, indent=1) + "\n").encode()


def decode_reference_inputs(tensors: bytes, geometry: bytes) -> dict[str, Volume]:
    """Inverse of `encode_reference_inputs`, in sorted case-id order."""
    from safetensors.numpy import load

    arrays = load(tensors)
    geom = json.loads(geometry.decode("utf-8"))
    return {
        cid: Volume(arrays[cid], geom[cid]["spacing"], geom[cid]["origin"], tuple(map(tuple, geom[cid]["direction"])),
                    channel_last=geom[cid].get("channel_last", False) is True)
        for cid in sorted(arrays)
    }


def encode_goldens(probabilities: Mapping[str, np.ndarray], records: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """Bytes of ``golden.safetensors`` and ``golden.json``."""
    from safetensors.numpy import save

    tensors = {cid: np.ascontiguousarray(p, dtype=np.float32) for cid, p in probabilities.items()}
    doc = {"platform": platform_id(), "cases": dict(records)}
    return save(tensors), (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode()


def decode_goldens(tensors: bytes, doc: bytes) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Inverse of `encode_goldens`: probability maps and the JSON document."""
    from safetensors.numpy import load

    return dict(load(tensors)), json.loads(doc.decode("utf-8"))
