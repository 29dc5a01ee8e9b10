"""The validation harness: pre-specified protocols, hash-checked test sets, `samd validate`."""

from validation.harness._bundle import run_bundle
from validation.harness._cases import read_predictions
from validation.harness._lock import LockState, current_lock, ensure_locked
from validation.harness._manifest import (
    ACCESS_FIELDS,
    Manifest,
    check_manifest_files,
    prior_accesses,
    prior_accesses_across,
    read_manifest,
)
from validation.harness._overlap import NOT_CHECKED, OVERLAP_FILE, check_training_overlap
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
    UndefinedRule,
    load_protocol,
    protocol_schema,
    read_protocol_yaml,
    schema_message,
    shipped_schema,
)
from validation.harness._run import EXPERIMENT, RESULT_SCHEMA, ValidationOutcome, run_validation
from validation.harness._steps import (
    check_test_set,
    log_result,
    open_locked_run,
    result_json_bytes,
    result_metrics,
    strict_result,
)
from validation.harness._summary import format_summary, population_line

__all__ = [
    "ACCESS_FIELDS",
    "EXPERIMENT",
    "RESULT_SCHEMA",
    "Acceptance",
    "Bootstrap",
    "Device",
    "Endpoint",
    "LockState",
    "Manifest",
    "NOT_CHECKED",
    "Normalised",
    "OVERLAP_FILE",
    "Protocol",
    "Score",
    "SubgroupVariable",
    "Subgroups",
    "Truth",
    "UndefinedRule",
    "ValidationOutcome",
    "check_manifest_files",
    "check_test_set",
    "check_training_overlap",
    "current_lock",
    "ensure_locked",
    "format_summary",
    "load_protocol",
    "log_result",
    "open_locked_run",
    "population_line",
    "prior_accesses",
    "prior_accesses_across",
    "protocol_schema",
    "read_manifest",
    "read_predictions",
    "read_protocol_yaml",
    "result_json_bytes",
    "result_metrics",
    "run_bundle",
    "run_validation",
    "schema_message",
    "shipped_schema",
    "strict_result",
]
