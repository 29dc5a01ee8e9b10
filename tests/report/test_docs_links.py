"""Every relative link and file reference in README.md and docs/ resolves to a file of the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# a backticked path: at least one "/" or a known file suffix, no spaces, no wildcards or placeholders
_CODE = re.compile(r"`([A-Za-z0-9_.\-/]+(?:/|\.(?:md|py|yaml|yml|json|csv|toml|lock|txt|R|j2|css)))`")
# written by commands at run time (not part of the repository)
_GENERATED = re.compile(r"(^|/)(mlflow\.db|audit\.jsonl|junit\.xml|result\.json|mrmc_result\.json|cases\.csv|"
                        r"submission\.yaml|submission/|out/|runs?/|predictions\.csv|manifest\.csv|protocol\.yaml|"
                        r"demo-out/|protocol\.lock\.json|environment\.json|integrity\.json|detections\.csv|lesions\.csv)"
                        r"|^docs/benchmarks\.d/")  # written by bench/*.py
#: top-level folders and files of the repository: a backticked path starting with one is a file reference
_TOP = {p.name for p in REPO.iterdir() if not p.name.startswith(".")}


def _targets(doc: Path) -> list[tuple[str, Path]]:
    text = doc.read_text("utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # commands in code blocks name outputs, not files
    out = []
    for m in _LINK.finditer(text):
        target = m.group(1).split("#", 1)[0]
        if not target or re.match(r"^[a-z]+:", target):
            continue
        out.append((m.group(0), (doc.parent / target)))
    for m in _CODE.finditer(text):
        ref = m.group(1)
        first = ref.split("/", 1)[0]
        if _GENERATED.search(ref):
            continue
        if "/" in ref.rstrip("/") and first in _TOP:
            out.append((f"`{ref}`", REPO / ref))
        elif re.fullmatch(r"[A-Z][A-Z_]+\.md", ref):  # a document cited by name (README.md, CHANGELOG.md, ...)
            out.append((f"`{ref}`", next((c for c in (REPO / ref, doc.parent / ref) if c.exists()), REPO / ref)))
    for m in re.finditer(r"(?<![\w/`.-])([A-Z][A-Z_]+\.md)\b", text):  # a document cited by name in prose
        ref = m.group(1)
        out.append((ref, next((c for c in (REPO / ref, doc.parent / ref) if c.exists()), REPO / ref)))
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_links_and_file_references_resolve(doc: Path) -> None:
    broken = [f"{what} -> {path.relative_to(REPO) if path.is_relative_to(REPO) else path}"
              for what, path in _targets(doc) if not path.exists()]
    assert not broken, f"{doc.relative_to(REPO)}: unresolved references:\n" + "\n".join(broken)
