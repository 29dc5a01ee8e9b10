"""Single source of the samd version (semantic versioning)."""

__version__ = "0.1.0"
