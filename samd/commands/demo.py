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
@click.option("--bootstrap", type=click.IntRange(min=100), default=2000, show_default=True,
              help="Bootstrap replicates of the protocol.")
@click.option("--readers", type=click.IntRange(min=3), default=8, show_default=True,
              help="Readers in the simulated reader study.")
@click.option("--reader-cases", type=click.IntRange(min=10), default=120, show_default=True,
              help="Cases in the simulated reader study.")
@click.option("--skip-tests", is_flag=True, help="Do not run the verification tests (the report is then a draft).")
@click.option("--device", type=click.Choice(["both", "nodule", "cxr"]), default="both", show_default=True,
              help="Which reference device to run: the lung-nodule CT device, the chest-radiograph classifier, or both.")
def command(out: Path, n_cases: int, bootstrap: int, readers: int, reader_cases: int, skip_tests: bool,
            device: str) -> None:
    """Run the end-to-end example: cohort, IQ/OQ, validation, reader study, documents."""
    from reference_devices.demo import run_demo

    res = run_demo(out, n_cases=n_cases, bootstrap=bootstrap, readers=readers, reader_cases=reader_cases,
                   skip_tests=skip_tests, device=device, echo=click.echo)
    run_dir = res.run_dir
    click.secho(f"\nDone in {res.minutes:.1f} min.", bold=True)
    if device in ("both", "nodule"):
        click.echo(f"  lung-nodule device: verdict {res.verdict}; result.json digest without run ids "
                   f"(equal on every rerun): {res.result_digest}")
    if res.cxr_verdict is not None:
        click.echo(f"  chest-radiograph device: verdict {res.cxr_verdict}; result.json digest without run ids: "
                   f"{res.cxr_result_digest}  ({run_dir / 'cxr-validation' / 'result.json'})")
    click.echo(f"  qualification record : {run_dir / 'qualification' / 'qualification.md'}")
    if device in ("both", "nodule"):
        click.echo(f"  validation result    : {run_dir / 'validation' / 'result.json'}")
        click.echo(f"  reader study         : {run_dir / 'mrmc' / 'mrmc_report.txt'}")
        click.echo(f"  submission documents : {run_dir / 'submission'} (submission.pdf, *.html, submission_index.json)")
    if res.cxr_verdict is not None:
        click.echo(f"  chest-radiograph documents: {run_dir / 'cxr-submission'} (submission.pdf, signatures.pdf)")
    click.echo(f"  audit trail          : {res.audit_log}")
    click.echo(f"  MLflow UI            : mlflow ui --backend-store-uri {res.tracking_uri} --host 127.0.0.1 --port 5000")
