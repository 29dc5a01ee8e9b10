"""Entry point of the ``samd`` console script.

Subcommands live in ``samd/commands/<module>.py`` and are loaded lazily. The table
`COMMANDS` maps each subcommand name to its module; a module that is not present in this
installation is simply not offered.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from samd_core._version import __version__

__all__ = ["COMMANDS", "main"]

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


def _available(name: str) -> bool:
    return importlib.util.find_spec(f"samd.commands.{COMMANDS[name]}") is not None


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if _available(n))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module = importlib.import_module(f"samd.commands.{COMMANDS[cmd_name]}")
        return module.command  # type: ignore[no-any-return]


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="samd")
def main() -> None:
    """samd: regulatory-grade medical image analysis and validation."""
