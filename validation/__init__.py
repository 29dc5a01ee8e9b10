"""samd validation: statistics, metrics and the validation harness."""

from validation.extras import require_extra

require_extra("samd's validation package", "validation")

from samd_core import __version__  # noqa: E402

__all__ = ["__version__"]
