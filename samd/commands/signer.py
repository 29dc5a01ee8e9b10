"""`samd signer`: the registry of people who may sign electronically (21 CFR 11.100, 11.300)."""

from __future__ import annotations

import os

import click

__all__ = ["command", "passphrase_option"]

#: Environment variable read for the signing passphrase before prompting.
PASSPHRASE_ENV = "SAMD_SIGNING_PASSPHRASE"


def passphrase_option(*, confirm: bool) -> str:
    """The passphrase from ``SAMD_SIGNING_PASSPHRASE``, else a hidden prompt (never echoed)."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value is None:
        value = click.prompt("Signing passphrase", hide_input=True, confirmation_prompt=confirm,
                             default="", show_default=False)
    return value


@click.group("signer")
def command() -> None:
    """Signer registry (versioned YAML kept in the product's QMS repository)."""


@command.command("add")
@click.option("--registry", required=True, type=click.Path(dir_okay=False), help="Registry YAML (created if missing).")
@click.option("--name", required=True, help="Printed name of the signer.")
@click.option("--user-id", "user_id", required=True, help="Unique user id of the signer.")
@click.option("--role", required=True, help="Role (e.g. 'Quality Manager').")
@click.option("--key-out", "key_out", required=True, type=click.Path(file_okay=False),
              help="Folder for the new key pair (private key encrypted with the passphrase).")
@click.option("--valid-from", default=None, help="UTC start YYYY-MM-DDTHH:MM:SSZ (default: now).")
@click.option("--valid-until", default=None, help="UTC end YYYY-MM-DDTHH:MM:SSZ (default: open).")
@click.option("--audit-log", default=None, type=click.Path(dir_okay=False),
              help="Record the registry change in this audit trail.")
@click.option("--actor", default=None, help="User id making the change (default: OS login).")
def add(registry: str, name: str, user_id: str, role: str, key_out: str, valid_from: str | None,
        valid_until: str | None, audit_log: str | None, actor: str | None) -> None:
    """Create an Ed25519 key pair for a signer and append the public key to the registry.

    The passphrase comes from SAMD_SIGNING_PASSPHRASE or a prompt; an empty one is refused.
    """
    from validation.audit import add_signer

    res = add_signer(registry, name=name, user_id=user_id, role=role, key_out=key_out,
                     passphrase=passphrase_option(confirm=True), valid_from=valid_from,
                     valid_until=valid_until, audit_log=audit_log, actor=actor)
    click.echo(f"registered {res.signer.user_id} ({res.signer.role}) key {res.signer.key_id}; "
               f"registry version {res.registry_version}")
    click.echo(f"private key (encrypted): {res.private_key_path}")
    click.echo(f"public key             : {res.public_key_path}")
    if res.audit_seq is not None:
        click.echo(f"audit record seq {res.audit_seq}")


@command.command("revoke")
@click.option("--registry", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--key-id", "key_id", required=True, help="The key to revoke (ed25519:...).")
@click.option("--reason", required=True, help="Why (e.g. key file lost).")
@click.option("--audit-log", default=None, type=click.Path(dir_okay=False))
@click.option("--actor", default=None)
def revoke(registry: str, key_id: str, reason: str, audit_log: str | None, actor: str | None) -> None:
    """Revoke a key: no signature by it verifies any more (for a compromised key)."""
    from validation.audit import revoke_signer

    s = revoke_signer(registry, key_id=key_id, reason=reason, audit_log=audit_log, actor=actor)
    click.echo(f"revoked {s.key_id} of {s.user_id}")


@command.command("list")
@click.option("--registry", required=True, type=click.Path(exists=True, dir_okay=False))
def list_(registry: str) -> None:
    """Print the registry's entries (user id, printed name, role, key id, validity, status)."""
    from validation.audit import load_signers

    reg = load_signers(registry)
    click.echo(f"registry version {reg.version}, sha256 {reg.sha256}")
    for s in reg.signers:
        d = s.to_dict()
        click.echo(f"{d['user_id']}\t{d['name']}\t{d['role']}\t{d['key_id']}\t{d['valid_from']}"
                   f"..{d['valid_until'] or ''}\t{d['status']}")
