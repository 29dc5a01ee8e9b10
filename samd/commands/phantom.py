"""``samd phantom``: write a deterministic synthetic cohort (chest CT series or chest radiographs)."""

from __future__ import annotations

import click

__all__ = ["command"]


@click.command(name="phantom")
@click.option("--n-cases", type=click.IntRange(min=1), required=True, help="Number of cases.")
@click.option("--seed", type=click.IntRange(min=0), required=True, help="Cohort seed (case i depends only on seed, i).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--start-index", type=click.IntRange(min=0), default=0, show_default=True, help="First case index.")
@click.option("--prevalence", type=click.FloatRange(0.0, 1.0), default=None,
              help="P(case has a finding); default 0.5 for CT, 0.3 for radiographs.")
@click.option("--split", default="test", show_default=True, help="Value of the manifest's split column.")
@click.option("--kind", type=click.Choice(["ct", "radiograph"]), default="ct", show_default=True,
              help="ct: chest-CT series with nodule masks (reference device nodule_v1); radiograph: DX/CR "
                   "chest radiographs (reference device cxr_triage_v1).")
def command(n_cases: int, seed: int, out: str, start_index: int, prevalence: float | None, split: str,
            kind: str) -> None:
    """Generate N synthetic cases as DICOM with OUT/manifest.csv (CT: also NIfTI nodule masks)."""
    if kind == "ct":
        from reference_devices.phantom import write_cohort

        manifest = write_cohort(out, n_cases=n_cases, seed=seed, start_index=start_index,
                                prevalence=0.5 if prevalence is None else prevalence, split=split)
    else:
        from reference_devices.radiograph import write_radiograph_cohort

        manifest = write_radiograph_cohort(out, n_cases=n_cases, seed=seed, start_index=start_index,
                                           prevalence=0.3 if prevalence is None else prevalence, split=split)
    click.echo(f"wrote {n_cases} cases; manifest: {manifest}")
