"""`create_bundle`: lock any model (ONNX or samd network) from a YAML spec, atomically, with OQ goldens.

Spec (YAML; paths relative to the spec file)::

    name: cxr-triage
    version: 1.0.0
    intended_use: "..."
    model: {format: onnx, path: model.onnx}   # or {format: samd, network: network.json, weights: weights.safetensors}
    task: {kind: classification, classes: [normal, finding], positive_class: finding,
           activation: softmax, threshold: 0.5}
    input: {dims: 2, channels: 1, modality: [DX, CR], shape: [64, 64]}
    preprocessing:
      - {intensity_window: [0, 4095]}          # maps [lo, hi] linearly to [0, 1] and clips
      - {op: zscore, mean: 0.5, std: 0.2}      # or any samd_core.preprocess intensity step
    reference_inputs: [ref/a.mha, ref/b.mha]   # OQ goldens are computed from these at create time
    model_card: card.md
    # optional: training_data_manifest_sha256, input_domain (see InputDomain),
    # training_set (hashed identifiers of the training data; see TrainingSet and docs/bundle.md):
    #   {manifest: train.csv, image_column: path, patient_id_column: patient_id}  or  {file: training_set.json}

The bundle is written to a temporary sibling folder, loaded back through `load_locked`
(every check), run on the reference inputs to compute the goldens, manifested, optionally signed,
and only then renamed to ``out_dir``: a failed create leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from collections.abc import Mapping
from typing import Any

from samd_core.bundle._domain import InputDomain
from samd_core.bundle._manifest import MAX_DATA_BYTES, MAX_TEXT_BYTES, sign_manifest, write_manifest
from samd_core.bundle._reference import (
    GOLDEN_JSON,
    GOLDEN_TENSORS,
    INPUTS_JSON,
    INPUTS_TENSORS,
    encode_goldens,
    encode_reference_inputs,
)
from samd_core.bundle._task import InputSpec, TaskSpec
from samd_core.bundle._training_set import TRAINING_SET_NAME, training_set_from_spec
from samd_core.bundle._task_model import BUNDLE_FORMAT_V2, MODEL_FORMATS
from samd_core.errors import InvalidParameterError
from samd_core.volume import Volume

__all__ = ["SPEC_KEYS", "create_bundle"]

_FN = "create_bundle"
SPEC_KEYS = ("input", "intended_use", "model", "model_card", "name", "preprocessing", "reference_inputs", "task",
             "version")
_OPTIONAL = ("input_domain", "training_data_manifest_sha256", "training_set")


def _read(base: pathlib.Path, rel: Any, field: str, limit: int) -> bytes:
    if not isinstance(rel, str) or not rel:
        raise InvalidParameterError(field, _FN, "a file path relative to the spec", rel)
    p = base / rel
    if not p.is_file():
        raise InvalidParameterError(field, _FN, "an existing regular file", rel)
    if p.stat().st_size > limit:
        raise InvalidParameterError(field, _FN, f"a file of at most {limit} bytes", f"{p.stat().st_size} bytes")
    return p.read_bytes()


def _pipeline_spec(steps: Any) -> dict[str, Any]:
    from samd_core.preprocess import Pipeline

    if not isinstance(steps, list):
        raise InvalidParameterError("preprocessing", _FN, "a list of steps", steps)
    out = []
    for i, st in enumerate(steps):
        if isinstance(st, Mapping) and set(st) == {"intensity_window"}:
            w = st["intensity_window"]
            ok = isinstance(w, list) and len(w) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                             for v in w) and w[0] < w[1]
            if not ok:
                raise InvalidParameterError(f"preprocessing[{i}].intensity_window", _FN, "[lo, hi] with lo < hi", w)
            out.append({"op": "window", "center": (float(w[0]) + float(w[1])) / 2.0,
                        "width": float(w[1]) - float(w[0])})
        elif isinstance(st, Mapping) and "op" in st:
            out.append(dict(st))
        else:
            raise InvalidParameterError(f"preprocessing[{i}]", _FN, "{intensity_window: [lo, hi]} or {op: ...}", st)
    return Pipeline.from_spec({"version": 1, "steps": out}).spec


def _read_reference(path: pathlib.Path) -> Volume:
    from samd_core import io as sio

    if path.suffix.lower() == ".dcm":
        reader = getattr(sio, "read_dicom_image", None)
        if reader is None:
            raise InvalidParameterError("reference_inputs", _FN, "images readable by samd_core.io", path.suffix)
        return reader(path)
    return sio.read_image(path)


def _load_spec(spec: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[Mapping[str, Any], pathlib.Path]:
    if isinstance(spec, Mapping):
        return spec, pathlib.Path.cwd()
    import yaml

    p = pathlib.Path(spec)
    data = _read(p.parent, p.name, "spec", 1 << 20)
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise InvalidParameterError("spec", _FN, "a UTF-8 YAML mapping", type(exc).__name__) from exc
    if not isinstance(doc, Mapping):
        raise InvalidParameterError("spec", _FN, "a YAML mapping", type(doc).__name__)
    return doc, p.parent


def create_bundle(
    spec: str | os.PathLike[str] | Mapping[str, Any],
    out_dir: str | os.PathLike[str],
    *,
    private_key: Any = None,
) -> pathlib.Path:
    """Lock a model described by a YAML spec into a verified ``samd-bundle/2`` bundle.

    Parameters
    ----------
    spec : path or mapping
        The YAML spec file (paths inside are relative to it), or its parsed mapping (paths
        relative to the working directory).
    out_dir : path
        New directory (must not exist, or be empty).
    private_key : Ed25519PrivateKey, optional
        Signs the manifest.

    Returns
    -------
    pathlib.Path
        The bundle directory.

    Raises
    ------
    InvalidParameterError
        A spec key is missing, unknown or invalid (named), before anything is written.
    BundleIntegrityError
        The written bundle does not pass `load_locked` (e.g. ONNX I/O shapes contradict the spec).
    """
    from samd_core import __version__
    from samd_core.fingerprint import core_fingerprint

    doc, base = _load_spec(spec)
    missing = [k for k in SPEC_KEYS if k not in doc]
    unknown = [k for k in doc if k not in SPEC_KEYS + _OPTIONAL]
    if missing or unknown:
        raise InvalidParameterError("spec", _FN, f"the keys {list(SPEC_KEYS)} (optional {list(_OPTIONAL)})",
                                    {"missing": missing, "unknown": [str(u)[:40] for u in unknown]})
    out = pathlib.Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidParameterError("out_dir", _FN, "a new or empty directory", str(out))
    for k in ("name", "version", "intended_use"):
        if not isinstance(doc[k], str) or not doc[k].strip():
            raise InvalidParameterError(k, _FN, "a non-empty string", doc[k])
    task = TaskSpec.from_dict(doc["task"])
    inp = InputSpec.from_dict(doc["input"])
    pipe = _pipeline_spec(doc["preprocessing"])
    domain: dict[str, Any] = {"dims": inp.dims, **({"modality": list(inp.modality)} if inp.modality else {})}
    domain.update(doc.get("input_domain") or {})
    domain = InputDomain.from_dict(domain).to_dict()
    training = training_set_from_spec(doc["training_set"], base) if "training_set" in doc else None
    model = doc["model"]
    fmt = model.get("format") if isinstance(model, Mapping) else None
    if fmt not in MODEL_FORMATS:
        raise InvalidParameterError("model.format", _FN, f"one of {list(MODEL_FORMATS)}", fmt, options=MODEL_FORMATS)
    files: dict[str, bytes] = {}
    if fmt == "onnx":
        if set(model) != {"format", "path"}:
            raise InvalidParameterError("model", _FN, "{format: onnx, path: FILE}", sorted(model))
        files["model.onnx"] = _read(base, model["path"], "model.path", MAX_DATA_BYTES)
    else:
        if set(model) != {"format", "network", "weights"}:
            raise InvalidParameterError("model", _FN, "{format: samd, network: FILE, weights: FILE}", sorted(model))
        files["network.json"] = _read(base, model["network"], "model.network", MAX_TEXT_BYTES)
        files["weights.safetensors"] = _read(base, model["weights"], "model.weights", MAX_DATA_BYTES)
    card = _read(base, doc["model_card"], "model_card", MAX_TEXT_BYTES)
    refs = doc["reference_inputs"]
    if not isinstance(refs, list) or not refs:
        raise InvalidParameterError("reference_inputs", _FN, "a non-empty list of image paths", refs)
    vols = {f"ref{i:03d}": _read_reference(base / str(r)) for i, r in enumerate(refs)}  # ids: never file names
    meta: dict[str, Any] = {
        "format": BUNDLE_FORMAT_V2, "name": doc["name"], "version": doc["version"],
        "intended_use": doc["intended_use"], "core_version": __version__, "core_fingerprint": core_fingerprint(),
        "model": {"format": fmt}, "input_domain": domain,
    }
    if "training_data_manifest_sha256" in doc:
        sha = doc["training_data_manifest_sha256"]
        if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise InvalidParameterError("training_data_manifest_sha256", _FN, "64 lowercase hex digits", sha)
        meta["training_data_manifest_sha256"] = sha

    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        _write_json(tmp / "bundle.json", meta)
        _write_json(tmp / "task.json", task.to_dict())
        _write_json(tmp / "input.json", inp.to_dict())
        _write_json(tmp / "preprocessing.json", pipe)
        (tmp / "model_card.md").write_bytes(card)
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if training is not None:
            (tmp / TRAINING_SET_NAME).write_bytes(training.to_bytes())
        (tmp / "reference").mkdir()
        it, ij = encode_reference_inputs(vols)
        (tmp / INPUTS_TENSORS).write_bytes(it)
        (tmp / INPUTS_JSON).write_bytes(ij)
        write_manifest(tmp)
        from samd_core.bundle._locked import load_locked

        locked = load_locked(tmp)
        arrays, records = {}, {}
        for cid, vol in vols.items():
            pred = locked.predict(vol)
            arrays[cid] = pred.golden_array()
            records[cid] = pred.to_dict()
        gt, gj = encode_goldens(arrays, records)
        (tmp / GOLDEN_TENSORS).write_bytes(gt)
        (tmp / GOLDEN_JSON).write_bytes(gj)
        write_manifest(tmp)
        if private_key is not None:
            sign_manifest(tmp, private_key)
        load_locked(tmp)  # the final bytes verify
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_json(path: pathlib.Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, sort_keys=True, indent=1, allow_nan=False) + "\n", encoding="utf-8")
