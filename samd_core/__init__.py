"""samd_core: the locked core of samd.

Deterministic image I/O and preprocessing, networks, losses, augmentation, training and
inference, and locked model bundles. Imports none of samd's other packages, and none of
pandas, MLflow or jinja2, so a product can ship it alone.
"""

from samd_core._version import __version__
from samd_core.volume import Volume

__all__ = ["Volume", "__version__"]
