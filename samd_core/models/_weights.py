"""Save and load network weights as safetensors (never pickle; nothing is ever downloaded)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from samd_core.errors import InvalidParameterError, SamdError

__all__ = ["LoadReport", "WeightsError", "load_weights", "save_weights"]


class WeightsError(SamdError, ValueError):
    """A weights file does not fit the network (missing, unexpected or mis-shaped tensors)."""


@dataclass(frozen=True)
class LoadReport:
    """What `load_weights` did: names loaded, and names that did not fit.

    Attributes
    ----------
    loaded : tuple of str
        Network parameters/buffers taken from the file.
    missing : tuple of str
        Network entries with no tensor in the file (they keep their current values).
    unexpected : tuple of str
        File tensors with no matching network entry (ignored).
    mismatched : tuple of (str, tuple, tuple)
        ``(name, shape in file, shape in network)`` for same-name tensors of different shape.
    skipped : tuple of str
        Network entries excluded on purpose (``exclude`` prefixes).
    """

    loaded: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    skipped: tuple[str, ...]

    def summary(self) -> str:
        """Human-readable listing of everything that did not load."""
        lines = [f"loaded {len(self.loaded)} tensors"]
        if self.missing:
            lines.append(f"missing from file ({len(self.missing)}): {', '.join(self.missing)}")
        if self.unexpected:
            lines.append(f"unexpected in file ({len(self.unexpected)}): {', '.join(self.unexpected)}")
        if self.mismatched:
            lines.append(
                "shape mismatch: "
                + ", ".join(f"{n} file {list(a)} vs network {list(b)}" for n, a, b in self.mismatched)
            )
        if self.skipped:
            lines.append(f"skipped on request ({len(self.skipped)}): {', '.join(self.skipped)}")
        return "; ".join(lines)


def save_weights(network: nn.Module, path: str | os.PathLike[str], *, metadata: Mapping[str, str] | None = None) -> None:
    """Write the network's ``state_dict`` (contiguous CPU copies) to a safetensors file."""
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in network.state_dict().items()}
    save_file(state, os.fspath(path), metadata=dict(metadata) if metadata else None)


def load_weights(
    network: nn.Module,
    path: str | os.PathLike[str],
    *,
    strict: bool = True,
    exclude: Iterable[str] = (),
    rename: Mapping[str, str] | None = None,
) -> LoadReport:
    """Load user-supplied (e.g. pretrained) weights from a local safetensors file.

    Parameters
    ----------
    network : torch.nn.Module
        Modified in place.
    path : path-like
        A local ``.safetensors`` file. Nothing is downloaded.
    strict : bool, default True
        Raise `WeightsError` unless every network entry (outside ``exclude``) is loaded and every
        file tensor is used. With ``strict=False`` (transfer learning, e.g. a new classifier head)
        the tensors that fit are loaded and the rest is reported.
    exclude : iterable of str
        Name prefixes of network entries to leave untouched (e.g. ``"fc."``).
    rename : mapping, optional
        Prefix substitutions applied to file names before matching (``{"module.": ""}``).

    Returns
    -------
    LoadReport
        Loaded, missing, unexpected, mis-shaped and skipped names.
    """
    fn = "load_weights"
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise InvalidParameterError("path", fn, "an existing local .safetensors file", p)
    try:
        file_state = load_file(p, device="cpu")
    except Exception as exc:  # safetensors raises its own error types
        raise WeightsError(f"`path` of `{fn}` must be a readable safetensors file; got {p!r} ({exc})") from exc
    if rename:
        renamed = {}
        for k, v in file_state.items():
            for old, new in rename.items():
                if k.startswith(old):
                    k = new + k[len(old):]
                    break
            renamed[k] = v
        file_state = renamed
    prefixes = tuple(exclude)
    target = network.state_dict()
    skipped = tuple(sorted(k for k in target if prefixes and k.startswith(prefixes)))
    wanted = {k: v for k, v in target.items() if k not in skipped}
    loaded, mismatched = [], []
    to_load: dict[str, torch.Tensor] = {}
    for k, v in wanted.items():
        if k in file_state:
            if tuple(file_state[k].shape) != tuple(v.shape):
                mismatched.append((k, tuple(file_state[k].shape), tuple(v.shape)))
            else:
                to_load[k] = file_state[k]
                loaded.append(k)
    missing = tuple(sorted(k for k in wanted if k not in file_state))
    unexpected = tuple(sorted(k for k in file_state if k not in target))
    report = LoadReport(tuple(sorted(loaded)), missing, unexpected, tuple(sorted(mismatched)), skipped)
    if strict and (missing or unexpected or mismatched):
        raise WeightsError(f"weights in {p!r} do not fit the network: {report.summary()}")
    with torch.no_grad():
        for k, v in to_load.items():
            target[k].copy_(v.to(dtype=target[k].dtype))
    return report
