"""Load YAML documents and validate them against the JSON Schemas shipped as package data."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from risk.errors import InvalidParameterError, RiskFileError

__all__ = ["load_schema", "load_yaml", "validate_document"]

_SCHEMAS = ("requirements", "risk_file", "submission")


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """Return the JSON Schema ``risk/schemas/<name>.schema.json``."""
    if name not in _SCHEMAS:
        raise InvalidParameterError("name", "load_schema", f"one of {list(_SCHEMAS)}", name, _SCHEMAS)
    text = resources.files("risk").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file with the safe loader (no object construction)."""
    p = Path(path)
    if not p.is_file():
        raise RiskFileError(str(p), ["file does not exist"])
    try:
        return yaml.safe_load(p.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise RiskFileError(str(p), [f"not parseable as YAML: {exc}"]) from exc
    except RecursionError as exc:  # e.g. 100 000 nested `[`: the parser recurses per level
        raise RiskFileError(str(p), ["not parseable as YAML: nested too deeply"]) from exc


def validate_document(doc: Any, schema_name: str, path: str | Path) -> None:
    """Raise `RiskFileError` listing every schema violation of ``doc`` (sorted by location)."""
    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    problems = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        where = "/" + "/".join(str(p) for p in err.absolute_path)
        problems.append(f"`{where}`: {err.message}")
    if problems:
        raise RiskFileError(str(path), problems)
