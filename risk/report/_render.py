"""Render the submission documents (HTML + PDF), the SBOM and ``submission_index.json``."""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

from samd_core import __version__
from samd_core.hashing import sha256_file
from risk._junit import parse_junit
from risk._sbom import CORE_RUNTIME_ROOTS, sbom_json
from risk._schema import load_yaml, validate_document
from risk._soup import soup_list
from risk.errors import IntegrityError, MissingInputsError, SamdError
from risk.report._context import Missing, build_context, ifu_sha256
from risk.report._format import fmt_num, fmt_pct
from risk.report._init import refuse_todos, without_todos
from risk.report._runs import load_runs

__all__ = ["SECTIONS", "RenderedSubmission", "load_submission_config", "render_submission"]

#: (section id, title) in document order; each becomes ``<id>.html`` and ``<id>.pdf``.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("510k_summary", "510(k) Summary"),
    ("indications_for_use", "Indications for Use"),
    ("device_description", "Device Description"),
    ("substantial_equivalence", "Substantial Equivalence Comparison"),
    ("software_documentation", "Software Documentation"),
    ("standalone_performance", "Standalone Performance Report"),
    ("reader_study", "Clinical Performance: Reader Study Report"),
    ("risk_management", "Risk Management Summary"),
)
_IFU = re.compile(r'<span class="ifu" data-sha256="([0-9a-f]{64})">(.*?)</span>', re.S)


@dataclass(frozen=True, slots=True)
class RenderedSubmission:
    """What `render_submission` wrote: ``files`` maps file name -> SHA-256; ``index_path``; the
    acceptance-criteria ``verdict`` (``pass``, ``fail`` or ``not evaluated``)."""

    out_dir: str
    files: Mapping[str, str]
    index_path: str
    draft: bool
    missing: tuple[str, ...]
    verdict: str = "not evaluated"


def load_submission_config(path: str | Path, *, draft: bool = False) -> dict[str, Any]:
    """Read and schema-validate a ``submission.yaml``.

    A value still starting with ``TODO`` (`samd report init`) is refused with
    `MissingInputsError`; with ``draft`` the parts holding TODOs are left out (listed by
    `load_submission_config_draft`).
    """
    return load_submission_config_draft(path)[0] if draft else _load_final(path)


def _load_final(path: str | Path) -> dict[str, Any]:
    doc = load_yaml(path)
    if isinstance(doc, Mapping):
        refuse_todos(doc, path)
    validate_document(doc, "submission", path)
    return dict(doc)


def load_submission_config_draft(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """``(config, dropped)``: the configuration without the parts that still hold a TODO."""
    doc = load_yaml(path)
    dropped: list[str] = []
    if isinstance(doc, Mapping):
        doc, dropped = without_todos(doc)
    validate_document(doc, "submission", path)
    return dict(doc), dropped


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("risk.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt_num
    env.filters["pct"] = fmt_pct
    env.tests["missing"] = lambda v: isinstance(v, Missing)
    return env


def _check_html(name: str, text: str, *, draft: bool, ifu: Any) -> int:
    """Refuse leftover template syntax, placeholders outside drafts, and differing IFU texts."""
    for token in ("{{", "}}", "{%", "%}", "{#"):
        if token in text:
            raise SamdError(f"{name}: template syntax {token!r} left in the rendered document")
    if not draft and 'class="placeholder"' in text:
        raise SamdError(f"{name}: a placeholder was rendered outside --draft")
    found = _IFU.findall(text)
    for stated, body in found:
        actual = ifu_sha256(html.unescape(re.sub(r"<[^>]+>", "", body)))
        expected = ifu["sha256"] if isinstance(ifu, Mapping) else None
        if stated != actual or (expected is not None and actual != expected):
            raise IntegrityError(
                f"{name}: indications-for-use text differs from the configured one "
                f"(SHA-256 {actual}, expected {expected})"
            )
    return len(found)


def _write_pdfs(out: Path, section_ids: Sequence[str]) -> None:
    """Lay out the combined document once (WeasyPrint); split it into one PDF per section.

    Each section's PDF holds the section's pages followed by the sources appendix. Splitting the
    laid-out PDF (pypdf) instead of laying out every section again keeps page content identical
    between ``submission.pdf`` and the section files, and avoids repeating font subsetting.
    """
    from pypdf import PdfReader, PdfWriter
    from weasyprint import HTML

    doc = HTML(filename=str(out / "submission.html"), base_url=str(out)).render()
    doc.write_pdf(out / "submission.pdf")
    owner: list[str | None] = []
    for page in doc.pages:
        ids = [a for a in page.anchors if a in section_ids or a == "sources"]
        owner.append(ids[0] if ids else (owner[-1] if owner else None))
    appendix = [i for i, o in enumerate(owner) if o == "sources"]
    reader = PdfReader(out / "submission.pdf")
    for sid in section_ids:
        pages = [i for i, o in enumerate(owner) if o == sid]
        if not pages:
            raise SamdError(f"section {sid!r} produced no page in the PDF layout")
        writer = PdfWriter()
        for i in pages + appendix:
            writer.add_page(reader.pages[i])
        with open(out / f"{sid}.pdf", "wb") as fh:
            writer.write(fh)


def _sections(ctx: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The documents this submission has: the reader study only when one was given; titles that
    name synthetic or simulated evidence as such."""
    out = []
    for sid, title in SECTIONS:
        if sid == "reader_study":
            if not ctx["mrmc"]:
                continue
            prov = ctx["reader_provenance"]
            if prov != "clinical":
                label = prov if isinstance(prov, str) else "provenance not declared"
                title = f"Reader Study Report ({label} data; not clinical performance data)"
        if sid == "standalone_performance" and isinstance(ctx["standalone_provenance"], str) \
                and ctx["standalone_provenance"] != "clinical":
            title = f"{title} ({ctx['standalone_provenance']} test set)"
        out.append((sid, title))
    return tuple(out)


def _draw_figures(ctx: Mapping[str, Any], out: Path) -> None:
    """Draw each validation run's figures into ``out/figures`` and number them for the documents."""
    import pandas as pd

    from risk.report._figures import forest_figures, froc_figure, roc_figure

    number = 0
    prov = ctx["standalone_provenance"]
    label = f" ({prov} data)" if isinstance(prov, str) and prov != "clinical" else ""
    for v in ctx["validations"]:
        fig_dir = out / "figures" / v["run_id"]
        fig_dir.mkdir(parents=True, exist_ok=True)
        drawn = []
        sources = [f"{v['source']['artifact']} (SHA-256 {v['source']['sha256']})"]
        cases = next((local for art, local in v["tables"]), None)
        if cases is not None:
            table = pd.read_csv(cases)
            if {"truth", "score"} <= set(table.columns):
                art = v["tables"][0][0]
                fig = roc_figure(table["truth"], table["score"], v["endpoints"], fig_dir, run_id=v["run_id"],
                                 label=label)
                if fig is not None:
                    drawn.append((fig, [*sources, f"{art} (SHA-256 {sha256_file(Path(cases))})"]))
        froc = froc_figure(v.get("froc"), v["endpoints"], fig_dir, run_id=v["run_id"], label=label)
        if froc is not None:
            drawn.append((froc, sources))
        drawn = [(f, sources) for f in forest_figures(v["endpoints"], v["subgroups"], fig_dir, run_id=v["run_id"],
                                                      label=label)] + drawn
        v["figures"] = []
        for fig, src in drawn:
            number += 1
            path = fig_dir / fig.file
            v["figures"].append({"number": number, "href": f"figures/{v['run_id']}/{fig.file}",
                                 "square": fig.file == "roc.png",
                                 "caption": fig.caption, "sha256": sha256_file(path), "drawn_from": src})


def _verdict_record(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """What the submission index records about the evidence: the verdict and the failed criteria."""
    crit = ctx["criteria"]
    return {
        "acceptance_criteria": crit.verdict,
        "criteria_met": crit.n_met,
        "criteria_total": crit.n_total,
        "failed_criteria": [{"run_id": ep["run_id"], "endpoint": ep["id"], "value": ep["value"],
                             "ci_low": ep["ci_low"], "ci_high": ep["ci_high"], "criterion": ep["criterion"]}
                            for ep in crit.failed],
        "reader_study_hypotheses": [{"run_id": c.run_id, "hypothesis": c.hypothesis, "declared": c.declared,
                                     "met": c.met} for c in ctx["reader_claims"]],
        "claims_supported": bool(ctx["supports_claims"]),
        "standalone_provenance": ctx["standalone_provenance"] if isinstance(ctx["standalone_provenance"], str)
        else None,
        "reader_study_provenance": ctx["reader_provenance"] if isinstance(ctx["reader_provenance"], str) else None,
    }


def render_submission(
    *,
    config_path: str | Path,
    run_ids: Sequence[str],
    out_dir: str | Path,
    tracking_uri: str | None = None,
    audit_log: str | Path | None = None,
    junit: Sequence[str | Path] = (),
    draft: bool = False,
    now: datetime | None = None,
    pdf: bool = True,
) -> RenderedSubmission:
    """Render every submission document from tracked runs.

    Parameters
    ----------
    config_path
        ``submission.yaml`` (schema ``risk/schemas/submission.schema.json``).
    run_ids
        MLflow run ids: ``samd validate`` runs (``samd.kind=validation``) and ``samd mrmc`` runs.
    out_dir
        Output folder (created).
    tracking_uri
        MLflow tracking URI holding the runs (default as in ``samd validate``:
        ``MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlflow.db``).
    audit_log
        The audit trail: verified before use; the hashes of the records that cover each run's
        result are cited; each rendered file and the index are appended to it.
    junit
        JUnit XML files of the test run that verifies the software (traceability matrix).
    draft
        Render visible ``[MISSING: ...]`` placeholders instead of refusing on missing inputs.
    now
        Render timestamp (UTC); default: the current time. It is the "date prepared".
    pdf
        Also write PDFs (WeasyPrint).

    Raises
    ------
    MissingInputsError
        Listing every missing input (without ``draft``).
    IntegrityError
        Audit log fails verification; validation runs cite different cores; IFU text differs.
    """
    config_path = Path(config_path).resolve()
    if draft:
        config, todo_missing = load_submission_config_draft(config_path)
    else:
        config, todo_missing = _load_final(config_path), []
    out = Path(out_dir)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)

    records = head = None
    if audit_log is not None:
        from validation.audit import iter_records, verify_audit_log

        if Path(audit_log).exists():
            check = verify_audit_log(audit_log)
            if not check.ok:
                raise IntegrityError(f"audit log {audit_log} fails verification: {check.message}")
            records, head = list(iter_records(audit_log)), check.head_hash
        else:
            records, head = [], "0" * 64
    tests = parse_junit(junit) if junit else None
    from validation.tracking import resolve_tracking_uri

    tracking_uri = resolve_tracking_uri(tracking_uri)

    with tempfile.TemporaryDirectory(prefix="samd-report-") as tmp:
        runs, run_missing = load_runs(run_ids, tracking_uri=tracking_uri, workdir=tmp)
        ctx, missing = build_context(
            config, base_dir=config_path.parent, runs=runs, run_missing=[*todo_missing, *run_missing],
            tests=tests, audit_records=records, audit_head=head,
            access_logs=[*([Path(audit_log)] if audit_log is not None and Path(audit_log).exists() else []),
                         *(config_path.parent / p for p in config.get("test_set_audit_logs", []))],
        )
        if missing and not draft:
            raise MissingInputsError(missing)
        out.mkdir(parents=True, exist_ok=True)
        _draw_figures(ctx, out)
        fig_dir = out / "figures"
        for v in ctx.get("comparisons", []):  # the comparison runs' own plots (samd compare)
            for p in v["plots"]:
                fig_dir.mkdir(exist_ok=True)
                dest = fig_dir / f"{v['run_id']}_{p['name']}"
                shutil.copyfile(p["local"], dest)
                p["href"] = f"figures/{dest.name}"
                p["sha256"] = sha256_file(dest)
        sections = _sections(ctx)
        config_sha = sha256_file(config_path)
        ctx.update(
            draft=draft, now=now.strftime("%Y-%m-%d %H:%M:%S UTC"), date_prepared=now.strftime("%Y-%m-%d"),
            samd_version=__version__, config_sha256=config_sha, sections=sections,
        )
        env = _environment()
        fragments = {sid: env.get_template(f"sections/{sid}.html.j2").render(ctx) for sid, _ in sections}

    files: dict[str, str] = {}
    section_files: dict[str, list[str]] = {}
    base = env.get_template("document.html.j2")
    docs = [(sid, title, [(sid, fragments[sid])]) for sid, title in sections]
    docs.append(("submission", "Submission documents", [(sid, fragments[sid]) for sid, _ in sections]))
    texts = {sid: base.render(ctx, title=title, parts=parts, combined=sid == "submission")
             for sid, title, parts in docs}
    n_ifu = sum(_check_html(f"{sid}.html", text, draft=draft, ifu=ctx["ifu"]) for sid, text in texts.items())
    for sid, text in texts.items():  # written only after every document passed the checks
        (out / f"{sid}.html").write_text(text, "utf-8")
        section_files.setdefault(sid, []).append(f"{sid}.html")
    if pdf:
        _write_pdfs(out, [sid for sid, _ in sections])
        for sid in [*(s for s, _ in sections), "submission"]:
            section_files[sid].append(f"{sid}.pdf")
    if n_ifu == 0 and not isinstance(ctx["ifu"], Missing):
        raise SamdError("the indications-for-use text does not appear in any document")

    soup = ctx["soup"]
    if not isinstance(soup, Missing):
        sw = config.get("software", {})
        core = soup_list(
            (config_path.parent / config["lock_file"]).resolve(),
            purposes=(config_path.parent / sw["soup_purposes"]).resolve() if sw.get("soup_purposes") else None,
            roots=CORE_RUNTIME_ROOTS,
        )
        ident = ctx["identity"] if not isinstance(ctx["identity"], Missing) else {}

        def known(key: str) -> str | None:
            v = ident.get(key)
            return v if isinstance(v, str) else None

        name, version = known("name") or "device", known("version") or "unknown"
        bundle_mode = ident.get("mode") == "bundle"
        hashes = [h for h in [known("bundle_sha256")] if h] if bundle_mode else []
        props = [("samd:core_fingerprint", fp)] if bundle_mode and (fp := known("core_fingerprint")) else []
        (out / "sbom.cdx.json").write_text(
            sbom_json(core, device_name=name, device_version=version, model_hashes=hashes, properties=props,
                      timestamp=now),
            "utf-8",
        )
        section_files["sbom"] = ["sbom.cdx.json"]
    run_of = {"standalone_performance": [v["run_id"] for v in ctx["validations"]],
              "reader_study": [m["run_id"] for m in ctx["mrmc"]]}
    all_runs = [r.run_id for r in runs]
    index: dict[str, Any] = {
        "format": "samd-submission-index/1",
        "generated_at": ctx["now"],
        "samd_version": __version__,
        "draft": draft,
        "missing": list(missing),
        "config_sha256": config_sha,
        "indications_for_use_sha256": None if isinstance(ctx["ifu"], Missing) else ctx["ifu"]["sha256"],
        "audit_head_before": head,
        "sources": [{k: (None if isinstance(v, Missing) else v) for k, v in s.items()} for s in ctx["sources"]],
        "verdict": _verdict_record(ctx),
        "sections": {},
    }
    for sid, names in section_files.items():
        entries = []
        for n in names:
            sha = sha256_file(out / n)
            files[n] = sha
            entries.append({"file": n, "sha256": sha, "run_ids": run_of.get(sid, all_runs)})
        index["sections"][sid] = entries
    figures = []
    for v in ctx["validations"]:
        for f in v["figures"]:
            files[f["href"]] = f["sha256"]
            figures.append({"file": f["href"], "sha256": f["sha256"], "run_ids": [v["run_id"]],
                            "caption": f["caption"], "drawn_from": f["drawn_from"]})
    for v in ctx.get("comparisons", []):
        for p in v["plots"]:
            files[p["href"]] = p["sha256"]
            figures.append({"file": p["href"], "sha256": p["sha256"], "run_ids": [v["run_id"]],
                            "artifact": p["artifact"]})
    if figures:
        index["sections"]["figures"] = figures
    index_path = out / "submission_index.json"
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", "utf-8")
    if audit_log is not None:
        from validation.audit import AuditLog

        log = AuditLog(audit_log)
        for n, sha in sorted(files.items()):
            log.append("report.render", object={"file": n, "out_dir": str(out.resolve())}, object_sha256=sha,
                       context={"run_ids": all_runs, "draft": draft})
        log.append("report.index", object={"file": "submission_index.json", "out_dir": str(out.resolve())},
                   object_sha256=sha256_file(index_path), context={"run_ids": all_runs, "draft": draft})
    files["submission_index.json"] = sha256_file(index_path)
    return RenderedSubmission(str(out), files, str(index_path), draft, tuple(missing), ctx["criteria"].verdict)
