"""Fuzz every `samd` subcommand with missing, empty, garbage and wrong-type arguments.

Subcommands (nested groups included) are discovered by click introspection of `samd.cli.main`,
so a command added later is fuzzed without editing this file. Each call must end with exit 2
(the command could not run) and never a Python traceback; exit 1 is reserved for "criteria not
met / verification failed" and is accepted only where a file *is* the thing being verified
(listed in `VERIFIES`). Issue #18 (CLI class) and #12 (errors map in one place).
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import click
import pytest
from click.testing import CliRunner

from samd.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASE_TIMEOUT_S = 60

#: (command path, parameter name) whose garbage *content* is legitimately "verification failed".
VERIFIES = {
    ("audit verify", "file"),  # a garbage audit log is a broken chain (exit 1), documented
    ("bundle check", "path"),  # a garbage bundle is REFUSED (exit 1), documented
    ("bundle sign", "path"),  # refuses to sign a bundle that does not verify (exit 1)
    ("audit signature-page", "file"),  # no valid signature covers the document set (exit 1)
}
#: (command path, parameter name, hostile file) that is a valid input: an empty audit log is an
#: intact chain of 0 records (truncation is caught by checkpoints, `samd audit checkpoint`).
VALID = {("audit verify", "file", "empty"), ("audit export", "file", "empty")}
#: commands whose default run is long (minutes): only their argument checks are fuzzed.
EXPENSIVE = {"demo", "train-reference"}


def _walk(cmd: click.Command, path: tuple[str, ...], ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    if isinstance(cmd, click.Group):
        if cmd.invoke_without_command:  # a group that is also a command (e.g. `samd report`)
            yield " ".join(path), cmd
        sub_ctx = click.Context(cmd, info_name=path[-1] if path else "samd", parent=ctx)
        for name in cmd.list_commands(sub_ctx):
            sub = cmd.get_command(sub_ctx, name)
            assert sub is not None
            yield from _walk(sub, (*path, name), sub_ctx)
    else:
        yield " ".join(path), cmd


def _commands() -> list[tuple[str, click.Command]]:
    with click.Context(main, info_name="samd") as ctx:
        return list(_walk(main, (), ctx))


COMMANDS = _commands()


@dataclass(frozen=True)
class Case:
    command: str
    args: tuple[str, ...]
    what: str
    allow_1: bool = False
    allow_0: bool = False

    @property
    def id(self) -> str:
        return f"{self.command}:{self.what}"


def _is_output(p: click.Parameter) -> bool:
    return isinstance(p.type, click.Path) and not p.type.exists


def _hostile_bytes() -> dict[str, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return {
        "empty": b"",
        "garbage": bytes(range(256)) * 4 + b"\xff\xfe\x00{[",
        "garbage_pem": b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        "rsa_private_pem": rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()),
        "rsa_public_pem": rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo),
        "yaml_bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                     b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "nested_json": b"[" * 100_000 + b"\n",
    }


HOSTILE = _hostile_bytes()
#: placeholders in case arguments, replaced by fresh files in each test's own folder
FILES = {**{k: f"@{k}" for k in HOSTILE}, "empty_dir": "@empty_dir", "missing": "@missing"}


def _materialise(args: tuple[str, ...], base: pathlib.Path) -> list[str]:
    base.mkdir(parents=True, exist_ok=True)
    (base / "empty_dir").mkdir(exist_ok=True)
    for name, data in HOSTILE.items():
        (base / name).write_bytes(data)
    paths = {**{f"@{k}": str(base / k) for k in HOSTILE}, "@empty_dir": str(base / "empty_dir"),
             "@missing": str(base / "does-not-exist" / "x")}
    out = []
    for a in args:
        for token, path in paths.items():
            if a == token or a.startswith(token + "/"):
                a = path + a[len(token):]
                break
        out.append(a)
    return out


def _baseline(p: click.Parameter, files: dict[str, str]) -> list[str]:
    """A value that passes click's own checks but is garbage for the command."""
    t = p.type
    if isinstance(t, click.Path):
        if _is_output(p):
            v = f"{files['empty_dir']}/out-{p.name}"
        elif t.file_okay:
            v = files["garbage"]
        else:
            v = files["empty_dir"]
    elif isinstance(t, click.Choice):
        v = str(t.choices[0])
    elif isinstance(t, (click.types.IntParamType, click.types.FloatParamType)):
        lo = getattr(t, "min", None)
        v = str(lo if lo is not None else 1)
    elif p.is_flag if isinstance(p, click.Option) else False:
        return []
    else:
        v = "garbage"
    return [v] if isinstance(p, click.Argument) else [p.opts[0], v]


def _bad_values(p: click.Parameter, files: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) pairs that must be refused for this parameter."""
    t = p.type
    if isinstance(t, click.Path):
        vals = [("empty-string", "")]
        if t.exists:
            vals.append(("nonexistent", files["missing"]))
        if not t.dir_okay:
            vals.append(("directory-for-file", files["empty_dir"]))
        if not t.file_okay:
            vals.append(("file-for-directory", files["garbage"]))
        if t.exists and t.file_okay:
            vals += [(k, files[k]) for k in ("empty", "garbage", "garbage_pem", "rsa_private_pem", "rsa_public_pem",
                                                 "yaml_bomb", "nested_json")]
        if t.exists and t.dir_okay and not t.file_okay:
            vals.append(("empty-directory", files["empty_dir"]))
        return vals
    if isinstance(t, (click.types.IntParamType, click.types.FloatParamType)):
        vals = [("empty-string", ""), ("nan", "nan"), ("1e309", "1e309"), ("text", "abc"), ("-inf", "-inf")]
        lo = getattr(t, "min", None)
        if lo is not None and lo >= 0:
            vals.append(("-1", "-1"))
        if isinstance(t, click.types.IntParamType):
            vals.append(("float-for-int", "0.5"))
        return vals
    if isinstance(t, click.Choice):
        return [("empty-string", ""), ("unknown-choice", "no-such-option")]
    return []


def _cases() -> list[Case]:
    out: list[Case] = []
    for name, cmd in COMMANDS:
        params = [p for p in cmd.params if p.name != "help" and not (isinstance(p, click.Option) and p.is_flag)]
        base = {p.name: _baseline(p, FILES) for p in params}
        required = [p for p in params if p.required]
        for p in required:  # missing: leave one required parameter out
            args = [a for q in params if q is not p and (q.required or q.name == p.name) for a in base[q.name]]
            out.append(Case(name, tuple(args), f"missing-{p.name}"))
        for p in params:
            for label, bad in _bad_values(p, FILES):
                # every required parameter at its baseline, this one bad
                args: list[str] = []
                for q in params:
                    if q is p:
                        args += [bad] if isinstance(q, click.Argument) else [q.opts[0], bad]
                    elif q.required:
                        args += base[q.name]
                # a garbage file/folder that a command verifies may be reported as "verification failed"
                allow_1 = ((name, p.name) in VERIFIES and label not in {"empty-string", "nonexistent",
                                                                         "directory-for-file", "file-for-directory"})
                allow_1 |= any((name, q.name) in VERIFIES for q in params if q is not p and q.required)
                if name.split()[0] in EXPENSIVE and label in {"empty-directory"}:
                    continue  # an empty folder is a valid output or --compare target only after a long run
                out.append(Case(name, tuple(args), f"{p.name}={label}", allow_1, (name, p.name, label) in VALID))
    return out


CASES = _cases()


def test_every_command_is_discovered() -> None:
    names = {n for n, _ in COMMANDS}
    for expected in ("audit verify", "audit recover", "audit checkpoint", "audit export", "bundle check",
                     "bundle sign", "bundle keygen", "phantom", "risk soup", "risk sbom", "risk check", "verify",
                     "validate", "mrmc", "report", "demo", "train-reference"):
        assert expected in names
    assert len(CASES) > 150


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout


def _check(res_code: int, output: str, case: Case) -> None:
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    allowed = {2} | ({1} if case.allow_1 else set()) | ({0} if case.allow_0 else set())
    assert res_code in allowed, f"exit {res_code}: {output[-2000:]}"
    if res_code == 2:  # samd's one line, or click's usage error (which may list the choices below it)
        ours = [ln for ln in output.splitlines() if ln.startswith("error: ")]
        assert len(ours) == 1 or (not ours and "Error: " in output), output[-2000:]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fuzz_in_process(case: Case, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        args = _materialise(case.args, tmp_path / "in")
        res = CliRunner().invoke(main, [*case.command.split(), *args], catch_exceptions=True)
    except _Timeout:
        pytest.fail(f"no answer within {CASE_TIMEOUT_S} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        pytest.fail(f"exception escaped the CLI: {res.exception!r}")
    _check(res.exit_code, res.output, case)


# ---- cases named in issue #18, with otherwise valid inputs --------------------------------------

def _samd(args: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.run([sys.executable, "-m", "samd", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


def _assert_one_line_2(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert err and err[-1].startswith(("error: ", "Error: ")), proc.stderr


@pytest.fixture(scope="module")
def audit_log(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    from validation.audit import AuditLog

    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    AuditLog(path, actor="tester").append("note", object={"type": "test", "id": "x"})
    return path


@pytest.fixture()
def files(tmp_path: pathlib.Path) -> dict[str, str]:
    _materialise((), tmp_path / "in")
    return {k: str(tmp_path / "in" / k) for k in HOSTILE}


def test_subprocess_bad_tracking_uri(audit_log: pathlib.Path, tmp_path: pathlib.Path) -> None:
    _assert_one_line_2(_samd(["audit", "verify", str(audit_log), "--mlflow", "--tracking-uri", "bogus://nowhere"],
                             tmp_path))


@pytest.mark.parametrize("key", ["garbage", "garbage_pem", "rsa_public_pem", "rsa_private_pem", "empty"])
def test_subprocess_bad_key_to_audit_verify(key: str, audit_log: pathlib.Path, tmp_path: pathlib.Path, files: dict[str, str]) -> None:
    _assert_one_line_2(_samd(["audit", "verify", str(audit_log), "--public-key", files[key]], tmp_path))


@pytest.mark.parametrize("key", ["garbage", "garbage_pem", "rsa_private_pem", "empty"])
def test_bad_key_to_audit_checkpoint(key: str, audit_log: pathlib.Path, tmp_path: pathlib.Path, files: dict[str, str]) -> None:
    res = CliRunner().invoke(main, ["audit", "checkpoint", str(audit_log), "--signing-key", files[key]])
    _check(res.exit_code, res.output, Case("audit checkpoint", (), key))


def _shipped_bundle() -> pathlib.Path:
    return ROOT / "samd_core" / "bundles" / "nodule_v1"


@pytest.mark.parametrize("key", ["garbage", "garbage_pem", "rsa_public_pem", "rsa_private_pem", "empty"])
def test_bad_key_to_bundle_check(key: str, tmp_path: pathlib.Path, files: dict[str, str]) -> None:
    res = CliRunner().invoke(main, ["bundle", "check", str(_shipped_bundle()), "--public-key", files[key]])
    _check(res.exit_code, res.output, Case("bundle check", (), key))


@pytest.mark.parametrize("key", ["garbage", "garbage_pem", "rsa_private_pem", "rsa_public_pem", "empty"])
def test_bad_key_to_bundle_sign(key: str, tmp_path: pathlib.Path, files: dict[str, str]) -> None:
    import shutil

    b = tmp_path / "b"
    shutil.copytree(_shipped_bundle(), b)
    before = sorted(p.name for p in b.iterdir())
    res = CliRunner().invoke(main, ["bundle", "sign", str(b), "--private-key", files[key]])
    # the shipped bundle may not verify against a changed core: then it is refused (1) before the key is read
    _check(res.exit_code, res.output, Case("bundle sign", (), key, allow_1="REFUSED" in res.output))
    assert sorted(p.name for p in b.iterdir()) == before  # no manifest.sig written


@pytest.mark.parametrize("content", ["garbage", "nested_json", "empty"])
def test_bad_audit_log_to_recover_and_export(content: str, tmp_path: pathlib.Path, files: dict[str, str]) -> None:
    import shutil

    log = tmp_path / "audit.jsonl"
    shutil.copy(files[content], log)
    cases = [["recover", str(log), "--reason", "r"]]
    if content != "empty":  # an empty log is a valid trail of 0 records to export
        cases.append(["export", str(log), "--csv", str(tmp_path / "o.csv")])
    for args in cases:
        res = CliRunner().invoke(main, ["audit", *args])
        _check(res.exit_code, res.output, Case("audit", (), content))


def test_subprocess_phantom_prevalence_nan(tmp_path: pathlib.Path) -> None:
    _assert_one_line_2(_samd(["phantom", "--n-cases", "1", "--seed", "0", "--out", str(tmp_path / "c"),
                              "--prevalence", "nan"], tmp_path))
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("sub", [["soup"], ["sbom", "--name", "d", "--version", "1", "--out", "sbom.json"]])
@pytest.mark.parametrize("content", ["garbage", "empty", "yaml_bomb"])
def test_risk_soup_sbom_garbage_lock(sub: list[str], content: str, tmp_path: pathlib.Path,
                                     monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> None:
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["risk", *sub, "--lock", files[content]])
    _check(res.exit_code, res.output, Case("risk", (), content))


@pytest.mark.parametrize("content", ["empty", "garbage", "yaml_bomb"])
def test_subprocess_verify_unusable_lock_is_an_error(content: str, tmp_path: pathlib.Path,
                                                     files: dict[str, str]) -> None:
    """`samd verify --lock EMPTY` reported IQ PASS with 0 pins (issue #18): now exit 2, nothing written."""
    proc = _samd(["verify", "--lock", files[content], "--out", str(tmp_path / "q")], tmp_path)
    _assert_one_line_2(proc)
    assert "PASS" not in proc.stdout and not (tmp_path / "q").exists()


# ---- a bad --tracking-uri, with otherwise valid inputs, for every command that takes one -----------

VD = ROOT / "tests" / "reference" / "mrmc" / "vandyke_long.csv"
EXAMPLE = ROOT / "examples" / "reference_device"
#: command -> valid arguments that reach the tracking store
TRACKING_ARGS = {
    "mrmc": [str(VD), "--out", "{tmp}/out"],
    "report": ["--latest", "--config", str(EXAMPLE / "submission.yaml"), "--out", "{tmp}/sub", "--draft", "--no-pdf"],
    "risk check": ["--junit", "{tmp}/junit.xml", "--srs", str(EXAMPLE / "srs"), "--run", "0" * 32],
    "audit verify": ["{tmp}/audit.jsonl", "--mlflow"],
    "validate": ["{tmp}/p.yaml", "--out", "{tmp}/v"],
    "compare": ["{tmp}/p.yaml", "--out", "{tmp}/c"],
    "report init": ["--run", "0" * 32, "--out", "{tmp}/submission.yaml"],
}


def test_every_tracking_command_has_a_tracking_case() -> None:
    takes = {name for name, cmd in COMMANDS if any(p.name == "tracking_uri" for p in cmd.params)}
    assert takes <= set(TRACKING_ARGS), f"add a bad --tracking-uri case for {sorted(takes - set(TRACKING_ARGS))}"


@pytest.mark.parametrize("uri", ["bogus://nowhere", "sqlite:///{tmp}/no/such/folder/mlflow.db", ""])
@pytest.mark.parametrize("name", sorted(TRACKING_ARGS))
def test_bad_tracking_uri(name: str, uri: str, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from validation.audit import AuditLog

    monkeypatch.chdir(tmp_path)
    AuditLog(tmp_path / "audit.jsonl").append("note", object={"type": "t", "id": "x"})
    (tmp_path / "junit.xml").write_text('<testsuite name="s" tests="1"><testcase classname="t" name="x"/></testsuite>')
    (tmp_path / "p.yaml").write_text("id: x\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in TRACKING_ARGS[name]]
    res = CliRunner().invoke(main, [*name.split(), *args, "--tracking-uri", uri.replace("{tmp}", str(tmp_path))])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    _check(res.exit_code, res.output, Case(name, (), f"tracking-uri={uri}"))
    assert not (tmp_path / "no").exists()  # no store created somewhere else
