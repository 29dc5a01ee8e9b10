"""Each shared concept has one home in the source tree (issue #12).

An AST scan of every ``.py`` file under the five packages finds the places where a concept is
*implemented* (not merely called) and fails when any lies outside its home. The detectors are
tested on small synthetic sources so that they demonstrably catch a copy.

Concepts and detection rules (per function, or per module for the parsers' patterns):

* canonical JSON: a call ``json.dumps(..., sort_keys=True, separators=...)``.
* SHA-256 of a file: a function that calls ``hashlib.sha256`` and reads a file (``open``,
  ``os.open``, ``.read_bytes()``, ``.read()``).
* lesion extraction: a function that labels connected components (``label``) and measures
  them (``center_of_mass``, ``sum_labels`` or ``regionprops``).
* lock-file parsing: a string constant with a pin pattern (``==(``) or ``--hash=``.
* changelog parsing: a string constant with a changelog-heading pattern (``## \\[``, ``##\\s+\\[``).
* percentile interval: a function that calls ``quantile``/``percentile`` and computes the tail
  ``(1 - level) / 2`` (or ``alpha / 2``) of a level named ``*level*``/``alpha``.
* BCa interval: a function that calls a normal quantile (``ndtri``/``norm.ppf``), the normal cdf
  (``ndtr``/``norm.cdf``) and ``quantile``/``percentile``.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("samd_core", "validation", "clinical_eval", "risk", "samd")

#: concept -> the one module (posix path from the repository root) allowed to implement it
HOMES = {
    "canonical_json": "samd_core/hashing.py",
    "sha256_file": "samd_core/hashing.py",
    "lesion_extraction": "samd_core/lesions.py",
    "lock_parsing": "samd_core/qualification/_lock.py",
    "changelog_parsing": "samd_core/qualification/_change.py",
    "percentile_interval": "validation/stats/_bootstrap.py",
    "bca_interval": "validation/stats/_bootstrap.py",
}

#: (concept, function name) pairs allowed elsewhere, each with the reason
ALLOWED = {
    # the published demo digest is the SHA-256 of the ASCII-escaped (ensure_ascii=True) form; it is
    # a contract of `samd demo` and is not a general canonical encoding
    ("canonical_json", "stable_result_sha256"): "demo digest contract",
}


def _name(node: ast.AST) -> str:
    """Dotted name of a call target (``np.quantile`` -> ``np.quantile``; ``f`` -> ``f``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _calls(fn: ast.AST) -> list[tuple[str, ast.Call]]:
    return [(_name(n.func), n) for n in ast.walk(fn) if isinstance(n, ast.Call)]


def _last(dotted: str) -> str:
    return dotted.rsplit(".", 1)[-1]


def _is_tail_of_level(fn: ast.AST) -> bool:
    """``(1 - <level>) / 2`` or ``<alpha> / 2`` where the names mention a level or alpha."""
    for n in ast.walk(fn):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and isinstance(n.right, ast.Constant) \
                and n.right.value in (2, 2.0):
            names = {x.id.lower() for x in ast.walk(n.left) if isinstance(x, ast.Name)}
            if any("level" in x or "alpha" in x for x in names):
                return True
    for n in ast.walk(fn):  # alpha = (1 - level) / 2 computed elsewhere, then [alpha, 1 - alpha]
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id.lower() in ("a", "alpha") for t in n.targets):
            if any(isinstance(x, ast.Name) and "level" in x.id.lower() for x in ast.walk(n.value)):
                return True
    return False


def _function_concepts(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    found: set[str] = set()
    calls = _calls(fn)
    names = {c for c, _ in calls}
    lasts = {_last(c) for c in names}
    for c, call in calls:
        if _last(c) == "dumps":
            kw = {k.arg: k.value for k in call.keywords}
            if "separators" in kw and isinstance(kw.get("sort_keys"), ast.Constant) and kw["sort_keys"].value is True:
                found.add("canonical_json")
    reads_file = bool({"open", "read_bytes", "read"} & lasts)
    if any(c in ("hashlib.sha256", "sha256") for c in names) and reads_file:
        found.add("sha256_file")
    if "label" in lasts and {"center_of_mass", "sum_labels", "regionprops"} & lasts:
        found.add("lesion_extraction")
    quant = bool({"quantile", "percentile", "nanquantile", "nanpercentile"} & lasts)
    normal_q = bool({"ndtri"} & lasts) or any(c.endswith("norm.ppf") for c in names)
    normal_cdf = bool({"ndtr"} & lasts) or any(c.endswith("norm.cdf") for c in names)
    if quant and normal_q and normal_cdf:
        found.add("bca_interval")
    elif quant and _is_tail_of_level(fn):
        found.add("percentile_interval")
    return found


def _string_concepts(tree: ast.AST) -> set[str]:
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            v = node.value
            if "==(" in v or "--hash=" in v:
                found.add("lock_parsing")
            if "## \\[" in v or "##\\s+\\[" in v:
                found.add("changelog_parsing")
    return found


def find_concepts(source: str) -> list[tuple[str, str]]:
    """``(concept, function name or "<module>")`` for every implementation found in ``source``."""
    tree = ast.parse(source)
    out: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out += [(c, node.name) for c in sorted(_function_concepts(node))]
    # a nested function is also inside its parent: keep one row per (concept, innermost) pair
    out = sorted(set(out))
    out += [(c, "<module>") for c in sorted(_string_concepts(tree))]
    return out


def violations(root: pathlib.Path) -> list[str]:
    """One line per implementation outside its home (and per home where the detector finds none)."""
    where: dict[str, list[str]] = {c: [] for c in HOMES}
    for pkg in PACKAGES:
        for py in sorted((root / pkg).rglob("*.py")):
            rel = py.relative_to(root).as_posix()
            for concept, fn in find_concepts(py.read_text(encoding="utf-8")):
                where[concept].append(f"{rel}::{fn}")
    bad = []
    for concept, places in where.items():
        home = HOMES[concept]
        if not any(p.startswith(home + "::") for p in places):
            bad.append(f"{concept}: the detector finds nothing in its home {home}")
        for p in places:
            path, fn = p.split("::")
            if path != home and (concept, fn) not in ALLOWED:
                bad.append(f"{concept} implemented outside {home}: {p}")
    return bad


def test_each_concept_is_implemented_in_its_home_only() -> None:
    bad = violations(ROOT)
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------- the detectors themselves
SYNTHETIC = {
    "canonical_json": 'import json\ndef enc(o):\n    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()\n',
    "sha256_file": "import hashlib\ndef h(p):\n    with open(p, 'rb') as f:\n        return hashlib.sha256(f.read()).hexdigest()\n",
    "lesion_extraction": "from scipy import ndimage\ndef lesions(m):\n    lab, n = ndimage.label(m)\n"
                         "    return ndimage.center_of_mass(m, lab, range(1, n + 1))\n",
    "lock_parsing": "import re\nPIN = re.compile(r'^([a-z]+)==([^ ]+)')\n",
    "changelog_parsing": "import re\nHEAD = re.compile(r'^## \\[([^\\]]+)\\]')\n",
    "percentile_interval": "import numpy as np\ndef ci(r, confidence_level):\n"
                           "    a = (1 - confidence_level) / 2\n    return np.quantile(r, [a, 1 - a])\n",
    "bca_interval": "import numpy as np\nfrom scipy import special\ndef bca(r, t, confidence_level):\n"
                    "    z0 = special.ndtri(np.mean(r < t))\n    q = special.ndtr(2 * z0 + special.ndtri(0.975))\n"
                    "    return np.percentile(r, 100 * q)\n",
}


@pytest.mark.parametrize("concept", sorted(SYNTHETIC))
def test_detector_catches_a_copy(concept: str) -> None:
    assert concept in {c for c, _ in find_concepts(SYNTHETIC[concept])}


@pytest.mark.parametrize(
    "source",
    [
        "import json\ndef show(o):\n    return json.dumps(o, indent=2, sort_keys=True)\n",  # display, not canonical
        "import hashlib\ndef key(s):\n    return hashlib.sha256(s.encode()).hexdigest()\n",  # no file read
        "import numpy as np\ndef p95(d):\n    return np.percentile(d, 95)\n",  # a percentile, not an interval
        "from samd_core.hashing import sha256_file\ndef h(p):\n    return sha256_file(p)\n",  # a call, not a copy
        "from scipy import ndimage\ndef lungs(m):\n    return ndimage.label(m)[0]\n",  # labels, no lesion measures
    ],
)
def test_detector_ignores_uses(source: str) -> None:
    assert find_concepts(source) == []


def test_a_duplicate_in_the_tree_would_fail(tmp_path: pathlib.Path) -> None:
    """The tree scan flags a copy placed outside the home, and a home whose code went missing."""
    for home in set(HOMES.values()):
        dest = tmp_path / home
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text((ROOT / home).read_text(encoding="utf-8"), encoding="utf-8")
    assert violations(tmp_path) == []
    (tmp_path / "risk" / "copy.py").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "risk" / "copy.py").write_text(SYNTHETIC["canonical_json"], encoding="utf-8")
    assert violations(tmp_path) == ["canonical_json implemented outside samd_core/hashing.py: risk/copy.py::enc"]
    (tmp_path / "samd_core" / "lesions.py").write_text("", encoding="utf-8")
    assert "lesion_extraction: the detector finds nothing in its home samd_core/lesions.py" in violations(tmp_path)


# ----------------------------------------------------------------------------- tracking
#: audit actions of a tracked run; only `validation.tracking` writes them
RUN_ACTIONS = {"run.start", "run.fail", "mlflow.run.end"}
TRACKING_HOME = "validation/tracking/"
LOW_LEVEL_TRACKING = {"tracked_run", "audit_run_end"}


def _tracking_copies(tree: ast.AST) -> list[str]:
    """Calls that track a run outside `track_analysis`: ``tracked_run(...)``/``audit_run_end(...)``,
    or an ``append("run.start" | "run.fail" | "mlflow.run.end", ...)`` audit record."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func).rsplit(".", 1)[-1]
        if name in LOW_LEVEL_TRACKING:
            found.append(name)
        elif (name == "append" and node.args and isinstance(node.args[0], ast.Constant)
              and node.args[0].value in RUN_ACTIONS):
            found.append(f"append({node.args[0].value!r})")
    return found


def test_tracking_detector_catches_a_copy() -> None:
    src = "def f(a, r):\n    a.append('run.fail', object={})\n    with tracked_run(kind='x') as r:\n        pass\n"
    assert sorted(_tracking_copies(ast.parse(src))) == ["append('run.fail')", "tracked_run"]
    assert _tracking_copies(ast.parse("def f(a):\n    a.append('testset.access')\n")) == []


def test_every_analysis_is_tracked_through_track_analysis() -> None:
    """validation, compare, MRMC and bench code track through `validation.tracking.track_analysis`."""
    bad = []
    for pkg in (*PACKAGES, "reference_devices", "bench"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(TRACKING_HOME):
                continue
            bad += [f"{rel}: {c}" for c in _tracking_copies(ast.parse(path.read_text(encoding="utf-8")))]
    assert not bad, bad
