"""Entry point of the ``samd`` console script.

Subcommands live in ``samd/commands/<module>.py`` and are loaded lazily. The table
`COMMANDS` maps each subcommand name to its module; a module that is not present in this
installation is simply not offered.

Exit codes are decided here, in one place, for every subcommand (nested groups included):

* **0**: the command did what was asked;
* **1**: acceptance criteria not met or verification failed. Only a command signals this,
  explicitly (``sys.exit(1)``);
* **2**: the command could not run: a usage error, samd's own errors, bad input
  (`ValueError`, `OSError`, malformed YAML, a schema violation, an unreadable key, a bad
  MLflow tracking URI). One line ``error: <message>`` on stderr, never a traceback. Any
  other exception is also exit 2, reported as ``internal error: <Type>: <message>``; the
  traceback is printed only when the environment variable ``SAMD_DEBUG=1`` is set.

Commands therefore do not catch exceptions to turn them into exit codes.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import math
import os
import re
import sys
import traceback
from typing import IO, Any

import click

from samd_core import __version__
from samd_core.errors import SamdError

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_FAILED", "EXIT_OK", "MAX_MESSAGE_CHARS", "error_message", "main"]

#: subcommand name -> module under ``samd.commands`` that defines ``command``.
COMMANDS: dict[str, str] = {
    "audit": "audit",
    "bundle": "bundle",
    "compare": "compare",
    "demo": "demo",
    "mrmc": "mrmc",
    "phantom": "phantom",
    "predict": "predict",
    "report": "report",
    "risk": "risk",
    "signer": "signer",
    "train-reference": "train_reference",
    "validate": "validate",
    "verify": "verify",
}

EXIT_OK = 0
#: acceptance criteria not met / verification failed (signalled by a command, explicitly).
EXIT_FAILED = 1
#: the command could not run (usage, bad input, samd error, unexpected error).
EXIT_ERROR = 2
#: longest error message printed (characters, after joining lines).
MAX_MESSAGE_CHARS = 400

#: exceptions that mean "bad input", by (module, class name). Checked through ``sys.modules``
#: so that ``samd --version`` does not import yaml, jsonschema, cryptography or MLflow: an
#: instance of one of these classes can only exist once its module has been imported.
_INPUT_ERRORS: tuple[tuple[str, str], ...] = (
    ("yaml", "YAMLError"),
    ("jsonschema.exceptions", "ValidationError"),
    ("jsonschema.exceptions", "SchemaError"),
    ("cryptography.exceptions", "UnsupportedAlgorithm"),
    ("cryptography.exceptions", "InvalidKey"),
    ("cryptography.exceptions", "InvalidSignature"),
    ("mlflow.exceptions", "MlflowException"),
)


def _is_input_error(exc: BaseException) -> bool:
    if isinstance(exc, (SamdError, ValueError, OSError)):
        return True
    for module, name in _INPUT_ERRORS:
        mod = sys.modules.get(module)
        cls = getattr(mod, name, None) if mod is not None else None
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


def _raw_message(exc: BaseException) -> str:
    mod = sys.modules.get("jsonschema.exceptions")
    base = getattr(mod, "_Error", None) if mod is not None else None
    if isinstance(base, type) and isinstance(exc, base):
        # str() and .message of a jsonschema error repr() the offending value (unbounded, may be
        # anything the file holds): name where it is and which rule it breaks, not the value.
        where = "/".join(str(p) for p in getattr(exc, "absolute_path", ())) or "<root>"
        rule = repr(getattr(exc, "validator_value", None))
        rule = rule if len(rule) <= 80 else rule[:77] + "..."
        return f"schema violation at {where}: fails `{getattr(exc, 'validator', '?')}` {rule}"
    text = str(exc)
    return text if text.strip() else type(exc).__name__


def error_message(exc: BaseException, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One printable line for ``exc``: whitespace runs (newlines included) joined, capped at ``limit``.

    Parameters
    ----------
    exc
        The exception to describe.
    limit
        Maximum number of characters; longer messages end in ``...``.

    Returns
    -------
    str
        The message, on a single line.
    """
    text = re.sub(r"\s+", " ", _raw_message(exc)).strip()
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


class _CommandError(click.ClickException):
    """An exception mapped to exit 2 with one line on stderr."""

    exit_code = EXIT_ERROR

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.line, err=True, file=file)


class _NonEmptyPath(click.Path):
    """`click.Path` that refuses an empty string (``--out ""`` would otherwise mean the cwd)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (str, bytes)) and not value:
            self.fail("must not be empty", param, ctx)
        return super().convert(value, param, ctx)


class _FiniteFloatRange(click.FloatRange):
    """`click.FloatRange` that also refuses NaN and infinities (NaN passes every range check)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        out = super().convert(value, param, ctx)
        if not math.isfinite(out):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return out


class _FiniteFloat(click.types.FloatParamType):
    """`click.FLOAT` that refuses NaN and infinities."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        out = super().convert(value, param, ctx)
        if not math.isfinite(out):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return out


def _harden(command: click.Command) -> click.Command:
    """Make every path parameter refuse ``""`` and every float parameter refuse NaN/inf.

    Applied once to each subcommand tree when it is loaded, so commands added later get the
    same argument checks without repeating them.
    """
    if getattr(command, "_samd_hardened", False):
        return command
    for param in command.params:
        kind = type(param.type)
        if kind is click.Path:
            hardened = copy.copy(param.type)
            hardened.__class__ = _NonEmptyPath
            param.type = hardened
        elif kind is click.FloatRange:
            hardened = copy.copy(param.type)
            hardened.__class__ = _FiniteFloatRange
            param.type = hardened
        elif kind is click.types.FloatParamType:
            param.type = _FiniteFloat()
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _harden(sub)
    command._samd_hardened = True  # type: ignore[attr-defined]
    return command


def _available(name: str) -> bool:
    return importlib.util.find_spec(f"samd.commands.{COMMANDS[name]}") is not None


class _LazyGroup(click.Group):
    """The ``samd`` group: lazy subcommands, and the one map from exceptions to exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if _available(n))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module = importlib.import_module(f"samd.commands.{COMMANDS[cmd_name]}")
        return _harden(module.command)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.Abort as exc:  # a prompt got no answer (stdin closed) or was interrupted
            raise _CommandError("error: aborted: a prompt got no answer") from exc
        except (click.exceptions.ClickException, click.exceptions.Exit, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("SAMD_DEBUG") == "1":
                traceback.print_exc(file=sys.stderr)
            if _is_input_error(exc):
                raise _CommandError(f"error: {error_message(exc)}") from exc
            raise _CommandError(f"internal error: {type(exc).__name__}: {error_message(exc)}") from exc


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="samd")
def main() -> None:
    """samd: regulatory-grade medical image analysis and validation.

    Exit codes: 0 done; 1 acceptance criteria not met or verification failed; 2 could not run
    (bad arguments or input; one line on stderr).
    """
