"""The one error map of the CLI (`samd/cli.py`): exit 2 with one line, never a traceback."""

from __future__ import annotations

import sys

import click
import pytest
from click.testing import CliRunner

from samd import cli
from samd_core.errors import InvalidParameterError


def _group_with(exc: BaseException) -> click.Group:
    """A `samd`-like group (same class as `samd.cli.main`) whose one command raises ``exc``."""

    @click.group(cls=cli._LazyGroup)
    def root() -> None:
        pass

    @root.group("nested")
    def nested() -> None:
        pass

    @nested.command("boom")
    def boom() -> None:
        raise exc

    return root


def _invoke(exc: BaseException, env: dict[str, str] | None = None) -> tuple[int, str]:
    # the lazy group's `get_command` only knows samd's table: bypass it for the synthetic group
    root = _group_with(exc)
    root.get_command = click.Group.get_command.__get__(root)  # type: ignore[method-assign]
    root.list_commands = click.Group.list_commands.__get__(root)  # type: ignore[method-assign]
    res = CliRunner().invoke(root, ["nested", "boom"], env=env)
    return res.exit_code, res.output


def _yaml_error() -> BaseException:
    import yaml

    try:
        yaml.safe_load("a: [1, 2")
    except yaml.YAMLError as exc:
        return exc
    raise AssertionError("unreachable")


def _schema_error() -> BaseException:
    import jsonschema

    try:
        jsonschema.validate({"n": "x" * 5000}, {"properties": {"n": {"type": "integer"}}})
    except jsonschema.ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


def _key_error() -> BaseException:
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_pem_private_key(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n",
                                           password=None)
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


def _unsupported() -> BaseException:
    from cryptography.exceptions import UnsupportedAlgorithm

    return UnsupportedAlgorithm("no such curve")


def _mlflow_error() -> BaseException:
    from mlflow.exceptions import MlflowException

    return MlflowException("Could not find a registered artifact repository for: bogus://x")


MAPPED = [
    ("samd", lambda: InvalidParameterError("n", "f", "a positive integer", -1)),
    ("value", lambda: ValueError("bad\nvalue\n\n  here")),
    ("os", lambda: FileNotFoundError(2, "No such file or directory")),
    ("unicode", lambda: b"\xff".decode("utf-8")),
    ("yaml", _yaml_error),
    ("jsonschema", _schema_error),
    ("crypto-value", _key_error),
    ("crypto-unsupported", _unsupported),
    ("mlflow", _mlflow_error),
]


def _make(factory):  # type: ignore[no-untyped-def]
    try:
        out = factory()
    except Exception as exc:  # noqa: BLE001 - factories that raise give their exception
        return exc
    return out


@pytest.mark.parametrize("name,factory", MAPPED, ids=[m[0] for m in MAPPED])
def test_input_errors_exit_2_with_one_line(name: str, factory) -> None:  # type: ignore[no-untyped-def]
    code, out = _invoke(_make(factory))
    assert code == 2, out
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert lines[0].startswith("error: "), out
    assert "Traceback" not in out
    assert len(lines[0]) <= len("error: ") + cli.MAX_MESSAGE_CHARS


def test_schema_error_does_not_dump_the_instance() -> None:
    code, out = _invoke(_schema_error())
    assert code == 2
    assert "xxxxxxxxxx" not in out  # the offending value (5000 x) is not repr()'d
    assert "schema violation at n" in out


@pytest.mark.parametrize("exc", [KeyError("k"), RuntimeError("boom"), RecursionError("deep"), MemoryError()],
                         ids=lambda e: type(e).__name__)
def test_unexpected_errors_exit_2_as_internal(exc: BaseException) -> None:
    code, out = _invoke(exc)
    assert code == 2, out
    assert out.splitlines() == [out.strip()]
    assert out.startswith(f"internal error: {type(exc).__name__}: ")
    assert "Traceback" not in out


def test_debug_prints_the_traceback() -> None:
    code, out = _invoke(RuntimeError("boom"), env={"SAMD_DEBUG": "1"})
    assert code == 2
    assert "Traceback" in out and out.rstrip().splitlines()[-1] == "internal error: RuntimeError: boom"


@pytest.mark.parametrize("code", [0, 1, 2])
def test_explicit_exit_codes_pass_through(code: int) -> None:
    got, _ = _invoke(SystemExit(code))
    assert got == code


def test_usage_error_is_2() -> None:
    res = CliRunner().invoke(cli.main, ["no-such-command"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_message_is_capped_and_single_line() -> None:
    msg = cli.error_message(ValueError("a\r\n\tb " + "z" * 10_000 + "\x00"), limit=50)
    assert "\n" not in msg and "\r" not in msg and len(msg) == 50 and msg.endswith("...")
    assert msg.startswith("a b z")


def test_cli_imports_no_heavy_modules() -> None:
    import subprocess

    code = ("import sys, samd.cli; bad = [m for m in ('mlflow', 'yaml', 'jsonschema', 'pandas') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_prompt_without_an_answer_is_2() -> None:
    code, out = _invoke(click.exceptions.Abort())
    assert code == 2 and out.strip() == "error: aborted: a prompt got no answer"
