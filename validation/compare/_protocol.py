"""Comparison protocols (the modification protocol of a PCCP): YAML -> validated, typed objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema

from samd_core.hashing import sha256_bytes
from validation.errors import ProtocolError, format_invalid
from validation.harness import read_protocol_yaml, schema_message, shipped_schema

__all__ = ["PROTOCOL_KIND", "CompareProtocol", "Endpoint", "ModelSpec", "compare_schema", "load_compare_protocol"]

#: Recorded with the lock and the run, to tell comparison protocols from validation protocols.
PROTOCOL_KIND = "compare"

_CI_FOR_METRIC: dict[str, tuple[str, ...]] = {
    "roc_auc": ("delong",),
    "sensitivity": ("tango", "newcombe"),
    "specificity": ("tango", "newcombe"),
}


def compare_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) shipped with samd for comparison protocols."""
    return shipped_schema("validation.compare", "compare.schema.json")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One side of the comparison (``reference`` = locked model, ``candidate`` = the change)."""

    role: str
    predictions: Path | None
    bundle: Path | None
    expected_sha256: str | None
    score_column: str | None
    higher_is_positive: bool
    threshold: float | None
    image_column: str
    training_set: Path | None = None  # predictions mode: the model's training_set.json

    @property
    def mode(self) -> str:
        """``"predictions"`` or ``"bundle"``."""
        return "bundle" if self.bundle is not None else "predictions"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A paired-difference endpoint, candidate minus reference."""

    id: str  # noqa: A003 - protocol field name
    metric: str
    ci: str
    confidence_level: float
    non_inferiority_margin: float
    mcnemar: str


@dataclass(frozen=True, slots=True)
class CompareProtocol:
    """A validated comparison protocol; ``data`` is the parsed content, ``sha256`` its bytes' hash."""

    path: Path
    sha256: str
    data: dict[str, Any]
    reference: ModelSpec
    candidate: ModelSpec
    endpoints: tuple[Endpoint, ...]

    @property
    def id(self) -> str:  # noqa: A003 - protocol field name
        """The protocol's identifier."""
        return str(self.data["id"])

    def resolve(self, rel: str) -> Path:
        """A path from the protocol, resolved against the protocol's folder."""
        p = Path(rel)
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    def as_lockable(self) -> Any:
        """What the shared lock registry (`validation.harness.ensure_locked`) reads: id, path, bytes' hash."""
        return SimpleNamespace(id=self.id, path=self.path, sha256=self.sha256)


def _model(role: str, d: dict[str, Any], resolve: Any) -> ModelSpec:
    score = d.get("score", {})
    return ModelSpec(
        role=role,
        predictions=resolve(d["predictions"]) if "predictions" in d else None,
        bundle=resolve(d["bundle"]) if "bundle" in d else None,
        expected_sha256=d.get("expected_sha256"),
        score_column=score.get("column"),
        higher_is_positive=bool(score.get("higher_is_positive", True)),
        threshold=float(d["threshold"]) if "threshold" in d else None,
        image_column=str(d.get("image_column", "path")),
        training_set=resolve(d["training_set"]) if "training_set" in d else None,
    )


def _semantic_errors(d: dict[str, Any], fn: str) -> list[str]:
    errs: list[str] = []
    seen: set[str] = set()
    for i, ep in enumerate(d["endpoints"]):
        at = f"endpoints[{i}]"
        if ep["id"] in seen:
            errs.append(format_invalid(f"{at}.id", fn, "unique among endpoints", ep["id"]))
        seen.add(ep["id"])
        allowed = _CI_FOR_METRIC[ep["metric"]]
        if ep["ci"] not in allowed:
            errs.append(format_invalid(f"{at}.ci", fn, f"one of {list(allowed)} for metric {ep['metric']!r}",
                                       ep["ci"], allowed))
        for role in ("reference", "candidate"):
            m = d[role]
            if "predictions" in m and "score" not in m:
                errs.append(format_invalid(f"{role}.score", fn, f"present for metric {ep['metric']!r} "
                                           "in predictions mode", "missing"))
            if ep["metric"] != "roc_auc" and "threshold" not in m:
                errs.append(format_invalid(f"{role}.threshold", fn,
                                           f"a pre-specified number for metric {ep['metric']!r}", "missing"))
    for role in ("reference", "candidate"):
        m = d[role]
        if "expected_sha256" in m and "bundle" not in m:
            errs.append(format_invalid(f"{role}.expected_sha256", fn, "given only with 'bundle'", m["expected_sha256"]))
        if "bundle" in m and "score" in m:
            errs.append(format_invalid(f"{role}.score", fn, "absent in bundle mode (the bundle's own score is used)",
                                       m["score"]))
    for j, var in enumerate(d.get("subgroups", {}).get("variables", [])):
        bins, labels = var.get("bins"), var.get("labels")
        if bins is not None and any(b >= c for b, c in zip(bins, bins[1:], strict=False)):
            errs.append(format_invalid(f"subgroups.variables[{j}].bins", fn, "strictly increasing", bins))
        if labels is not None and (bins is None or len(labels) != len(bins) - 1):
            errs.append(format_invalid(f"subgroups.variables[{j}].labels", fn,
                                       "one label per bin (len(bins) - 1) and given with bins", labels))
    return errs


def load_compare_protocol(path: str | Path) -> CompareProtocol:
    """Read, parse and validate a comparison protocol YAML file.

    Raises
    ------
    ProtocolError
        Missing file, not UTF-8/YAML, duplicate keys, schema violation or inconsistent content;
        the message names the key path (e.g. ``endpoints[1].ci``).
    """
    p = Path(path)
    where = p.name
    fn = f"protocol {where}"
    raw, data = read_protocol_yaml(p)  # bounded: size, nesting, aliases (the harness's one YAML reader)
    if not isinstance(data, dict):
        raise ProtocolError(format_invalid("<top level>", fn, "a mapping", type(data).__name__))
    validator = jsonschema.Draft202012Validator(compare_schema())
    errors = list(validator.iter_errors(data))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        if best.validator == "oneOf" and list(best.absolute_path)[-1:] in (["reference"], ["candidate"]):
            raise ProtocolError(format_invalid(str(best.absolute_path[-1]), fn,
                                               "a mapping with exactly one of 'predictions' or 'bundle'", best.instance))
        raise ProtocolError(schema_message(best, where))
    sem = _semantic_errors(data, fn)
    if sem:
        raise ProtocolError("\n".join(sem))
    base = p.resolve().parent

    def resolve(rel: str) -> Path:
        q = Path(rel)
        return q if q.is_absolute() else (base / q).resolve()

    endpoints = tuple(
        Endpoint(id=ep["id"], metric=ep["metric"], ci=ep["ci"],
                 confidence_level=float(ep.get("confidence_level", 0.95)),
                 non_inferiority_margin=float(ep["acceptance"]["non_inferiority_margin"]),
                 mcnemar=str(ep.get("mcnemar", "asymptotic_cc")))
        for ep in data["endpoints"])
    return CompareProtocol(path=p.resolve(), sha256=sha256_bytes(raw), data=data,
                           reference=_model("reference", data["reference"], resolve),
                           candidate=_model("candidate", data["candidate"], resolve), endpoints=endpoints)
