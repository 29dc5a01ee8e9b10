"""The validation harness: pre-specified protocols, hash-checked test sets, `samd validate`."""

from validation.harness._lock import LockState, current_lock, ensure_locked
from validation.harness._manifest import Manifest, check_manifest_files, read_manifest
from validation.harness._protocol import Protocol, load_protocol, protocol_schema
from validation.harness._run import EXPERIMENT, RESULT_SCHEMA, ValidationOutcome, run_validation

__all__ = [
    "EXPERIMENT",
    "RESULT_SCHEMA",
    "LockState",
    "Manifest",
    "Protocol",
    "ValidationOutcome",
    "check_manifest_files",
    "current_lock",
    "ensure_locked",
    "load_protocol",
    "protocol_schema",
    "read_manifest",
    "run_validation",
]
