"""samd risk management (ISO 14971 / IEC 62304), traceability and submission documents."""

from samd_core._version import __version__

__all__ = ["__version__"]
