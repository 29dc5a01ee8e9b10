"""Loading a validation protocol (statistical analysis plan) from YAML into typed, frozen objects.

The file is read once, bounded (size, nesting depth, alias expansion), checked against the
shipped JSON Schema, normalised (older option spellings are accepted aliases, recorded) and
parsed into `Protocol`. Nothing past `load_protocol` looks up protocol keys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

from samd_core.hashing import sha256_bytes
from validation.errors import ProtocolError, format_invalid

__all__ = [
    "BINARY_METRICS",
    "CI_ALIASES",
    "LESION_METRICS",
    "MULTIPLICITY_ALIASES",
    "SEGMENTATION_METRICS",
    "Acceptance",
    "Bootstrap",
    "Device",
    "Endpoint",
    "Normalised",
    "Protocol",
    "Score",
    "SubgroupVariable",
    "Subgroups",
    "Truth",
    "UndefinedRule",
    "load_protocol",
    "protocol_schema",
    "read_protocol_yaml",
    "schema_message",
    "shipped_schema",
]

BINARY_METRICS = frozenset({"sensitivity", "specificity", "ppv", "npv"})
SEGMENTATION_METRICS = frozenset({"dice", "hd95", "nsd"})
#: Lesion-level (CADe) metrics: sensitivity at an FP rate on the FROC curve, and lesion
#: sensitivity / FP per image at the locked candidate threshold.
LESION_METRICS = frozenset({"lesion_sensitivity_at_fp", "lesion_sensitivity", "fp_per_image"})
_PROPORTION_CI = frozenset({"wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"})
_BOOT = frozenset({"bootstrap_percentile", "bootstrap_bca"})
_ALLOWED_CI: dict[str, frozenset[str]] = {
    "roc_auc": frozenset({"delong"}) | _BOOT,
    **{m: _PROPORTION_CI | _BOOT for m in BINARY_METRICS},
    **{m: _BOOT for m in SEGMENTATION_METRICS},
    **{m: frozenset({"bootstrap_percentile"}) for m in LESION_METRICS},
}
#: What `endpoints[i].undefined` accepts (the one expectation every bad value is told).
UNDEFINED_FORMS = "'exclude', 'worst' or a mapping {value: X} (X a finite number)"
#: Range of an imputed value per metric (inclusive): distances in mm >= 0, overlaps in [0, 1].
UNDEFINED_RANGE: dict[str, tuple[float, float]] = {"hd95": (0.0, math.inf), "dice": (0.0, 1.0), "nsd": (0.0, 1.0)}
#: Older spellings accepted in protocols (locked files keep working), each recorded in
#: ``result.json`` ``normalised`` as ``{"path", "given", "used"}``.
CI_ALIASES: dict[str, str] = {
    "bootstrap-percentile": "bootstrap_percentile",
    "bootstrap-bca": "bootstrap_bca",
    "wilson-cc": "wilson_cc",
    "clopper-pearson": "clopper_pearson",
    "agresti-coull": "agresti_coull",
}
MULTIPLICITY_ALIASES: dict[str, str] = {"bh": "benjamini_hochberg", "benjamini-hochberg": "benjamini_hochberg"}

#: Bounds on the protocol file (a plan is a few kB).
MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000
_SHOWN = 80


def shipped_schema(package: str, name: str) -> dict[str, Any]:
    """A JSON Schema file shipped inside ``package`` (e.g. ``"validation.harness"``), parsed."""
    text = resources.files(package).joinpath(name).read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def protocol_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) shipped with samd for protocol files."""
    return shipped_schema("validation.harness", "protocol.schema.json")


# ----------------------------------------------------------------------------- typed protocol
@dataclass(frozen=True, slots=True)
class Normalised:
    """An accepted older spelling, recorded as used: ``path`` (e.g. ``endpoints[2].ci``)."""

    path: str
    given: str
    used: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "given": self.given, "used": self.used}


@dataclass(frozen=True, slots=True)
class Score:
    """The device's score column; ``higher_is_positive`` fixes the direction."""

    column: str
    higher_is_positive: bool
    is_probability: bool | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """The device under test: a predictions file or a locked bundle; ``name``/``version`` are its
    declared identity (recorded in result.json; in bundle mode they must equal the bundle's)."""

    predictions: str | None
    bundle: str | None
    model_sha256: str | None
    score: Score | None
    threshold: float | None
    mask_column: str | None
    detections: str | None
    image_column: str
    name: str | None = None
    version: str | None = None
    #: candidate score threshold of the lesion endpoints (predictions mode; default: ``threshold``)
    detection_threshold: float | None = None
    #: what a manifest case without any ``device.detections`` row means: ``"error"`` (refused)
    #: or ``"no_findings"`` (the image was read and had no candidate)
    missing_detections: str = "error"
    #: A training-set identifier file (``training_set.json`` format) for the overlap check.
    training_set: str | None = None

    @property
    def mode(self) -> str:
        """``"predictions"`` or ``"bundle"``."""
        return "bundle" if self.bundle is not None else "predictions"


@dataclass(frozen=True, slots=True)
class Truth:
    """Reference standard: a label column (``positive`` and optional ``negative`` values),
    reference masks and/or a lesion table."""

    column: str | None
    positive: str | float | bool | None
    negative: tuple[str | float | bool, ...] | None
    mask_column: str | None
    lesions: str | None


@dataclass(frozen=True, slots=True)
class Acceptance:
    """Acceptance criteria of one endpoint (all given ones must hold)."""

    ci_low_at_least: float | None = None
    value_at_least: float | None = None
    ci_high_at_most: float | None = None
    value_at_most: float | None = None
    margin: float | None = None
    reference: float | None = None

    def to_dict(self) -> dict[str, float]:
        """The criteria as written (only the given keys)."""
        keys = ("ci_low_at_least", "value_at_least", "ci_high_at_most", "value_at_most", "margin", "reference")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class UndefinedRule:
    """Pre-specified rule for a case whose endpoint value is undefined (HD95 of an empty
    prediction): ``"exclude"`` (the default; counted and stated), ``"worst"`` (the metric's worst
    value, `validation.harness` docs) or ``"value"`` (impute ``value``). ``declared`` is False
    when the protocol has no ``undefined`` key (the default applies)."""

    rule: str = "exclude"
    value: float | None = None
    declared: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "declared": self.declared}
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One pre-specified endpoint; ``ci`` is the normalised CI-method name."""

    id: str  # noqa: A003 - protocol field name
    metric: str
    ci: str
    confidence_level: float
    acceptance: Acceptance
    tolerance_mm: float | None = None
    fp_per_image: float | None = None
    radius_mm: float | None = None
    undefined: UndefinedRule = UndefinedRule()

    @property
    def seg_key(self) -> str:
        """Name of the per-case value column (``nsd@<tolerance>`` for NSD)."""
        return self.metric if self.metric != "nsd" else f"nsd@{self.tolerance_mm}"


@dataclass(frozen=True, slots=True)
class SubgroupVariable:
    """A subgroup variable: a manifest column, optionally binned ``[a, b)`` with labels."""

    column: str
    bins: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Subgroups:
    min_size: int
    variables: tuple[SubgroupVariable, ...]


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """``bootstrap:`` of a protocol. ``chunk_size`` (optional) selects the chunked scheme:
    replicates drawn in chunks of that many, chunk ``k`` from the ``k``-th spawned child of the
    estimate's seed sequence (`validation.stats.ChunkedStreams`); the chunks may be computed on
    the run's Dask workers with the same result. Absent: one generator per estimate."""

    replicates: int = 2000
    seed: int = 0
    chunk_size: int | None = None

    def streams(self, key: Sequence[int], map: Any = None) -> Any:
        """The ``rng`` of the estimate identified by ``key`` (integers appended to the seed):
        ``numpy.random.default_rng([seed, *key])``, or `ChunkedStreams` over that seed when
        ``chunk_size`` is declared (``map``: where its chunks are computed)."""
        entropy = [self.seed, *(int(k) for k in key)]
        if self.chunk_size is None:
            return np.random.default_rng(entropy)
        from validation.stats import ChunkedStreams

        return ChunkedStreams(tuple(entropy), self.chunk_size, map)

    def to_dict(self) -> dict[str, Any]:
        """As recorded in ``result.json`` (``chunk_size`` and ``streams`` only when chunked)."""
        d: dict[str, Any] = {"replicates": self.replicates, "seed": self.seed}
        if self.chunk_size is not None:
            d.update(chunk_size=self.chunk_size,
                     streams="chunked: chunk k of chunk_size replicates drawn from "
                             "numpy.random.default_rng(SeedSequence([seed, *estimate key]).spawn(K)[k])")
        return d


@dataclass(frozen=True, slots=True)
class Protocol:
    """A validated, parsed protocol.

    Attributes
    ----------
    path : Path
        The YAML file (relative paths inside it are resolved against its folder).
    sha256 : str
        SHA-256 of the file's bytes as written (what is locked in the audit trail).
    id, title : str
    device, manifest, truth, endpoints, subgroups, bootstrap, multiplicity
        The plan, typed. ``multiplicity`` is ``holm``, ``bonferroni``, ``benjamini_hochberg`` or ``none``.
    normalised : tuple of Normalised
        Older spellings that were accepted and the names used instead.
    """

    path: Path
    sha256: str
    id: str  # noqa: A003 - protocol field name
    title: str | None
    device: Device
    manifest: str
    truth: Truth
    endpoints: tuple[Endpoint, ...]
    subgroups: Subgroups | None
    bootstrap: Bootstrap
    multiplicity: str
    normalised: tuple[Normalised, ...] = ()

    def resolve(self, rel: str) -> Path:
        """A path from the protocol, resolved against the protocol's folder."""
        p = Path(rel)
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    @property
    def mode(self) -> str:
        """``"predictions"`` or ``"bundle"``."""
        return self.device.mode


# ----------------------------------------------------------------------------- bounded YAML
class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that rejects duplicate keys (a silently dropped key changes a plan)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            seen = key in out
        except TypeError:  # an unhashable key (a list or mapping used as a key)
            raise ProtocolError(f"a non-scalar key at line {key_node.start_mark.line + 1} of the protocol") from None
        if seen:
            raise ProtocolError(
                f"duplicate key {_short(key)} at line {key_node.start_mark.line + 1} of the protocol"
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping  # type: ignore[arg-type]
)


def _check_shape(text: str, where: str) -> None:
    """Walk the YAML event stream (no recursion, no construction): nesting depth and the node
    count after alias expansion are bounded, so no input reaches RecursionError or MemoryError."""
    depth = 0
    stack: list[tuple[str | None, int]] = []  # (anchor, expanded nodes before it started)
    sizes: dict[str, int] = {}
    total = 0
    for ev in yaml.parse(text, Loader=_UniqueKeyLoader):
        if isinstance(ev, yaml.AliasEvent):
            total += sizes.get(ev.anchor, 1)
        elif isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ProtocolError(format_invalid("<document>", f"protocol {where}",
                                                   f"nested at most {MAX_DEPTH} levels deep", f"deeper than {MAX_DEPTH}"))
            total += 1
            stack.append((ev.anchor, total))
        elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
            anchor, start = stack.pop()
            if anchor is not None:
                sizes[anchor] = total - start + 1
        elif isinstance(ev, yaml.ScalarEvent):
            total += 1
            if ev.anchor is not None:
                sizes[ev.anchor] = 1
        if total > MAX_NODES:
            raise ProtocolError(format_invalid("<document>", f"protocol {where}",
                                               f"at most {MAX_NODES} values after expanding aliases",
                                               f"more than {MAX_NODES}"))


def read_protocol_yaml(p: Path) -> tuple[bytes, Any]:
    """The raw bytes and parsed YAML of a protocol file, bounded before parsing.

    The one protocol reader of samd (validation and comparison protocols): at most 1 MiB,
    64 levels of nesting and 100 000 values after expanding aliases; UTF-8; no duplicate keys.

    Raises
    ------
    ProtocolError
        One line naming what is wrong (never the file's content).
    """
    where = p.name
    if not p.is_file():
        raise ProtocolError(format_invalid("PROTOCOL", "samd validate", "an existing YAML file", p.name))
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise ProtocolError(format_invalid("PROTOCOL", "samd validate", f"a file of at most {MAX_BYTES} bytes",
                                           f"{size} bytes"))
    with p.open("rb") as fh:
        raw = fh.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ProtocolError(format_invalid("PROTOCOL", "samd validate", f"a file of at most {MAX_BYTES} bytes",
                                           f"more than {MAX_BYTES} bytes"))
    try:
        text = raw.decode("utf-8")
        _check_shape(text, where)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader subclass
    except UnicodeDecodeError:
        raise ProtocolError(f"protocol {where} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or type(exc).__name__)[:_SHOWN]
        raise ProtocolError(f"protocol {where} is not valid YAML{line}: {problem}") from None
    except RecursionError:  # pragma: no cover - _check_shape bounds the depth first
        raise ProtocolError(f"protocol {where} is nested too deeply") from None
    return raw, data


# ----------------------------------------------------------------------------- messages
def _short(value: Any) -> str:
    """A bounded description of a value: containers are summarised, never repr()'d whole."""
    if isinstance(value, dict):
        return f"a mapping with {len(value)} key(s)"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item(s)"
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


class _Shown(str):
    """A pre-rendered value for `format_invalid` (shown without quotes)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def _invalid(path: str, where: str, allowed: str, value: Any, options: Any = None) -> str:
    shown: Any = value if isinstance(value, str) and len(value) <= _SHOWN else _Shown(_short(value))
    return format_invalid(path, f"protocol {where}", allowed, shown, options).replace("\n", " ")


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        text = str(p) if len(str(p)) <= _SHOWN else str(p)[: _SHOWN - 3] + "..."
        text = text.replace("\n", " ").replace("\r", " ")
        out += f"[{text}]" if isinstance(p, int) else (f".{text}" if out else text)
    return out or "<top level>"


def schema_message(err: jsonschema.ValidationError, where: str) -> str:
    """One line for a JSON Schema violation in protocol file ``where``: the key path (e.g.
    ``endpoints[1].ci``), the value (containers summarised) and what is expected."""
    path = list(err.absolute_path)
    v = err.validator
    if len(path) >= 3 and path[0] == "endpoints" and path[2] == "undefined":  # one expectation for every form
        return _invalid(_path(path), where, UNDEFINED_FORMS, err.instance)
    if v == "required":
        missing = next((k for k in err.validator_value if k not in (err.instance or {})), "?")
        return _invalid(_path(path + [missing]), where, "present", "missing")
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted((str(k) for k in err.instance if k not in allowed))
        key = extra[0] if extra else "?"
        return _invalid(_path(path + [key]), where, f"one of the known keys {allowed}", key, allowed)
    if v == "enum":
        return _invalid(_path(path), where, f"one of {list(err.validator_value)}",
                        err.instance, [str(x) for x in err.validator_value])
    if v == "type":
        return _invalid(_path(path), where, f"of type {err.validator_value}", err.instance)
    if v in ("oneOf", "anyOf"):
        if path and path[-1] == "device":
            return _invalid(_path(path), where, "a mapping with exactly one of 'predictions' or 'bundle'", err.instance)
        if path and path[-1] == "truth":
            return _invalid(_path(path), where, "a mapping with 'column' and 'positive' "
                            "(or 'mask_column' / 'lesions')", err.instance)
        return _invalid(_path(path), where, "one of the allowed forms", err.instance)
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[v]
        return _invalid(_path(path), where, f"{op} {err.validator_value}", err.instance)
    if v == "dependentRequired":
        return _invalid(_path(path), where, "'margin' and 'reference' together", err.instance)
    if v == "minItems":
        return _invalid(_path(path), where, f"a list of at least {err.validator_value} item(s)", err.instance)
    if v in ("maxItems", "minProperties", "maxLength", "minLength"):
        return _invalid(_path(path), where, f"{v} {err.validator_value}", err.instance)
    if v == "pattern":
        return _invalid(_path(path), where, f"a string matching {err.validator_value}", err.instance)
    return _invalid(_path(path), where, f"valid under the schema's {v!r} rule", err.instance)


# ----------------------------------------------------------------------------- normalise, check, parse
def _normalise(data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Normalised, ...]]:
    """Replace accepted older spellings by the names used; the file (and its hash) is unchanged."""
    done: list[Normalised] = []
    eps = data.get("endpoints")
    if isinstance(eps, list):
        new_eps = []
        for i, ep in enumerate(eps):
            if isinstance(ep, dict) and isinstance(ep.get("ci"), str) and ep["ci"] in CI_ALIASES:
                done.append(Normalised(f"endpoints[{i}].ci", ep["ci"], CI_ALIASES[ep["ci"]]))
                ep = {**ep, "ci": CI_ALIASES[ep["ci"]]}
            new_eps.append(ep)
        data = {**data, "endpoints": new_eps}
    mult = data.get("multiplicity")
    if isinstance(mult, str) and mult in MULTIPLICITY_ALIASES:
        done.append(Normalised("multiplicity", mult, MULTIPLICITY_ALIASES[mult]))
        data = {**data, "multiplicity": MULTIPLICITY_ALIASES[mult]}
    return data, tuple(done)


def _finite(x: Any) -> bool:
    return not isinstance(x, float) or math.isfinite(x)


def _nonfinite_errors(data: Any, where: str, path: str = "") -> list[str]:
    """Every number in a plan must be finite (YAML ``.nan`` / ``.inf`` are refused)."""
    errs: list[str] = []
    stack = [(path, data)]
    while stack:
        at, x = stack.pop()
        if isinstance(x, dict):
            stack += [(f"{at}.{k}" if at else str(k), v) for k, v in x.items()]
        elif isinstance(x, list):
            stack += [(f"{at}[{i}]", v) for i, v in enumerate(x)]
        elif not _finite(x):
            errs.append(_invalid(at or "<top level>", where, "a finite number", x))
    return sorted(errs)


def _semantic_errors(d: dict[str, Any], where: str) -> list[str]:
    errs: list[str] = []
    dev, truth = d["device"], d["truth"]
    seen: set[str] = set()
    for i, ep in enumerate(d["endpoints"]):
        at = f"endpoints[{i}]"
        m, ci = ep["metric"], ep["ci"]
        if ep["id"] in seen:
            errs.append(_invalid(f"{at}.id", where, "unique among endpoints", ep["id"]))
        seen.add(ep["id"])
        if ci not in _ALLOWED_CI[m]:
            errs.append(_invalid(f"{at}.ci", where, f"one of {sorted(_ALLOWED_CI[m])} for metric {m!r}", ci,
                                 _ALLOWED_CI[m]))
        if ci in _BOOT and "bootstrap" not in d:
            errs.append(_invalid("bootstrap", where, f"present (endpoint {ep['id']!r} uses {ci})", "missing"))
        if m == "roc_auc" or m in BINARY_METRICS:
            if "score" not in dev:
                errs.append(_invalid("device.score", where, f"present for metric {m!r}", "missing"))
            if "column" not in truth:
                errs.append(_invalid("truth.column", where, f"present for metric {m!r}", "missing"))
        if m in BINARY_METRICS and "threshold" not in dev and "bundle" not in dev:
            errs.append(_invalid("device.threshold", where, f"a pre-specified number for metric {m!r}",
                                 "missing"))
        if m in SEGMENTATION_METRICS:
            if "mask_column" not in truth:
                errs.append(_invalid("truth.mask_column", where, f"present for metric {m!r}", "missing"))
            if "predictions" in dev and "mask_column" not in dev:
                errs.append(_invalid("device.mask_column", where, f"present for metric {m!r}", "missing"))
        if "undefined" in ep:
            errs += _undefined_errors(ep["undefined"], m, f"{at}.undefined", where)
        if m == "nsd" and "tolerance_mm" not in ep:
            errs.append(_invalid(f"{at}.tolerance_mm", where, "a tolerance in mm for 'nsd'", "missing"))
        if m == "lesion_sensitivity_at_fp" and "fp_per_image" not in ep:
            errs.append(_invalid(f"{at}.fp_per_image", where, "present for 'lesion_sensitivity_at_fp'",
                                 "missing"))
        if m in LESION_METRICS:
            if "lesions" not in truth:
                errs.append(_invalid("truth.lesions", where, f"present for {m!r}", "missing"))
            if "detections" not in dev and "bundle" not in dev:
                errs.append(_invalid("device.detections", where, f"present for {m!r} in "
                                     "predictions mode (bundle mode uses the model's lesions)", "missing"))
        if m in LESION_METRICS - {"lesion_sensitivity_at_fp"} and "bundle" not in dev \
                and "detection_threshold" not in dev and "threshold" not in dev:
            errs.append(_invalid("device.detection_threshold", where, f"a pre-specified candidate score "
                                 f"threshold for metric {m!r} (or device.threshold)", "missing"))
    if "negative" in truth:
        neg = truth["negative"] if isinstance(truth["negative"], list) else [truth["negative"]]
        if any(_label(v) == _label(truth.get("positive")) for v in neg):
            errs.append(_invalid("truth.negative", where, "values other than truth.positive", truth["negative"]))
    for j, var in enumerate(d.get("subgroups", {}).get("variables", [])):
        bins = var.get("bins")
        if bins is not None and any(b >= c for b, c in zip(bins, bins[1:], strict=False)):
            errs.append(_invalid(f"subgroups.variables[{j}].bins", where, "strictly increasing", bins))
        labels = var.get("labels")
        if labels is not None and (bins is None or len(labels) != len(bins) - 1):
            errs.append(_invalid(f"subgroups.variables[{j}].labels", where,
                                 "one label per bin (len(bins) - 1) and given with bins", labels))
    return errs


def _undefined_errors(u: Any, metric: str, at: str, where: str) -> list[str]:
    """`endpoints[i].undefined`: only for segmentation metrics; an imputed value in the metric's range."""
    if metric not in SEGMENTATION_METRICS:
        return [_invalid(at, where, f"absent for metric {metric!r} (only {sorted(SEGMENTATION_METRICS)} "
                         "have undefined values)", u)]
    if isinstance(u, dict):
        lo, hi = UNDEFINED_RANGE[metric]
        x = u["value"]
        if not lo <= x <= hi:
            rng = f">= {lo:g} (mm)" if math.isinf(hi) else f"in [{lo:g}, {hi:g}]"
            return [_invalid(f"{at}.value", where, f"a finite number {rng} for metric {metric!r}", x)]
    return []


def _undefined_rule(u: Any) -> UndefinedRule:
    if u is None:
        return UndefinedRule()
    if isinstance(u, dict):
        return UndefinedRule("value", float(u["value"]), True)
    return UndefinedRule(str(u), None, True)


def _label(v: Any) -> str:
    """A truth label as compared with the manifest's text (booleans: ``true``/``false``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _opt_float(x: Any) -> float | None:
    return None if x is None else float(x)


def _parse(p: Path, raw: bytes, d: dict[str, Any], normalised: tuple[Normalised, ...]) -> Protocol:
    dev, tr = d["device"], d["truth"]
    sc = dev.get("score")
    device = Device(
        predictions=dev.get("predictions"), bundle=dev.get("bundle"), model_sha256=dev.get("model_sha256"),
        score=None if sc is None else Score(sc["column"], bool(sc["higher_is_positive"]), sc.get("is_probability")),
        threshold=_opt_float(dev.get("threshold")), mask_column=dev.get("mask_column"),
        detections=dev.get("detections"), image_column=dev.get("image_column", "path"),
        name=dev.get("name"), version=dev.get("version"), training_set=dev.get("training_set"),
        detection_threshold=_opt_float(dev.get("detection_threshold")),
        missing_detections=str(dev.get("missing_detections", "error")),
    )
    neg = tr.get("negative")
    truth = Truth(column=tr.get("column"), positive=tr.get("positive"),
                  negative=None if neg is None else tuple(neg if isinstance(neg, list) else [neg]),
                  mask_column=tr.get("mask_column"), lesions=tr.get("lesions"))
    endpoints = tuple(
        Endpoint(id=ep["id"], metric=ep["metric"], ci=ep["ci"], confidence_level=float(ep.get("confidence_level", 0.95)),
                 acceptance=Acceptance(**ep["acceptance"]),
                 tolerance_mm=_opt_float(ep.get("tolerance_mm")), fp_per_image=_opt_float(ep.get("fp_per_image")),
                 radius_mm=_opt_float(ep.get("radius_mm")), undefined=_undefined_rule(ep.get("undefined")))
        for ep in d["endpoints"]
    )
    sub = d.get("subgroups")
    subgroups = None if sub is None else Subgroups(
        min_size=int(sub.get("min_size", 1)),
        variables=tuple(SubgroupVariable(v["column"], None if "bins" not in v else tuple(float(b) for b in v["bins"]),
                                         None if not v.get("labels") else tuple(v["labels"]))
                        for v in sub["variables"]))
    boot = d.get("bootstrap")
    bootstrap = Bootstrap() if boot is None else Bootstrap(
        int(boot["replicates"]), int(boot["seed"]), None if boot.get("chunk_size") is None else int(boot["chunk_size"]))
    return Protocol(path=p.resolve(), sha256=sha256_bytes(raw), id=str(d["id"]), title=d.get("title"),
                    device=device, manifest=d["manifest"], truth=truth, endpoints=endpoints, subgroups=subgroups,
                    bootstrap=bootstrap, multiplicity=d.get("multiplicity", "holm"), normalised=normalised)


def load_protocol(path: str | Path) -> Protocol:
    """Read, bound, validate, normalise and parse a protocol YAML file.

    Raises
    ------
    ProtocolError
        The file is missing, larger than 1 MiB, nested deeper than 64 levels, expands (through
        YAML aliases) to more than 100 000 values, is not YAML, has duplicate keys, holds a
        non-finite number, violates the shipped JSON Schema, or is inconsistent (e.g. a binary
        endpoint without a threshold). One line per problem, naming the key path (e.g.
        ``endpoints[1].metric``), the value (containers summarised) and what is expected.
    """
    p = Path(path)
    raw, data = read_protocol_yaml(p)
    where = p.name
    if not isinstance(data, dict):
        raise ProtocolError(_invalid("<top level>", where, "a mapping", type(data).__name__))
    data, normalised = _normalise(data)
    nonfinite = _nonfinite_errors(data, where)
    if nonfinite:
        raise ProtocolError("; ".join(nonfinite[:5]))
    validator = jsonschema.Draft202012Validator(protocol_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), list(map(str, e.absolute_path))))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        msgs = [schema_message(best, where)]
        msgs += [m for m in (schema_message(e, where) for e in errors[:50]) if m not in msgs][:4]
        raise ProtocolError("; ".join(msgs))
    sem = _semantic_errors(data, where)
    if sem:
        raise ProtocolError("; ".join(sem))
    return _parse(p, raw, data, normalised)


#: Case-table column: 1 when the reference mask has foreground (the segmentation population).
REF_NONEMPTY = "reference_mask_nonempty"
#: Per-case value: diagonal of the image extent in mm (the worst HD95, `undefined: worst`).
IMAGE_DIAGONAL = "image_diagonal_mm"
