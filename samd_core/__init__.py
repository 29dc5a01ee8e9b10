"""samd_core: the locked core of samd.

Deterministic image I/O and preprocessing, networks, losses, augmentation, training and
inference, and locked model bundles. Imports none of samd's other packages, and none of
pandas, MLflow or jinja2, so a product can ship it alone.
"""

from typing import Any

from samd_core._version import __version__
from samd_core.volume import Volume

__all__ = ["Volume", "__version__", "load_locked", "predict_file"]


def __getattr__(name: str) -> Any:
    # `load_locked` is imported lazily so that `import samd_core` does not pull in torch.
    if name == "load_locked":
        from samd_core.bundle import load_locked

        return load_locked
    if name == "predict_file":
        from samd_core.predict_file import predict_file

        return predict_file
    raise AttributeError(f"module 'samd_core' has no attribute {name!r}")
