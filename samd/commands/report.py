"""``samd report``: render the submission documents (HTML + PDF) from tracked runs; ``samd report init``."""

from __future__ import annotations

import click

__all__ = ["command"]


@click.group("report", invoke_without_command=True)
@click.option("--run", "runs", multiple=True, metavar="RUN_ID",
              help="MLflow run id of a `samd validate`, `samd mrmc` or `samd compare` run (repeatable).")
@click.option("--latest", is_flag=True,
              help="Also use the newest validation run and the newest mrmc run of the tracking store.")
@click.option("--config", "config", default=None, type=click.Path(exists=True, dir_okay=False),
              help="submission.yaml (see docs/report.md; `samd report init` writes a skeleton).")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or ./mlflow.db).")
@click.option("--audit-log", default=None, type=click.Path(dir_okay=False),
              help="Audit trail (JSON Lines): verified, cited, and appended with the rendered files.")
@click.option("--junit", "junit", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="JUnit XML of the software test run (pytest --junitxml), for the traceability matrix.")
@click.option("--draft", is_flag=True,
              help="Render visible [MISSING: ...] placeholders (and accept TODOs) instead of refusing.")
@click.option("--no-pdf", is_flag=True, help="Write HTML only.")
@click.pass_context
def command(ctx: click.Context, runs: tuple[str, ...], latest: bool, config: str | None, out: str | None,
            tracking_uri: str | None, audit_log: str | None, junit: tuple[str, ...], draft: bool,
            no_pdf: bool) -> None:
    """Render the 510(k)-style documents from runs and a submission.yaml."""
    if ctx.invoked_subcommand is not None:
        return
    from risk.report import latest_runs, render_submission

    if config is None or out is None:
        raise click.UsageError("give --config FILE and --out DIR (or use `samd report init`)")
    run_ids = [*runs, *(latest_runs(tracking_uri=tracking_uri, exclude=runs) if latest else ())]
    if not run_ids:
        raise click.UsageError("give at least one --run RUN_ID (or --latest)")
    res = render_submission(config_path=config, run_ids=run_ids, out_dir=out, tracking_uri=tracking_uri,
                            audit_log=audit_log, junit=junit, draft=draft, pdf=not no_pdf)
    for name, sha in sorted(res.files.items()):
        click.echo(f"{sha}  {res.out_dir}/{name}")
    if res.missing:
        click.echo(f"DRAFT: {len(res.missing)} input(s) missing:", err=True)
        for m in res.missing:
            click.echo(f"  - {m}", err=True)
    click.echo(f"verdict: {res.verdict}")
    click.echo(f"index: {res.index_path}")
    if audit_log is not None:  # signatures already covering this exact document set
        from risk.report import render_signature_page

        page = render_signature_page(audit_log, res.index_path, pdf=not no_pdf)
        if page is not None:
            click.echo(f"signature page: {len(page.entries)} signature(s) -> {', '.join(sorted(page.files))}")


@command.command("init")
@click.option("--run", "runs", multiple=True, required=True, metavar="RUN_ID",
              help="MLflow run id of a `samd validate` or `samd mrmc` run of the device (repeatable).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="submission.yaml to write.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or ./mlflow.db).")
def init(runs: tuple[str, ...], out: str, tracking_uri: str | None) -> None:
    """Write a submission.yaml skeleton for the runs' device; what a person must write is a TODO."""
    from risk.report import init_submission_config

    res = init_submission_config(run_ids=runs, out=out, tracking_uri=tracking_uri)
    click.echo(f"wrote {res.path}: {res.n_todo} TODO(s) to fill in before `samd report` (without --draft)")
