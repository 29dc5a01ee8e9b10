"""What `samd validate` and `samd compare` share: the protocol-run options and the output lines."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["echo_header", "echo_verdict", "protocol_run_options"]

F = TypeVar("F", bound=Callable[..., Any])


def protocol_run_options(*, out_help: str, progress_help: str) -> Callable[[F], F]:
    """The argument PROTOCOL and the options ``--out``, ``--tracking-uri``, ``--audit-log``,
    ``--actor``, ``--signing-key``, ``--relock-reason`` and ``--progress/--no-progress``."""
    decorators = [
        click.argument("protocol", type=click.Path(dir_okay=False)),
        click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help=out_help),
        click.option("--tracking-uri", default=None,
                     help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db)."),
        click.option("--audit-log", default=None, type=click.Path(dir_okay=False),
                     help="Audit trail and protocol-lock registry (default: ./samd-audit.jsonl)."),
        click.option("--actor", default=None, help="User id recorded in the audit trail (default: OS login)."),
        click.option("--signing-key", default=None, type=click.Path(exists=True, dir_okay=False),
                     help="Ed25519 private key (PEM) that signs every audit record and the checkpoint."),
        click.option("--relock-reason", default=None,
                     help="Lock a changed protocol as a new version, with this reason."),
        click.option("--progress/--no-progress", default=True, help=progress_help),
    ]

    def apply(f: F) -> F:
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


def echo_header(result: Mapping[str, Any]) -> None:
    """``protocol <id> v<version> (<sha256 prefix>…), <n> cases, MLflow run <run id>``."""
    click.echo(f"protocol {result['protocol_id']} v{result['protocol_version']} "
               f"({result['protocol_sha256'][:12]}…), {result['n_cases']} cases, MLflow run {result['mlflow_run_id']}")


def echo_verdict(result: Mapping[str, Any], verdict: str, out_dir: Path, *, note: str = "") -> None:
    """Each warning (stderr), then ``verdict: <verdict>  (<out_dir>/result.json<note>)``."""
    for w in result["warnings"]:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"verdict: {verdict}  ({out_dir / 'result.json'}{note})")
