"""`samd audit`: verify, recover, export and checkpoint audit trails."""

from __future__ import annotations

import sys

import click

__all__ = ["command"]


@click.group("audit")
def command() -> None:
    """Audit trail tools (tamper evidence, MLflow run integrity, human-readable export)."""


@command.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", "public_keys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Registered signer public key (PEM); repeatable. Signatures are checked when given.")
@click.option("--mlflow", "check_mlflow", is_flag=True,
              help="Also check every MLflow run named in the trail against its recorded values and hashes.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: the one each record names).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--record", is_flag=True,
              help="Append an `audit.verify` record with the outcome to FILE (only when it is intact).")
@click.option("--actor", default=None, help="User id for the --record entry (default: OS login).")
def verify(file: str, public_keys: tuple[str, ...], check_mlflow: bool, tracking_uri: str | None,
           as_json: bool, record: bool, actor: str | None) -> None:
    """Verify FILE. Exit 0: intact (and, with --mlflow, every run matches); 1: broken or a run
    no longer matches (the first bad seq / the runs are named); 2: cannot verify."""
    import json

    from validation.tracking import record_trail_verification, verify_trail

    res = verify_trail(file, public_keys=public_keys, mlflow=check_mlflow, tracking_uri=tracking_uri)
    audit = res.audit
    if as_json:
        click.echo(json.dumps(res.to_dict(), indent=2))
    else:
        click.echo(("OK " if audit.ok else "FAILED ") + audit.message)
        if not audit.ok:
            click.echo(f"first bad seq: {audit.first_bad_seq}")
        for w in audit.warnings:
            click.echo(f"warning: {w}")
        if res.mlflow_checked:
            n = len(res.runs)
            click.echo(f"MLflow: {n - len(res.bad_runs)}/{n} runs match their audit records; "
                       f"{res.mlflow_checkpoints} checkpoint(s) from MLflow params checked")
            for c in res.bad_runs:
                click.echo(f"  run {c.run_id} (audit seq {c.audit_seq}) no longer matches:")
                for p in c.problems:
                    click.echo(f"    {p}")
    if record:
        record_trail_verification(file, res, n_public_keys=len(public_keys), actor=actor)
    sys.exit(0 if res.ok else 1)


@command.command("recover")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", required=True, help="Why the torn record exists (e.g. power loss during run X).")
@click.option("--actor", default=None)
def recover(file: str, reason: str, actor: str | None) -> None:
    """Acknowledge a torn last record (the bytes stay; a `recover` record holds their hash)."""
    from validation.audit import AuditLog

    rec = AuditLog(file, actor=actor).recover(reason=reason)
    click.echo(f"recover record appended at seq {rec['seq']}")


@command.command("checkpoint")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--signing-key", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--actor", default=None)
def checkpoint(file: str, signing_key: str, actor: str | None) -> None:
    """Append a signed checkpoint of the chain head (copied to FILE.checkpoints)."""
    import json

    from validation.audit import AuditLog

    cp = AuditLog(file, actor=actor, signing_key=signing_key).checkpoint()
    click.echo(json.dumps(cp))


@command.command("export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--csv", "csv_out", required=True, type=click.Path(dir_okay=False))
def export(file: str, csv_out: str) -> None:
    """Human-readable CSV of a verified trail: seq, UTC time, actor, action, object, reason, meaning, hash."""
    from validation.audit import export_csv

    n = export_csv(file, csv_out)
    click.echo(f"wrote {n} records to {csv_out}")
