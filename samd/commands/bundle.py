"""``samd bundle``: check, sign and create keys for locked model bundles."""

from __future__ import annotations

import json
import pathlib

import click

__all__ = ["command"]

#: Files a bundle needs for OQ (`samd bundle check` refuses a bundle without them).
REFERENCE_FILES = ("reference/golden.json", "reference/golden.safetensors", "reference/inputs.json",
                   "reference/inputs.safetensors")


@click.group(name="bundle")
def command() -> None:
    """Locked model bundles: check, create, keygen, sign."""


def _private_key(path: str) -> object:
    """A PEM private key; an encrypted one is unlocked with ``SAMD_SIGNING_PASSPHRASE``."""
    import os

    from cryptography.hazmat.primitives import serialization

    pw = os.environ.get("SAMD_SIGNING_PASSPHRASE")
    return serialization.load_pem_private_key(pathlib.Path(path).read_bytes(),
                                              password=pw.encode("utf-8") if pw else None)


@command.command(name="check")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM public key; the signature is then required.")
@click.option("--expected-sha256", default=None,
              help="Pinned manifest SHA-256 (the identity the product was cleared with); any other bundle is refused.")
def check(path: str, public_key: str | None, expected_sha256: str | None) -> None:
    """Verify a bundle completely (exit 1 when refused) and print its identity."""
    from samd_core import load_locked
    from samd_core.errors import IntegrityError

    try:
        model = load_locked(path, public_key=public_key, expected_sha256=expected_sha256)
    except IntegrityError as exc:
        click.echo(f"REFUSED: {exc}", err=True)
        raise SystemExit(1) from exc
    missing = [n for n in REFERENCE_FILES if n not in model.files]
    if missing:
        click.echo(f"REFUSED: bundle has no OQ reference inputs/golden outputs (missing {missing})", err=True)
        raise SystemExit(1)
    info = dict(model.metadata)
    info.update(manifest_sha256=model.manifest_sha256, signature_verified=model.signature_verified)
    if hasattr(model, "settings"):
        info["inference"] = model.settings.to_dict()
    else:
        info.update(task=model.task.to_dict(), input=model.input_spec.to_dict(), runtime=dict(model.runtime))
    click.echo(json.dumps(info, indent=1, sort_keys=True))


@command.command(name="create")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True, help="New bundle folder.")
@click.option("--private-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM Ed25519 private key (encrypted: passphrase from SAMD_SIGNING_PASSPHRASE) to sign the bundle.")
def create(spec: str, out: str, private_key: str | None) -> None:
    """Lock a model from a YAML spec (atomic; OQ goldens computed from its reference inputs)."""
    from samd_core.bundle import create_bundle

    key = _private_key(private_key) if private_key is not None else None
    path = create_bundle(spec, out, private_key=key)
    from samd_core import load_locked

    click.echo(f"created {path} (manifest sha256 {load_locked(path).manifest_sha256})")


@command.command(name="keygen")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder for private.pem and public.pem.")
def keygen(out: str) -> None:
    """Create an Ed25519 key pair (private.pem unencrypted: keep it offline)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    base = pathlib.Path(out)
    base.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    priv = base / "private.pem"
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    priv.chmod(0o600)
    (base / "public.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    click.echo(f"wrote {priv} and {base / 'public.pem'}")


@command.command(name="sign")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--private-key", type=click.Path(exists=True, dir_okay=False), required=True, help="PEM Ed25519 private key.")
def sign(path: str, private_key: str) -> None:
    """Verify the bundle's hashes, then sign its manifest (writes manifest.sig)."""
    from samd_core import load_locked
    from samd_core.bundle import sign_manifest
    from samd_core.errors import IntegrityError

    try:
        load_locked(path)
    except IntegrityError as exc:
        click.echo(f"REFUSED: will not sign a bundle that does not verify: {exc}", err=True)
        raise SystemExit(1) from exc
    key = _private_key(private_key)
    sign_manifest(path, key)
    click.echo(f"signed {pathlib.Path(path) / 'manifest.sig'}")
