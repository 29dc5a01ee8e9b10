"""samd clinical evaluation: reader studies (MRMC), study sizing, agreement, reading time."""

from samd_core import __version__

__all__ = ["__version__"]
