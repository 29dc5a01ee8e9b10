"""The progress bar of a run's per-case phases (pre-run file check, training overlap, inference).

Rendering at the edge: one `tqdm` bar on stderr per phase, advanced as cases finish, with the
executor's counts (`validation.executor.Progress`: in flight, failed) beside tqdm's done/total,
rate and ETA. Disabled, it draws nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CaseBar", "case_bar"]


class CaseBar:
    """Callbacks for `validation.executor.map_cases`: `advance` per finished case, `on_progress`
    for the executor's counts."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more finished cases."""
        self._bar.update(n)

    def on_progress(self, p: Any) -> None:
        """Show the cases in flight and failed (`validation.executor.Progress`)."""
        self._bar.set_postfix_str(f"in flight {p.in_flight}, failed {p.failed}", refresh=False)


@contextmanager
def case_bar(total: int, desc: str, *, enabled: bool) -> Iterator[CaseBar]:
    """A bar of ``total`` cases titled ``desc`` (e.g. ``"cases"``, ``"files"``), closed on exit."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="case", disable=not enabled)
    try:
        yield CaseBar(bar)
    finally:
        bar.close()
