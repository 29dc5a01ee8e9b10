"""Installation and operational qualification (IQ/OQ) of an installed samd_core.

IQ: installed distributions equal ``requirements.lock``; the installed ``samd_core`` files hash
to the released fingerprint. OQ: every locked bundle reproduces its golden outputs (bit-exact on
the goldens' platform, within `PROBABILITY_TOLERANCE` elsewhere). Products call
`run_qualification` and keep the `QualificationRecord` (``samd verify`` is the command line).
"""

from samd_core.qualification._change import ChangelogSection, change_control_findings, changelog_sections, read_changelog
from samd_core.qualification._iq import check_core_fingerprint, check_distributions, find_lock_file, parse_lock
from samd_core.qualification._lock import Pin, normalize_name, read_lock
from samd_core.qualification._oq import (
    PROBABILITY_TOLERANCE,
    RELEASE_PUBLIC_KEY,
    check_bundle,
    release_public_key,
    shipped_bundles,
)
from samd_core.qualification._record import CheckResult, QualificationRecord
from samd_core.qualification._run import environment, run_qualification

__all__ = [
    "ChangelogSection",
    "CheckResult",
    "PROBABILITY_TOLERANCE",
    "Pin",
    "QualificationRecord",
    "RELEASE_PUBLIC_KEY",
    "change_control_findings",
    "changelog_sections",
    "check_bundle",
    "check_core_fingerprint",
    "check_distributions",
    "environment",
    "find_lock_file",
    "normalize_name",
    "parse_lock",
    "read_changelog",
    "read_lock",
    "release_public_key",
    "run_qualification",
    "shipped_bundles",
]
