"""pytest plugin shipped with samd: requirement traceability in JUnit XML.

Registered through the ``pytest11`` entry point, so a product's own test suite only needs samd
installed: every test's ``@pytest.mark.verifies("SRS-...", "RC-...")`` ids and its node id are
written as JUnit ``<property>`` elements by ``pytest --junitxml=FILE``, which
``samd risk check --junit FILE`` and ``samd report --junit FILE`` read (`risk.parse_junit`).
"""

from __future__ import annotations

import pytest

__all__ = ["pytest_configure", "pytest_itemcollected"]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``verifies`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers", "verifies(*ids): the software requirements / risk controls this test verifies (traceability)"
    )


def pytest_itemcollected(item: pytest.Item) -> None:
    """Store the node id and the ``verifies`` marker ids as JUnit properties of every test.

    Written to ``user_properties`` directly (what ``record_property`` does) so that skipped tests
    carry them too.
    """
    ids = sorted({str(i) for m in item.iter_markers("verifies") for i in m.args})
    item.user_properties.append(("nodeid", item.nodeid))
    if ids:
        item.user_properties.append(("verifies", " ".join(ids)))
