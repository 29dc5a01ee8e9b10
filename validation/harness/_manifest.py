"""Test-set manifest: reading, and checking the SHA-256 of every listed file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from samd_core.hashing import sha256_file
from validation._locations import is_url, shown
from validation.audit import iter_records
from validation.errors import IntegrityError, ProtocolError

__all__ = ["ACCESS_FIELDS", "Manifest", "check_manifest_files", "prior_accesses", "prior_accesses_across",
           "read_manifest"]

#: Fields of one test-set access (`prior_accesses`), in table order.
ACCESS_FIELDS = ("ts_utc", "run_id", "protocol_id", "protocol_sha256", "model_name", "model_version",
                 "model_sha256", "mode", "purpose", "log", "seq")


@dataclass(frozen=True)
class Manifest:
    """A manifest table (one row per case; ``case_id`` as string) with its file hash.

    ``sha256`` is the SHA-256 of the whole manifest file's bytes, so every column is covered:
    truth and attribute columns without a ``*_sha256`` partner too. It is the test set's identity
    (locked with the protocol, see `ensure_locked`, and counted across the audit trail, see
    `prior_accesses`)."""

    path: Path
    sha256: str
    table: pd.DataFrame

    def file_columns(self) -> list[tuple[str, str]]:
        """Pairs ``(path column, sha256 column)``: ``path``/``sha256`` and ``X``/``X_sha256``
        (or ``X_path``/``X_sha256``, ``X_dir``/``X_sha256``)."""
        cols = set(self.table.columns)
        pairs = []
        for c in sorted(cols):
            if c == "sha256" and "path" in cols:
                pairs.append(("path", c))
            elif c.endswith("_sha256"):
                stem = c[: -len("_sha256")]
                for cand in (f"{stem}_path", stem, f"{stem}_dir"):
                    if cand in cols:
                        pairs.append((cand, c))
                        break
        return pairs

    def resolve(self, rel: str) -> Path:
        """A path from the manifest, resolved against the manifest's folder."""
        p = Path(rel)
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    def locate(self, rel: str) -> str:
        """Where a manifest file entry is: an fsspec URL as written (``s3://...``, ``file:///...``,
        ``zip://...::...``), otherwise the path resolved against the manifest's folder
        (`resolve`). Open it with `validation._locations.staged`."""
        return rel if is_url(rel) else str(self.resolve(rel))


def read_manifest(path: Path) -> Manifest:
    """Read a manifest CSV (every column as text); check ``case_id`` is present and unique."""
    if not path.is_file():
        raise ProtocolError(f"`manifest` file {path} does not exist")

    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "case_id" not in table.columns:
        raise ProtocolError(f"manifest {path.name} has no `case_id` column; columns: {list(table.columns)}")
    ids = table["case_id"]
    empty = ids.index[ids.str.strip() == ""].tolist()
    if empty:
        raise ProtocolError(f"manifest {path.name}: empty `case_id` in rows {[i + 2 for i in empty][:10]}")
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        raise ProtocolError(f"manifest {path.name}: duplicate `case_id` values {dup[:10]}")
    return Manifest(path=path.resolve(), sha256=sha256_file(path), table=table)


def check_manifest_files(manifest: Manifest, *, executor: Any = None, progress: bool = False) -> int:
    """Recompute the SHA-256 of every file the manifest lists; raise on any mismatch.

    A path that is a folder (a DICOM series) is hashed as SHA-256 over
    ``<file name>\\0<sha256 of file>\\n`` for its files sorted by name
    (`samd_core.hashing.sha256_tree`). An entry that is an fsspec URL is staged and hashed the
    same way (`validation._locations.location_sha256`); it is shown without credentials.

    Parameters
    ----------
    manifest : Manifest
    executor : validation.executor.ExecutorSpec, optional
        A Dask cluster already held for the run (kind ``"scheduler"``): the files are then read
        and hashed on its workers, in parallel, and compared here in manifest order, so the
        outcome and the message are the same as in-process. Otherwise (None, in-process, or a
        local cluster not started for the run) everything is hashed in this process.
    progress : bool
        Show a progress bar (``files``) on stderr: done, in flight, failed, ETA.

    Returns the number of files checked.

    Raises
    ------
    IntegrityError
        Listing every file that is missing, unreadable or whose SHA-256 differs (case id,
        column, path or URL, expected and found hash).
    """
    from validation._casework import Refused, file_sha256_or_refusal
    from validation.executor import ExecutorSpec, map_cases
    from validation.harness._progress import case_bar

    entries: list[tuple[str, str, str, str]] = []
    for pcol, hcol in manifest.file_columns():
        for case, rel, expected in zip(manifest.table["case_id"], manifest.table[pcol],
                                       manifest.table[hcol], strict=True):
            if rel or expected:
                entries.append((str(case), pcol, rel, expected))
    spec = executor if executor is not None and getattr(executor, "kind", None) == "scheduler" else ExecutorSpec()
    found: dict[str, Any] = {}
    with case_bar(len(entries), "files", enabled=progress) as bar:

        def on_result(key: str, value: Any) -> None:
            found[key] = value
            bar.advance()

        failures = map_cases(file_sha256_or_refusal, [(str(i), (manifest.locate(rel),))
                                                      for i, (_, _, rel, _) in enumerate(entries)],
                             spec=spec, on_result=on_result, on_progress=bar.on_progress)
    lost = {f.key: f for f in failures}
    problems: list[str] = []
    for i, (case, pcol, rel, expected) in enumerate(entries):
        where = f"case {case} `{pcol}` {shown(rel)}"
        if str(i) in lost:
            f = lost[str(i)]
            problems.append(f"{where}: could not be hashed on any worker ({f.error}: {f.message})")
            continue
        got = found[str(i)]
        if isinstance(got, Refused):
            problems.append(f"{where}: file missing" if got.message == "file missing" else
                            f"case {case} `{pcol}` {got.message}" if is_url(rel) else f"{where}: {got.message}")
        elif got != expected.strip().lower():
            problems.append(f"{where}: sha256 {got} != manifest {expected}")
    if problems:
        raise IntegrityError(
            f"manifest {manifest.path.name}: {len(problems)} file(s) do not match; the run is "
            "stopped before any result is computed:\n  " + "\n  ".join(problems)
        )
    return len(entries)


def prior_accesses(audit_path: str | Path, testset_sha256: str) -> list[dict[str, Any]]:
    """Every earlier ``testset.access`` of the test set with this SHA-256 in the audit trail, by
    any protocol and any model, oldest first, each with `ACCESS_FIELDS`: time, run id (MLflow),
    protocol id and SHA-256, model identity (name, version, SHA-256: the bundle's manifest hash or
    the predictions file's hash; mode), purpose, and where the record is (log file name, seq).
    Fields an older record does not hold are None."""
    p = Path(audit_path)
    if not p.exists():
        return []
    out = []
    for r in iter_records(p):
        if r.get("action") == "testset.access" and r.get("object_sha256") == testset_sha256:
            ctx = r.get("context") if isinstance(r.get("context"), dict) else {}
            rec = {"ts_utc": r.get("ts_utc"), "run_id": ctx.get("mlflow_run_id"), "log": p.name, "seq": r.get("seq")}
            rec.update({k: ctx.get(k) for k in ACCESS_FIELDS if k not in rec})
            out.append({k: rec[k] for k in ACCESS_FIELDS})
    return out


def prior_accesses_across(audit_logs: list[str | Path], testset_sha256: str, *,
                          before_utc: str | None = None) -> list[dict[str, Any]]:
    """Accesses of one test set gathered from several audit logs (e.g. earlier devices' logs).

    Each log is verified first (`validation.audit.verify_audit_log`, integrity); a log that fails
    refuses the whole list. Accesses are those of `prior_accesses`, sorted by time (then log and
    seq), optionally only those strictly before ``before_utc`` (an ISO UTC time as in the log).
    A log named twice is read once.

    Raises
    ------
    IntegrityError
        A log is missing or fails verification (its name and the failure are given).
    """
    from validation.audit import verify_audit_log

    seen: set[Path] = set()
    out: list[dict[str, Any]] = []
    for log in audit_logs:
        p = Path(log).resolve()
        if p in seen:
            continue
        seen.add(p)
        if not p.is_file():
            raise IntegrityError(f"audit log {p.name} does not exist (named as a log of earlier test-set accesses)")
        check = verify_audit_log(p)
        if not check.ok:
            raise IntegrityError(f"audit log {p.name} fails verification: {check.message}")
        out += [a for a in prior_accesses(p, testset_sha256)
                if before_utc is None or str(a["ts_utc"] or "") < before_utc]
    return sorted(out, key=lambda a: (str(a["ts_utc"] or ""), str(a["log"]), int(a["seq"] or 0)))
