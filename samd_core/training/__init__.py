"""Training of the locked core: a small, bit-reproducible patch-based trainer.

`Trainer` (configs in, `TrainingResult` out) samples patches with
`samd_core.preprocess.PatchSampler`, augments with `samd_core.augment.Compose`, optimises a
`samd_core.losses` loss, validates by sliding-window Dice, checkpoints to safetensors + JSON,
stops early and resumes. Metrics go to `TrainingCallback` objects.
"""

from samd_core.training._callbacks import TrainingCallback
from samd_core.training._checkpoint import load_checkpoint
from samd_core.training._config import TrainingConfig
from samd_core.training._determinism import deterministic, state_dict_sha256
from samd_core.training._result import TrainingResult
from samd_core.training._trainer import Case, Trainer, learning_rate_at

__all__ = [
    "Case",
    "Trainer",
    "TrainingCallback",
    "TrainingConfig",
    "TrainingResult",
    "deterministic",
    "learning_rate_at",
    "load_checkpoint",
    "state_dict_sha256",
]
