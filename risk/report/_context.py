"""Assemble everything the templates show, and the list of what is missing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from samd_core.hashing import sha256_bytes
from risk._checks import check_traceability
from risk._junit import TestOutcome
from risk._requirements import load_requirements
from risk._riskfile import load_risk_file
from risk._soup import soup_list
from risk.errors import IntegrityError, InvalidParameterError, RiskFileError
from risk.report._claims import (
    NOT_MET,
    benefit_risk_sentences,
    conclusion_sentences,
    criteria_summary,
    evidence_supports_claims,
    reader_study_claim,
    subgroup_findings,
)
from risk.report._compare import comparison_summary
from risk.report._equivalence import compare_with_predicate
from risk.report._normalize import device_identity, endpoint_rows, mrmc_summary, parse_changelog, subgroup_rows
from risk.report._runs import RunRecord
from samd_core.hashing import sha256_bytes

__all__ = ["Missing", "build_context", "ifu_sha256", "normalize_ifu"]


@dataclass(frozen=True, slots=True)
class Missing:
    """A value that is not available; renders as a visible placeholder (only with ``--draft``)."""

    what: str

    def __html__(self) -> str:
        return str(Markup('<span class="placeholder">[MISSING: {}]</span>').format(self.what))

    def __bool__(self) -> bool:
        return False


def normalize_ifu(text: str) -> str:
    """Indications-for-use text in the one form that is hashed and shown: NFC, single spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def ifu_sha256(text: str) -> str:
    """SHA-256 (hex) of the UTF-8 bytes of `normalize_ifu` ``(text)``."""
    return sha256_bytes(normalize_ifu(text).encode("utf-8"))


def _audit_hash(records: Sequence[Mapping[str, Any]], run: RunRecord) -> str | None:
    """Hash of the audit record that covers ``run``'s result artifact.

    Preferred: the run's ``mlflow.run.end`` record (`validation.tracking.audit_run_end`); its
    recorded SHA-256 of the result artifact must equal the artifact read now. Otherwise the last
    record whose ``object_sha256`` is the artifact's SHA-256.
    """
    ends = [r for r in records if r.get("action") == "mlflow.run.end"
            and isinstance(r.get("object"), Mapping) and r["object"].get("id") == run.run_id]
    if ends:
        rec = ends[-1]
        logged = ((rec.get("context") or {}).get("mlflow") or {}).get("artifacts") or {}
        entry = logged.get(run.result_artifact)
        stated = entry.get("sha256") if isinstance(entry, Mapping) else entry
        if stated is not None and stated != run.result_sha256:
            raise IntegrityError(
                f"run {run.run_id}: artifact {run.result_artifact} has SHA-256 {run.result_sha256}, but the audit "
                f"record (seq {rec.get('seq')}) holds {stated}: the artifact changed after the run"
            )
        return str(rec["hash"])
    by_sha = [r for r in records if r.get("object_sha256") == run.result_sha256]
    return str(by_sha[-1]["hash"]) if by_sha else None


PROVENANCE = ("clinical", "synthetic", "simulated")


def _provenance(config: Mapping[str, Any], key: str, results: Sequence[Mapping[str, Any]],
                missing: list[str]) -> str | Missing:
    """Provenance of the standalone test sets or reader studies: from the results, else the config.

    A result that records ``provenance`` (or ``test_set.provenance``) wins over the configuration
    only when they agree; a disagreement is an `IntegrityError`.
    """
    stated = (config.get(key) or {}).get("provenance")
    recorded = set()
    for r in results:
        v = r.get("provenance", (r.get("test_set") or {}).get("provenance") if isinstance(r.get("test_set"), Mapping)
                  else None)
        if isinstance(v, str):
            recorded.add(v)
    if len(recorded) > 1 or (recorded and stated is not None and stated not in recorded):
        raise IntegrityError(f"`{key}.provenance` is {stated!r} in the configuration but the runs record "
                             f"{sorted(recorded)}")
    value = stated if stated is not None else (next(iter(recorded)) if recorded else None)
    if value is None:
        what = "test sets" if key == "standalone" else "reader studies"
        missing.append(f"provenance of the {what}: `{key}.provenance` not configured (one of {', '.join(PROVENANCE)})")
        return Missing("provenance not declared")
    return str(value)


def _row_provenance(cell: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    if "endpoint" in cell:
        return ctx["standalone_provenance"]
    if "mrmc" in cell:
        return ctx["reader_provenance"]
    return None


def build_context(
    config: Mapping[str, Any],
    *,
    base_dir: Path,
    runs: Sequence[RunRecord],
    run_missing: Sequence[str],
    tests: Mapping[str, TestOutcome] | None,
    audit_records: Sequence[Mapping[str, Any]] | None,
    audit_head: str | None,
    access_logs: Sequence[Path] = (),
) -> tuple[dict[str, Any], list[str]]:
    """Build the template context; returns ``(context, missing)``.

    ``access_logs`` are the audit logs (the report's own and the configuration's
    ``test_set_audit_logs``) searched, each verified, for prior accesses of each validation run's
    test-set hash (`prior_access_rows`).

    Every missing input becomes a `Missing` value in the context and a line in ``missing``.
    """
    missing: list[str] = list(run_missing)

    def need(key: str, what: str) -> Any:
        if key in config:
            return config[key]
        missing.append(what)
        return Missing(what)

    def path_of(key: str, what: str) -> Path | Missing:
        if key not in config:
            missing.append(f"{what}: `{key}` not configured")
            return Missing(what)
        p = (base_dir / config[key]).resolve()
        if not p.exists():
            missing.append(f"{what}: {p} does not exist")
            return Missing(what)
        return p

    ctx: dict[str, Any] = {}
    ctx["submitter"] = need("submitter", "submitter (name, address, phone, contact): `submitter` not configured")
    ctx["device"] = need("device", "device names and classification: `device` not configured")
    if "indications_for_use" in config:
        text = normalize_ifu(config["indications_for_use"])
        ctx["ifu"] = {"text": text, "sha256": ifu_sha256(text)}
    else:
        ctx["ifu"] = need("indications_for_use", "indications for use: `indications_for_use` not configured")
    ctx["predicates"] = need("predicates", "predicate device: `predicates` not configured") or Missing(
        "predicate device"
    )
    if config.get("predicates") == []:
        missing.append("predicate device: `predicates` is empty")
    ctx["summary"] = need("summary", "510(k) Summary narratives: `summary` not configured")
    ctx["software"] = need("software", "software documentation: `software` not configured")

    validation = [r for r in runs if r.kind == "validation"]
    mrmc = [r for r in runs if r.kind == "mrmc"]
    if not validation:
        missing.append("standalone performance: no --run of kind `validation` (samd validate) given")

    # sources: one per run, cited as [S1], [S2], ...
    sources = []
    for i, r in enumerate(runs, start=1):
        audit = None
        if audit_records is not None:
            audit = _audit_hash(audit_records, r)
            if audit is None:
                missing.append(f"audit record of run {r.run_id} ({r.result_artifact}, SHA-256 {r.result_sha256}): "
                               "not found in the audit log")
        sources.append({"key": f"S{i}", "run_id": r.run_id, "kind": r.kind, "artifact": r.result_artifact,
                        "sha256": r.result_sha256, "audit_hash": audit or Missing("audit record hash")})
    if audit_records is None:
        missing.append("audit trail: --audit-log FILE not given (needed to cite audit-record hashes)")
    src_of = {s["run_id"]: s for s in sources}
    ctx["sources"] = sources
    ctx["audit_head"] = audit_head or Missing("audit-chain head hash")

    # device identity: from the bundle when there is one, else from the protocol (or the config)
    identity: Any = Missing("device identity (no validation run)")
    declared = config.get("device") if isinstance(config.get("device"), Mapping) else {}
    for r in validation:
        ident, lacking = device_identity(r)
        ident["source"] = src_of[r.run_id]
        ident["declared_in"] = "run"
        for f in ("name", "version"):
            if f not in lacking and declared.get(f) and str(declared[f]) != ident[f]:
                raise IntegrityError(f"`device.{f}` is {declared[f]!r} in the submission configuration but run "
                                     f"{r.run_id} records {ident[f]!r} (one device identity throughout)")
        for f in lacking:
            if f in ("name", "version") and declared.get(f):
                ident[f] = str(declared[f])
                ident["declared_in"] = "submission configuration"
                continue
            hint = ("params/tags or result.json bundle" if ident["mode"] == "bundle" else
                    f"protocol `device.{f}`; or give `device.{f}` in the submission configuration")
            missing.append(f"device identity: run {r.run_id} records no `{f}` ({hint})")
            ident[f] = Missing(f"{f} of the device")
        if isinstance(identity, Missing):
            identity = ident
        else:
            for f in ("mode", "name", "version", "core_fingerprint", "bundle_sha256"):
                a, b = identity[f], ident[f]
                if a is not None and b is not None and not isinstance(a, Missing) and not isinstance(b, Missing) \
                        and a != b:
                    raise IntegrityError(
                        f"validation runs cite different devices: `{f}` is {a!r} in run "
                        f"{identity['source']['run_id']} and {b!r} in run {r.run_id}"
                    )
    ctx["identity"] = identity

    ctx["validations"] = [
        {"run_id": r.run_id, "source": src_of[r.run_id], "verdict": r.result.get("verdict"),
         "protocol_sha256": r.result.get("protocol_sha256"), "manifest_sha256": r.result.get("manifest_sha256"),
         "endpoints": endpoint_rows(r), "subgroups": subgroup_rows(r),
         "tables": list(r.tables), "froc": r.result.get("froc"),
         "samd_version": r.tags.get("samd.version", r.params.get("samd_version")),
         "interaction_tests": [
             {k: t.get(k) for k in ("variable", "endpoint", "statistic", "pvalue", "pvalue_adjusted")}
             for t in r.result.get("interaction_tests", []) if isinstance(t, Mapping)],
         "multiplicity": r.result.get("multiplicity"), "n_cases": r.result.get("n_cases"),
         "warnings": list(r.result.get("warnings", [])),
         "prior_accesses": prior_access_rows(r.run_id, r.result, access_logs, audit_records),
         "training_overlap": training_overlap_line(r.result)}
        for r in validation
    ]
    for v in ctx["validations"]:
        levels = [ep["confidence_level"] for ep in v["endpoints"] if isinstance(ep["confidence_level"], float)]
        v["findings"] = subgroup_findings(v["endpoints"], v["subgroups"], v["interaction_tests"],
                                          alpha=1.0 - levels[0] if levels else 0.05)
    endpoints = {ep["id"]: ep for v in ctx["validations"] for ep in v["endpoints"]}
    ctx["endpoints"] = endpoints
    ctx["comparisons"] = [comparison_summary(r, src_of[r.run_id]) for r in runs if r.kind == "compare"]
    ctx["mrmc"] = [dict(mrmc_summary(r), source=src_of[r.run_id]) for r in mrmc]

    # provenance of the evidence, and the claims computed from the verdicts
    ctx["standalone_provenance"] = _provenance(config, "standalone", [r.result for r in validation], missing)
    ctx["reader_provenance"] = (_provenance(config, "reader_study", [r.result for r in mrmc], missing)
                                if mrmc else None)
    crit = criteria_summary(ctx["validations"])
    hypothesis = (config.get("reader_study") or {}).get("hypothesis")
    claims = [reader_study_claim(m, hypothesis) for m in ctx["mrmc"]]
    for m, c in zip(ctx["mrmc"], claims):
        m["claim"] = c
    ctx["criteria"] = crit
    ctx["reader_claims"] = claims
    ctx["conclusion"] = conclusion_sentences(
        crit, provenance=ctx["standalone_provenance"] if isinstance(ctx["standalone_provenance"], str) else None)
    ctx["supports_claims"] = evidence_supports_claims(crit, claims)
    ctx["header_note"] = NOT_MET if crit.verdict == "fail" else None

    # substantial-equivalence table: performance rows decided by their rule, others typed
    rows = []
    for i, row in enumerate(config.get("substantial_equivalence", [])):
        cell = row["subject"]
        value: Any
        estimate: Mapping[str, Any] | None = None
        if "text" in cell:
            value = {"kind": "text", "text": cell["text"]}
        elif "indications_for_use" in cell:
            value = {"kind": "ifu"}
        elif "endpoint" in cell:
            ep = endpoints.get(cell["endpoint"])
            if ep is None:
                missing.append(f"substantial equivalence row {i} ({row['attribute']}): endpoint "
                               f"{cell['endpoint']!r} not in the given validation runs")
                value = {"kind": "missing", "missing": Missing(f"endpoint {cell['endpoint']}")}
            else:
                value = {"kind": "endpoint", "ep": ep, "source": src_of[ep["run_id"]]}
                estimate = ep
        elif "identity" in cell:
            value = {"kind": "identity", "field": cell["identity"]}
        else:
            if not mrmc:
                missing.append(f"substantial equivalence row {i} ({row['attribute']}): no reader study run given")
                value = {"kind": "missing", "missing": Missing("reader study run")}
            else:
                m0 = ctx["mrmc"][0]
                value = {"kind": "mrmc", "which": cell["mrmc"], "m": m0}
                if cell["mrmc"] == "effect":
                    estimate = m0["difference"]
                else:
                    estimate = next((mod for mod in m0["modalities"] if mod["name"] == cell["mrmc"]), None)
                if estimate is not None:
                    estimate = {**estimate, "confidence_level": estimate.get("confidence_level")
                                or m0["confidence_level"]}
        decided = None
        if "rule" in row and estimate is not None:
            try:
                decided = compare_with_predicate(estimate, row["predicate"], row["rule"])
            except InvalidParameterError as exc:
                raise RiskFileError("submission configuration",
                                    [f"`/substantial_equivalence/{i}` ({row['attribute']}): {exc}"]) from exc
        rows.append({**row, "value": value, "decided": decided,
                     "provenance": _row_provenance(cell, ctx)})
    if "substantial_equivalence" not in config:
        missing.append("substantial-equivalence table: `substantial_equivalence` not configured")
    ctx["se_rows"] = rows

    # risk file, requirements, tests
    risk_path = path_of("risk_file", "risk file")
    req_paths = config.get("requirements")
    if not req_paths:
        missing.append("software requirements: `requirements` not configured")
    if tests is None:
        missing.append("test results: --junit FILE not given (needed for the V&V summary and traceability)")
    ctx["risk"] = None
    ctx["trace"] = None
    ctx["requirements"] = ()
    risk_file = load_risk_file(risk_path) if isinstance(risk_path, Path) else None
    ctx["risk"] = risk_file
    if (risk_file is not None and risk_file.version and isinstance(identity, dict)
            and isinstance(identity.get("version"), str) and risk_file.version != identity["version"]):
        missing.append(f"risk file: `version` is {risk_file.version!r} but the validated device is version "
                       f"{identity['version']!r} (one device identity throughout)")
    if req_paths:
        ctx["requirements"] = load_requirements([(base_dir / p).resolve() for p in req_paths])
    if req_paths and tests is not None:
        ctx["trace"] = check_traceability(
            ctx["requirements"], tests, risk_file=risk_file,
            endpoints={k: bool(v["passed"]) for k, v in endpoints.items()},
        )
        ctx["tests"] = {
            "n": len(tests),
            "passed": sum(t.status == "passed" for t in tests.values()),
            "failed": sum(t.status in ("failed", "error") for t in tests.values()),
            "skipped": sum(t.status == "skipped" for t in tests.values()),
        }
    sw = config.get("software", {})
    if risk_file is not None and sw:
        unknown = [h for h in sw.get("level_hazard_ids", []) if h not in {z.id for z in risk_file.hazards}]
        if unknown:
            raise RiskFileError("software.level_hazard_ids", [f"hazard id {u!r} is not in the risk file" for u in unknown])

    lock = path_of("lock_file", "SOUP list (requirements.lock)")
    ctx["soup"] = Missing("SOUP list")
    if isinstance(lock, Path):
        purposes = sw.get("soup_purposes")
        ctx["soup"] = soup_list(
            lock,
            purposes=(base_dir / purposes).resolve() if purposes else None,
            roots=sw.get("soup_roots"),
        )
    changelog = path_of("changelog", "version history (CHANGELOG.md)")
    ctx["changelog"] = parse_changelog(changelog.read_text("utf-8")) if isinstance(changelog, Path) else changelog
    n_haz = n_ok = None
    if risk_file is not None:
        n_haz = len(risk_file.hazards)
        n_ok = sum(bool(risk_file.residual_acceptable(h)) for h in risk_file.hazards)
    ctx["benefit_risk"] = benefit_risk_sentences(crit, claims, n_hazards=n_haz, n_residual_acceptable=n_ok)
    ctx["rationale_allowed"] = bool(ctx["supports_claims"]) and n_haz is not None and n_haz == n_ok
    ctx["tested_versions"] = sorted(
        {(r.tags.get("samd.version") or r.params.get("samd_version") or "", r.run_id, r.kind) for r in runs}
    )
    ctx["escape"] = escape
    return ctx, missing


def training_overlap_line(result: Mapping[str, Any]) -> str:
    """What the run says about training/test overlap (``training_overlap.statement``), or that the
    run predates the check."""
    block = result.get("training_overlap")
    if isinstance(block, Mapping) and isinstance(block.get("statement"), str):
        return str(block["statement"])
    return "training/test overlap not checked: the run does not record the check (samd before 0.2.1)"


def prior_access_rows(run_id: str, result: Mapping[str, Any], logs: Sequence[Path],
                      audit_records: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Every prior access of the run's test-set hash: those the run recorded in result.json
    (``test_set_prior_access_records``) and those in ``logs`` (each verified first,
    `validation.harness.prior_accesses_across`) before the run's own access, without duplicates
    (same log and seq), oldest first."""
    from validation.harness import ACCESS_FIELDS, prior_accesses_across

    sha = result.get("manifest_sha256")
    rows = [dict(a) for a in result.get("test_set_prior_access_records") or [] if isinstance(a, Mapping)]
    if isinstance(sha, str) and logs:
        own = [r for r in audit_records or () if r.get("action") == "testset.access"
               and isinstance(r.get("context"), Mapping) and r["context"].get("mlflow_run_id") == run_id]
        before = str(own[0]["ts_utc"]) if own else None
        rows += prior_accesses_across(list(logs), sha, before_utc=before)
    seen: set[tuple[Any, Any]] = set()
    out = []
    for a in rows:
        key = (a.get("log"), a.get("seq"))
        if a.get("run_id") == run_id or key in seen:
            continue
        seen.add(key)
        out.append({k: a.get(k) for k in ACCESS_FIELDS})
    return sorted(out, key=lambda a: (str(a["ts_utc"] or ""), str(a["log"]), int(a["seq"] or 0)))
