"""Checkpoints without pickle: tensors in safetensors files, everything else in JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from samd_core.errors import IntegrityError, InvalidParameterError

__all__: list[str] = []

WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.safetensors"
STATE = "state.json"


def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, indent=1, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)


def optimizer_split(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer ``state_dict`` into tensors (safetensors) and plain data (JSON)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain_state: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        plain_state[str(idx)] = {}
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"{idx}.{k}"] = v.detach().to("cpu").contiguous().clone()
                plain_state[str(idx)][k] = {"tensor": f"{idx}.{k}"}
            else:
                plain_state[str(idx)][k] = v
    return tensors, {"state": plain_state, "param_groups": sd["param_groups"]}


def optimizer_join(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> dict[str, Any]:
    """Inverse of `optimizer_split`."""
    state: dict[int, dict[str, Any]] = {}
    for idx, st in plain["state"].items():
        state[int(idx)] = {
            k: tensors[v["tensor"]] if isinstance(v, dict) and "tensor" in v else v for k, v in st.items()
        }
    return {"state": state, "param_groups": plain["param_groups"]}


def save_checkpoint(directory: Path, network: nn.Module, opt: torch.optim.Optimizer | None, state: dict[str, Any]) -> None:
    """Write weights (+ optimizer) safetensors and ``state.json`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    w = {k: v.detach().to("cpu").contiguous().clone() for k, v in network.state_dict().items()}
    save_file(w, str(directory / WEIGHTS))
    full = dict(state)
    if opt is not None:
        tensors, plain = optimizer_split(opt)
        save_file(tensors, str(directory / OPTIMIZER))
        full["optimizer"] = plain
    _atomic_json(directory / STATE, full)


def load_checkpoint(directory: str | os.PathLike[str], network: nn.Module, opt: torch.optim.Optimizer | None) -> dict[str, Any]:
    """Load a `save_checkpoint` directory into ``network`` (and ``opt``); return the JSON state."""
    fn = "load_checkpoint"
    directory = Path(directory)
    if not (directory / WEIGHTS).is_file() or not (directory / STATE).is_file():
        raise InvalidParameterError("checkpoint", fn, f"a directory with {WEIGHTS} and {STATE}", str(directory))
    state = json.loads((directory / STATE).read_text(encoding="utf-8"))
    weights = load_file(str(directory / WEIGHTS))
    own = network.state_dict()
    if set(weights) != set(own) or any(weights[k].shape != own[k].shape for k in own):
        raise IntegrityError(f"checkpoint {str(directory)!r} does not match the network architecture")
    network.load_state_dict(weights, strict=True)
    if opt is not None and "optimizer" in state:
        tensors = load_file(str(directory / OPTIMIZER)) if (directory / OPTIMIZER).is_file() else {}
        opt.load_state_dict(optimizer_join(tensors, state["optimizer"]))
    return state
