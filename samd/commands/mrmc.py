"""`samd mrmc DATA`: OR / DBM analysis of a reader study, with an auditable report."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["EXPERIMENT", "command"]


def __getattr__(name: str) -> Any:
    # `EXPERIMENT` lives in `clinical_eval.mrmc` now; kept importable from here (public in 0.1.0)
    # without importing the analysis stack when the CLI only lists its commands.
    if name == "EXPERIMENT":
        from clinical_eval.mrmc import EXPERIMENT

        return EXPERIMENT
    raise AttributeError(name)


@click.command("mrmc")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of the text report.")
@click.option("--method", type=click.Choice(["OR", "DBM"]), default="OR", show_default=True)
@click.option("--generalization", type=click.Choice(["RRRC", "FRRC", "RRFC"]), default="RRRC", show_default=True)
@click.option("--covariance", type=click.Choice(["jackknife", "delong", "unbiased"]), default="jackknife", show_default=True)
@click.option("--convention", type=click.Choice(["iowa", "rjafroc", "mrmcaov"]), default="iowa", show_default=True,
              help="Where max(Cov2 - Cov3, 0) is applied (matters only when Cov2 < Cov3).")
@click.option("--fom", type=click.Choice(["auc", "sensitivity", "specificity"]), default="auc", show_default=True)
@click.option("--reference", default=None, help="Modality label that every other modality is compared against.")
@click.option("--confidence-level", type=float, default=0.95, show_default=True)
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Write mrmc_result.json and mrmc_report.txt here (also logs an MLflow run).")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db).")
@click.option("--audit-log", default=None, type=click.Path(dir_okay=False),
              help="Audit trail (default: ./samd-audit.jsonl when a run is logged).")
@click.option("--actor", default=None, help="User id recorded in the audit trail (default: OS login).")
def command(data: str, as_json: bool, method: str, generalization: str, covariance: str, convention: str,
            fom: str, reference: str | None, confidence_level: float, out_dir: str | None,
            tracking_uri: str | None, audit_log: str | None, actor: str | None) -> None:
    """Analyse the reader study DATA (long-format CSV: reader, modality, case, truth, rating; or
    an iMRMC .imrmc file). Exit 0 on success, 2 on bad input."""
    from clinical_eval.mrmc import EXPERIMENT, analyze, report_text, track_mrmc

    result = analyze(data, method=method, generalization=generalization, covariance=covariance,  # type: ignore[arg-type]
                     confidence_level=confidence_level, reference=reference, fom=fom,  # type: ignore[arg-type]
                     convention=convention)  # type: ignore[arg-type]
    run_id = None
    if out_dir is not None or tracking_uri is not None:
        run_id = track_mrmc(result, data, out_dir=out_dir, tracking_uri=tracking_uri, audit_log=audit_log,
                            actor=actor)
    if as_json:
        payload = result.to_dict() if run_id is None else {**result.to_dict(), "mlflow_run_id": run_id}
        click.echo(json.dumps(payload, sort_keys=True, indent=2, allow_nan=False))
    else:
        click.echo(report_text(result), nl=False)
        if run_id is not None:
            click.echo(f"MLflow run {run_id} (experiment {EXPERIMENT}, tag samd.kind=mrmc)")
