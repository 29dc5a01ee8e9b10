"""``samd verify``: installation + operational qualification; writes a qualification record."""

from __future__ import annotations

import click

__all__ = ["command"]


def _usable_lock(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A lock file that cannot be read (empty, no pins, not a lock) cannot qualify anything: exit 2."""
    if value is not None:
        from samd_core.qualification import read_lock

        try:
            read_lock(value)
        except (ValueError, OSError) as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


@click.command(name="verify")
@click.option("--lock", "lock", type=click.Path(dir_okay=False), default=None, callback=_usable_lock,
              help="requirements.lock to compare with (default: the one next to the installed samd_core).")
@click.option("--bundle", "bundles", type=click.Path(file_okay=False), multiple=True,
              help="Bundle to qualify (repeatable; default: every bundle shipped in samd_core).")
@click.option("--expected-sha256", "expected_sha256", multiple=True,
              help="Pinned manifest SHA-256 of each --bundle, in the same order (a different bundle fails OQ).")
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM public key: every bundle's signature is then required and verified.")
@click.option("--out", type=click.Path(file_okay=False), default="qualification", show_default=True,
              help="Folder for qualification.json and qualification.md.")
def command(lock: str | None, bundles: tuple[str, ...], expected_sha256: tuple[str, ...], public_key: str | None,
            out: str) -> None:
    """Run IQ/OQ. Exit 0: all checks pass; 1: a check failed (named); 2: could not run."""
    from samd_core.qualification import find_lock_file, run_qualification

    lock_path = lock if lock is not None else find_lock_file()
    record = run_qualification(lock_path=lock_path, bundles=list(bundles) or None,
                               expected_sha256=list(expected_sha256) or None, public_key=public_key)
    json_path, md_path = record.write(out)
    for c in record.checks:
        click.echo(f"[{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.message}")
    click.echo(f"record: {json_path} and {md_path}")
    if not record.passed:
        click.echo("FAILED checks: " + ", ".join(record.failed_checks()), err=True)
        raise SystemExit(1)
    click.echo("qualification PASSED")
