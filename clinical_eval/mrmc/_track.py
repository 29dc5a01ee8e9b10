"""Tracking an MRMC analysis: MLflow run, audit run records, and the files of ``--out``."""

from __future__ import annotations

import os
from pathlib import Path

from clinical_eval.mrmc._report import report_text
from clinical_eval.mrmc._result import MrmcResult
from samd_core.hashing import canonical_json, sha256_file
from validation.audit import AuditLog
from validation.tracking import metric_key, track_analysis

__all__ = ["EXPERIMENT", "REPORT_FILE", "RESULT_FILE", "track_mrmc"]

#: MLflow experiment of MRMC runs (tag ``samd.kind=mrmc``; artifact ``mrmc_result.json``).
EXPERIMENT = "samd-mrmc"
#: Structured result (canonical JSON) in the run and in ``out_dir``.
RESULT_FILE = "mrmc_result.json"
#: The text report in the run and in ``out_dir``.
REPORT_FILE = "mrmc_report.txt"


def _metrics(r: MrmcResult) -> dict[str, float]:
    metrics = {"statistic": r.statistic, "pvalue": r.pvalue, "df_num": r.df_num, "denominator": r.denominator}
    if r.df_den is not None:
        metrics["df_den"] = r.df_den
    for m in r.modality_auc:
        metrics[metric_key("fom", m.modality)] = m.estimate.value
    for c in r.comparisons:
        e = c.estimate
        for name, value in (("value", e.value), ("ci_low", e.ci_low), ("ci_high", e.ci_high)):
            metrics[metric_key("difference", f"{c.minuend}-{c.subtrahend}", name)] = value
    for k, v in r.variance_components.items():
        metrics[metric_key("vc", k)] = v
    return metrics


def track_mrmc(
    result: MrmcResult,
    data: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    actor: str | None = None,
) -> str:
    """Log an MRMC analysis as an MLflow run (kind ``mrmc``) with its audit run records.

    The run holds the analysis settings and the data file's SHA-256 as params, the global test,
    each modality's FOM, each difference with its CI and the variance components as metrics,
    and ``mrmc_result.json`` (the result plus data file name, SHA-256 and run id) and
    ``mrmc_report.txt`` as artifacts. With ``out_dir`` the two files are also written there.

    Parameters
    ----------
    result
        The analysis, from `clinical_eval.mrmc.analyze`.
    data
        The reader-study file that was analysed (its SHA-256 is recorded).
    out_dir
        Folder for ``mrmc_result.json`` and ``mrmc_report.txt`` (created when missing).
    tracking_uri
        MLflow tracking URI (default: ``MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlflow.db``).
    audit_log
        Audit trail (default: ``./samd-audit.jsonl``).
    actor
        User id recorded in the audit trail (default: OS login).

    Returns
    -------
    str
        The MLflow run id.
    """
    data_path = Path(data)
    data_sha = sha256_file(data_path)
    text = report_text(result)
    audit = AuditLog(Path(audit_log) if audit_log is not None else Path.cwd() / "samd-audit.jsonl", actor=actor)
    params = {"method": result.method, "generalization": result.generalization, "covariance": result.covariance,
              "fom": result.fom, "convention": result.convention, "confidence_level": result.confidence_level,
              "data_file": data_path.name, "data_sha256": data_sha, "n_readers": len(result.readers),
              "n_cases": result.n_cases}
    with track_analysis(kind="mrmc", experiment=EXPERIMENT,
                        run_name=f"mrmc {data_path.name} {result.method} {result.generalization}",
                        audit=audit, tracking_uri=tracking_uri,
                        tags={"samd.mrmc.sign_convention": result.sign_convention}, params=params,
                        start_sha256=data_sha, start_context={"analysis": "mrmc", "data_file": data_path.name}
                        ) as tracked:
        full = {**result.to_dict(), "data_file": data_path.name, "data_sha256": data_sha,
                "mlflow_run_id": tracked.run_id}
        tracked.log(metrics=_metrics(result), json_artifacts={RESULT_FILE: full})
        if out_dir is not None:
            out = Path(out_dir)
            out.mkdir(parents=True, exist_ok=True)
            (out / REPORT_FILE).write_text(text, encoding="utf-8")
            tracked.log(artifacts=[out / REPORT_FILE])
            (out / RESULT_FILE).write_bytes(canonical_json(full) + b"\n")  # last: written only on success
        tracked.end(extra={"analysis": "mrmc", "data_sha256": data_sha})
    return tracked.run_id
