"""Model-change comparison (the modification protocol of a PCCP): `samd compare`.

A candidate model is compared with the locked reference model on the same sequestered cases,
under a pre-specified, locked protocol: paired differences (candidate - reference) with their
confidence intervals, non-inferiority by the CI's lower bound, subgroups and multiplicity.
"""

from validation.compare._endpoints import PairedCases, estimate_paired_endpoint, paired_table
from validation.compare._protocol import (
    PROTOCOL_KIND,
    CompareProtocol,
    Endpoint,
    ModelSpec,
    compare_schema,
    load_compare_protocol,
)
from validation.compare._run import EXPERIMENT, RESULT_SCHEMA, ComparisonOutcome, run_comparison

__all__ = [
    "EXPERIMENT",
    "PROTOCOL_KIND",
    "RESULT_SCHEMA",
    "CompareProtocol",
    "ComparisonOutcome",
    "Endpoint",
    "ModelSpec",
    "PairedCases",
    "compare_schema",
    "estimate_paired_endpoint",
    "load_compare_protocol",
    "paired_table",
    "run_comparison",
]
