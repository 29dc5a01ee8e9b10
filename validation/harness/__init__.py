"""The validation harness: pre-specified protocols, hash-checked test sets, `samd validate`."""

from validation.harness._lock import LockState, current_lock, ensure_locked
from validation.harness._manifest import Manifest, check_manifest_files, read_manifest
from validation.harness._protocol import (
    Acceptance,
    Bootstrap,
    Device,
    Endpoint,
    Normalised,
    Protocol,
    Score,
    SubgroupVariable,
    Subgroups,
    Truth,
    load_protocol,
    protocol_schema,
)
from validation.harness._run import EXPERIMENT, RESULT_SCHEMA, ValidationOutcome, run_validation
from validation.harness._summary import format_summary

__all__ = [
    "EXPERIMENT",
    "RESULT_SCHEMA",
    "Acceptance",
    "Bootstrap",
    "Device",
    "Endpoint",
    "LockState",
    "Manifest",
    "Normalised",
    "Protocol",
    "Score",
    "SubgroupVariable",
    "Subgroups",
    "Truth",
    "ValidationOutcome",
    "check_manifest_files",
    "current_lock",
    "ensure_locked",
    "format_summary",
    "load_protocol",
    "protocol_schema",
    "read_manifest",
    "run_validation",
]
