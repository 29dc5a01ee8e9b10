"""Read pytest JUnit XML results and the requirement ids each test declares.

``tests/conftest.py`` stores, for every collected test, its pytest node id (property ``nodeid``)
and the ids of its ``@pytest.mark.verifies(...)`` markers (property ``verifies``, space-separated)
as JUnit ``<property>`` elements, so ``pytest --junitxml=FILE`` output maps tests to requirements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from risk.errors import RiskFileError

__all__ = ["TestOutcome", "parse_junit"]

Status = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """The outcome of one test case in a JUnit XML file."""

    __test__ = False  # not a pytest test class

    nodeid: str
    status: Status
    verifies: tuple[str, ...]
    source: str

    @property
    def passed(self) -> bool:
        """True only for a test that ran and passed (skipped is not passed)."""
        return self.status == "passed"


def _nodeid_from_names(classname: str, name: str) -> str:
    """Best-effort pytest node id from JUnit ``classname``/``name`` (module path, optional class)."""
    parts = classname.split(".")
    if len(parts) > 1 and parts[-1][:1].isupper():
        return "/".join(parts[:-1]) + ".py::" + parts[-1] + "::" + name
    return "/".join(parts) + ".py::" + name


def parse_junit(paths: Iterable[str | Path]) -> dict[str, TestOutcome]:
    """Parse one or more JUnit XML files into ``{nodeid: TestOutcome}``.

    A test that appears in several files (reruns) keeps its worst status
    (error > failed > skipped > passed), so a failure is never hidden by a later pass.
    """
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    out: dict[str, TestOutcome] = {}
    for path in map(Path, paths):
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise RiskFileError(str(path), [f"not a readable JUnit XML file: {exc}"]) from exc
        for case in root.iter("testcase"):
            props = {p.get("name"): p.get("value", "") for p in case.iter("property")}
            nodeid = props.get("nodeid") or _nodeid_from_names(case.get("classname", ""), case.get("name", ""))
            status: Status = "passed"
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    cand = "failed" if child.tag == "failure" else child.tag
                    if rank[cand] > rank[status]:
                        status = cand  # type: ignore[assignment]
            verifies = tuple(sorted(set(props.get("verifies", "").split())))
            prev = out.get(nodeid)
            if prev is not None and rank[prev.status] > rank[status]:
                status = prev.status
            out[nodeid] = TestOutcome(nodeid=nodeid, status=status, verifies=verifies, source=str(path))
    return out
