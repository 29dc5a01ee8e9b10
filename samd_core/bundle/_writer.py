"""`write_bundle`: lock a trained network into a verified, optionally signed bundle directory."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from collections.abc import Mapping
from typing import Any

import torch

from samd_core.bundle._locked import BUNDLE_FORMAT, load_locked
from samd_core.bundle._manifest import sign_manifest, write_manifest
from samd_core.bundle._domain import InputDomain
from samd_core.bundle._network import build_bundle_network, bundle_network_config, check_weights
from samd_core.bundle._preprocess import ResampleClipScale
from samd_core.bundle._reference import (
    GOLDEN_JSON,
    GOLDEN_TENSORS,
    INPUTS_JSON,
    INPUTS_TENSORS,
    encode_goldens,
    encode_reference_inputs,
)
from samd_core.bundle._settings import InferenceSettings
from samd_core.bundle._training_set import TRAINING_SET_NAME, TrainingSet
from samd_core.errors import InvalidParameterError
from samd_core.models import parameter_shapes
from samd_core.volume import Volume

__all__ = ["write_bundle", "write_goldens"]


def _dump(path: pathlib.Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def write_goldens(path: str | os.PathLike[str], *, check_core_fingerprint: bool = True) -> None:
    """(Re)compute the golden outputs of a bundle's reference inputs on this platform.

    Loads the bundle (fully verified), predicts every reference input, writes
    ``reference/golden.*`` and rewrites the manifest. Any signature is removed (sign again).
    """
    from samd_core.bundle._reference import decode_reference_inputs

    base = pathlib.Path(path)
    model = load_locked(base, check_core_fingerprint=check_core_fingerprint)
    cases = decode_reference_inputs((base / INPUTS_TENSORS).read_bytes(), (base / INPUTS_JSON).read_bytes())
    probs, records = {}, {}
    for cid, vol in cases.items():
        pred = model.predict(vol)
        probs[cid] = pred.golden_array()
        records[cid] = pred.to_dict()
    gt, gj = encode_goldens(probs, records)
    (base / GOLDEN_TENSORS).write_bytes(gt)
    (base / GOLDEN_JSON).write_bytes(gj)
    write_manifest(base)


def _write_files(
    base: pathlib.Path,
    *,
    meta: Mapping[str, Any],
    network_config: Mapping[str, Any],
    preprocessing: Mapping[str, Any],
    inference: Mapping[str, Any],
    model_card: str,
    weights: bytes,
    reference_inputs: Mapping[str, Volume] | None,
    private_key: Any,
    training_set: TrainingSet | None = None,
) -> None:
    _dump(base / "bundle.json", dict(meta))
    if training_set is not None:
        (base / TRAINING_SET_NAME).write_bytes(training_set.to_bytes())
    _dump(base / "network.json", dict(network_config))
    _dump(base / "preprocessing.json", dict(preprocessing))
    _dump(base / "inference.json", dict(inference))
    (base / "model_card.md").write_text(model_card, encoding="utf-8")
    (base / "weights.safetensors").write_bytes(weights)
    if reference_inputs:
        (base / "reference").mkdir()
        it, ij = encode_reference_inputs(reference_inputs)
        (base / INPUTS_TENSORS).write_bytes(it)
        (base / INPUTS_JSON).write_bytes(ij)
        write_manifest(base)
        write_goldens(base)
    else:
        write_manifest(base)
    if private_key is not None:
        sign_manifest(base, private_key)


def write_bundle(
    path: str | os.PathLike[str],
    *,
    name: str,
    version: str,
    network_config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    preprocessing: Mapping[str, Any],
    inference: Mapping[str, Any],
    intended_use: str,
    training_data_manifest_sha256: str,
    model_card: str,
    reference_inputs: Mapping[str, Volume] | None = None,
    private_key: Any = None,
    input_domain: Mapping[str, Any] | None = None,
    training_set: TrainingSet | None = None,
) -> pathlib.Path:
    """Write a locked bundle; computes golden outputs for ``reference_inputs`` on this platform.

    Parameters
    ----------
    path : path
        New directory (must not exist, or be empty).
    name, version : str
        Identity of the locked model (semantic version).
    network_config : mapping
        Plain data for `build_bundle_network` (``{"architecture": ..., ...}``).
    state_dict : mapping of str to Tensor
        Trained weights; saved as safetensors.
    preprocessing : mapping
        Preprocessing spec (see `ResampleClipScale`).
    inference : mapping
        Inference settings (see `InferenceSettings`).
    intended_use : str
    training_data_manifest_sha256 : str
        SHA-256 of the training cohort's manifest (64 hex digits).
    model_card : str
        Markdown: intended use, training data, performance at lock, limitations.
    reference_inputs : mapping of str to Volume, optional
        OQ reference cases (small, HU).
    private_key : Ed25519PrivateKey, optional
        Signs the manifest.
    input_domain : mapping, optional
        The input domain the model was validated on (`InputDomain`); stored in ``bundle.json``.
        None: no domain declared (every input accepted).
    training_set : TrainingSet, optional
        Hashed identifiers of the training data, written as ``training_set.json`` (the harness
        refuses test cases that overlap them). None: no training set recorded.

    Writing is atomic: the files are written to a temporary sibling folder that is renamed to
    ``path`` only when complete (goldens computed, manifest written, signed); a failure leaves
    nothing behind.

    Returns
    -------
    pathlib.Path
        The bundle directory.
    """
    from safetensors.torch import save as save_safetensors

    from samd_core import __version__
    from samd_core.fingerprint import core_fingerprint

    fn = "write_bundle"
    base = pathlib.Path(path)
    if base.exists() and (not base.is_dir() or any(base.iterdir())):
        raise InvalidParameterError("path", fn, "a new or empty directory", str(base))
    sha = str(training_data_manifest_sha256)
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise InvalidParameterError("training_data_manifest_sha256", fn, "64 lowercase hex digits", sha)
    # validate everything before writing anything
    cfg = bundle_network_config(network_config)
    InferenceSettings.from_dict(inference)
    ResampleClipScale.from_spec(preprocessing)
    tensors = {k: v.detach().contiguous().cpu() for k, v in sorted(state_dict.items())}
    weights = save_safetensors(tensors)
    check_weights(weights, parameter_shapes(cfg))  # float32, shapes, finite: never cast
    build_bundle_network(network_config).load_state_dict(dict(tensors), strict=True)
    tmp = base.parent / f".{base.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        _write_files(tmp, meta={
            "format": BUNDLE_FORMAT,
            "name": str(name),
            "version": str(version),
            "intended_use": str(intended_use),
            "core_version": __version__,
            "core_fingerprint": core_fingerprint(),
            "training_data_manifest_sha256": sha,
            **({"input_domain": InputDomain.from_dict(input_domain).to_dict()} if input_domain is not None else {}),
        }, network_config=network_config, preprocessing=preprocessing, inference=inference, model_card=model_card,
            weights=weights, reference_inputs=reference_inputs, private_key=private_key, training_set=training_set)
        if base.exists():
            base.rmdir()  # empty (checked above)
        os.rename(tmp, base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return base
