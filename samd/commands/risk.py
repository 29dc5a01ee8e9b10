"""``samd risk``: traceability checks, SOUP list and SBOM (ISO 14971 / IEC 62304)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

__all__ = ["command"]


@click.group("risk")
def command() -> None:
    """Risk file, requirements traceability, SOUP list and SBOM."""


@command.command("check")
@click.option("--junit", "junit", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="JUnit XML of a real test run (pytest --junitxml); repeatable.")
@click.option("--srs", "srs", multiple=True, type=click.Path(exists=True),
              help="Requirements YAML file or folder (repeatable; default: risk/srs).")
@click.option("--risk-file", default=None, type=click.Path(exists=True, dir_okay=False), help="Risk file YAML.")
@click.option("--result", "results", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="result.json of a `samd validate` run, for endpoint verifications (repeatable).")
@click.option("--run", "runs", multiple=True, metavar="RUN_ID",
              help="MLflow run id of a `samd validate` run whose result.json gives endpoint results (repeatable).")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI for --run.")
@click.option("--json", "json_out", default=None, type=click.Path(dir_okay=False),
              help="Also write the findings and matrices as JSON.")
def check(junit: tuple[str, ...], srs: tuple[str, ...], risk_file: str | None, results: tuple[str, ...],
          runs: tuple[str, ...], tracking_uri: str | None, json_out: str | None) -> None:
    """Check traceability; exit 0 no findings, 1 findings, 2 error."""
    import risk

    rep = risk.check_traceability_files(junit=junit, srs=srs or ("risk/srs",), risk_file=risk_file, results=results,
                                        runs=runs, tracking_uri=tracking_uri)
    n_ok = sum(r.status == "verified" for r in rep.requirement_rows)
    n_reqs = len(rep.requirement_rows)
    click.echo(f"{n_reqs} requirements ({n_ok} verified), {len(rep.control_rows)} risk controls, "
               f"{rep.n_tests} tests ({rep.n_tests_passed} passed)")
    for f in rep.findings:
        click.echo(str(f))
    if json_out:
        Path(json_out).write_text(json.dumps(risk.traceability_dict(rep), indent=2) + "\n", "utf-8")
    click.echo("OK: no findings" if rep.ok else f"FAIL: {len(rep.findings)} finding(s)")
    sys.exit(0 if rep.ok else 1)


@command.command("soup")
@click.option("--lock", default="requirements.lock", type=click.Path(exists=True, dir_okay=False))
@click.option("--purposes", default=None, type=click.Path(exists=True, dir_okay=False),
              help="YAML: package -> {purpose, known_anomalies}.")
@click.option("--root", "roots", multiple=True, help="Keep these packages and what they pull in (repeatable).")
def soup(lock: str, purposes: str | None, roots: tuple[str, ...]) -> None:
    """Print the SOUP list (JSON) generated from a hashed lock file."""
    import risk

    items = risk.soup_list(lock, purposes=purposes, roots=roots or None)
    click.echo(json.dumps([{"name": s.name, "version": s.version, "hashes": list(s.hashes), "purpose": s.purpose,
                            "known_anomalies": s.known_anomalies} for s in items], indent=2))


@command.command("sbom")
@click.option("--lock", default="requirements.lock", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="Device (locked core) name.")
@click.option("--version", "version", required=True, help="Device version.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output .cdx.json file.")
def sbom(lock: str, name: str, version: str, out: str) -> None:
    """Write a CycloneDX 1.6 JSON SBOM of the locked core's runtime environment."""
    import risk

    items = risk.soup_list(lock, roots=risk.CORE_RUNTIME_ROOTS)
    Path(out).write_text(risk.sbom_json(items, device_name=name, device_version=version,
                                        timestamp=datetime.now(timezone.utc)), "utf-8")
    click.echo(out)
