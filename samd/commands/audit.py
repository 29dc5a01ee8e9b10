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
@click.option("--signers", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Signer registry (YAML): verify authenticity (who signed, key valid at the time, "
                   "every `sign` record signed). Without it only integrity is verified.")
@click.option("--future-tolerance", "future_tolerance", default=300.0, show_default=True, type=float,
              help="Seconds a record's time may lie after this machine's clock.")
@click.option("--require-all-signed", is_flag=True,
              help="With --signers: every record, not only `sign` records, must be signed.")
@click.option("--mlflow", "check_mlflow", is_flag=True,
              help="Also check every MLflow run named in the trail against its recorded values and hashes.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: the one each record names).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--record", is_flag=True,
              help="Append an `audit.verify` record with the outcome to FILE (only when it is intact).")
@click.option("--actor", default=None, help="User id for the --record entry (default: OS login).")
def verify(file: str, public_keys: tuple[str, ...], signers: str | None, future_tolerance: float,
           require_all_signed: bool, check_mlflow: bool, tracking_uri: str | None,
           as_json: bool, record: bool, actor: str | None) -> None:
    """Verify FILE. Exit 0: intact (and, with --mlflow, every run matches); 1: broken or a run
    no longer matches (the first bad seq / the runs are named); 2: cannot verify."""
    import json
    from pathlib import Path

    from validation.tracking import record_trail_verification, verify_trail

    res = verify_trail(file, public_keys=public_keys, signers=signers, future_tolerance_s=future_tolerance,
                       require_all_signed=require_all_signed, mlflow=check_mlflow, tracking_uri=tracking_uri)
    audit = res.audit
    if as_json:
        click.echo(json.dumps(res.to_dict(), indent=2))
    else:
        click.echo(("OK " if audit.ok else "FAILED ") + audit.message)
        if not audit.ok:
            click.echo(f"first bad seq: {audit.first_bad_seq}")
        for w in audit.warnings:
            click.echo(f"warning: {w}")
        if audit.authenticity_verified:
            click.echo(f"authenticity verified against signer registry {Path(signers or '').name} "
                       f"({audit.n_signatures_verified} signature(s))")
        else:
            click.echo("authenticity not verified (no --signers registry)")
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


@command.command("sign")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--object", "object_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The file signed (e.g. submission_index.json); its SHA-256 is recorded.")
@click.option("--meaning", required=True, type=click.Choice(["authored", "reviewed", "approved", "responsibility"]))
@click.option("--key", "key", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The signer's encrypted private key (from `samd signer add`).")
@click.option("--user-id", "user_id", required=True, help="The signer's user id (first component).")
@click.option("--registry", required=True, type=click.Path(exists=True, dir_okay=False), help="Signer registry.")
@click.option("--reason", default=None, help="Why; required to approve an object that records a failed verdict.")
def sign(file: str, object_path: str, meaning: str, key: str, user_id: str, registry: str,
         reason: str | None) -> None:
    """Sign OBJECT electronically in the audit trail FILE (user id + passphrase, 21 CFR 11.200).

    The passphrase (second component) comes from SAMD_SIGNING_PASSPHRASE or a prompt.
    """
    from samd.commands.signer import passphrase_option
    from validation.audit import sign_object

    rec = sign_object(file, object_path, meaning=meaning, private_key=key,
                      passphrase=passphrase_option(confirm=False), user_id=user_id,
                      registry=registry, reason=reason)
    signer = rec["context"]["signer"]
    click.echo(f"signed {rec['object']['id']} as {meaning!r} by {signer['name']} ({signer['user_id']}) "
               f"at {rec['ts_utc']}: audit seq {rec['seq']}, hash {rec['hash'][:16]}")


@command.command("signature-page")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--index", "index", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The signed document set's submission_index.json; the page is written beside it.")
@click.option("--signers", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Signer registry: verify authenticity before listing the signatures.")
@click.option("--no-pdf", is_flag=True, help="Write signatures.html only.")
def signature_page(file: str, index: str, signers: str | None, no_pdf: bool) -> None:
    """Render the signature page (printed name, UTC time, meaning, record seq and hash) of a
    signed document set: signatures.html/.pdf and signed_submission.pdf (21 CFR 11.50, 11.70)."""
    from risk.report import render_signature_page

    page = render_signature_page(file, index, signers=signers, pdf=not no_pdf)
    if page is None:
        click.echo("no signature covers this document set")
        sys.exit(1)
    for name, sha in sorted(page.files.items()):
        click.echo(f"{sha}  {name}")
    for e in page.entries:
        click.echo(f"  {e.name} ({e.user_id}) {e.meaning} {e.ts_utc} seq {e.seq} hash {e.hash[:16]}")


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
    """Append a signed checkpoint of the chain head (copied to FILE.checkpoints).

    An encrypted key (a registered signer's) is opened with SAMD_SIGNING_PASSPHRASE or a prompt;
    give --actor as that signer's user id so that `verify --signers` accepts it."""
    import json

    from samd.commands.signer import passphrase_option
    from validation.audit import AuditLog, key_is_encrypted

    pw = passphrase_option(confirm=False) if key_is_encrypted(signing_key) else None
    cp = AuditLog(file, actor=actor, signing_key=signing_key, passphrase=pw).checkpoint()
    click.echo(json.dumps(cp))


@command.command("export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--csv", "csv_out", required=True, type=click.Path(dir_okay=False))
def export(file: str, csv_out: str) -> None:
    """Human-readable CSV of the trail: seq, UTC time, actor, action, object, reason, meaning, hash
    (formula-safe: cells a spreadsheet would run get a leading apostrophe)."""
    from validation.audit import export_audit_csv

    n = export_audit_csv(file, csv_out)
    click.echo(f"wrote {csv_out} ({n} records)")
