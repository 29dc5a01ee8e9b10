"""The pytest plugin samd ships: a product's suite writes `verifies` markers into JUnit without a conftest hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from risk import parse_junit


@pytest.mark.verifies("SRS-REPORT-017")
def test_product_suite_writes_verifies_into_junit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_product="""
        import pytest

        @pytest.mark.verifies("SRS-1", "RC-2")
        def test_ok():
            pass

        @pytest.mark.verifies("SRS-3")
        @pytest.mark.skip(reason="not yet")
        def test_skipped():
            pass

        def test_plain():
            assert False
    """)
    junit = pytester.path / "junit.xml"
    # no conftest.py in the product: only the plugin (as the pytest11 entry point loads it) and --strict-markers
    res = pytester.runpytest_subprocess("-p", "risk.pytest_plugin", "--strict-markers", f"--junitxml={junit}")
    res.assert_outcomes(passed=1, skipped=1, failed=1)
    out = parse_junit([junit])
    assert out["test_product.py::test_ok"].verifies == ("RC-2", "SRS-1")
    assert out["test_product.py::test_ok"].status == "passed"
    assert out["test_product.py::test_skipped"].verifies == ("SRS-3",)
    assert out["test_product.py::test_skipped"].status == "skipped"
    assert out["test_product.py::test_plain"].verifies == () and out["test_product.py::test_plain"].status == "failed"


def test_entry_point_is_declared() -> None:
    import tomllib

    doc = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8"))
    assert doc["project"]["entry-points"]["pytest11"] == {"risk.pytest_plugin": "risk.pytest_plugin"}


def test_samd_own_suite_uses_the_plugin(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.has_plugin("risk.pytest_plugin")
    assert ("nodeid", request.node.nodeid) in request.node.user_properties
