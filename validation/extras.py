"""Optional dependencies ("extras") of the ``samd`` distribution, and the import guard that names them.

``pip install samd`` installs only what the locked core (`samd_core`) needs. `validation`,
`clinical_eval`, the ``samd`` command line (extra ``validation``) and `risk` (extra ``report``)
check at import time that their extra is installed, so that a core-only installation gets one
line naming the extra to install instead of a traceback deep inside pandas or MLflow.

This module imports only the standard library: it runs before anything it checks for.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["EXTRA_MODULES", "missing_modules", "require_extra"]

#: extra of the ``samd`` distribution -> top-level import names of the distributions it adds
#: (``pyproject.toml`` ``[project.optional-dependencies]``; tests/test_packaging.py checks both agree).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "validation": (
        "aiohttp", "click", "cloudpickle", "dask", "distributed", "filelock", "fsspec", "jsonschema", "matplotlib",
        "mlflow", "orjson", "pandas", "pyarrow", "sklearn", "surface_distance", "tqdm",
    ),
    "report": ("cyclonedx", "jinja2", "markupsafe", "packageurl", "pypdf", "weasyprint"),
}


def missing_modules(modules: Sequence[str]) -> tuple[str, ...]:
    """Return the top-level modules of `modules` that cannot be imported, without importing any.

    A module counts as missing when no finder locates it, or when ``sys.modules`` holds ``None``
    for it (Python's own marker for "import of this name is blocked").
    """
    missing = []
    for name in modules:
        if name in sys.modules:
            if sys.modules[name] is None:
                missing.append(name)
        elif importlib.util.find_spec(name) is None:
            missing.append(name)
    return tuple(missing)


def require_extra(package: str, extra: str) -> None:
    """Raise a one-line `ImportError` naming `extra` when any of its modules is missing.

    Parameters
    ----------
    package : str
        What needs the extra, as the message should name it (e.g. ``"samd's validation package"``).
    extra : str
        A key of `EXTRA_MODULES`.

    Raises
    ------
    ImportError
        ``<package> needs the extra '<extra>': pip install 'samd[<extra>]' (missing: <modules>)``;
        its ``name`` attribute is the first missing module.
    """
    missing = missing_modules(EXTRA_MODULES[extra])
    if missing:
        raise ImportError(
            f"{package} needs the extra '{extra}': pip install 'samd[{extra}]' (missing: {', '.join(missing)})",
            name=missing[0],
        )
