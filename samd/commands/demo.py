"""``samd demo``: the end-to-end example device (`reference_devices.demo.run_demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["VOLATILE_RESULT_KEYS", "command", "stable_result_sha256"]


def __getattr__(name: str) -> Any:
    # public here in 0.1.0; they live in `reference_devices.demo` now
    if name in ("VOLATILE_RESULT_KEYS", "stable_result_sha256"):
        import reference_devices.demo

        return getattr(reference_devices.demo, name)
    raise AttributeError(name)


@click.command("demo")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"),
              show_default=True, help="Working folder (cohort, MLflow store, audit trail, runs).")
@click.option("--n-cases", type=click.IntRange(min=10), default=300, show_default=True,
              help="Size of the sequestered test cohort.")
@click.option("--bootstrap", type=click.IntRange(min=0), default=2000, show_default=True,
              help="Bootstrap replicates of the protocol.")
@click.option("--readers", type=click.IntRange(min=3), default=8, show_default=True,
              help="Readers in the simulated reader study.")
@click.option("--reader-cases", type=click.IntRange(min=10), default=120, show_default=True,
              help="Cases in the simulated reader study.")
@click.option("--skip-tests", is_flag=True, help="Do not run the verification tests (the report is then a draft).")
def command(out: Path, n_cases: int, bootstrap: int, readers: int, reader_cases: int, skip_tests: bool) -> None:
    """Run the end-to-end example: cohort, IQ/OQ, validation, reader study, documents."""
    from reference_devices.demo import run_demo

    res = run_demo(out, n_cases=n_cases, bootstrap=bootstrap, readers=readers, reader_cases=reader_cases,
                   skip_tests=skip_tests, echo=click.echo)
    run_dir = res.run_dir
    click.secho(f"\nDone in {res.minutes:.1f} min. Verdict of the standalone test: {res.verdict}", bold=True)
    click.echo(f"  result.json digest without run ids (equal on every rerun): {res.result_digest}")
    click.echo(f"  qualification record : {run_dir / 'qualification' / 'qualification.md'}")
    click.echo(f"  validation result    : {run_dir / 'validation' / 'result.json'}")
    click.echo(f"  reader study         : {run_dir / 'mrmc' / 'mrmc_report.txt'}")
    click.echo(f"  submission documents : {run_dir / 'submission'} (submission.pdf, *.html, submission_index.json)")
    click.echo(f"  audit trail          : {res.audit_log}")
    click.echo(f"  MLflow UI            : mlflow ui --backend-store-uri {res.tracking_uri} --host 127.0.0.1 --port 5000")
