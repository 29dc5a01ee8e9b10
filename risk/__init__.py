"""Risk management, traceability and submission documents (ISO 14971, IEC 62304, 21 CFR 807.92).

May import `validation` and `clinical_eval`; never imported by them or by `samd_core`.

Needs the extra ``report`` (``pip install 'samd[report]'``). Without it ``import risk`` still
succeeds, so that the ``pytest11`` plugin `risk.pytest_plugin` (pytest only) loads in the test
suite of a product that installed the core alone; every other name of this package then raises
one `ImportError` line naming the missing extra.
"""

from typing import Any

from samd_core import __version__

try:
    # importing `validation` raises the line naming 'validation' when that extra is missing
    from validation.extras import require_extra

    require_extra("samd's risk package", "report")
except ImportError as _exc:
    _MISSING_EXTRA: ImportError | None = _exc
else:
    _MISSING_EXTRA = None

if _MISSING_EXTRA is None:
    from risk._check_files import check_traceability_files, endpoint_outcomes, traceability_dict
    from risk._checks import FINDING_CODES, Finding, TraceabilityReport, TraceRow, check_traceability
    from risk._junit import TestOutcome, parse_junit
    from risk._requirements import Requirement, load_requirements
    from risk._riskfile import (
        AcceptabilityMatrix,
        Hazard,
        RiskControl,
        RiskFile,
        Verification,
        load_risk_file,
        parse_risk_file,
    )
    from risk._sbom import CORE_RUNTIME_ROOTS, sbom_json
    from risk._soup import LockedPackage, SoupItem, parse_lock, soup_list

__all__ = [
    "CORE_RUNTIME_ROOTS",
    "FINDING_CODES",
    "AcceptabilityMatrix",
    "Finding",
    "Hazard",
    "LockedPackage",
    "Requirement",
    "RiskControl",
    "RiskFile",
    "SoupItem",
    "TestOutcome",
    "TraceRow",
    "TraceabilityReport",
    "Verification",
    "__version__",
    "check_traceability",
    "check_traceability_files",
    "endpoint_outcomes",
    "load_requirements",
    "load_risk_file",
    "parse_junit",
    "parse_lock",
    "parse_risk_file",
    "sbom_json",
    "soup_list",
    "traceability_dict",
]


def __getattr__(name: str) -> Any:
    # only reached when the extra is missing (otherwise every public name is bound above)
    if _MISSING_EXTRA is not None and name in __all__:
        raise ImportError(str(_MISSING_EXTRA), name=_MISSING_EXTRA.name)
    raise AttributeError(f"module 'risk' has no attribute {name!r}")
