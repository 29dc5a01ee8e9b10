"""`samd validate PROTOCOL --out DIR`: run a pre-specified standalone performance test."""

from __future__ import annotations

import sys

import click

from samd.commands._protocol_run import echo_header, echo_verdict, protocol_run_options

__all__ = ["command"]


@click.command("validate")
@protocol_run_options(out_help="Output folder (result.json, cases.csv/.parquet, plots/).",
                      progress_help="Progress in bundle mode: cases done, in flight and failed, with an ETA.")
@click.option("--workers", default=None, type=click.IntRange(1, 512),
              help="Run per-case inference (bundle mode) and bootstrap chunks (bootstrap.chunk_size) on a local Dask "
                   "cluster of N worker processes.")
@click.option("--scheduler", default=None,
              help="Run per-case inference (bundle mode) and bootstrap chunks (bootstrap.chunk_size) on an existing "
                   "Dask cluster (tcp://HOST:PORT; checked before the run starts).")
def command(protocol: str, out_dir: str, tracking_uri: str | None, audit_log: str | None,
            actor: str | None, signing_key: str | None, relock_reason: str | None, progress: bool,
            workers: int | None, scheduler: str | None) -> None:
    """Validate a device against PROTOCOL (YAML). Exit 0: all acceptance criteria met;
    1: some not met; 2: error (bad protocol, manifest mismatch, changed protocol, ...)."""
    from validation.harness import population_line, run_validation

    outcome = run_validation(protocol, out_dir=out_dir, tracking_uri=tracking_uri, audit_log=audit_log,
                             actor=actor, signing_key=signing_key, relock_reason=relock_reason,
                             progress=progress, workers=workers, scheduler=scheduler)
    r = outcome.result
    echo_header(r)
    from risk.report import fmt_num  # rounded for people; result.json keeps full precision

    for e in r["endpoints"]:
        shown = (f"not reached (highest FP rate reached: {fmt_num(e.get('fp_rate_reached'))})"
                 if e.get("reached") is False else  # sensitivity at an FP rate the FROC curve never attains
                 f"{fmt_num(e['value'])!s:<8} [{fmt_num(e['ci_low'])}, {fmt_num(e['ci_high'])}]")
        click.echo(f"  {e['id']:<20} {e['metric']:<12} {shown} n={e.get('n')} "
                   f"{e['method']}  {e['criterion']}: {'PASS' if e['passed'] else 'FAIL'}")
        if isinstance(e.get("population"), dict):  # n analysed of n eligible, exclusions and why
            click.echo(f"  {'':<20} {population_line(e['population'], e.get('undefined'))}")
    echo_verdict(r, outcome.verdict, outcome.out_dir, note=", full precision")
    sys.exit(0 if outcome.verdict == "pass" else 1)
