"""Installation qualification: installed distributions = lock file; core files = released fingerprint."""

from __future__ import annotations

import importlib.metadata
import pathlib

from samd_core.errors import InvalidParameterError
from samd_core.qualification._lock import normalize_name, read_lock
from samd_core.qualification._record import CheckResult

__all__ = ["check_core_fingerprint", "check_distributions", "find_lock_file", "parse_lock"]

def parse_lock(path: str | pathlib.Path) -> dict[str, str]:
    """``{normalised name: version}`` of the pins of a pip lock file (`read_lock`).

    Pins whose environment marker does not hold on this interpreter are skipped.

    Raises
    ------
    InvalidParameterError
        When the lock holds no pin.
    """
    return {pin.name: pin.version for pin in read_lock(path) if pin.applies()}


def find_lock_file(start: str | pathlib.Path | None = None) -> pathlib.Path | None:
    """``requirements.lock`` in the first parent directory of ``samd_core`` (or ``start``) holding one."""
    here = pathlib.Path(start) if start is not None else pathlib.Path(__file__).resolve().parents[1]
    for d in (here, *here.parents):
        cand = d / "requirements.lock"
        if cand.is_file():
            return cand
    return None


def check_distributions(lock_path: str | pathlib.Path) -> CheckResult:
    """Every pinned distribution is installed at exactly its pinned version."""
    try:
        pins = parse_lock(lock_path)
    except InvalidParameterError as exc:  # a readable lock without pins; an unreadable one raises
        return CheckResult("IQ-distributions", "IQ", False, f"lock file unusable: {exc}",
                           {"lock_file": str(lock_path), "n_pinned": 0, "missing": [], "version_mismatch": {}})
    if not pins:
        return CheckResult("IQ-distributions", "IQ", False, "no pin of the lock file applies to this interpreter",
                           {"lock_file": str(lock_path), "n_pinned": 0, "missing": [], "version_mismatch": {}})
    installed = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            installed.setdefault(normalize_name(name), dist.version)
    missing = sorted(n for n in pins if n not in installed)
    wrong = {n: {"locked": v, "installed": installed[n]} for n, v in sorted(pins.items()) if n in installed and installed[n] != v}
    ok = not missing and not wrong
    if ok:
        msg = f"all {len(pins)} pinned distributions installed at the locked versions"
    else:
        parts = []
        if wrong:
            parts.append("version differs: " + ", ".join(f"{n} {d['installed']} (locked {d['locked']})" for n, d in wrong.items()))
        if missing:
            parts.append("not installed: " + ", ".join(missing))
        msg = "; ".join(parts)
    return CheckResult(
        "IQ-distributions",
        "IQ",
        ok,
        msg,
        {"lock_file": str(lock_path), "n_pinned": len(pins), "missing": missing, "version_mismatch": wrong},
    )


def check_core_fingerprint(root: str | pathlib.Path | None = None) -> CheckResult:
    """The installed ``samd_core`` files hash to the released fingerprint of this version."""
    from samd_core._version import __version__
    from samd_core.errors import IntegrityError
    from samd_core.fingerprint import core_fingerprint, released_fingerprint

    current = core_fingerprint(root)
    try:
        rel = released_fingerprint(root)
    except IntegrityError as exc:
        return CheckResult("IQ-core-fingerprint", "IQ", False, str(exc), {"found": current})
    details = {
        "released_version": rel["version"],
        "installed_version": __version__,
        "expected": rel["fingerprint"],
        "found": current,
    }
    if rel["fingerprint"] != current:
        return CheckResult(
            "IQ-core-fingerprint", "IQ", False,
            f"samd_core files differ from release {rel['version']}: expected fingerprint {rel['fingerprint']}, found {current}",
            details,
        )
    if rel["version"] != __version__:
        return CheckResult(
            "IQ-core-fingerprint", "IQ", False,
            f"released fingerprint belongs to version {rel['version']} but samd_core is {__version__}", details,
        )
    return CheckResult("IQ-core-fingerprint", "IQ", True, f"samd_core {__version__} matches its released fingerprint {current}", details)
