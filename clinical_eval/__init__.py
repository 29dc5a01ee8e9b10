"""samd clinical evaluation: reader studies (MRMC), study sizing, agreement, reading time."""

from samd_core._version import __version__

__all__ = ["__version__"]
