"""``samd phantom``: write a deterministic chest-CT phantom cohort (DICOM + masks + manifest)."""

from __future__ import annotations

import click

__all__ = ["command"]


@click.command(name="phantom")
@click.option("--n-cases", type=click.IntRange(min=1), required=True, help="Number of cases.")
@click.option("--seed", type=click.IntRange(min=0), required=True, help="Cohort seed (case i depends only on seed, i).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--start-index", type=click.IntRange(min=0), default=0, show_default=True, help="First case index.")
@click.option("--prevalence", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True, help="P(case has a nodule).")
@click.option("--split", default="test", show_default=True, help="Value of the manifest's split column.")
def command(n_cases: int, seed: int, out: str, start_index: int, prevalence: float, split: str) -> None:
    """Generate N phantom chest CTs as DICOM series, NIfTI nodule masks and OUT/manifest.csv."""
    from reference_devices.phantom import write_cohort

    manifest = write_cohort(out, n_cases=n_cases, seed=seed, start_index=start_index, prevalence=prevalence, split=split)
    click.echo(f"wrote {n_cases} cases; manifest: {manifest}")
