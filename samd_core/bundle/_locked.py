"""`load_locked`: verify a bundle completely, then build an immutable model from verified bytes."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar

import numpy as np
import torch

from samd_core.bundle._domain import InputDomain
from samd_core.bundle._manifest import PublicKeyLike, default_size_limit, read_verified_files
from samd_core.bundle._network import bundle_network_config, check_weights, network_divisor, weights_size_limit
from samd_core.bundle._prediction import Prediction, predicted_lesions
from samd_core.bundle._preprocess import ResampleClipScale
from samd_core.bundle._settings import InferenceSettings
from samd_core.bundle._strict import strict_json
from samd_core.bundle._training_set import TRAINING_SET_NAME, TrainingSet
from samd_core.bundle._task_model import BUNDLE_FORMAT_V2, LockedTaskModel, load_task_model
from samd_core.bundle.errors import BundleIntegrityError, InputDomainError, LockedModelError, PredictionError
from samd_core.errors import InvalidParameterError
from samd_core.inference import sliding_window_inference
from samd_core.models import build_network, check_network_resources, config_from_dict, parameter_shapes
from samd_core.volume import Volume

__all__ = ["BUNDLE_FORMAT", "REQUIRED_FILES", "LockedModel", "load_locked"]

_T = TypeVar("_T")

BUNDLE_FORMAT = "samd-bundle/1"
#: Files every bundle holds (besides manifest.json and the optional manifest.sig).
REQUIRED_FILES = (
    "bundle.json",
    "inference.json",
    "model_card.md",
    "network.json",
    "preprocessing.json",
    "weights.safetensors",
)
#: Optional bundle.json keys (absent in bundles written by samd 0.1.0).
_OPTIONAL_META_KEYS = {"input_domain"}
_META_KEYS = {
    "format",
    "name",
    "version",
    "intended_use",
    "core_version",
    "core_fingerprint",
    "training_data_manifest_sha256",
}


def _json(contents: Mapping[str, bytes], name: str) -> Any:
    return strict_json(contents[name], name)


def _text(contents: Mapping[str, bytes], name: str) -> str:
    try:
        return contents[name].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleIntegrityError(
            f"bundle file {name!r} is not UTF-8 text (invalid byte at offset {exc.start})", kind="content", file=name
        ) from exc


def _content(name: str, fn: Callable[[], _T]) -> _T:
    """Run a validator of one bundle file; its parameter errors become content errors naming the file."""
    try:
        return fn()
    except InvalidParameterError as exc:
        raise BundleIntegrityError(f"bundle file {name!r}: {exc}", kind="content", file=name) from exc


def _weights_digest(network: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer (`samd_core.training.state_dict_sha256`)."""
    from samd_core.training import state_dict_sha256

    return state_dict_sha256(network)


class LockedModel:
    """A verified, immutable model. Build it with `load_locked`, never directly.

    No attribute can be set or deleted, the network is in eval mode with ``requires_grad``
    off, `train` raises, and every `predict` first checks that the weights are unchanged
    since loading.
    """

    __slots__ = (
        "_network",
        "_weights_digest",
        "_preprocess",
        "_settings",
        "_metadata",
        "_model_card",
        "_manifest_sha256",
        "_signature_verified",
        "_domain",
        "_files",
        "_training_set",
    )

    def __init__(
        self,
        *,
        network: torch.nn.Module,
        preprocess: ResampleClipScale,
        settings: InferenceSettings,
        metadata: Mapping[str, Any],
        model_card: str,
        manifest_sha256: str,
        signature_verified: bool,
        domain: InputDomain | None = None,
        files: tuple[str, ...] = (),
        training_set: TrainingSet | None = None,
    ) -> None:
        network.eval()
        for p in network.parameters():
            p.requires_grad_(False)

        def _no_train(mode: bool = True) -> torch.nn.Module:
            if mode:
                raise LockedModelError("a locked model cannot be put in training mode")
            return torch.nn.Module.train(network, False)

        object.__setattr__(network, "train", _no_train)
        for key, value in (
            ("_network", network),
            ("_weights_digest", _weights_digest(network)),
            ("_preprocess", preprocess),
            ("_settings", settings),
            ("_metadata", MappingProxyType(dict(metadata))),
            ("_model_card", model_card),
            ("_manifest_sha256", manifest_sha256),
            ("_signature_verified", signature_verified),
            ("_domain", domain),
            ("_files", files),
            ("_training_set", training_set),
        ):
            object.__setattr__(self, key, value)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise LockedModelError(f"a locked model is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise LockedModelError(f"a locked model is immutable; cannot delete {name!r}")

    def train(self, mode: bool = True) -> NoReturn:
        """Always raises: a locked model cannot be trained."""
        raise LockedModelError("a locked model cannot be trained")

    # ------------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        """Bundle name."""
        return str(self._metadata["name"])

    @property
    def version(self) -> str:
        """Bundle version."""
        return str(self._metadata["version"])

    @property
    def metadata(self) -> Mapping[str, Any]:
        """Read-only contents of ``bundle.json`` (intended use, fingerprints, hashes)."""
        return self._metadata

    @property
    def settings(self) -> InferenceSettings:
        """The locked inference settings."""
        return self._settings

    @property
    def preprocessing_spec(self) -> dict[str, Any]:
        """The locked preprocessing spec (a copy)."""
        return self._preprocess.spec()

    @property
    def model_card(self) -> str:
        """The model card (Markdown)."""
        return self._model_card

    @property
    def manifest_sha256(self) -> str:
        """SHA-256 of the verified ``manifest.json``: one identity for the whole bundle."""
        return self._manifest_sha256

    @property
    def signature_verified(self) -> bool:
        """True when the manifest's Ed25519 signature was verified at load."""
        return self._signature_verified

    @property
    def files(self) -> tuple[str, ...]:
        """Names of the verified bundle files (``manifest.json`` excluded)."""
        return self._files

    @property
    def threshold(self) -> float:
        """The locked operating point on the case score (``inference.json`` ``case_threshold``)."""
        return self._settings.case_threshold

    @property
    def input_domain(self) -> InputDomain | None:
        """The declared input domain, or None when the bundle declares none (every input accepted)."""
        return self._domain

    @property
    def training_set(self) -> TrainingSet | None:
        """The training set's hashed identifiers (``training_set.json``), or None when the bundle
        records none (bundles locked before samd 0.2.1)."""
        return self._training_set

    def __repr__(self) -> str:
        return f"LockedModel(name={self.name!r}, version={self.version!r}, manifest_sha256={self._manifest_sha256[:12]}...)"

    # ------------------------------------------------------------------ inference
    def predict(self, volume: Volume, *, allow_out_of_domain: bool = False) -> Prediction:
        """Run the locked model on a CT volume in HU.

        Parameters
        ----------
        volume : Volume
            3-D CT in Hounsfield units, any spacing/orientation (see `samd_core.volume`).
        allow_out_of_domain : bool
            When the input lies outside the bundle's declared `input_domain`, return a prediction
            flagged ``out_of_domain`` with the reasons instead of raising (default False: raise).

        Returns
        -------
        Prediction
            Probability and label maps on ``volume``'s grid, case score, lesions.

        Raises
        ------
        InputDomainError
            The input is outside the declared input domain (names attribute, value, allowed range).
        PredictionError
            The network produced a non-finite output (never reported as a negative case).
        """
        if not isinstance(volume, Volume):
            raise InvalidParameterError("volume", "LockedModel.predict", "a samd_core.Volume", type(volume).__name__)
        if volume.channel_last:  # a colour (y, x, 3) array must not pass for a 3-D CT
            raise _domain_error((("channels", volume.n_channels, "1 (grey-scale CT in HU)"),))
        if volume.array.ndim != 3:
            raise InvalidParameterError("volume", "LockedModel.predict", "a 3-D volume", f"shape {volume.shape}")
        if not np.issubdtype(volume.array.dtype, np.number) or not np.all(np.isfinite(volume.array)):
            raise InvalidParameterError("volume", "LockedModel.predict", "finite numeric HU values", str(volume.array.dtype))
        violations = self._domain.violations(volume) if self._domain is not None else ()
        if violations and not allow_out_of_domain:
            raise _domain_error(violations)
        if _weights_digest(self._network) != self._weights_digest:
            raise LockedModelError("the locked model's weights changed after loading; reload the bundle")
        s = self._settings
        arr, grid = self._preprocess.forward(volume)
        pad = (self._preprocess.clip_hu[0] - self._preprocess.offset_hu) / self._preprocess.scale_hu
        net = self._network

        def _predictor(x: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(net(x))

        with torch.inference_mode():
            out = sliding_window_inference(
                torch.from_numpy(arr)[None, None],
                _predictor,
                roi_size=s.roi_size,
                overlap=s.overlap,
                mode=s.blend_mode,
                padding_value=float(pad),
            )
        prob_small = out[0, 0].numpy().astype(np.float32)
        if not np.all(np.isfinite(prob_small)):
            raise PredictionError(
                f"{self.name} {self.version}: the network produced {int((~np.isfinite(prob_small)).sum())} "
                "non-finite probabilities; no score is reported"
            )
        prob = np.clip(ResampleClipScale.inverse(prob_small, grid, volume), 0.0, 1.0).astype(np.float32)
        label = (prob >= np.float32(s.voxel_threshold)).astype(np.uint8)
        meta = {"source": f"{self.name} {self.version}"}
        pvol = volume.with_array(prob, meta=meta)
        lvol = volume.with_array(label, meta=meta)
        lesions = predicted_lesions(pvol, label, min_volume_mm3=s.min_lesion_volume_mm3)
        if s.case_score_rule == "max_probability":
            score = float(prob.max()) if prob.size else 0.0
        else:  # largest_lesion_volume_mm3
            score = max((les.volume_mm3 for les in lesions), default=0.0)
        if not np.isfinite(score):
            raise PredictionError(f"{self.name} {self.version}: non-finite case score; no score is reported")
        return Prediction(
            probability=pvol,
            label=lvol,
            score=score,
            case_threshold=s.case_threshold,
            positive=score >= s.case_threshold,
            lesions=lesions,
            model_name=self.name,
            model_version=self.version,
            out_of_domain=bool(violations),
            domain_violations=_domain_error(violations).reasons if violations else (),
        )


def _domain_error(violations: tuple[tuple[str, Any, str], ...]) -> InputDomainError:
    reasons = tuple(f"{a}={v!r} outside {allowed}" for a, v, allowed in violations)
    attr, value, allowed = violations[0]
    more = f" (and {len(violations) - 1} more: {'; '.join(reasons[1:])})" if len(violations) > 1 else ""
    return InputDomainError(
        f"input is outside the bundle's validated input domain: `{attr}` must be {allowed}; got {value!r}{more}",
        attribute=attr,
        value=value,
        allowed=allowed,
        reasons=reasons,
    )


def training_set_of(contents: Mapping[str, bytes]) -> TrainingSet | None:
    """The validated ``training_set.json`` among verified bundle bytes, or None when absent."""
    if TRAINING_SET_NAME not in contents:
        return None
    return _content(TRAINING_SET_NAME, lambda: TrainingSet.from_dict(strict_json(contents[TRAINING_SET_NAME],
                                                                                 TRAINING_SET_NAME)))


def _check_fingerprint(path: Any, meta: Mapping[str, Any]) -> None:
    from samd_core.fingerprint import core_fingerprint

    current = core_fingerprint()
    if current != meta["core_fingerprint"]:
        raise BundleIntegrityError(
            f"bundle {path}: code fingerprint mismatch: the bundle was locked with samd_core fingerprint "
            f"{meta['core_fingerprint']} (core {meta['core_version']}), the installed samd_core has {current}",
            kind="code_fingerprint",
            file="bundle.json",
            expected=str(meta["core_fingerprint"]),
            found=current,
        )


_V2_KEYS = {"format", "name", "version", "intended_use", "core_version", "core_fingerprint", "model"}
_V2_OPTIONAL = {"training_data_manifest_sha256", "input_domain"}


def _load_v2(path: Any, contents: Mapping[str, bytes], meta: dict[str, Any], *, manifest_sha: str, sig_ok: bool,
             shapes: Mapping[str, Any], check_core_fingerprint: bool) -> LockedTaskModel:
    strs = _V2_KEYS - {"model"}
    if (
        not _V2_KEYS <= set(meta) <= _V2_KEYS | _V2_OPTIONAL
        or not all(isinstance(meta[k], str) for k in strs)
        or not isinstance(meta["model"], dict)
        or set(meta["model"]) != {"format"}
    ):
        raise BundleIntegrityError(
            f"bundle {path}: bundle.json must be a {BUNDLE_FORMAT_V2} record with string values for "
            f"{sorted(strs)}, model {{format}} (optional: {sorted(_V2_OPTIONAL)})",
            kind="content",
            file="bundle.json",
        )
    domain = None
    if "input_domain" in meta:
        domain = _content("bundle.json", lambda: InputDomain.from_dict(meta["input_domain"]))
    if check_core_fingerprint:
        _check_fingerprint(path, meta)
    return load_task_model(contents, meta, manifest_sha256=manifest_sha, signature_verified=sig_ok, domain=domain,
                           shapes=shapes or None, training_set=training_set_of(contents))


def load_locked(
    path: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
    public_key: PublicKeyLike | None = None,
    require_signature: bool | None = None,
    check_core_fingerprint: bool = True,
) -> LockedModel | LockedTaskModel:
    """Verify a locked bundle completely, then build its immutable model.

    Checks, in order, before anything is built: the pinned identity (``expected_sha256``); the
    Ed25519 signature of ``manifest.json`` (when ``public_key`` is given); the manifest's
    format; that every listed file is a regular file strictly inside the bundle (no link, FIFO,
    device, directory, absolute or ``..`` path); that no listed file is missing and no unlisted
    file is present; the SHA-256 of every file, streamed up to a size limit derived from the
    declared content (text files 4 MiB, weights from the network's parameter count); strict
    JSON (UTF-8, no NaN, no duplicate keys) and every setting's type and range; the network's
    size (`samd_core.models.check_network_resources`); the weights' names, float32 dtype,
    shapes and finiteness; and that the installed ``samd_core`` code fingerprint equals the one
    the bundle was locked with. The model is then built only from the bytes that were verified.

    Parameters
    ----------
    path : path
        The bundle directory.
    expected_sha256 : str, optional
        The SHA-256 of ``manifest.json`` the product was cleared with (its ``manifest_sha256``).
        Any other bundle, including one re-manifested after an edit, is refused (kind ``"pin"``).
        Products should pin, or require a signature, or both.
    public_key : Ed25519PublicKey, bytes or path, optional
        The product's public key (object, 32 raw bytes, PEM bytes, or a PEM file path).
    require_signature : bool, optional
        Refuse unsigned bundles. Default: True when ``public_key`` is given, else False.
        True without a ``public_key`` is an error.
    check_core_fingerprint : bool
        Compare the bundle's ``core_fingerprint`` with the installed core (default True; only
        release tooling that re-qualifies a bundle after a core change turns this off).

    Raises
    ------
    BundleIntegrityError
        Naming the file and the expected/found hashes, the pin, the missing or extra file, the
        signature failure, the invalid content, or the code fingerprint mismatch.
    """
    if require_signature is None:
        require_signature = public_key is not None
    if require_signature and public_key is None:
        raise InvalidParameterError("public_key", "load_locked", "a public key when require_signature=True", None)
    shapes: dict[str, Any] = {}

    def _limit(name: str, texts: Mapping[str, bytes]) -> int:
        if name != "weights.safetensors":
            return default_size_limit(name)
        if "network.json" not in texts:
            raise BundleIntegrityError(f"bundle {path}: required file 'network.json' is missing", kind="missing_file",
                                       file="network.json")
        fmt = strict_json(texts["bundle.json"], "bundle.json") if "bundle.json" in texts else None
        v2 = isinstance(fmt, dict) and fmt.get("format") == BUNDLE_FORMAT_V2
        parse = config_from_dict if v2 else bundle_network_config
        cfg = _content("network.json", lambda: parse(_json(texts, "network.json")))
        shapes.update(_content("network.json", lambda: parameter_shapes(cfg)))
        return weights_size_limit(shapes)

    contents, sig_ok, manifest_sha = read_verified_files(
        path, public_key=public_key, require_signature=require_signature, expected_sha256=expected_sha256,
        size_limit=_limit,
    )
    if "bundle.json" not in contents:
        raise BundleIntegrityError(f"bundle {path}: required file 'bundle.json' is missing", kind="missing_file",
                                   file="bundle.json")
    meta = _json(contents, "bundle.json")
    if isinstance(meta, dict) and meta.get("format") == BUNDLE_FORMAT_V2:
        return _load_v2(path, contents, meta, manifest_sha=manifest_sha, sig_ok=sig_ok, shapes=shapes,
                        check_core_fingerprint=check_core_fingerprint)
    for name in REQUIRED_FILES:
        if name not in contents:
            raise BundleIntegrityError(f"bundle {path}: required file {name!r} is missing", kind="missing_file", file=name)
    if (
        not isinstance(meta, dict)
        or not _META_KEYS <= set(meta) <= _META_KEYS | _OPTIONAL_META_KEYS
        or meta.get("format") != BUNDLE_FORMAT
        or not all(isinstance(meta[k], str) for k in _META_KEYS)
    ):
        raise BundleIntegrityError(
            f"bundle {path}: bundle.json must be a {BUNDLE_FORMAT} record with string values for the keys "
            f"{sorted(_META_KEYS)} (optional: {sorted(_OPTIONAL_META_KEYS)})",
            kind="content",
            file="bundle.json",
        )
    domain = None
    if "input_domain" in meta:
        domain = _content("bundle.json", lambda: InputDomain.from_dict(meta["input_domain"]))
    if check_core_fingerprint:
        _check_fingerprint(path, meta)
    settings = _content("inference.json", lambda: InferenceSettings.from_dict(_json(contents, "inference.json")))
    preprocess = _content("preprocessing.json", lambda: ResampleClipScale.from_spec(_json(contents, "preprocessing.json")))
    net_json = _json(contents, "network.json")
    cfg = _content("network.json", lambda: bundle_network_config(net_json))
    _content("network.json", lambda: check_network_resources(cfg, settings.roi_size))
    div = network_divisor(net_json)
    if any(r % d for r, d in zip(settings.roi_size, div, strict=True)):
        raise BundleIntegrityError(
            f"bundle {path}: inference.json roi_size {list(settings.roi_size)} is not a multiple of the "
            f"network's divisor {list(div)}",
            kind="content",
            file="inference.json",
        )
    state = check_weights(contents["weights.safetensors"], shapes)
    network = build_network(cfg, rng=0)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BundleIntegrityError(
            f"bundle {path}: weights.safetensors does not fit network.json: {str(exc)[:200]}",
            kind="content",
            file="weights.safetensors",
        ) from exc
    return LockedModel(
        network=network,
        preprocess=preprocess,
        settings=settings,
        metadata=meta,
        model_card=_text(contents, "model_card.md"),
        manifest_sha256=manifest_sha,
        signature_verified=sig_ok,
        domain=domain,
        files=tuple(sorted(contents)),
        training_set=training_set_of(contents),
    )
