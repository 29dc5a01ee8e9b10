"""samd validation: statistics, metrics and the validation harness."""

from samd_core import __version__

__all__ = ["__version__"]
