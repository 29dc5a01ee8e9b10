"""Scoped deterministic execution for training: thread count and deterministic algorithms."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["deterministic", "state_dict_sha256"]


@contextlib.contextmanager
def deterministic(num_threads: int) -> Iterator[None]:
    """Run the block with ``num_threads`` intra-op threads and deterministic algorithms only.

    Restores the previous thread count and determinism flag on exit (no global state leaks).
    ``torch.use_deterministic_algorithms(True)`` makes an op without a deterministic
    implementation raise instead of silently varying.
    """
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.set_num_threads(prev_threads)


def state_dict_sha256(network: nn.Module) -> str:
    """SHA-256 over every parameter and buffer: name, dtype, shape and raw bytes, in name order."""
    h = hashlib.sha256()
    for name, t in sorted(network.state_dict().items()):
        a = t.detach().to("cpu").contiguous()
        h.update(name.encode("utf-8"))
        h.update(str(a.dtype).encode("ascii"))
        h.update(repr(tuple(a.shape)).encode("ascii"))
        h.update(a.reshape(-1).view(torch.uint8).numpy().tobytes() if a.numel() else b"")  # 0-d buffers too
    return h.hexdigest()
