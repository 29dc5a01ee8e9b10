"""No training/test overlap: the test set's hashed identifiers against the model's training set.

Before any case is evaluated, every test case's identifiers are hashed exactly as the bundle's
training set was (`samd_core.bundle.case_identifiers`, `samd_core.hashing`): the ``patient_id``,
``study_instance_uid`` and ``series_instance_uid`` manifest columns when present, the DICOM
headers (PatientID, Study and Series Instance UID) and the decoded pixel data of each case's
image (the protocol's ``device.image_column``). Only the kinds the training set records are
computed. A case that shares any hash with the training set refuses the run
(`TrainingOverlapError`): the full list goes to ``training_overlap.csv`` in the output folder
and to a ``testset.training_overlap`` audit record, by manifest case id only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from samd_core.hashing import sha256_json
from validation._casework import Refused, case_identifiers_or_refusal, staged_case_identifiers
from validation.audit import AuditLog
from validation.errors import CaseInputError, TrainingOverlapError
from validation.harness._manifest import Manifest

__all__ = ["NOT_CHECKED", "OVERLAP_COLUMNS", "OVERLAP_FILE", "TEST_ID_COLUMNS", "check_training_overlap"]

#: What result.json and the report say when the device declares no training set.
NOT_CHECKED = "training/test overlap not checked: no training set declared"
#: File (in the output folder) listing every overlapping case of a refused run.
OVERLAP_FILE = "training_overlap.csv"
OVERLAP_COLUMNS = ("case_id", "kinds")
#: Test-manifest columns read as identifiers, by kind.
TEST_ID_COLUMNS = {"patient_id": "patient_id", "study_instance_uid": "study_instance_uid",
                   "series_instance_uid": "series_instance_uid"}
_SHOWN = 5


def _all_identifiers(jobs: list[tuple[str, str | None, dict[str, Any]]], kinds: tuple[str, ...],
                     executor: Any, progress: bool = False) -> list[dict[str, tuple[str, ...]]]:
    """Identifiers of every case, in manifest order: in this process, or fanned out to the cluster
    ``executor`` names (each case reads and hashes its own image); ``progress`` shows a bar."""
    from validation.harness._progress import case_bar

    if executor is None or executor.kind == "in-process":
        out_here = []
        with case_bar(len(jobs), "training overlap", enabled=progress) as bar:
            for cid, img, cols in jobs:
                out_here.append(staged_case_identifiers(img, kinds, f"test case {cid}", cols))
                bar.advance()
        return out_here
    from validation.executor import map_cases

    got: dict[str, Any] = {}
    with case_bar(len(jobs), "training overlap", enabled=progress) as bar:

        def on_result(key: str, value: Any) -> None:
            got[key] = value
            bar.advance()

        failures = map_cases(case_identifiers_or_refusal,
                             [(cid, (img, kinds, f"test case {cid}", cols)) for cid, img, cols in jobs],
                             spec=executor, on_result=on_result, on_progress=bar.on_progress)
    if failures:
        f = failures[0]
        raise CaseInputError(f"identifiers of test case {f.key} could not be computed on any worker "
                             f"({len(failures)} case(s) failed): {f.error}: {f.message}")
    out = []
    for cid, _, _ in jobs:
        r = got[cid]
        if isinstance(r, Refused):
            raise CaseInputError(r.message)
        out.append(r)
    return out


def check_training_overlap(audit: AuditLog, manifest: Manifest, training: Any, *, source: str | None,
                           image_column: str | None, out: Path, context: dict[str, Any],
                           executor: Any = None, progress: bool = False) -> dict[str, Any]:
    """Refuse test cases that overlap the training set; return the ``training_overlap`` block of result.json.

    Parameters
    ----------
    audit : AuditLog
        Receives ``testset.training_overlap`` when cases overlap.
    manifest : Manifest
        The test set (every case, out-of-domain ones included).
    training : samd_core.bundle.TrainingSet or None
        The model's training set; None: nothing is checked and the block says so.
    source : str or None
        Where the training set comes from (``"bundle"`` or ``"protocol"``).
    image_column : str or None
        Manifest column naming each case's image (DICOM headers and pixel data are read from it).
    out : Path
        Output folder (``training_overlap.csv`` on refusal).
    context : dict
        Recorded with the audit record (protocol id, model hash).
    executor : validation.executor.ExecutorSpec, optional
        Where the images are read and hashed (`validation.executor`); in-process when omitted.
        The outcome never depends on it.
    progress : bool
        Show a progress bar (``training overlap``) on stderr: done, in flight, failed, ETA.

    Returns
    -------
    dict
        ``{"checked": False, "statement": NOT_CHECKED}``, or ``{"checked": True, "source",
        "training_set_sha256", "training_cases", "kinds": {kind: {"training_hashes",
        "test_cases_with_identifier"}}, "overlapping_cases": 0, "statement"}``.

    Raises
    ------
    TrainingOverlapError
        Naming the number of overlapping cases, by kind, and the first few case ids.
    """
    if training is None:
        return {"checked": False, "statement": NOT_CHECKED}
    kinds = tuple(training.kinds)
    table = manifest.table
    cols = {k: c for k, c in TEST_ID_COLUMNS.items() if c in table.columns and k in kinds}
    img_col = image_column if image_column and image_column in table.columns else None
    have = {k: 0 for k in kinds}
    hits: list[tuple[str, tuple[str, ...]]] = []
    rows = table.to_dict("records")
    jobs = []
    for row in rows:
        rel = row.get(img_col, "") if img_col else ""
        jobs.append((str(row["case_id"]), manifest.locate(rel) if rel else None,
                     {k: row.get(c) for k, c in cols.items()}))
    for (cid, _, _), ids in zip(jobs, _all_identifiers(jobs, kinds, executor, progress), strict=True):
        for k in ids:
            have[k] += 1
        shared = training.overlap(ids)
        if shared:
            hits.append((cid, shared))
    digest = sha256_json(training.to_dict())
    counts = training.counts()
    block = {"checked": True, "source": source, "training_set_sha256": digest, "training_cases": training.n_cases,
             "kinds": {k: {"training_hashes": counts[k], "test_cases_with_identifier": have[k]} for k in kinds}}
    if hits:
        by_kind = {k: sum(k in s for _, s in hits) for k in kinds if any(k in s for _, s in hits)}
        _write_list(out / OVERLAP_FILE, hits)
        rec = audit.append("testset.training_overlap",
                           object={"type": "test_set", "id": manifest.path.name, "n_cases": len(table)},
                           object_sha256=manifest.sha256,
                           context={**context, "training_set_sha256": digest, "training_set_source": source,
                                    "n_overlapping": len(hits), "by_kind": by_kind,
                                    "cases": [{"case_id": c, "kinds": list(s)} for c, s in hits]})
        shown = ", ".join(c for c, _ in hits[:_SHOWN]) + (f" and {len(hits) - _SHOWN} more" if len(hits) > _SHOWN
                                                          else "")
        kinds_txt = ", ".join(f"{k} {n}" for k, n in by_kind.items())
        raise TrainingOverlapError(
            f"{len(hits)} of {len(table)} test case(s) overlap the model's training set ({kinds_txt}): {shown}; "
            f"a test case must not be training data (full list: {OVERLAP_FILE} in the output folder and audit "
            f"record testset.training_overlap seq {rec['seq']})",
            case_ids=tuple(c for c, _ in hits), by_kind=by_kind)
    checked = "; ".join(f"{k} ({have[k]} of {len(table)} test cases carry it; {counts[k]} training hashes)"
                        for k in kinds)
    block.update(overlapping_cases=0,
                 statement=f"no test case overlaps the training set ({source}, {training.n_cases} training cases); "
                           f"checked: {checked}")
    return block


def _write_list(path: Path, hits: list[tuple[str, tuple[str, ...]]]) -> None:
    from validation.spreadsheet import write_safe_csv

    write_safe_csv(path, OVERLAP_COLUMNS, ([c, ";".join(s)] for c, s in hits))
