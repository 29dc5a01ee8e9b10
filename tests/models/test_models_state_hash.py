"""`state_dict_sha256` covers every buffer, including BatchNorm's 0-d ``num_batches_tracked``."""

from __future__ import annotations

import hashlib

import torch

from samd_core.models import build_network
from samd_core.training._determinism import state_dict_sha256

CFG = {"architecture": "resnet", "spatial_dims": 2, "in_channels": 1, "num_classes": 2, "channels": [4, 8],
       "blocks": [1, 1], "stem_channels": 4, "stem_kernel": 3, "stem_stride": 1, "stem_pool": False,
       "norm": "batch", "act": "relu", "dropout": 0.0}


def _by_hand(net: torch.nn.Module) -> str:
    """Closed form of the documented order: name, dtype, shape, raw little-endian bytes, by name."""
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(repr(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def test_batchnorm_network_hash_matches_the_documented_order_and_sees_counters():
    net = build_network(CFG, rng=0)
    assert any(t.dim() == 0 for t in net.state_dict().values())  # num_batches_tracked
    before = state_dict_sha256(net)
    assert before == _by_hand(net)
    net.train()
    net(torch.zeros(2, 1, 8, 8))  # a forward pass in train mode updates running stats and counters
    assert state_dict_sha256(net) != before
    assert state_dict_sha256(net) == _by_hand(net)
