"""``samd report``: render the submission documents (HTML + PDF) from tracked runs."""

from __future__ import annotations

import sys

import click

__all__ = ["command"]


@click.command("report")
@click.option("--run", "runs", multiple=True, metavar="RUN_ID",
              help="MLflow run id of a `samd validate` or `samd mrmc` run (repeatable).")
@click.option("--latest", is_flag=True,
              help="Also use the newest validation run and the newest mrmc run of the tracking store.")
@click.option("--config", "config", required=True, type=click.Path(exists=True, dir_okay=False),
              help="submission.yaml (see docs/report.md).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or ./mlflow.db).")
@click.option("--audit-log", default=None, type=click.Path(dir_okay=False),
              help="Audit trail (JSON Lines): verified, cited, and appended with the rendered files.")
@click.option("--junit", "junit", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="JUnit XML of the software test run (pytest --junitxml), for the traceability matrix.")
@click.option("--draft", is_flag=True, help="Render visible [MISSING: ...] placeholders instead of refusing.")
@click.option("--no-pdf", is_flag=True, help="Write HTML only.")
def command(runs: tuple[str, ...], latest: bool, config: str, out: str, tracking_uri: str | None, audit_log: str | None,
            junit: tuple[str, ...], draft: bool, no_pdf: bool) -> None:
    """Render the 510(k)-style documents; exit 0 written, 1 inputs missing, 2 error."""
    from risk.errors import MissingInputsError, SamdError
    from risk.report import render_submission

    run_ids = list(runs)
    if latest:
        from validation.tracking import find_runs

        for kind in ("validation", "mrmc"):
            found = [r["run_id"] for r in find_runs(kind=kind, tracking_uri=tracking_uri) if r["status"] == "FINISHED"]
            if found and found[0] not in run_ids:
                run_ids.append(found[0])
    if not run_ids:
        click.echo("error: give at least one --run RUN_ID (or --latest)", err=True)
        sys.exit(2)
    try:
        res = render_submission(config_path=config, run_ids=run_ids, out_dir=out, tracking_uri=tracking_uri,
                                audit_log=audit_log, junit=junit, draft=draft, pdf=not no_pdf)
    except MissingInputsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except (SamdError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for name, sha in sorted(res.files.items()):
        click.echo(f"{sha}  {res.out_dir}/{name}")
    if res.missing:
        click.echo(f"DRAFT: {len(res.missing)} input(s) missing:", err=True)
        for m in res.missing:
            click.echo(f"  - {m}", err=True)
    click.echo(f"index: {res.index_path}")
    if audit_log is not None:  # signatures already covering this exact document set
        from risk.report import render_signature_page

        page = render_signature_page(audit_log, res.index_path, pdf=not no_pdf)
        if page is not None:
            click.echo(f"signature page: {len(page.entries)} signature(s) -> {', '.join(sorted(page.files))}")
