"""Model-agnostic locked bundles (``samd-bundle/2``): classification or segmentation, ONNX or samd networks.

Layout (every file listed in ``manifest.json`` as for every bundle)::

    bundle.json         format "samd-bundle/2", name, version, intended_use, core_version,
                        core_fingerprint, model {"format": "onnx"} | {"format": "samd"},
                        optional training_data_manifest_sha256, input_domain
    task.json           `TaskSpec`
    input.json          `InputSpec`
    preprocessing.json  `samd_core.preprocess.Pipeline` spec: intensity steps, ``resize``, ``resample``
    model.onnx          (format onnx) or network.json + weights.safetensors (format samd)
    model_card.md
    reference/...       OQ inputs and goldens (see `samd_core.bundle._reference`)
    training_set.json   optional: the training set's hashed identifiers (`TrainingSet`)

Channels. A grey-scale `Volume` is one channel; a ``channel_last`` one (``(y, x, c)`` or
``(z, y, x, c)``, e.g. RGB from `samd_core.io.read_dicom_image` or `read_image`) has ``c``. The
model gets ``NCHW`` / ``NCDHW`` with the volume's channel order (``meta["channels"]``, "RGB":
channel 0 = red). A volume whose channel count differs from ``input.channels`` is refused with
`InputDomainError` (``attribute="channels"``): nothing is replicated or averaged silently.

Shape. Without a geometric step the input must have exactly ``input.shape`` (classification;
no silent resize) or is tiled with sliding windows of it (segmentation). With a ``resize`` (or
``resample``) step the model runs on the preprocessed grid, and segmentation outputs come back
onto the **input grid**: the per-class probabilities are resampled linearly per class by
`samd_core.preprocess.Pipeline.inverse` (the exact inverse geometry of the step, padding of
``aspect: pad`` cropped away), then the label map is their arg-max. Interpolating
probabilities (rather than nearest-neighbour labels) keeps the label map equal to the arg-max
of the returned maps, gives sub-voxel boundaries when the model grid is coarser than the
input, and keeps each voxel's probabilities summing to 1 (linear weights are shared by the
classes). Lesions and their volumes are measured on the input grid, in its mm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NoReturn

import numpy as np

from samd_core.bundle._domain import InputDomain
from samd_core.bundle._prediction import Prediction, predicted_lesions
from samd_core.bundle._task import InputSpec, TaskSpec
from samd_core.bundle.errors import BundleIntegrityError, InputDomainError, LockedModelError, PredictionError
from samd_core.errors import InvalidParameterError
from samd_core.volume import Volume

__all__ = ["BUNDLE_FORMAT_V2", "LockedTaskModel", "MODEL_FORMATS", "build_runner"]

BUNDLE_FORMAT_V2 = "samd-bundle/2"
MODEL_FORMATS = ("onnx", "samd")
_MAX_INPUT_VOXELS = 512**3
_INTENSITY_OPS = ("clip", "ct_normalize", "intensity_window", "percentile", "window", "zscore")
#: Geometric steps a bundle may lock, per task. Segmentation maps made on their output grid are brought
#: back onto the input grid by `samd_core.preprocess.Pipeline.inverse` (see the module docstring); a
#: classifier needs a fixed input size, which only ``resize`` guarantees.
_GEOMETRIC_OPS = {"classification": ("resize",), "segmentation": ("resample", "resize")}


def _content(name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except InvalidParameterError as exc:
        raise BundleIntegrityError(f"bundle file {name!r}: {exc}", kind="content", file=name) from exc


def _expected_output(task: TaskSpec, inp: InputSpec) -> list[int | tuple[int, ...]]:
    ch: int | tuple[int, ...] = task.output_channels if len(task.output_channels) > 1 else task.output_channels[0]
    return [1, ch] if task.kind == "classification" else [1, ch, *inp.shape]


def build_runner(
    model: Mapping[str, Any], contents: Mapping[str, bytes], task: TaskSpec, inp: InputSpec,
    shapes: Mapping[str, Any] | None = None,
) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """``(run, runtime facts)`` for the bundle's model, checked against ``task`` and ``inp``."""
    fmt = model.get("format") if isinstance(model, Mapping) else None
    if fmt == "onnx":
        from samd_core.bundle._onnx import onnx_runner

        if "model.onnx" not in contents:
            raise BundleIntegrityError("bundle: required file 'model.onnx' is missing", kind="missing_file",
                                       file="model.onnx")
        return onnx_runner("model.onnx", contents, input_shape=[1, inp.channels, *inp.shape],
                           output_shape=_expected_output(task, inp))
    if fmt == "samd":
        import torch

        from samd_core.bundle._network import check_weights
        from samd_core.bundle._strict import strict_json
        from samd_core.models import build_network, check_network_resources, config_from_dict, parameter_shapes

        for n in ("network.json", "weights.safetensors"):
            if n not in contents:
                raise BundleIntegrityError(f"bundle: required file {n!r} is missing", kind="missing_file", file=n)
        cfg = _content("network.json", lambda: config_from_dict(strict_json(contents["network.json"], "network.json")))
        _content("network.json", lambda: check_network_resources(cfg, inp.shape))
        if getattr(cfg, "spatial_dims", None) != inp.dims or getattr(cfg, "in_channels", None) != inp.channels:
            raise BundleIntegrityError("bundle file 'network.json': spatial_dims/in_channels contradict input.json",
                                       kind="content", file="network.json")
        n_out = getattr(cfg, "out_channels", getattr(cfg, "num_classes", None))
        if n_out not in task.output_channels:
            raise BundleIntegrityError(
                f"bundle file 'network.json': the network has {n_out} outputs; task.json needs {task.output_channels[0]}",
                kind="content", file="network.json")
        if task.kind == "segmentation" and getattr(cfg, "architecture", "") == "resnet":
            raise BundleIntegrityError("bundle file 'network.json': a classifier cannot do segmentation",
                                       kind="content", file="network.json")
        state = check_weights(contents["weights.safetensors"], shapes or parameter_shapes(cfg))
        net = build_network(cfg, rng=0)
        net.load_state_dict(state, strict=True)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)

        def run(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy().astype(np.float32)

        return run, {"format": "samd", "runtime": "torch", "runtime_version": torch.__version__,
                     "architecture": cfg.architecture, "intra_op_threads": int(torch.get_num_threads())}
    raise BundleIntegrityError(f"bundle file 'bundle.json': model.format must be one of {list(MODEL_FORMATS)}; "
                               f"got {str(fmt)[:40]!r}", kind="content", file="bundle.json")


def _activate(out: np.ndarray, task: TaskSpec) -> np.ndarray:
    """Per-class probabilities along axis 1 (float64)."""
    x = out.astype(np.float64)
    if task.activation == "softmax":
        x = x - x.max(axis=1, keepdims=True)
        e = np.exp(x)
        return e / e.sum(axis=1, keepdims=True)
    if task.activation == "sigmoid":
        p = 1.0 / (1.0 + np.exp(-x))
        if p.shape[1] == 1:  # two classes, one channel: P(second class)
            p = np.concatenate([1.0 - p, p], axis=1)
        return p
    return x


class LockedTaskModel:
    """A verified, immutable classification or segmentation model (``samd-bundle/2``)."""

    __slots__ = ("_run", "_pipeline", "_task", "_input", "_metadata", "_model_card", "_manifest_sha256",
                 "_signature_verified", "_domain", "_runtime", "_files", "_training_set")

    def __init__(self, *, run: Callable[[np.ndarray], np.ndarray], pipeline: Any, task: TaskSpec, input_spec: InputSpec,
                 metadata: Mapping[str, Any], model_card: str, manifest_sha256: str, signature_verified: bool,
                 domain: InputDomain | None, runtime: Mapping[str, Any], files: tuple[str, ...],
                 training_set: Any = None) -> None:
        for key, value in (("_run", run), ("_pipeline", pipeline), ("_task", task), ("_input", input_spec),
                           ("_metadata", MappingProxyType(dict(metadata))), ("_model_card", model_card),
                           ("_manifest_sha256", manifest_sha256), ("_signature_verified", signature_verified),
                           ("_domain", domain), ("_runtime", MappingProxyType(dict(runtime))), ("_files", files),
                           ("_training_set", training_set)):
            object.__setattr__(self, key, value)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise LockedModelError(f"a locked model is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise LockedModelError(f"a locked model is immutable; cannot delete {name!r}")

    def train(self, mode: bool = True) -> NoReturn:
        """Always raises: a locked model cannot be trained."""
        raise LockedModelError("a locked model cannot be trained")

    name = property(lambda self: str(self._metadata["name"]), doc="Bundle name.")
    version = property(lambda self: str(self._metadata["version"]), doc="Bundle version.")
    metadata = property(lambda self: self._metadata, doc="Read-only contents of ``bundle.json``.")
    model_card = property(lambda self: self._model_card, doc="The model card (Markdown).")
    manifest_sha256 = property(lambda self: self._manifest_sha256, doc="SHA-256 of ``manifest.json``.")
    signature_verified = property(lambda self: self._signature_verified, doc="Signature verified at load.")
    input_domain = property(lambda self: self._domain, doc="Declared input domain, or None.")
    task = property(lambda self: self._task, doc="The `TaskSpec`.")
    input_spec = property(lambda self: self._input, doc="The `InputSpec`.")
    runtime = property(lambda self: self._runtime, doc="How the model runs (format, runtime, threads, levels).")
    files = property(lambda self: self._files, doc="Names of the verified bundle files.")
    training_set = property(lambda self: self._training_set,
                            doc="The training set's hashed identifiers (`TrainingSet`), or None when not recorded.")
    threshold = property(lambda self: self._task.threshold, doc="The locked operating point on the case score.")
    preprocessing_spec = property(lambda self: self._pipeline.spec, doc="The locked preprocessing spec.")

    def __repr__(self) -> str:
        return f"LockedTaskModel(name={self.name!r}, version={self.version!r}, task={self._task.kind!r})"

    def _probabilities(self, x: np.ndarray) -> np.ndarray:
        out = self._run(x)
        t = self._task
        want = (x.shape[0], "|".join(map(str, t.output_channels)), *(x.shape[2:] if t.kind == "segmentation" else ()))
        if (
            out.ndim != len(want)
            or out.shape[0] != x.shape[0]
            or out.shape[1] not in t.output_channels
            or (t.kind == "segmentation" and tuple(out.shape[2:]) != tuple(x.shape[2:]))
        ):
            raise PredictionError(f"{self.name} {self.version}: the model returned shape {list(out.shape)}; "
                                  f"{t.kind} needs {list(want)}")
        if not np.all(np.isfinite(out)):
            raise PredictionError(f"{self.name} {self.version}: the model produced non-finite outputs; no score")
        prob = _activate(out, self._task)
        if self._task.activation == "none" and (prob.min() < 0 or prob.max() > 1):
            raise PredictionError(f"{self.name} {self.version}: outputs outside [0, 1] with activation 'none'")
        return prob

    def _windows(self, x: np.ndarray) -> np.ndarray:
        """Sliding-window class probabilities of a channel-first image ``(C, *spatial)``."""
        import torch

        from samd_core.inference import sliding_window_inference

        def predictor(w: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(self._probabilities(w.numpy()).astype(np.float32))

        out = sliding_window_inference(torch.from_numpy(x)[None], predictor, roi_size=self._input.shape,
                                       overlap=self._input.overlap, mode=self._input.blend_mode)
        return out.numpy().astype(np.float64)

    def predict(self, volume: Volume, *, allow_out_of_domain: bool = False) -> Prediction:
        """Run the locked model on one image.

        Parameters
        ----------
        volume : Volume
            2-D ``(y, x)`` or 3-D ``(z, y, x)`` grey-scale image, or a ``channel_last`` one
            (``(y, x, c)``, ``(z, y, x, c)``) with exactly ``input_spec.channels`` channels,
            given to the model channel-first (``NCHW`` / ``NCDHW``) in the volume's channel order.
            Without a locked ``resize``/``resample`` step: exactly ``input_spec.shape`` for
            classification, any size for segmentation (sliding windows of that shape). With one,
            segmentation maps are brought back onto the input grid (see the module docstring).
        allow_out_of_domain : bool
            Return a prediction flagged ``out_of_domain`` instead of raising `InputDomainError`
            (never for a channel mismatch: the model cannot run on it).

        Raises
        ------
        InputDomainError
            The volume has another number of channels than the model (``attribute="channels"``),
            or lies outside the declared input domain.
        """
        fn = "LockedTaskModel.predict"
        if not isinstance(volume, Volume):
            raise InvalidParameterError("volume", fn, "a samd_core.Volume", type(volume).__name__)
        arr = volume.array
        spatial = volume.spatial_shape
        t, inp = self._task, self._input
        from samd_core.bundle._locked import _domain_error

        if volume.n_channels != inp.channels:
            raise _domain_error(((
                "channels", volume.n_channels,
                f"{inp.channels} ({'grey-scale' if inp.channels == 1 else 'channel_last'}; no channel conversion "
                "is locked)"),))
        geometric = any(s.get("op") in _GEOMETRIC_OPS[t.kind] for s in self._pipeline.spec["steps"])
        if len(spatial) != inp.dims or (not geometric and t.kind == "classification" and spatial != inp.shape):
            raise InvalidParameterError("volume", fn, f"shape {list(inp.shape)} (the model's input; no "
                                        "resize step is locked)", f"shape {list(spatial)}")
        if t.kind == "segmentation" and spatial != inp.shape and arr.size > _MAX_INPUT_VOXELS * inp.channels:
            raise InvalidParameterError("volume", fn, f"at most {_MAX_INPUT_VOXELS} voxels", f"shape {list(spatial)}")
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
            raise InvalidParameterError("volume", fn, "finite numeric values", str(arr.dtype))
        violations = self._domain.violations(volume) if self._domain is not None else ()
        if violations and not allow_out_of_domain:
            raise _domain_error(violations)
        pre, record = self._pipeline.forward(volume)
        x = pre.array.astype(np.float32)
        xc = np.ascontiguousarray(np.moveaxis(x, -1, 0)) if pre.channel_last else x[None]  # (C, *spatial)
        windows = t.kind == "segmentation" and tuple(xc.shape[1:]) != inp.shape
        if not windows and tuple(xc.shape[1:]) != inp.shape:
            raise InvalidParameterError("volume", fn, f"shape {list(inp.shape)} after the locked preprocessing",
                                        f"shape {list(xc.shape[1:])}")
        if windows and xc.size > _MAX_INPUT_VOXELS * inp.channels:
            raise InvalidParameterError("volume", fn, f"at most {_MAX_INPUT_VOXELS} voxels after the locked "
                                        "preprocessing", f"shape {list(xc.shape[1:])}")
        prob = self._windows(xc) if windows else self._probabilities(xc[None])
        pos = t.classes.index(t.positive_class)
        meta = {"source": f"{self.name} {self.version}"}
        reasons = _domain_error(violations).reasons if violations else ()
        common = dict(case_threshold=t.threshold, model_name=self.name, model_version=self.version,
                      out_of_domain=bool(violations), domain_violations=reasons, task=t.kind)
        if t.kind == "classification":
            probs = {c: float(np.float32(prob[0, i])) for i, c in enumerate(t.classes)}
            score = probs[t.positive_class]
            return Prediction(probability=None, label=None, score=score, positive=score >= t.threshold, lesions=(),
                              probabilities=probs, **common)  # type: ignore[arg-type]
        if geometric:  # class probabilities interpolated back onto the input grid, then arg-max
            prob = self._pipeline.inverse(prob[0].astype(np.float32), record, kind="probabilities")[None]
        grey = {"meta": meta, "channel_last": False}
        maps = {c: volume.with_array(prob[0, i].astype(np.float32), **grey) for i, c in enumerate(t.classes)}
        label = np.argmax(prob[0], axis=0).astype(np.uint8 if len(t.classes) <= 256 else np.uint16)
        pvol = maps[t.positive_class]
        score = float(pvol.array.max())
        lesions = (predicted_lesions(pvol, label == pos, min_volume_mm3=0.0)
                   if len(t.classes) == 2 and len(spatial) == 3 else ())
        return Prediction(probability=pvol, label=volume.with_array(label, **grey), score=score,
                          positive=score >= t.threshold, lesions=lesions, class_probabilities=maps,
                          **common)  # type: ignore[arg-type]


def load_task_model(contents: Mapping[str, bytes], meta: Mapping[str, Any], *, manifest_sha256: str,
                    signature_verified: bool, domain: InputDomain | None,
                    shapes: Mapping[str, Any] | None = None, training_set: Any = None) -> LockedTaskModel:
    """Build a `LockedTaskModel` from verified bytes (called by `load_locked`)."""
    from samd_core.bundle._strict import strict_json
    from samd_core.preprocess import Pipeline

    for n in ("task.json", "input.json", "preprocessing.json", "model_card.md"):
        if n not in contents:
            raise BundleIntegrityError(f"bundle: required file {n!r} is missing", kind="missing_file", file=n)
    task = _content("task.json", lambda: TaskSpec.from_dict(strict_json(contents["task.json"], "task.json")))
    inp = _content("input.json", lambda: InputSpec.from_dict(strict_json(contents["input.json"], "input.json")))
    spec = strict_json(contents["preprocessing.json"], "preprocessing.json")
    pipeline = _content("preprocessing.json", lambda: Pipeline.from_spec(spec))
    allowed = _INTENSITY_OPS + _GEOMETRIC_OPS[task.kind]
    bad = [s.get("op") for s in pipeline.spec["steps"] if s.get("op") not in allowed]
    if bad:
        raise BundleIntegrityError(f"bundle file 'preprocessing.json': {task.kind} bundles support the steps "
                                   f"{list(allowed)}; got {bad}", kind="content", file="preprocessing.json")
    run, runtime = build_runner(meta["model"], contents, task, inp, shapes)
    try:
        card = contents["model_card.md"].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleIntegrityError("bundle file 'model_card.md' is not UTF-8 text", kind="content",
                                   file="model_card.md") from exc
    return LockedTaskModel(run=run, pipeline=pipeline, task=task, input_spec=inp, metadata=meta, model_card=card,
                           manifest_sha256=manifest_sha256, signature_verified=signature_verified, domain=domain,
                           runtime=runtime, files=tuple(sorted(contents)), training_set=training_set)

