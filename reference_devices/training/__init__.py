"""The reference device: a small 3-D U-Net nodule segmenter trained on phantom data, locked."""

from reference_devices.training._recipe import RECIPE
from reference_devices.training._train import (
    choose_threshold,
    prepare_case,
    summary,
    train_reference,
    training_manifest_sha256,
    weights_sha256,
)

__all__ = [
    "RECIPE",
    "choose_threshold",
    "prepare_case",
    "summary",
    "train_reference",
    "training_manifest_sha256",
    "weights_sha256",
]
