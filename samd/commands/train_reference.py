"""``samd train-reference``: retrain the reference nodule model and write its locked bundle."""

from __future__ import annotations

import json

import click

__all__ = ["command"]


@click.command(name="train-reference")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="New bundle directory.")
@click.option("--compare", type=click.Path(exists=True, file_okay=False), default=None,
              help="A bundle whose weights SHA-256 must be reproduced (exit 1 if not).")
def command(out: str, compare: str | None) -> None:
    """Train the reference 3-D U-Net on phantom cohorts (deterministic) and lock it at OUT."""
    from reference_devices.training import summary, train_reference

    want = summary(compare)["weights_sha256"] if compare is not None else None  # refuse a bad --compare first
    path = train_reference(out, progress=lambda m: click.echo(m, err=True))
    info = summary(path)
    click.echo(json.dumps(info, indent=1))
    if want is not None:
        if want != info["weights_sha256"]:
            click.echo(f"weights differ from {compare}: expected {want}, got {info['weights_sha256']}", err=True)
            raise SystemExit(1)
        click.echo(f"weights SHA-256 reproduced ({want})", err=True)
