"""A bundle's training set as hashed identifiers, and the same hashes of any case (overlap checks).

``training_set.json`` (optional bundle file, listed in and hashed by ``manifest.json``)::

    {"format": "samd-training-set/1",
     "hashing": {<kind>: <how the hash was computed>, ...},
     "n_cases": 1600,                                   # rows (cases) the hashes come from
     "counts": {<kind>: <number of distinct hashes>, ...},
     "hashes": {<kind>: [<sorted, distinct 64-hex digests>], ...},
     "sources": [{"manifest_sha256": ..., "n_cases": ...}, ...]}   # what was hashed (no names)

Kinds (`OVERLAP_KINDS`): ``patient_id`` (patient pseudonym), ``study_instance_uid``,
``series_instance_uid`` (each `samd_core.hashing.sha256_identifier`, namespaced by kind) and
``pixel_data`` (`samd_core.hashing.sha256_pixels` of the image as the core reads it: independent
of container and transfer syntax). A kind absent from ``hashes`` was not recorded. Raw
identifiers are never stored.

`case_identifiers` computes the same hashes for one case (explicit values, DICOM headers of a
series folder or file, pixel data of any image the core reads); `TrainingSet.overlap` names the
kinds a case shares with the training set.
"""

from __future__ import annotations

import csv
import os
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from samd_core.errors import InvalidParameterError
from samd_core.hashing import IDENTIFIER_KINDS, PIXEL_HASH_FORMAT, sha256_file, sha256_identifier, sha256_pixels

__all__ = [
    "MAX_TRAINING_SET_BYTES",
    "OVERLAP_KINDS",
    "TRAINING_SET_FORMAT",
    "TRAINING_SET_NAME",
    "TrainingSet",
    "case_identifiers",
    "training_set_from_spec",
]

TRAINING_SET_NAME = "training_set.json"
TRAINING_SET_FORMAT = "samd-training-set/1"
#: Identifier kinds, in report order.
OVERLAP_KINDS = (*IDENTIFIER_KINDS, "pixel_data")
#: Size limit of ``training_set.json`` (about 3.8 million hashes).
MAX_TRAINING_SET_BYTES = 256 << 20
#: How each kind is hashed (written into the file, so anyone can recompute a hash by hand).
HASHING = {
    **{k: f'sha256(UTF-8 of "{k}:" + value stripped of whitespace and trailing NUL)' for k in IDENTIFIER_KINDS},
    "pixel_data": (f'sha256("{PIXEL_HASH_FORMAT}\\0" + canonical JSON of the shape + "\\0" + values as little-endian '
                   "float64, C order) of the array samd_core reads (HU for CT, presentation values for projection "
                   "images)"),
}
_DICOM_TAGS = {"patient_id": "PatientID", "study_instance_uid": "StudyInstanceUID",
               "series_instance_uid": "SeriesInstanceUID"}
_HEX = frozenset("0123456789abcdef")
_FN = "TrainingSet.from_dict"


def _is_digest(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 64 and set(v) <= _HEX


@dataclass(frozen=True)
class TrainingSet:
    """Hashed identifiers of a model's training (development) data.

    Attributes
    ----------
    hashes : mapping of str to frozenset of str
        Kind (`OVERLAP_KINDS`) -> distinct SHA-256 digests. Kinds not recorded are absent.
    n_cases : int
        Number of cases (manifest rows) hashed.
    sources : tuple of dict
        What was hashed: ``{"manifest_sha256", "n_cases"}`` per training manifest (no names).
    """

    hashes: Mapping[str, frozenset[str]]
    n_cases: int
    sources: tuple[Mapping[str, Any], ...] = field(default=())

    @property
    def kinds(self) -> tuple[str, ...]:
        """Recorded kinds, in `OVERLAP_KINDS` order."""
        return tuple(k for k in OVERLAP_KINDS if k in self.hashes)

    def counts(self) -> dict[str, int]:
        """Distinct hashes per recorded kind."""
        return {k: len(self.hashes[k]) for k in self.kinds}

    def overlap(self, case: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
        """Kinds whose hashes of ``case`` (from `case_identifiers`) appear in the training set."""
        return tuple(k for k in self.kinds if any(h in self.hashes[k] for h in case.get(k, ())))

    def to_dict(self) -> dict[str, Any]:
        """The ``training_set.json`` document (sorted hash lists)."""
        return {"format": TRAINING_SET_FORMAT, "hashing": {k: HASHING[k] for k in self.kinds},
                "n_cases": self.n_cases, "counts": self.counts(),
                "hashes": {k: sorted(self.hashes[k]) for k in self.kinds},
                "sources": [dict(s) for s in self.sources]}

    def to_bytes(self) -> bytes:
        """File bytes: JSON, sorted keys, one-space indent, trailing newline (as other bundle JSON)."""
        import json

        return (json.dumps(self.to_dict(), sort_keys=True, indent=1, allow_nan=False) + "\n").encode("utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingSet:
        """Validate a ``training_set.json`` document (format, kinds, sorted distinct digests, counts)."""
        if not isinstance(data, Mapping):
            raise InvalidParameterError("training_set", _FN, "a mapping", type(data).__name__)
        keys = {"format", "hashing", "n_cases", "counts", "hashes", "sources"}
        if set(data) != keys:
            raise InvalidParameterError("training_set keys", _FN, f"exactly {sorted(keys)}", sorted(map(str, data)))
        if data["format"] != TRAINING_SET_FORMAT:
            raise InvalidParameterError("format", _FN, repr(TRAINING_SET_FORMAT), data["format"])
        n = data["n_cases"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidParameterError("n_cases", _FN, "an integer >= 0", n)
        raw = data["hashes"]
        if not isinstance(raw, Mapping) or not set(raw) <= set(OVERLAP_KINDS):
            raise InvalidParameterError("hashes", _FN, f"a mapping with keys among {list(OVERLAP_KINDS)}",
                                        sorted(map(str, raw)) if isinstance(raw, Mapping) else type(raw).__name__)
        hashes: dict[str, frozenset[str]] = {}
        for kind, values in raw.items():
            ok = isinstance(values, list) and all(_is_digest(v) for v in values)
            if not ok or values != sorted(set(values)):
                raise InvalidParameterError(f"hashes.{kind}", _FN, "a sorted list of distinct 64-hex SHA-256 digests",
                                            f"{len(values) if isinstance(values, list) else type(values).__name__}")
            hashes[kind] = frozenset(values)
        counts = data["counts"]
        if counts != {k: len(v) for k, v in hashes.items()}:
            raise InvalidParameterError("counts", _FN, "the number of hashes per kind", counts)
        if not isinstance(data["hashing"], Mapping) or set(data["hashing"]) != set(hashes):
            raise InvalidParameterError("hashing", _FN, "one description per recorded kind", data["hashing"])
        src = data["sources"]
        if not isinstance(src, list) or not all(isinstance(s, Mapping) for s in src):
            raise InvalidParameterError("sources", _FN, "a list of mappings", type(src).__name__)
        return cls(hashes, n, tuple(dict(s) for s in src))

    @classmethod
    def from_cases(cls, cases: Iterable[Mapping[str, Iterable[str]]], *,
                   sources: Sequence[Mapping[str, Any]] = ()) -> TrainingSet:
        """Collect the hashes of many cases (each from `case_identifiers`)."""
        acc: dict[str, set[str]] = {}
        n = 0
        for case in cases:
            n += 1
            for kind, values in case.items():
                acc.setdefault(kind, set()).update(values)
        return cls({k: frozenset(acc[k]) for k in OVERLAP_KINDS if k in acc}, n, tuple(dict(s) for s in sources))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrainingSet:
        """Read and validate a ``training_set.json`` file (strict JSON, size-limited)."""
        from samd_core.bundle._strict import strict_json

        p = pathlib.Path(path)
        if not p.is_file() or p.stat().st_size > MAX_TRAINING_SET_BYTES:
            raise InvalidParameterError("training_set file", "TrainingSet.from_file",
                                        f"an existing file of at most {MAX_TRAINING_SET_BYTES} bytes", p.name)
        return cls.from_dict(strict_json(p.read_bytes(), p.name))


def _dicom_header_hashes(path: pathlib.Path, kinds: set[str]) -> dict[str, set[str]]:
    """Hashes of PatientID / Study / Series Instance UID from the headers of a DICOM file or of
    every file of a series folder (files that are not DICOM are skipped)."""
    import pydicom

    tags = [_DICOM_TAGS[k] for k in IDENTIFIER_KINDS if k in kinds]
    files = sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
    out: dict[str, set[str]] = {}
    for f in files:
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=tags)
        except Exception:  # noqa: BLE001 - not DICOM (a side file): no identifiers
            continue
        for kind in IDENTIFIER_KINDS:
            value = str(getattr(ds, _DICOM_TAGS[kind], "") or "") if kind in kinds else ""
            if value.strip().rstrip("\0").strip():
                out.setdefault(kind, set()).add(sha256_identifier(kind, value))
    return out


def case_identifiers(
    *,
    image: str | os.PathLike[str] | None = None,
    patient_id: str | None = None,
    study_instance_uid: str | None = None,
    series_instance_uid: str | None = None,
    kinds: Iterable[str] = OVERLAP_KINDS,
    where: str = "case",
) -> dict[str, tuple[str, ...]]:
    """The hashed identifiers of one case, per kind (sorted digests; kinds without a value absent).

    Parameters
    ----------
    image : path, optional
        The case's image: a DICOM series folder, a DICOM file or an image file (NIfTI, MHA, ...).
        DICOM headers give ``PatientID``, ``StudyInstanceUID`` and ``SeriesInstanceUID``; the
        pixel data are read with `samd_core.predict_file.read_input` (the core's input path).
    patient_id, study_instance_uid, series_instance_uid : str, optional
        Explicit values (from manifest columns); added to those the headers give.
    kinds : iterable of str
        Kinds to compute (skip decoding pixels when ``pixel_data`` is not needed).
    where : str
        How to name the case in an error (never a file name or an identifier).

    Raises
    ------
    InvalidParameterError
        An unknown kind, or an image that cannot be read (named by ``where``).
    """
    want = set(kinds)
    if not want <= set(OVERLAP_KINDS):
        raise InvalidParameterError("kinds", "case_identifiers", f"kinds among {list(OVERLAP_KINDS)}", sorted(want))
    acc: dict[str, set[str]] = {}
    for kind, value in (("patient_id", patient_id), ("study_instance_uid", study_instance_uid),
                        ("series_instance_uid", series_instance_uid)):
        if kind in want and isinstance(value, str) and value.strip().rstrip("\0").strip():
            acc.setdefault(kind, set()).add(sha256_identifier(kind, value))
    if image is not None:
        p = pathlib.Path(image)
        if not p.exists():
            raise InvalidParameterError("image", "case_identifiers", f"an existing image ({where})", "missing")
        from samd_core.io import IMAGE_SUFFIXES

        dicom = p.is_dir() or not any(p.name.lower().endswith(s) for s in IMAGE_SUFFIXES)
        if dicom and want & set(IDENTIFIER_KINDS):
            for kind, values in _dicom_header_hashes(p, want).items():
                acc.setdefault(kind, set()).update(values)
        if "pixel_data" in want:
            from samd_core.predict_file import read_input

            try:
                volume = read_input(p)[0]
            except (ValueError, OSError) as exc:
                raise InvalidParameterError("image", "case_identifiers", f"an image samd_core can read ({where})",
                                            type(exc).__name__) from None
            acc["pixel_data"] = {sha256_pixels(volume.array)}
    return {k: tuple(sorted(acc[k])) for k in OVERLAP_KINDS if k in acc}


_SPEC_KEYS = ("file", "image_column", "manifest", "patient_id_column", "series_instance_uid_column",
              "study_instance_uid_column")


def training_set_from_spec(spec: Mapping[str, Any], base: pathlib.Path, *, fn: str = "create_bundle") -> TrainingSet:
    """The `TrainingSet` a ``training_set`` spec describes (see ``docs/bundle.md``).

    Either ``{file: training_set.json}`` (hashes computed elsewhere; validated) or
    ``{manifest: CSV or [CSV, ...], image_column, patient_id_column, study_instance_uid_column,
    series_instance_uid_column}`` (at least one column; paths in a CSV are relative to it).
    """
    if not isinstance(spec, Mapping) or not set(spec) <= set(_SPEC_KEYS):
        raise InvalidParameterError("training_set", fn, f"a mapping with keys among {list(_SPEC_KEYS)}",
                                    sorted(map(str, spec)) if isinstance(spec, Mapping) else type(spec).__name__)
    if "file" in spec:
        if set(spec) != {"file"}:
            raise InvalidParameterError("training_set", fn, "{file: FILE} alone, or {manifest: ..., *_column: ...}",
                                        sorted(spec))
        return TrainingSet.from_file(base / str(spec["file"]))
    manifests = spec.get("manifest")
    manifests = [manifests] if isinstance(manifests, str) else manifests
    if not isinstance(manifests, list) or not manifests or not all(isinstance(m, str) and m for m in manifests):
        raise InvalidParameterError("training_set.manifest", fn, "a CSV path or a non-empty list of CSV paths",
                                    type(manifests).__name__)
    columns = {k: spec[k] for k in _SPEC_KEYS if k.endswith("_column") and k in spec}
    if not columns or not all(isinstance(v, str) and v for v in columns.values()):
        raise InvalidParameterError("training_set", fn, "at least one of image_column, patient_id_column, "
                                    "study_instance_uid_column, series_instance_uid_column", sorted(columns))
    cases: list[dict[str, tuple[str, ...]]] = []
    sources = []
    for m in manifests:
        path = base / m
        if not path.is_file():
            raise InvalidParameterError("training_set.manifest", fn, "an existing CSV file", "missing")
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        header = set(rows[0]) if rows else set()
        absent = sorted(c for c in columns.values() if c not in header)
        if absent:
            raise InvalidParameterError("training_set columns", fn, "columns of the training manifest", absent)
        for i, row in enumerate(rows):
            where = f"training manifest {len(sources) + 1}, row {i + 2}"
            img = row.get(columns.get("image_column", ""), "") if "image_column" in columns else ""
            cases.append(case_identifiers(
                image=(path.parent / img) if img else None,
                patient_id=row.get(columns["patient_id_column"]) if "patient_id_column" in columns else None,
                study_instance_uid=(row.get(columns["study_instance_uid_column"])
                                    if "study_instance_uid_column" in columns else None),
                series_instance_uid=(row.get(columns["series_instance_uid_column"])
                                     if "series_instance_uid_column" in columns else None),
                where=where))
        sources.append({"manifest_sha256": sha256_file(path), "n_cases": len(rows)})
    return TrainingSet.from_cases(cases, sources=sources)
