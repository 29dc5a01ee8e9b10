"""`run_demo`: the end-to-end example device, from a sequestered test cohort to the documents.

Every step runs the same ``samd`` subcommand a user would type (echoed before it runs), in a
fresh ``python -m samd`` process, so the demo exercises exactly the public command line:

1. ``samd phantom``   - sequestered test cohort (real DICOM series, masks, hash manifest);
2. ``samd verify``    - IQ/OQ of the installed core and the shipped locked model;
3. ``samd validate``  - the pre-specified protocol in bundle mode (MLflow + audit trail);
4. ``samd mrmc``      - a simulated reader study, unaided vs aided (MLflow + audit trail);
5. ``pytest``         - the verification tests the reference device's risk file cites (JUnit);
6. ``samd report``    - the 510(k)-style documents (HTML + PDF) citing the runs and hashes;
   then a registered signer (``samd signer add``: a passphrase-protected Ed25519 key in a signer
   registry, both in the output folder for the demonstration) signs the documents' index with
   ``samd audit sign`` (meaning "approved" only when every acceptance criterion was met, else
   "reviewed"), ``samd audit signature-page`` renders the signature page, and ``samd audit
   verify --signers`` checks the chain, the signatures against the registry and every MLflow run;
7. the second reference device (``cxr_triage_v1``, a 2-D ONNX classifier on chest radiographs):
   ``samd phantom --kind radiograph``, ``samd validate`` of its own protocol
   (``examples/cxr_triage/protocol.yaml``) in bundle mode, then its own 510(k)-style documents
   (``samd report`` with ``examples/cxr_triage/submission.yaml``: no reader study, the device only
   reorders the worklist), signed and with a signature page like the first device's
   (``--device`` chooses the devices).

The verification tests both devices' risk files and requirements cite run once, in one pytest
process (step 5), and both devices' documents cite that JUnit report.

Nothing already written is overwritten: each call writes a new ``runs/<UTC time>/`` folder; the
cohort, the MLflow store and the audit trail are shared between calls.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reference_devices.demo._digest import stable_result_sha256
from reference_devices.demo._steps import (
    EXAMPLE,
    TEST_COHORT_SEED,
    sign_off,
    verification_tests,
    write_protocol,
    write_reader_study,
)
from reference_devices.errors import DemoStepError, InvalidParameterError

__all__ = ["DemoResult", "run_demo"]

_REPO_TESTS = Path(__file__).resolve().parents[2] / "tests"
#: The shipped bundle the example device's protocol is written for (``examples/reference_device``).
EXAMPLE_BUNDLE = "nodule_v1"
#: The second reference device: its shipped bundle, its plan and its sequestered cohort's seed
#: (the classifier was developed on radiograph seeds 2027, 2028 and 99).
CXR_BUNDLE = "cxr_triage_v1"
CXR_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr_triage"
CXR_TEST_COHORT_SEED = 2029


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What `run_demo` wrote.

    Attributes
    ----------
    out, run_dir : Path
        The working folder and this call's ``runs/<UTC time>`` folder.
    verdict : str
        Verdict of the standalone performance test (``result.json``).
    result_digest : str
        `stable_result_sha256` of ``result.json`` (equal on every rerun).
    minutes : float
        Wall time of the demo.
    tracking_uri : str
        The MLflow store.
    audit_log : Path
        The audit trail.
    sign_off_seq : int
        Audit sequence number of the sign-off record (the first device's documents when it ran).
    cxr_verdict, cxr_result_digest, cxr_sign_off_seq
        The same for the chest-radiograph device (None when it did not run); its documents are in
        ``run_dir / "cxr-submission"``.
    """

    out: Path
    run_dir: Path
    verdict: str
    result_digest: str
    minutes: float
    tracking_uri: str
    audit_log: Path
    sign_off_seq: int
    cxr_verdict: str | None = None
    cxr_result_digest: str | None = None
    cxr_sign_off_seq: int | None = None


def _samd(*args: str) -> list[str]:
    return [sys.executable, "-m", "samd", *args]


def _step(step: str, args: list[str], *, log: Path, echo: Callable[[str], None], ok_codes: tuple[int, ...] = (0,),
          cwd: Path | None = None, env: dict[str, str] | None = None) -> int:
    """Run one command, streaming its output to ``echo`` and to ``log``."""
    echo(f"\n==> {step}")
    echo("    $ " + " ".join(shlex.quote(a) for a in args))
    t0 = time.perf_counter()
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(shlex.quote(a) for a in args)}\n")
        with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                              cwd=cwd, env=None if env is None else {**os.environ, **env}) as proc:
            for line in proc.stdout or ():
                echo("    " + line.rstrip("\n"))
                fh.write(line)
            rc = proc.wait()
    echo(f"    [{step.split(':')[0]}: exit {rc}, {time.perf_counter() - t0:.0f} s]")
    if rc not in ok_codes:
        raise DemoStepError(f"demo step {step!r} failed with exit code {rc}; see {log}")
    return rc


def run_demo(
    out: Path,
    *,
    n_cases: int = 300,
    bootstrap: int = 2000,
    readers: int = 8,
    reader_cases: int = 120,
    skip_tests: bool = False,
    device: str = "both",
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Run the end-to-end example: cohort, IQ/OQ, validation, reader study, documents.

    Parameters
    ----------
    out
        Working folder (cohort, MLflow store, audit trail, ``runs/``).
    n_cases
        Size of the sequestered test cohort (at least 10).
    bootstrap
        Bootstrap replicates of the protocol (at least 100).
    readers, reader_cases
        Readers (at least 3) and cases (at least 10) of the simulated reader study.
    skip_tests
        Do not run the verification tests (the documents are then a draft).
    device
        ``"nodule"`` (the lung-nodule device, with documents), ``"cxr"`` (the chest-radiograph
        device's standalone test) or ``"both"``.
    echo
        Receives each line of progress and of the steps' output.

    Raises
    ------
    DemoStepError
        A step exited with an unexpected code (the log file is named).
    """
    for name, value, low in (("n_cases", n_cases, 10), ("bootstrap", bootstrap, 100), ("readers", readers, 3),
                             ("reader_cases", reader_cases, 10)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidParameterError(name, "run_demo", f"an integer >= {low}", value)
    if device not in ("nodule", "cxr", "both"):
        raise InvalidParameterError("device", "run_demo", "one of 'nodule', 'cxr', 'both'", device,
                                    ("nodule", "cxr", "both"))
    t_start = time.perf_counter()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run_dir = out / "runs" / stamp
    run_dir.mkdir(parents=True)
    log = run_dir / "demo.log"
    tracking = f"sqlite:///{(out / 'mlflow.db').as_posix()}"
    audit = out / "audit.jsonl"
    cohort = out / f"cohort-seed{TEST_COHORT_SEED}-n{n_cases}"
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from samd_core.qualification import shipped_bundles

    bundle = next((b for b in shipped_bundles() if b.name == EXAMPLE_BUNDLE), None)
    if bundle is None:
        raise DemoStepError(f"the example device's locked model {EXAMPLE_BUNDLE} is not shipped with this "
                            "installation of samd_core")

    echo(f"samd demo: output in {out} (this run: {run_dir.name})")
    _step("2/6 qualification: samd verify", _samd("verify", "--out", str(run_dir / "qualification")), log=log,
          echo=echo)
    configs = ([EXAMPLE / "submission.yaml"] if device in ("nodule", "both") else []) + (
        [CXR_EXAMPLE / "submission.yaml"] if device in ("cxr", "both") else [])
    junit = _verification(run_dir, log, echo, configs, skip_tests=skip_tests)
    verdict = digest = None
    signed: dict[str, object] = {"seq": 0}
    if device in ("nodule", "both"):
        verdict, digest, signed = _nodule(out, run_dir, log, echo, bundle=bundle, cohort=cohort, n_cases=n_cases,
                                          bootstrap=bootstrap, readers=readers, reader_cases=reader_cases,
                                          junit=junit, tracking=tracking, audit=audit)
    cxr_verdict = cxr_digest = None
    cxr_signed: dict[str, object] | None = None
    if device in ("cxr", "both"):
        cxr_verdict, cxr_digest, cxr_signed = _cxr(out, run_dir, log, echo, n_cases=n_cases, bootstrap=bootstrap,
                                                   junit=junit, tracking=tracking, audit=audit)
    registry = out / "qms" / "signers.yaml"
    _step("audit trail: samd audit verify",
          _samd("audit", "verify", str(audit), "--signers", str(registry), "--mlflow", "--tracking-uri", tracking),
          log=log, echo=echo)
    first = signed if device in ("nodule", "both") else (cxr_signed or signed)
    return DemoResult(out=out, run_dir=run_dir, verdict=str(verdict if verdict is not None else cxr_verdict),
                      result_digest=str(digest if digest is not None else cxr_digest),
                      minutes=(time.perf_counter() - t_start) / 60, tracking_uri=tracking, audit_log=audit,
                      sign_off_seq=int(first["seq"]), cxr_verdict=cxr_verdict,  # type: ignore[call-overload]
                      cxr_result_digest=cxr_digest,
                      cxr_sign_off_seq=None if cxr_signed is None else int(cxr_signed["seq"]))  # type: ignore[call-overload]


def _verification(run_dir: Path, log: Path, echo: Callable[[str], None], configs: list[Path], *,
                  skip_tests: bool) -> Path | None:
    """Run, once, the verification tests the devices' risk files and requirements cite; the JUnit file
    (None when skipped: the documents are then drafts)."""
    if skip_tests or not _REPO_TESTS.is_dir():
        echo("\n==> 5/6 verification tests: skipped (the documents are rendered as drafts)")
        return None
    ids = sorted({i for cfg in configs for i in verification_tests(cfg)})
    junit = run_dir / "junit.xml"
    _step("5/6 verification tests cited by the risk files: pytest",
          [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *ids],
          log=log, echo=echo, cwd=_REPO_TESTS.parent)
    return junit


def _documents(run_dir: Path, log: Path, echo: Callable[[str], None], *, label: str, runs: list[str], config: Path,
               folder: str, verdict: str, junit: Path | None, tracking: str, audit: Path) -> dict[str, object]:
    """``samd report`` of one device, its signed sign-off and signature page; returns the sign record."""
    from validation.audit import iter_records

    args = ["report", *(a for r in runs for a in ("--run", r)), "--config", str(config), "--out",
            str(run_dir / folder), "--tracking-uri", tracking, "--audit-log", str(audit)]
    args += ["--draft"] if junit is None else ["--junit", str(junit)]
    _step(f"{label} submission documents: samd report", _samd(*args), log=log, echo=echo)
    out = run_dir.parent.parent
    registry, key, env = _signer(out, log, echo, audit)
    index = run_dir / folder / "submission_index.json"
    meaning = "approved" if verdict == "pass" else "reviewed"  # a failed submission is not approved
    _step(f"{label} sign-off ({meaning}): samd audit sign",
          _samd("audit", "sign", str(audit), "--object", str(index), "--meaning", meaning, "--key", str(key),
                "--user-id", DEMO_SIGNER["user_id"], "--registry", str(registry), "--reason",
                f"demonstration sign-off of the rendered documents (standalone verdict: {verdict})"),
          log=log, echo=echo, env=env)
    _step(f"{label} signature page: samd audit signature-page",
          _samd("audit", "signature-page", str(audit), "--index", str(index), "--signers", str(registry)),
          log=log, echo=echo)
    return [r for r in iter_records(audit) if r.get("action") == "sign"][-1]


#: The demonstration signer (a real sign-off uses the signer's own registered key).
DEMO_SIGNER = {"name": "Dana Demo (demonstration signer)", "user_id": "demo.qa",
               "role": "Quality manager (demonstration)"}


def _signer(out: Path, log: Path, echo: Callable[[str], None], audit: Path) -> tuple[Path, Path, dict[str, str]]:
    """The demo's signer registry and passphrase-protected key (created once per output folder)."""
    import secrets

    qms = out / "qms"
    registry = qms / "signers.yaml"
    keys = out / "demo-signer"
    pw_file = keys / "PASSPHRASE-demonstration-only.txt"
    if not registry.exists():
        keys.mkdir(parents=True, exist_ok=True)
        pw_file.write_text(secrets.token_urlsafe(18) + "\n", encoding="utf-8")
        pw_file.chmod(0o600)
        env = {"SAMD_SIGNING_PASSPHRASE": pw_file.read_text(encoding="utf-8").strip()}
        _step("signer registry: samd signer add",
              _samd("signer", "add", "--registry", str(registry), "--name", DEMO_SIGNER["name"], "--user-id",
                    DEMO_SIGNER["user_id"], "--role", DEMO_SIGNER["role"], "--key-out", str(keys), "--audit-log",
                    str(audit)), log=log, echo=echo, env=env)
    env = {"SAMD_SIGNING_PASSPHRASE": pw_file.read_text(encoding="utf-8").strip()}
    key = next(p for p in sorted(keys.glob("*.pem")) if "key" in p.name and "pub" not in p.name)
    return registry, key, env


def _nodule(out: Path, run_dir: Path, log: Path, echo: Callable[[str], None], *, bundle: Path, cohort: Path,
            n_cases: int, bootstrap: int, readers: int, reader_cases: int, junit: Path | None, tracking: str,
            audit: Path) -> tuple[str, str, dict[str, object]]:
    """Steps 1, 3, 4 and 6 for the lung-nodule device; returns verdict, digest and the sign record."""
    if (cohort / "manifest.csv").exists():
        echo(f"\n==> 1/6 test cohort: reusing {cohort} (samd validate re-checks every hash)")
    else:
        _step("1/6 test cohort: samd phantom", _samd("phantom", "--n-cases", str(n_cases), "--seed",
              str(TEST_COHORT_SEED), "--out", str(cohort), "--split", "test"), log=log, echo=echo)
    protocol = out / f"protocol-n{n_cases}-b{bootstrap}.yaml"
    write_protocol(protocol, cohort, bundle, replicates=bootstrap)
    _step("3/6 standalone performance: samd validate",
          _samd("validate", str(protocol), "--out", str(run_dir / "validation"), "--tracking-uri", tracking,
                "--audit-log", str(audit)), log=log, echo=echo, ok_codes=(0, 1))
    validation = json.loads((run_dir / "validation" / "result.json").read_text(encoding="utf-8"))
    study = out / f"reader-study-r{readers}-c{reader_cases}.csv"
    write_reader_study(study, n_readers=readers, n_cases=reader_cases)
    _step("4/6 reader study: samd mrmc",
          _samd("mrmc", str(study), "--reference", "unaided", "--out", str(run_dir / "mrmc"),
                "--tracking-uri", tracking, "--audit-log", str(audit)), log=log, echo=echo)
    mrmc = json.loads((run_dir / "mrmc" / "mrmc_result.json").read_text(encoding="utf-8"))

    signed = _documents(run_dir, log, echo, label="6/6", runs=[validation["mlflow_run_id"], mrmc["mlflow_run_id"]],
                        config=EXAMPLE / "submission.yaml", folder="submission", verdict=str(validation["verdict"]),
                        junit=junit, tracking=tracking, audit=audit)
    verdict = str(validation["verdict"])
    digest = stable_result_sha256(validation)
    (run_dir / "validation" / "result.stable.sha256").write_text(digest + "\n", encoding="utf-8")
    return verdict, digest, signed


def _cxr(out: Path, run_dir: Path, log: Path, echo: Callable[[str], None], *, n_cases: int, bootstrap: int,
         junit: Path | None, tracking: str, audit: Path) -> tuple[str, str, dict[str, object]]:
    """The chest-radiograph device: its sequestered cohort, its own pre-specified standalone test and
    its documents; returns verdict, digest and the sign record."""
    from samd_core.qualification import shipped_bundles

    bundle = next((b for b in shipped_bundles() if b.name == CXR_BUNDLE), None)
    if bundle is None:
        raise DemoStepError(f"the chest-radiograph device's locked model {CXR_BUNDLE} is not shipped")
    cohort = out / f"cxr-cohort-seed{CXR_TEST_COHORT_SEED}-n{n_cases}"
    if (cohort / "manifest.csv").exists():
        echo(f"\n==> 7/7 chest radiographs: reusing {cohort}")
    else:
        _step("7/7 chest-radiograph test cohort: samd phantom --kind radiograph",
              _samd("phantom", "--kind", "radiograph", "--n-cases", str(n_cases), "--seed", str(CXR_TEST_COHORT_SEED),
                    "--out", str(cohort), "--split", "test"), log=log, echo=echo)
    protocol = out / f"cxr-protocol-n{n_cases}-b{bootstrap}.yaml"
    text = (CXR_EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    for k, v in {"{{BUNDLE}}": bundle.as_posix(), "{{MANIFEST}}": (cohort / "manifest.csv").as_posix(),
                 "{{REPLICATES}}": str(bootstrap)}.items():
        text = text.replace(k, v)
    protocol.write_text(text, encoding="utf-8")
    _step("7/7 chest-radiograph standalone performance: samd validate",
          _samd("validate", str(protocol), "--out", str(run_dir / "cxr-validation"), "--tracking-uri", tracking,
                "--audit-log", str(audit)), log=log, echo=echo, ok_codes=(0, 1))
    result = json.loads((run_dir / "cxr-validation" / "result.json").read_text(encoding="utf-8"))
    digest = stable_result_sha256(result)
    (run_dir / "cxr-validation" / "result.stable.sha256").write_text(digest + "\n", encoding="utf-8")
    signed = _documents(run_dir, log, echo, label="7/7 chest-radiograph", runs=[result["mlflow_run_id"]],
                        config=CXR_EXAMPLE / "submission.yaml", folder="cxr-submission",
                        verdict=str(result["verdict"]), junit=junit, tracking=tracking, audit=audit)
    return str(result["verdict"]), digest, signed
