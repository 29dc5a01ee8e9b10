"""The `samd` command line: one CLI for the whole library (see `samd --help`)."""

from validation.extras import require_extra

require_extra("samd's command line", "validation")

from samd_core import __version__  # noqa: E402

__all__ = ["__version__"]
