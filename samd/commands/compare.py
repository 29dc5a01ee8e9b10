"""`samd compare PROTOCOL --out DIR`: a model change against the locked model (PCCP)."""

from __future__ import annotations

import sys

import click

from samd.commands._protocol_run import echo_header, echo_verdict, protocol_run_options

__all__ = ["command"]


@click.command("compare")
@protocol_run_options(out_help="Output folder (result.json, cases.csv, plots/roc_paired.png/.svg).",
                      progress_help="Progress bar in bundle mode.")
def command(protocol: str, out_dir: str, tracking_uri: str | None, audit_log: str | None,
            actor: str | None, signing_key: str | None, relock_reason: str | None, progress: bool) -> None:
    """Compare a candidate model with the locked reference model under PROTOCOL (YAML).
    Exit 0: every endpoint non-inferior; 1: some not; 2: error (bad protocol, manifest or
    bundle pin mismatch, changed protocol, ...)."""
    from validation.compare import run_comparison

    outcome = run_comparison(protocol, out_dir=out_dir, tracking_uri=tracking_uri, audit_log=audit_log,
                             actor=actor, signing_key=signing_key, relock_reason=relock_reason,
                             progress=progress)
    from risk.report import fmt_num  # rounded for people; result.json keeps full precision

    r = outcome.result
    echo_header(r)
    for e in r["endpoints"]:
        p = e.get("test", {}).get("pvalue", "")
        click.echo(f"  {e['id']:<16} {e['metric']:<12} diff {fmt_num(e['value'])!s:<8} "
                   f"[{fmt_num(e['ci_low'])}, {fmt_num(e['ci_high'])}] "
                   f"{e['method']}  p={fmt_num(p, 4) if p != '' else ''}  {e['criterion']}: {'PASS' if e['passed'] else 'FAIL'}")
    echo_verdict(r, outcome.verdict, outcome.out_dir)
    sys.exit(0 if outcome.verdict == "pass" else 1)  # 1: criteria not met; errors exit 2 in samd.cli
