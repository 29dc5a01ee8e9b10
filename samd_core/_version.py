"""Single source of the samd version (semantic versioning)."""

__version__ = "0.2.1"
