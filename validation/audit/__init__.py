"""Tamper-evident audit trail: append-only, hash-chained, Ed25519-signed JSON Lines, with a
registry of who may sign (21 CFR Part 11).

See ``docs/harness.md`` (record schema, canonical form, threat model) and ``docs/audit.md``
(signers, signatures, authenticity).
"""

from samd_core.hashing import canonical_json, sha256_bytes, sha256_file, sha256_json
from validation.audit._export import EXPORT_COLUMNS, export_audit_csv
from validation.audit._keys import key_id, key_is_encrypted, load_private_key, load_public_keys
from validation.audit._log import (
    GENESIS_HASH,
    REASON_REQUIRED,
    SCHEMA,
    SIGNATURE_MEANINGS,
    TS_FORMAT,
    AuditLog,
    checkpoint_path,
)
from validation.audit._records import MAX_LINE_BYTES, iter_records
from validation.audit._signers import (
    REGISTRY_SCHEMA,
    SIGNER_STATUSES,
    Signer,
    SignerRegistry,
    SignerRegistryError,
    load_signers,
    signers_schema,
)
from validation.audit._signing import (
    SIGN_AUTH_METHOD,
    EnrolledSigner,
    add_signer,
    failed_verdicts,
    revoke_signer,
    sign_object,
)
from validation.audit._verify import (
    DEFAULT_FUTURE_TOLERANCE_S,
    PARALLEL_MIN_BYTES,
    AuditVerification,
    verify_audit_log,
)

__all__ = [
    "DEFAULT_FUTURE_TOLERANCE_S",
    "EXPORT_COLUMNS",
    "GENESIS_HASH",
    "MAX_LINE_BYTES",
    "PARALLEL_MIN_BYTES",
    "REASON_REQUIRED",
    "REGISTRY_SCHEMA",
    "SCHEMA",
    "SIGNATURE_MEANINGS",
    "SIGNER_STATUSES",
    "SIGN_AUTH_METHOD",
    "TS_FORMAT",
    "AuditLog",
    "AuditVerification",
    "EnrolledSigner",
    "Signer",
    "SignerRegistry",
    "SignerRegistryError",
    "add_signer",
    "canonical_json",
    "checkpoint_path",
    "export_audit_csv",
    "failed_verdicts",
    "iter_records",
    "key_id",
    "key_is_encrypted",
    "load_private_key",
    "load_public_keys",
    "load_signers",
    "revoke_signer",
    "sha256_bytes",
    "sha256_file",
    "sha256_json",
    "sign_object",
    "signers_schema",
    "verify_audit_log",
]
