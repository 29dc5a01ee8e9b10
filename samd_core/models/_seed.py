"""Turn a seed or generator argument into a `torch.Generator`."""

from __future__ import annotations

import torch

from samd_core.errors import InvalidParameterError

__all__: list[str] = []


def as_generator(rng: torch.Generator | int, field: str, function: str) -> torch.Generator:
    """A CPU `torch.Generator`: ``rng`` itself, or a new one seeded with the int ``rng``."""
    if isinstance(rng, torch.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, int) or rng < 0:
        raise InvalidParameterError(field, function, "a torch.Generator or a non-negative int seed", rng)
    g = torch.Generator()
    g.manual_seed(rng)
    return g
