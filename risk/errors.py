"""Exceptions of the risk package (same template as `samd_core.errors`)."""

from __future__ import annotations

from collections.abc import Sequence

from samd_core.errors import IntegrityError, InvalidParameterError, SamdError, format_invalid

__all__ = [
    "IntegrityError",
    "InvalidParameterError",
    "MissingInputsError",
    "RiskFileError",
    "SamdError",
    "format_invalid",
]


class RiskFileError(SamdError, ValueError):
    """A risk file, requirements file or submission config does not match its schema.

    Attributes
    ----------
    path : str
        The file that was read.
    problems : tuple of str
        One line per schema violation, each naming the field (JSON pointer) and the value.
    """

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path} is not valid ({len(self.problems)} problem(s)):\n{lines}")


class MissingInputsError(SamdError, ValueError):
    """A submission document cannot be rendered because inputs are missing.

    Attributes
    ----------
    missing : tuple of str
        One line per missing input (e.g. "predicate device: `predicate` not configured").
    """

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        lines = "\n".join(f"  - {m}" for m in self.missing)
        super().__init__(
            f"cannot render the submission documents; {len(self.missing)} input(s) missing "
            f"(use --draft to render with visible placeholders):\n{lines}"
        )
