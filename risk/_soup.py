"""IEC 62304 SOUP list generated from a pip ``requirements.lock`` (with ``--hash`` lines).

Purposes and known-anomaly notes come from a small YAML map (package name -> {purpose,
known_anomalies}); a package absent from the map gets its purpose from the lock's ``# via``
comments ("dependency of ..."), and its known-anomalies field says that no evaluation was recorded.

References
----------
IEC 62304:2006+A1:2015, clauses 5.3.3-5.3.4 (SOUP requirements), 7.1.3 (SOUP anomaly lists),
8.1.2 (SOUP identification: title, manufacturer, unique designator).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from samd_core.errors import InvalidParameterError
from samd_core.qualification import normalize_name, read_lock
from risk._schema import load_yaml
from risk.errors import RiskFileError

__all__ = ["LockedPackage", "SoupItem", "parse_lock", "soup_list"]



@dataclass(frozen=True, slots=True)
class LockedPackage:
    """A pinned distribution of the lock file: name, exact version, allowed SHA-256 hashes, ``via``."""

    name: str
    version: str
    hashes: tuple[str, ...]
    via: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SoupItem:
    """One SOUP entry (IEC 62304 8.1.2) with purpose and known-anomalies evaluation."""

    name: str
    version: str
    hashes: tuple[str, ...]
    purpose: str
    known_anomalies: str
    direct: bool


def parse_lock(path: str | Path) -> tuple[LockedPackage, ...]:
    """Parse a hashed pip lock file (``uv pip compile``/``pip-compile --generate-hashes`` output).

    Raises `RiskFileError` when a pinned package has no ``--hash`` (a lock without hashes cannot
    identify SOUP uniquely) or when no package is found.
    """
    p = Path(path)
    if not p.is_file():
        raise RiskFileError(str(p), ["file does not exist"])
    try:
        pins = read_lock(p)
    except InvalidParameterError:
        raise RiskFileError(str(p), ["no pinned `name==version` lines found"]) from None
    problems = [f"`{pin.name}=={pin.version}` has no --hash line" for pin in pins if not pin.hashes]
    if problems:
        raise RiskFileError(str(p), problems)
    return tuple(LockedPackage(pin.name, pin.version, pin.hashes, pin.via) for pin in pins)


def soup_list(
    lock: str | Path,
    *,
    purposes: Mapping[str, Mapping[str, str]] | str | Path | None = None,
    roots: Iterable[str] | None = None,
) -> tuple[SoupItem, ...]:
    """Build the SOUP list from a lock file.

    Parameters
    ----------
    lock
        Path of the hashed lock file.
    purposes
        Package name -> ``{"purpose": ..., "known_anomalies": ...}`` (or a YAML file holding it).
    roots
        When given, keep only these packages and everything they (transitively) pull in, using the
        lock's ``# via`` comments; e.g. the runtime roots of the locked core.
    """
    pkgs = parse_lock(lock)
    if purposes is None:
        pmap: Mapping[str, Mapping[str, str]] = {}
    elif isinstance(purposes, (str, Path)):
        loaded = load_yaml(purposes) or {}
        if not isinstance(loaded, dict):
            raise RiskFileError(str(purposes), ["must be a mapping: package -> {purpose, known_anomalies}"])
        pmap = loaded
    else:
        pmap = purposes
    pmap = {normalize_name(k): v for k, v in pmap.items()}
    keep = {p.name for p in pkgs}
    if roots is not None:
        keep = {normalize_name(r) for r in roots}
        unknown = sorted(keep - {p.name for p in pkgs})
        if unknown:
            raise RiskFileError(str(lock), [f"root package {u!r} is not pinned in the lock" for u in unknown])
        changed = True
        while changed:
            changed = False
            for p in pkgs:
                if p.name not in keep and any(normalize_name(v.split(" ")[0]) in keep for v in p.via):
                    keep.add(p.name)
                    changed = True
    items = []
    for p in pkgs:
        if p.name not in keep:
            continue
        info = pmap.get(p.name, {})
        direct = any(v.startswith("-r ") for v in p.via) or p.name in pmap
        via = [v for v in p.via if not v.startswith("-r ") and (roots is None or normalize_name(v.split(" ")[0]) in keep)]
        purpose = info.get("purpose") or (
            "dependency of " + ", ".join(via) if via else "direct dependency (purpose not recorded)"
        )
        items.append(
            SoupItem(
                name=p.name,
                version=p.version,
                hashes=p.hashes,
                purpose=purpose,
                known_anomalies=info.get(
                    "known_anomalies",
                    "no anomaly evaluation recorded; review the project's issue tracker before release",
                ),
                direct=direct,
            )
        )
    return tuple(items)
