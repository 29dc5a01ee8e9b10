"""samd clinical evaluation: reader studies (MRMC), study sizing, agreement, reading time."""

from validation.extras import require_extra

require_extra("samd's clinical_eval package", "validation")

from samd_core import __version__  # noqa: E402

__all__ = ["__version__"]
