"""Loading and validating a validation protocol (statistical analysis plan) from YAML."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from samd_core.hashing import sha256_bytes
from validation.errors import ProtocolError, format_invalid

__all__ = ["BINARY_METRICS", "SEGMENTATION_METRICS", "Protocol", "load_protocol", "protocol_schema"]

BINARY_METRICS = frozenset({"sensitivity", "specificity", "ppv", "npv"})
SEGMENTATION_METRICS = frozenset({"dice", "hd95", "nsd"})
_PROPORTION_CI = frozenset({"wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"})
_BOOT = frozenset({"bootstrap_percentile", "bootstrap_bca"})
_ALLOWED_CI: dict[str, frozenset[str]] = {
    "roc_auc": frozenset({"delong"}) | _BOOT,
    **{m: _PROPORTION_CI | _BOOT for m in BINARY_METRICS},
    **{m: _BOOT for m in SEGMENTATION_METRICS},
    "lesion_sensitivity_at_fp": frozenset({"bootstrap_percentile"}),
}


def protocol_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) shipped with samd for protocol files."""
    text = resources.files("validation.harness").joinpath("protocol.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that rejects duplicate keys (a silently dropped key changes a plan)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise ProtocolError(
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1} of the protocol"
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping  # type: ignore[arg-type]
)


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<top level>"


def _schema_message(err: jsonschema.ValidationError, where: str) -> str:
    path = list(err.absolute_path)
    v = err.validator
    fn = f"protocol {where}"
    if v == "required":
        missing = next((k for k in err.validator_value if k not in (err.instance or {})), "?")
        return format_invalid(_path(path + [missing]), fn, "present", "missing")
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        key = extra[0] if extra else "?"
        return format_invalid(_path(path + [key]), fn, f"one of the known keys {allowed}",
                              key, allowed)
    if v == "enum":
        return format_invalid(_path(path), fn, f"one of {list(err.validator_value)}",
                              err.instance, [str(x) for x in err.validator_value])
    if v == "type":
        return format_invalid(_path(path), fn, f"of type {err.validator_value}", err.instance)
    if v in ("oneOf", "anyOf"):
        if path and path[-1] == "device":
            return format_invalid(_path(path), fn, "a mapping with exactly one of 'predictions' "
                                  "or 'bundle'", err.instance)
        if path and path[-1] == "truth":
            return format_invalid(_path(path), fn, "a mapping with 'column' and 'positive' "
                                  "(or 'mask_column' / 'lesions')", err.instance)
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[v]
        return format_invalid(_path(path), fn, f"{op} {err.validator_value}", err.instance)
    if v == "dependentRequired":
        return format_invalid(_path(path), fn, "'margin' and 'reference' together", err.instance)
    if v == "minItems":
        return format_invalid(_path(path), fn, f"a list of at least {err.validator_value} item(s)",
                              err.instance)
    if v == "pattern":
        return format_invalid(_path(path), fn, f"a string matching {err.validator_value}", err.instance)
    return format_invalid(_path(path), fn, err.message, err.instance)


def _semantic_errors(d: dict[str, Any], where: str) -> list[str]:
    fn = f"protocol {where}"
    errs: list[str] = []
    dev, truth = d["device"], d["truth"]
    seen: set[str] = set()
    for i, ep in enumerate(d["endpoints"]):
        at = f"endpoints[{i}]"
        m, ci = ep["metric"], ep["ci"]
        if ep["id"] in seen:
            errs.append(format_invalid(f"{at}.id", fn, "unique among endpoints", ep["id"]))
        seen.add(ep["id"])
        if ci not in _ALLOWED_CI[m]:
            errs.append(format_invalid(f"{at}.ci", fn, f"one of {sorted(_ALLOWED_CI[m])} for "
                                       f"metric {m!r}", ci, _ALLOWED_CI[m]))
        if ci in _BOOT and "bootstrap" not in d:
            errs.append(format_invalid("bootstrap", fn, f"present (endpoint {ep['id']!r} uses "
                                       f"{ci})", "missing"))
        if m == "roc_auc" or m in BINARY_METRICS:
            if "score" not in dev:
                errs.append(format_invalid("device.score", fn, f"present for metric {m!r}", "missing"))
            if "column" not in truth:
                errs.append(format_invalid("truth.column", fn, f"present for metric {m!r}", "missing"))
        if m in BINARY_METRICS and "threshold" not in dev:
            errs.append(format_invalid("device.threshold", fn,
                                       f"a pre-specified number for metric {m!r}", "missing"))
        if m in SEGMENTATION_METRICS:
            if "mask_column" not in truth:
                errs.append(format_invalid("truth.mask_column", fn, f"present for metric {m!r}", "missing"))
            if "predictions" in dev and "mask_column" not in dev:
                errs.append(format_invalid("device.mask_column", fn, f"present for metric {m!r}", "missing"))
        if m == "nsd" and "tolerance_mm" not in ep:
            errs.append(format_invalid(f"{at}.tolerance_mm", fn, "a tolerance in mm for 'nsd'", "missing"))
        if m == "lesion_sensitivity_at_fp":
            if "fp_per_image" not in ep:
                errs.append(format_invalid(f"{at}.fp_per_image", fn, "present for "
                                           "'lesion_sensitivity_at_fp'", "missing"))
            if "lesions" not in truth:
                errs.append(format_invalid("truth.lesions", fn, "present for 'lesion_sensitivity_at_fp'", "missing"))
            if "detections" not in dev and "bundle" not in dev:
                errs.append(format_invalid("device.detections", fn, "present for 'lesion_sensitivity_at_fp' "
                                           "in predictions mode (bundle mode uses the model's lesions)", "missing"))
    for j, var in enumerate(d.get("subgroups", {}).get("variables", [])):
        bins = var.get("bins")
        if bins is not None and any(b >= c for b, c in zip(bins, bins[1:], strict=False)):
            errs.append(format_invalid(f"subgroups.variables[{j}].bins", fn, "strictly increasing", bins))
        labels = var.get("labels")
        if labels is not None and (bins is None or len(labels) != len(bins) - 1):
            errs.append(format_invalid(f"subgroups.variables[{j}].labels", fn,
                                       "one label per bin (len(bins) - 1) and given with bins", labels))
    return errs


@dataclass(frozen=True, slots=True)
class Protocol:
    """A validated protocol.

    Attributes
    ----------
    path : Path
        The YAML file (relative paths inside it are resolved against its folder).
    sha256 : str
        SHA-256 of the file's bytes (what is locked in the audit trail).
    data : dict
        The parsed, schema-valid content.
    """

    path: Path
    sha256: str
    data: dict[str, Any]

    @property
    def id(self) -> str:  # noqa: A003 - protocol field name
        """The protocol's identifier (``id`` key)."""
        return str(self.data["id"])

    def resolve(self, rel: str) -> Path:
        """A path from the protocol, resolved against the protocol's folder."""
        p = Path(rel)
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    @property
    def mode(self) -> str:
        """``"predictions"`` or ``"bundle"``."""
        return "bundle" if "bundle" in self.data["device"] else "predictions"


def load_protocol(path: str | Path) -> Protocol:
    """Read, parse and validate a protocol YAML file.

    Raises
    ------
    ProtocolError
        The file is missing, not YAML, has duplicate keys, violates the shipped JSON Schema,
        or is inconsistent (e.g. a binary endpoint without a threshold). The message names
        the key path, e.g. ``endpoints[1].metric``.
    """
    p = Path(path)
    if not p.is_file():
        raise ProtocolError(format_invalid("PROTOCOL", "samd validate", "an existing YAML file", str(p)))
    raw = p.read_bytes()
    where = p.name
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader subclass
    except UnicodeDecodeError:
        raise ProtocolError(f"protocol {where} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ProtocolError(f"protocol {where} is not valid YAML{line}: "
                            f"{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ProtocolError(format_invalid("<top level>", f"protocol {where}", "a mapping", type(data).__name__))
    validator = jsonschema.Draft202012Validator(protocol_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), list(map(str, e.absolute_path))))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        msgs = [_schema_message(best, where)]
        msgs += [m for m in (_schema_message(e, where) for e in errors) if m not in msgs][:4]
        raise ProtocolError("; ".join(msgs) if len(msgs) == 1 else "\n".join(msgs))
    sem = _semantic_errors(data, where)
    if sem:
        raise ProtocolError("\n".join(sem))
    return Protocol(path=p.resolve(), sha256=sha256_bytes(raw), data=data)


#: Case-table column: 1 when the reference mask has foreground (the segmentation population).
REF_NONEMPTY = "reference_mask_nonempty"
