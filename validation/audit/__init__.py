"""Tamper-evident audit trail: append-only, hash-chained, optionally Ed25519-signed JSON Lines.

See ``docs/harness.md`` for the record schema, the canonical form and the threat model.
"""

from samd_core.hashing import canonical_json, sha256_bytes, sha256_file, sha256_json
from validation.audit._keys import key_id, load_private_key, load_public_keys
from validation.audit._log import (
    GENESIS_HASH,
    REASON_REQUIRED,
    SCHEMA,
    SIGNATURE_MEANINGS,
    AuditLog,
    checkpoint_path,
)
from validation.audit._verify import AuditVerification, iter_records, verify_audit_log

__all__ = [
    "GENESIS_HASH",
    "REASON_REQUIRED",
    "SCHEMA",
    "SIGNATURE_MEANINGS",
    "AuditLog",
    "AuditVerification",
    "canonical_json",
    "checkpoint_path",
    "iter_records",
    "key_id",
    "load_private_key",
    "load_public_keys",
    "sha256_bytes",
    "sha256_file",
    "sha256_json",
    "verify_audit_log",
]
