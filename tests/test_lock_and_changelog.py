"""One lock-file parser and one changelog parser, both in samd_core.qualification (issue #12)."""

from __future__ import annotations

import pathlib
import re

import pytest
from packaging.requirements import Requirement

import risk
from risk.errors import RiskFileError
from risk.report import parse_changelog
from samd_core.errors import InvalidParameterError
from samd_core.qualification import changelog_sections, check_distributions, parse_lock, read_changelog, read_lock

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


def test_read_lock_agrees_with_packaging_on_the_real_lock() -> None:
    """Peer: `packaging.requirements.Requirement` (pip's own PEP 508 parser) on each pin line."""
    text = LOCK.read_text(encoding="utf-8")
    pin_lines = [ln.strip().rstrip("\\").strip() for ln in text.splitlines() if re.match(r"^[A-Za-z0-9].*==", ln.strip())]
    peers = [Requirement(ln) for ln in pin_lines]
    pins = read_lock(LOCK)
    assert len(pins) == len(peers) > 50
    for pin, req in zip(pins, peers, strict=True):
        assert pin.name == re.sub(r"[-_.]+", "-", req.name).lower()
        assert pin.version == str(req.specifier).removeprefix("==")
        assert (pin.marker is None) == (req.marker is None)
        assert pin.hashes and all(len(h) == 64 for h in pin.hashes)
    assert sum(len(p.hashes) for p in pins) == len(re.findall(r"--hash=sha256:[0-9a-f]{64}", text))
    # both public views are built from the same pins
    assert {p.name: p.version for p in pins if p.applies()} == parse_lock(LOCK)
    assert [(p.name, p.version, p.hashes) for p in risk.parse_lock(LOCK)] == [(p.name, p.version, p.hashes) for p in pins]


@pytest.mark.parametrize("content", ["", "# only a comment\n--index-url https://example.org\n"])
def test_empty_lock_is_an_error_and_an_iq_failure(tmp_path: pathlib.Path, content: str) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=r"^`path` of `read_lock` must be a lock file with at least one"):
        read_lock(lock)
    res = check_distributions(lock)
    assert not res.passed and "lock file unusable" in res.message
    with pytest.raises(RiskFileError, match="no pinned"):
        risk.parse_lock(lock)


def test_lock_whose_pins_do_not_apply_fails_iq(tmp_path: pathlib.Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("winonly==3.0 ; sys_platform == 'nonexistent-os'\n", encoding="utf-8")
    assert read_lock(lock)[0].marker == "sys_platform == 'nonexistent-os'"
    assert not check_distributions(lock).passed


CHANGELOG = """# Changelog

## [Unreleased]

### Added
- one thing
  continued here

## [0.1.0] - 2026-11-29

Release notes.

### Fixed
- a bug
"""


def test_changelog_views_come_from_one_parser() -> None:
    secs = read_changelog(CHANGELOG)
    assert [(s.label, s.date) for s in secs] == [("Unreleased", ""), ("0.1.0", "2026-11-29")]
    assert secs[0].changes == (("Added", ("one thing continued here",)),)
    assert changelog_sections(CHANGELOG) == {"Unreleased": "\n### Added\n- one thing\n  continued here\n\n",
                                            "0.1.0": "\nRelease notes.\n\n### Fixed\n- a bug\n"}
    assert parse_changelog(CHANGELOG) == [
        {"version": "Unreleased", "date": "", "changes": [{"kind": "Added", "entries": ["one thing continued here"]}]},
        {"version": "0.1.0", "date": "2026-11-29", "changes": [{"kind": "Fixed", "entries": ["a bug"]}]},
    ]
