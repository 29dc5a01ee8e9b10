"""`samd mrmc DATA`: OR / DBM analysis of a reader study, with an auditable report."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["EXPERIMENT", "command"]

#: MLflow experiment of MRMC runs (tag ``samd.kind=mrmc``; artifact ``mrmc_result.json``).
EXPERIMENT = "samd-mrmc"


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
    from clinical_eval.mrmc import analyze, report_text

    result = analyze(data, method=method, generalization=generalization, covariance=covariance,  # type: ignore[arg-type]
                     confidence_level=confidence_level, reference=reference, fom=fom,  # type: ignore[arg-type]
                     convention=convention)  # type: ignore[arg-type]
    text = report_text(result)
    payload = result.to_dict()
    run_id = None
    if out_dir is not None or tracking_uri is not None:
        run_id = _log(result, payload, text, data, out_dir, tracking_uri, audit_log, actor)
    if as_json:
        if run_id is not None:
            payload = {**payload, "mlflow_run_id": run_id}
        click.echo(json.dumps(payload, sort_keys=True, indent=2, allow_nan=False))
    else:
        click.echo(text, nl=False)
        if run_id is not None:
            click.echo(f"MLflow run {run_id} (experiment {EXPERIMENT}, tag samd.kind=mrmc)")


def _log(result: object, payload: dict, text: str, data: str, out_dir: str | None, tracking_uri: str | None,
         audit_log: str | None, actor: str | None) -> str:
    from validation.audit import AuditLog, canonical_json, sha256_file
    from validation.tracking import audit_run_end, metric_key, tracked_run

    r = result
    data_sha = sha256_file(data)
    audit = AuditLog(Path(audit_log) if audit_log else Path.cwd() / "samd-audit.jsonl", actor=actor)
    with tracked_run(experiment=EXPERIMENT, run_name=f"mrmc {Path(data).name} {r.method} {r.generalization}",  # type: ignore[attr-defined]
                     kind="mrmc", tracking_uri=tracking_uri,
                     tags={"samd.mrmc.sign_convention": r.sign_convention}) as run:  # type: ignore[attr-defined]
        full = {**payload, "data_file": Path(data).name, "data_sha256": data_sha, "mlflow_run_id": run.run_id}
        run.log_params({"method": r.method, "generalization": r.generalization, "covariance": r.covariance,  # type: ignore[attr-defined]
                        "fom": r.fom, "convention": r.convention, "confidence_level": r.confidence_level,  # type: ignore[attr-defined]
                        "data_file": Path(data).name, "data_sha256": data_sha,
                        "n_readers": len(r.readers), "n_cases": r.n_cases})  # type: ignore[attr-defined]
        metrics = {"statistic": r.statistic, "pvalue": r.pvalue, "df_num": r.df_num,  # type: ignore[attr-defined]
                   "denominator": r.denominator}  # type: ignore[attr-defined]
        if r.df_den is not None:  # type: ignore[attr-defined]
            metrics["df_den"] = r.df_den  # type: ignore[attr-defined]
        for m in r.modality_auc:  # type: ignore[attr-defined]
            metrics[metric_key("fom", m.modality)] = m.estimate.value
        for c in r.comparisons:  # type: ignore[attr-defined]
            for k in ("value", "ci_low", "ci_high"):
                metrics[metric_key("difference", f"{c.minuend}-{c.subtrahend}", k)] = getattr(c.estimate, k)
        for k, v in r.variance_components.items():  # type: ignore[attr-defined]
            metrics[metric_key("vc", k)] = v
        run.log_metrics(metrics)
        run.log_json(full, "mrmc_result.json")
        if out_dir is not None:
            out = Path(out_dir)
            out.mkdir(parents=True, exist_ok=True)
            (out / "mrmc_result.json").write_bytes(canonical_json(full) + b"\n")
            (out / "mrmc_report.txt").write_text(text, encoding="utf-8")
            run.log_artifact(out / "mrmc_report.txt")
        audit_run_end(audit, run, extra={"analysis": "mrmc", "data_sha256": data_sha})
    return str(run.run_id)
