"""The one parser of pip lock files (``requirements.lock``): name, version, hashes, marker, via.

Used by the installation qualification (`check_distributions`) and by the SOUP list
(`risk.soup_list`). Grammar read (``uv pip compile`` / ``pip-compile --generate-hashes``
output): a pin line ``name[extras]==version [; marker] [\\]``, followed by its continuation
lines ``--hash=sha256:<64 hex>`` and its ``# via`` comment (one line ``# via x`` or a block
``# via`` + ``#   x`` lines). Other lines (comments, options) are ignored.
"""

from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass

from samd_core.errors import InvalidParameterError

__all__ = ["Pin", "normalize_name", "read_lock"]

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)\s*(;[^\\]*)?")
_HASH = re.compile(r"--hash=(sha256):([0-9a-f]{64})")


def normalize_name(name: str) -> str:
    """PEP 503 normalised distribution name (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True, slots=True)
class Pin:
    """One pinned distribution of a lock file.

    Attributes
    ----------
    name : str
        PEP 503 normalised name.
    version : str
        The exact pinned version.
    hashes : tuple of str
        Allowed SHA-256 hashes (hex), sorted; empty when the lock has none for this pin.
    marker : str or None
        The environment marker (PEP 508) after ``;``, or None.
    via : tuple of str
        What pulled the pin in, from the ``# via`` comments.
    """

    name: str
    version: str
    hashes: tuple[str, ...]
    marker: str | None
    via: tuple[str, ...]

    def applies(self) -> bool:
        """True when the marker holds on this interpreter (or there is none)."""
        if not self.marker:
            return True
        from packaging.markers import Marker

        return bool(Marker(self.marker).evaluate())


def read_lock(path: str | os.PathLike[str]) -> tuple[Pin, ...]:
    """Every pin of a pip lock file, in file order.

    Raises
    ------
    InvalidParameterError
        When the file holds no ``name==version`` pin (an empty lock qualifies nothing).
    OSError
        When the file cannot be read.
    """
    p = pathlib.Path(path)
    entries: list[dict[str, object]] = []
    in_via = False
    for raw in p.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        m = _PIN.match(line)
        if m:
            marker = m.group(4)
            entries.append({"name": normalize_name(m.group(1)), "version": m.group(3), "hashes": [], "via": [],
                            "marker": marker[1:].strip() if marker else None})
            in_via = False
        elif entries and line.startswith("--hash="):
            entries[-1]["hashes"].extend(h for _, h in _HASH.findall(line))  # type: ignore[attr-defined]
        elif entries and line.startswith("# via"):
            rest = line[len("# via"):].strip()
            in_via = not rest
            if rest:
                entries[-1]["via"].append(rest)  # type: ignore[attr-defined]
        elif entries and in_via and line.startswith("#   "):
            entries[-1]["via"].append(line[1:].strip())  # type: ignore[attr-defined]
        else:
            in_via = False
    if not entries:
        raise InvalidParameterError("path", "read_lock", "a lock file with at least one `name==version` pin",
                                    f"{p.name} with none")
    return tuple(
        Pin(str(e["name"]), str(e["version"]), tuple(sorted(e["hashes"])), e["marker"], tuple(e["via"]))  # type: ignore[arg-type]
        for e in entries
    )
