"""``samd demo``: the end-to-end example device, from a sequestered test cohort to the documents.

Every step runs the same ``samd`` subcommand a user would type (printed before it runs), in a
fresh ``python -m samd`` process, so the demo exercises exactly the public command line:

1. ``samd phantom``   - sequestered test cohort (real DICOM series, masks, hash manifest);
2. ``samd verify``    - IQ/OQ of the installed core and the shipped locked model;
3. ``samd validate``  - the pre-specified protocol in bundle mode (MLflow + audit trail);
4. ``samd mrmc``      - a simulated reader study, unaided vs aided (MLflow + audit trail);
5. ``pytest``         - the verification tests the reference device's risk file cites (JUnit);
6. ``samd report``    - the 510(k)-style documents (HTML + PDF) citing the runs and hashes;
   then the documents' index is signed off in the audit trail (Ed25519, meaning "approved",
   with a demonstration key kept in the output folder) and ``samd audit verify`` checks the
   chain, the signatures and every MLflow run.

Nothing already written is overwritten: each invocation writes a new ``runs/<UTC time>/``
folder; the cohort, the MLflow store and the audit trail are shared between invocations.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import click

__all__ = ["VOLATILE_RESULT_KEYS", "command", "stable_result_sha256"]

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "reference_device"
_TEST_COHORT_SEED = 2026  # the reference model was developed on seeds 1001-1003 (docs/bundle.md)
_READER_STUDY_SEED = 20261


def _run(
    step: str, args: list[str], *, log: Path, ok_codes: tuple[int, ...] = (0,), cwd: Path | None = None
) -> int:
    """Run one command, streaming its output to the terminal and to ``log``."""
    click.secho(f"\n==> {step}", bold=True)
    click.echo("    $ " + " ".join(shlex.quote(a) for a in args))
    t0 = time.perf_counter()
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(shlex.quote(a) for a in args)}\n")
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, cwd=cwd
        )
        assert proc.stdout is not None  # noqa: S101 - Popen with PIPE always has stdout
        for line in proc.stdout:
            sys.stdout.write("    " + line)
            fh.write(line)
        rc = proc.wait()
    click.echo(f"    [{step.split(':')[0]}: exit {rc}, {time.perf_counter() - t0:.0f} s]")
    if rc not in ok_codes:
        raise click.ClickException(f"{step} failed with exit code {rc}; see {log}")
    return rc


def _verification_tests(config_path: Path) -> list[str]:
    """pytest node ids that the risk file and requirements of a submission cite as verification."""
    from risk import load_requirements, load_risk_file
    from risk.report import load_submission_config

    cfg = load_submission_config(config_path)
    base = config_path.parent
    ids: set[str] = set()
    for hazard in load_risk_file(base / cfg["risk_file"]).hazards:
        for control in hazard.controls:
            ids.update(v.ref for v in control.verification if v.kind == "test")
    for req in load_requirements([base / p for p in cfg.get("requirements", [])]):
        ids.update(ref for kind, ref in req.verified_by if kind == "test")
    return sorted(ids)


#: result.json keys that legitimately differ between two runs of the same protocol and data.
VOLATILE_RESULT_KEYS = ("mlflow_run_id", "mlflow_experiment_id", "test_set_prior_accesses")


def stable_result_sha256(result: dict) -> str:  # type: ignore[type-arg]
    """SHA-256 of a validation ``result.json`` without run ids, timestamps and access counts.

    Two runs of the same protocol on the same data and platform give the same digest.
    """
    import hashlib

    keep = {k: v for k, v in result.items() if k not in VOLATILE_RESULT_KEYS}
    keep["warnings"] = [w for w in result.get("warnings", []) if "accessed" not in w]
    device = dict(keep.get("device") or {})
    for k in ("cases_computed", "cases_reused"):
        device.pop(k, None)
    keep["device"] = device
    text = json.dumps(keep, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sign_off(audit: Path, document: Path, private_key: Path) -> dict:  # type: ignore[type-arg]
    """Append a signed ``sign`` record (meaning "approved") for ``document`` to the audit trail."""
    from validation.audit import AuditLog, sha256_file

    log = AuditLog(audit, signing_key=private_key)
    return log.append(
        "sign",
        object={"type": "document", "id": document.name, "folder": document.parent.parent.name},
        object_sha256=sha256_file(document),
        reason="sign-off of the rendered submission documents (demonstration key)",
        signature_meaning="approved",
    )


def _samd(*args: str) -> list[str]:
    return [sys.executable, "-m", "samd", *args]


def _write_protocol(path: Path, cohort: Path, bundle: Path, *, replicates: int) -> None:
    """Fill the plan's template: where the data are, and the bundle's own locked threshold."""
    settings = json.loads((bundle / "inference.json").read_text(encoding="utf-8"))
    fields = {
        "{{MANIFEST}}": (cohort / "manifest.csv").as_posix(),
        "{{LESIONS}}": (cohort / "lesions.csv").as_posix(),
        "{{BUNDLE}}": bundle.as_posix(),
        "{{THRESHOLD}}": repr(float(settings["case_threshold"])),
        "{{REPLICATES}}": str(replicates),
    }
    text = (_EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    for key, value in fields.items():
        text = text.replace(key, value)
    path.write_text(text, encoding="utf-8")


def _write_reader_study(path: Path, *, n_readers: int, n_cases: int) -> None:
    """Simulated unaided/aided study (Roe & Metz 1997 'HH' structure, AUC ~0.86 unaided)."""
    from clinical_eval.simulation import roe_metz_config, simulate_roe_metz

    cfg = roe_metz_config("HH", 1.5, delta_mu=0.4)
    df = simulate_roe_metz(
        cfg, n_readers=n_readers, n_nondiseased=n_cases // 2, n_diseased=n_cases - n_cases // 2,
        rng=_READER_STUDY_SEED,
    )
    df["modality"] = df["modality"].map({1: "unaided", 2: "aided"})
    df["reader"] = df["reader"].map(lambda r: f"R{int(r):02d}")
    df["case"] = df["case"].map(lambda c: f"C{int(c):04d}")
    df.to_csv(path, index=False, float_format="%.10g")


@click.command("demo")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"),
              show_default=True, help="Working folder (cohort, MLflow store, audit trail, runs).")
@click.option("--n-cases", type=click.IntRange(min=10), default=300, show_default=True,
              help="Size of the sequestered test cohort.")
@click.option("--bootstrap", type=click.IntRange(min=0), default=2000, show_default=True,
              help="Bootstrap replicates of the protocol.")
@click.option("--readers", type=click.IntRange(min=3), default=8, show_default=True,
              help="Readers in the simulated reader study.")
@click.option("--reader-cases", type=click.IntRange(min=10), default=120, show_default=True,
              help="Cases in the simulated reader study.")
@click.option("--skip-tests", is_flag=True, help="Do not run the verification tests (the report is then a draft).")
def command(out: Path, n_cases: int, bootstrap: int, readers: int, reader_cases: int, skip_tests: bool) -> None:
    """Run the end-to-end example: cohort, IQ/OQ, validation, reader study, documents."""
    t_start = time.perf_counter()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run_dir = out / "runs" / stamp
    run_dir.mkdir(parents=True)
    log = run_dir / "demo.log"
    tracking = f"sqlite:///{(out / 'mlflow.db').as_posix()}"
    audit = out / "audit.jsonl"
    cohort = out / f"cohort-seed{_TEST_COHORT_SEED}-n{n_cases}"
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from samd_core.qualification import shipped_bundles

    bundles = shipped_bundles()
    if not bundles:
        raise click.ClickException("no locked model is shipped with this installation of samd_core")
    bundle = bundles[0]

    click.secho(f"samd demo: output in {out} (this run: {run_dir.name})", bold=True)
    if (cohort / "manifest.csv").exists():
        click.echo(f"\n==> 1/6 test cohort: reusing {cohort} (samd validate re-checks every hash)")
    else:
        _run("1/6 test cohort: samd phantom", _samd("phantom", "--n-cases", str(n_cases), "--seed",
             str(_TEST_COHORT_SEED), "--out", str(cohort), "--split", "test"), log=log)
    _run("2/6 qualification: samd verify", _samd("verify", "--out", str(run_dir / "qualification")), log=log)
    keys = out / "demo-signing-key"  # a demonstration key; a real sign-off uses the signer's own key
    if not (keys / "private.pem").exists():
        _run("signing key (demonstration): samd bundle keygen", _samd("bundle", "keygen", "--out", str(keys)), log=log)

    protocol = out / f"protocol-n{n_cases}-b{bootstrap}.yaml"
    _write_protocol(protocol, cohort, bundle, replicates=bootstrap)
    _run("3/6 standalone performance: samd validate",
         _samd("validate", str(protocol), "--out", str(run_dir / "validation"), "--tracking-uri", tracking,
               "--audit-log", str(audit), "--signing-key", str(keys / "private.pem")), log=log, ok_codes=(0, 1))
    validation = json.loads((run_dir / "validation" / "result.json").read_text(encoding="utf-8"))

    study = out / f"reader-study-r{readers}-c{reader_cases}.csv"
    _write_reader_study(study, n_readers=readers, n_cases=reader_cases)
    _run("4/6 reader study: samd mrmc",
         _samd("mrmc", str(study), "--reference", "unaided", "--out", str(run_dir / "mrmc"),
               "--tracking-uri", tracking, "--audit-log", str(audit)), log=log)
    mrmc = json.loads((run_dir / "mrmc" / "mrmc_result.json").read_text(encoding="utf-8"))

    junit = run_dir / "junit.xml"
    report_args = ["report", "--run", validation["mlflow_run_id"], "--run", mrmc["mlflow_run_id"],
                   "--config", str(_EXAMPLE / "submission.yaml"), "--out", str(run_dir / "submission"),
                   "--tracking-uri", tracking, "--audit-log", str(audit)]
    repo_tests = Path(__file__).resolve().parents[2] / "tests"
    if skip_tests or not repo_tests.is_dir():
        click.echo("\n==> 5/6 verification tests: skipped (the documents are rendered as a draft)")
        report_args.append("--draft")
    else:
        ids = _verification_tests(_EXAMPLE / "submission.yaml")
        _run("5/6 verification tests cited by the risk file: pytest",
             [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *ids],
             log=log, cwd=repo_tests.parent)
        report_args += ["--junit", str(junit)]
    _run("6/6 submission documents: samd report", _samd(*report_args), log=log)
    signed = _sign_off(audit, run_dir / "submission" / "submission_index.json", keys / "private.pem")
    click.echo(f"    signed off submission_index.json (audit seq {signed['seq']}, meaning "
               f"{signed['signature_meaning']}, key {signed['key_id']})")
    _run("audit trail: samd audit verify",
         _samd("audit", "verify", str(audit), "--public-key", str(keys / "public.pem"), "--mlflow",
               "--tracking-uri", tracking), log=log)

    minutes = (time.perf_counter() - t_start) / 60
    digest = stable_result_sha256(validation)
    (run_dir / "validation" / "result.stable.sha256").write_text(digest + "\n", encoding="utf-8")
    click.secho(f"\nDone in {minutes:.1f} min. Verdict of the standalone test: {validation['verdict']}", bold=True)
    click.echo(f"  result.json digest without run ids (equal on every rerun): {digest}")
    click.echo(f"  qualification record : {run_dir / 'qualification' / 'qualification.md'}")
    click.echo(f"  validation result    : {run_dir / 'validation' / 'result.json'}")
    click.echo(f"  reader study         : {run_dir / 'mrmc' / 'mrmc_report.txt'}")
    click.echo(f"  submission documents : {run_dir / 'submission'} (submission.pdf, *.html, submission_index.json)")
    click.echo(f"  audit trail          : {audit}")
    click.echo(f"  MLflow UI            : mlflow ui --backend-store-uri {tracking} --host 127.0.0.1 --port 5000")
