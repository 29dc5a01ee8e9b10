"""The signer registry: who may sign, with which Ed25519 key, in which role, and when.

A registry is a small YAML file kept under version control in the product's quality system
(``schema: samd-signers/1``, an integer ``version`` raised on every change, and one entry per
key)::

    schema: samd-signers/1
    version: 2
    signers:
    - user_id: jdoe
      name: Jane Doe                 # printed name (21 CFR 11.50(a)(1))
      role: Quality Manager
      public_key: |
        -----BEGIN PUBLIC KEY-----
        ...
        -----END PUBLIC KEY-----
      key_id: ed25519:0123456789abcdef
      valid_from: '2026-12-04T16:00:00Z'
      valid_until: null              # optional end of the signer's authority
      status: active                 # or revoked: the key is trusted at no time (compromise)

It is validated against ``signers.schema.json`` (JSON Schema 2020-12) and then semantically
(PEM is an Ed25519 public key, ``key_id`` matches it, times are UTC, key ids are unique). YAML
anchors/aliases and duplicate keys are refused, and the file size is bounded.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from samd_core.hashing import sha256_bytes
from validation.audit._keys import key_id
from validation.errors import AuditError, format_invalid

__all__ = [
    "REGISTRY_SCHEMA",
    "SIGNER_STATUSES",
    "Signer",
    "SignerRegistry",
    "SignerRegistryError",
    "dump_signers",
    "load_signers",
    "parse_utc",
    "signers_schema",
]

REGISTRY_SCHEMA = "samd-signers/1"
SIGNER_STATUSES = ("active", "revoked")
#: Largest registry file read (bytes).
MAX_REGISTRY_BYTES = 1 << 20
_TS_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")


class SignerRegistryError(AuditError):
    """A signer registry is malformed (or cannot be read)."""


def signers_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a signer registry."""
    text = resources.files("validation.audit").joinpath("signers.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def parse_utc(value: str, *, field: str = "time", function: str = "parse_utc") -> datetime:
    """A ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` string as an aware UTC datetime."""
    if not isinstance(value, str) or not _TS_RE.fullmatch(value):
        raise SignerRegistryError(format_invalid(field, function, "a UTC time YYYY-MM-DDTHH:MM:SS[.ffffff]Z",
                                                 value))
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in value else "%Y-%m-%dT%H:%M:%SZ"
    try:
        return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignerRegistryError(format_invalid(field, function, "a valid calendar time", value)) from None


def _utc_text(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Signer:
    """One registered signing key of one person.

    Attributes
    ----------
    user_id, name, role : str
        Unique user id, printed name, role.
    public_key_pem : str
        The Ed25519 public key (PEM, SubjectPublicKeyInfo).
    key_id : str
        Its fingerprint (`key_id`).
    valid_from, valid_until : datetime
        UTC validity of the key (``valid_until`` None: open-ended).
    status : {"active", "revoked"}
        A revoked key is trusted at no time.
    """

    user_id: str
    name: str
    role: str
    public_key_pem: str
    key_id: str
    valid_from: datetime
    valid_until: datetime | None
    status: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The key object."""
        return _load_pem(self.public_key_pem, "public_key")

    def invalid_at(self, t: datetime) -> str | None:
        """None when the key was valid at ``t``; else why not (plain words)."""
        if self.status != "active":
            return f"whose key is {self.status}"
        if t < self.valid_from:
            return f"whose key was not yet valid (valid_from {_utc_text(self.valid_from)})"
        if self.valid_until is not None and t >= self.valid_until:
            return f"whose key had expired (valid_until {_utc_text(self.valid_until)})"
        return None

    def to_dict(self) -> dict[str, Any]:
        """The registry entry (YAML/JSON-ready)."""
        return {
            "user_id": self.user_id,
            "name": self.name,
            "role": self.role,
            "public_key": self.public_key_pem,
            "key_id": self.key_id,
            "valid_from": _utc_text(self.valid_from),
            "valid_until": _utc_text(self.valid_until) if self.valid_until is not None else None,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class SignerRegistry:
    """A parsed signer registry (see module docstring).

    Attributes
    ----------
    version : int
        The registry's version number.
    signers : tuple of Signer
        Entries in file order.
    sha256 : str
        SHA-256 of the file's bytes ("" when built in memory).
    """

    version: int
    signers: tuple[Signer, ...]
    sha256: str = ""

    def by_key_id(self) -> dict[str, Signer]:
        """Map key id -> signer."""
        return {s.key_id: s for s in self.signers}

    def for_user(self, user_id: str) -> tuple[Signer, ...]:
        """Every entry of ``user_id``."""
        return tuple(s for s in self.signers if s.user_id == user_id)


def _load_pem(pem: str, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise SignerRegistryError(format_invalid(where, "load_signers", "an Ed25519 public key in PEM form",
                                                 "<not an Ed25519 PEM public key>"))
    return key


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML: no aliases, no duplicate keys, timestamps stay text."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise SignerRegistryError(f"signer registry line {mark.line + 1}: YAML aliases are not allowed")
        return super().compose_node(parent, index)


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise SignerRegistryError(f"signer registry line {key_node.start_mark.line + 1}: duplicate key "
                                      f"{str(key)[:40]!r}")
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)  # type: ignore[arg-type]
_StrictLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(data: bytes, name: str) -> SignerRegistry:
    try:
        doc = yaml.load(data.decode("utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError:
        raise SignerRegistryError(f"signer registry {name} is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise SignerRegistryError(f"signer registry {name}{where}: not valid YAML") from None
    except RecursionError:
        raise SignerRegistryError(f"signer registry {name}: nested too deeply") from None
    validator = jsonschema.Draft202012Validator(signers_schema())
    err = next(iter(sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))), None)
    if err is not None:
        at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path) or "<top level>"
        shown = err.instance if isinstance(err.instance, (str, int, float, bool, type(None))) else type(
            err.instance).__name__
        fn = f"signer registry {name}"
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = sorted(err.schema.get("properties", {}))
            extra = sorted(str(k) for k in set(err.instance) - set(allowed))
            raise SignerRegistryError(format_invalid(f"{at.lstrip('.')}.{extra[0] if extra else '?'}".lstrip("."),
                                                     fn, f"one of the known keys {allowed}", "unknown key"))
        if err.validator == "required" and isinstance(err.instance, dict):
            missing = next((k for k in err.validator_value if k not in err.instance), "?")
            raise SignerRegistryError(format_invalid(f"{at.lstrip('.')}.{missing}".lstrip("."), fn, "present",
                                                     "missing"))
        raise SignerRegistryError(format_invalid(at.lstrip("."), fn,
                                                 f"valid ({err.validator}: {str(err.validator_value)[:80]})", shown))
    signers: list[Signer] = []
    seen: set[str] = set()
    for i, e in enumerate(doc["signers"]):
        fn = f"signer registry {name}"
        pk = _load_pem(e["public_key"], f"signers[{i}].public_key")
        kid = key_id(pk)
        if e.get("key_id", kid) != kid:
            raise SignerRegistryError(format_invalid(f"signers[{i}].key_id", fn, f"the public key's id {kid}",
                                                     e["key_id"]))
        if kid in seen:
            raise SignerRegistryError(format_invalid(f"signers[{i}].public_key", fn,
                                                     "a key not registered by an earlier entry", kid))
        seen.add(kid)
        start = parse_utc(e["valid_from"], field=f"signers[{i}].valid_from", function=fn)
        end = e.get("valid_until")
        until = parse_utc(end, field=f"signers[{i}].valid_until", function=fn) if end is not None else None
        if until is not None and until <= start:
            raise SignerRegistryError(format_invalid(f"signers[{i}].valid_until", fn, "after valid_from", end))
        signers.append(Signer(e["user_id"], e["name"], e["role"], e["public_key"], kid, start, until,
                              e["status"]))
    return SignerRegistry(int(doc["version"]), tuple(signers), sha256_bytes(data))


def load_signers(path: str | os.PathLike[str] | SignerRegistry) -> SignerRegistry:
    """Read and validate a signer registry file.

    Raises
    ------
    AuditError
        (`SignerRegistryError`) Missing, too large, not UTF-8 YAML, not matching the schema, a
        public key that is not Ed25519, a ``key_id`` that does not match its key, a key listed
        twice, or a bad time.
    """
    if isinstance(path, SignerRegistry):
        return path
    p = Path(path)
    if not p.is_file():
        raise SignerRegistryError(f"signer registry {p.name} does not exist or is not a regular file")
    if p.stat().st_size > MAX_REGISTRY_BYTES:
        raise SignerRegistryError(f"signer registry {p.name} is larger than {MAX_REGISTRY_BYTES} bytes")
    with open(p, "rb") as fh:
        data = fh.read(MAX_REGISTRY_BYTES + 1)
    if len(data) > MAX_REGISTRY_BYTES:
        raise SignerRegistryError(f"signer registry {p.name} is larger than {MAX_REGISTRY_BYTES} bytes")
    return _parse(data, p.name)


def dump_signers(registry: SignerRegistry) -> bytes:
    """The YAML bytes of a registry (stable layout: schema, version, entries in order)."""
    doc = {"schema": REGISTRY_SCHEMA, "version": registry.version,
           "signers": [s.to_dict() for s in registry.signers]}
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return text.encode("utf-8")
