"""Test-set manifest: reading, and checking the SHA-256 of every listed file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from samd_core.hashing import sha256_file
from validation.audit import iter_records
from validation.errors import IntegrityError, ProtocolError

__all__ = ["Manifest", "check_manifest_files", "prior_accesses", "read_manifest"]


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


def check_manifest_files(manifest: Manifest) -> int:
    """Recompute the SHA-256 of every file the manifest lists; raise on any mismatch.

    A path that is a folder (a DICOM series) is hashed as SHA-256 over
    ``<file name>\\0<sha256 of file>\\n`` for its files sorted by name
    (`samd_core.hashing.sha256_tree`).

    Returns the number of files checked.

    Raises
    ------
    IntegrityError
        Listing every file that is missing or whose SHA-256 differs (case id, column, path,
        expected and found hash).
    """
    from samd_core.hashing import sha256_tree

    problems: list[str] = []
    n = 0
    for pcol, hcol in manifest.file_columns():
        for case, rel, expected in zip(manifest.table["case_id"], manifest.table[pcol],
                                       manifest.table[hcol], strict=True):
            if not rel and not expected:
                continue
            n += 1
            f = manifest.resolve(rel)
            if f.is_dir():  # a DICOM series folder: the directory-tree hash
                found = sha256_tree(f)
            elif f.is_file():
                found = sha256_file(f)
            else:
                problems.append(f"case {case} `{pcol}` {rel}: file missing")
                continue
            if found != expected.strip().lower():
                problems.append(f"case {case} `{pcol}` {rel}: sha256 {found} != manifest {expected}")
    if problems:
        raise IntegrityError(
            f"manifest {manifest.path.name}: {len(problems)} file(s) do not match; the run is "
            "stopped before any result is computed:\n  " + "\n  ".join(problems)
        )
    return n


def prior_accesses(audit_path: str | Path, testset_sha256: str) -> list[dict[str, Any]]:
    """Every earlier ``testset.access`` of the test set with this SHA-256 in the audit trail, by
    any protocol and any model: ``{"seq", "ts_utc", "protocol_id", "model_sha256", "purpose"}``."""
    p = Path(audit_path)
    if not p.exists():
        return []
    out = []
    for r in iter_records(p):
        if r.get("action") == "testset.access" and r.get("object_sha256") == testset_sha256:
            ctx = r.get("context") if isinstance(r.get("context"), dict) else {}
            out.append({"seq": r.get("seq"), "ts_utc": r.get("ts_utc"), "protocol_id": ctx.get("protocol_id"),
                        "model_sha256": ctx.get("model_sha256"), "purpose": ctx.get("purpose")})
    return out
