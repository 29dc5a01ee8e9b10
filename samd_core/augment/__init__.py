"""Data augmentation applied consistently to an image and its label(s).

Each random transform draws plain-data parameters from an explicit numpy Generator, then
applies a deterministic transform with them; the parameters are returned as a record so any
augmented sample can be replayed (`RandomTransform.replay`, `Compose.replay`). See
``docs/preprocess.md`` (section "Augmentation").

Arrays are channel-first: image ``(C, Z, Y, X)`` or ``(C, Y, X)``; label ``(Z, Y, X)`` /
``(Y, X)`` integer maps (or with a leading channel axis). Labels use nearest-neighbour
interpolation only.
"""

from samd_core.augment._base import TRANSFORMS, Compose, RandomTransform
from samd_core.augment._intensity import RandomBlur, RandomGamma, RandomNoise, RandomScaleShift
from samd_core.augment._mixup import Mixup
from samd_core.augment._spatial import RandomAffine, RandomElastic, RandomFlip, RandomRot90

__all__ = [
    "TRANSFORMS",
    "Compose",
    "Mixup",
    "RandomAffine",
    "RandomBlur",
    "RandomElastic",
    "RandomFlip",
    "RandomGamma",
    "RandomNoise",
    "RandomRot90",
    "RandomScaleShift",
    "RandomTransform",
]
