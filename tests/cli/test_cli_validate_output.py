"""`samd validate` console output: rounded for people, verdict printed, exit code from the verdict."""

from __future__ import annotations

import pathlib
import re
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import validation.harness
from samd.cli import main

RESULT = {
    "protocol_id": "SAP-1", "protocol_version": 2, "protocol_sha256": "a" * 64, "n_cases": 113,
    "mlflow_run_id": "r" * 32, "warnings": [],
    "endpoints": [
        {"id": "auc", "metric": "roc_auc", "value": 0.7313797313797314, "ci_low": 0.6301567752398532,
         "ci_high": 0.8326026875196096, "method": "delong", "criterion": "ci_low >= 0.6", "passed": True},
        {"id": "sens", "metric": "sensitivity", "value": 0.6341463414634146, "ci_low": "nan", "ci_high": None,
         "method": "clopper-pearson", "criterion": "value >= 0.6", "passed": True},
    ],
}


def _fake(verdict: str, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    def run_validation(*args: object, **kwargs: object) -> SimpleNamespace:
        return SimpleNamespace(verdict=verdict, result=RESULT, out_dir=tmp_path, run_id="r" * 32)

    monkeypatch.setattr(validation.harness, "run_validation", run_validation)


@pytest.mark.parametrize("verdict,code", [("pass", 0), ("fail", 1)])
def test_rounded_console_verdict_and_exit_code(verdict: str, code: int, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: pathlib.Path) -> None:
    _fake(verdict, monkeypatch, tmp_path)
    (tmp_path / "p.yaml").write_text("id: x\n")
    res = CliRunner().invoke(main, ["validate", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == code, res.output
    assert f"verdict: {verdict}" in res.output
    auc = next(ln for ln in res.output.splitlines() if ln.strip().startswith("auc"))
    assert re.search(r"0\.731\s+\[0\.630, 0\.833\]", auc), auc
    assert not re.search(r"\d\.\d{4}", res.output)  # no more than 3 decimals on the console
    sens = next(ln for ln in res.output.splitlines() if ln.strip().startswith("sens"))
    assert re.search(r"0\.634\s+\[not estimable, n/a\]", sens), sens
