"""`run_qualification`: IQ then OQ, gathered into one `QualificationRecord`."""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
import platform
import sys
from collections.abc import Sequence

from samd_core.qualification._iq import check_core_fingerprint, check_distributions
from samd_core.qualification._oq import check_bundle, shipped_bundles
from samd_core.qualification._record import CheckResult, QualificationRecord

__all__ = ["environment", "run_qualification"]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def environment() -> dict[str, str]:
    """Where the qualification ran."""
    from samd_core._version import __version__
    from samd_core.bundle import platform_id

    env = {f"platform.{k}": v for k, v in platform_id().items()}
    env.update(
        {
            "samd_core_version": __version__,
            "samd_core_path": str(pathlib.Path(__file__).resolve().parents[1]),
            "python_executable": sys.executable,
            "hostname": platform.node(),
            "user": os.environ.get("USER", ""),
        }
    )
    return env


def run_qualification(
    *,
    lock_path: str | os.PathLike[str] | None,
    bundles: Sequence[str | os.PathLike[str]] | None = None,
    expected_sha256: Sequence[str] | None = None,
    public_key: str | os.PathLike[str] | None = None,
) -> QualificationRecord:
    """Run IQ (distributions vs. ``lock_path``; core fingerprint) and OQ (each bundle).

    Parameters
    ----------
    lock_path : path or None
        The ``requirements.lock`` the installation must equal. None: the IQ check fails and says
        no lock file was found.
    bundles : sequence of paths, optional
        Bundles to qualify; default: every bundle shipped in ``samd_core/bundles``.
    expected_sha256 : sequence of str, optional
        Pinned ``manifest_sha256`` of each bundle in ``bundles``, in the same order.
    public_key : path, optional
        Public key every bundle's signature must verify with.
    """
    from samd_core.errors import InvalidParameterError

    if expected_sha256 is not None and (bundles is None or len(expected_sha256) != len(bundles)):
        raise InvalidParameterError(
            "expected_sha256", "run_qualification", "one pin per bundle given (same order)",
            f"{len(expected_sha256)} pins for {0 if bundles is None else len(bundles)} bundles",
        )
    started = _now()
    checks: list[CheckResult] = []
    if lock_path is None:
        checks.append(CheckResult("IQ-distributions", "IQ", False, "no requirements.lock found", {}))
    else:
        checks.append(check_distributions(lock_path))
    checks.append(check_core_fingerprint())
    targets = list(bundles) if bundles is not None else shipped_bundles()
    if not targets:
        checks.append(CheckResult("OQ-bundles", "OQ", False, "no locked bundle to qualify", {}))
    pins: list[str | None] = list(expected_sha256) if expected_sha256 is not None else [None] * len(targets)
    for b, pin in zip(targets, pins, strict=True):
        checks.append(check_bundle(b, expected_sha256=pin, public_key=public_key))
    return QualificationRecord(tuple(checks), environment(), started, _now())
