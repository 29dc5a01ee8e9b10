"""The `samd` command line: one CLI for the whole library (see `samd --help`)."""

from samd_core import __version__

__all__ = ["__version__"]
