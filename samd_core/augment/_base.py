"""The random-transform protocol and `Compose`.

Every random transform follows TorchIO's split: `RandomTransform.draw` samples plain-data
parameters from an explicit numpy Generator, `RandomTransform.apply` is a deterministic
function of (image, label, parameters). ``transform(image, label, rng)`` does both and returns
a record from which `RandomTransform.replay` / `Compose.replay` rebuild the same sample.

Arrays: ``image`` is ``(C, Z, Y, X)`` or ``(C, Y, X)`` (channel first); ``label`` is None or an
integer array with the image's spatial shape, optionally with its own leading channel axis
(``(L, Z, Y, X)``). Inputs are never modified; outputs are new arrays.

References
----------
.. [1] Pérez-García F, Sparks R, Ourselin S. TorchIO: a Python library for efficient loading,
   preprocessing, augmentation and patch-based sampling of medical images in deep learning.
   Comput Methods Programs Biomed 208, 106236 (2021).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from samd_core.errors import InvalidParameterError
from samd_core.checks import as_rng, check_probability

__all__ = ["TRANSFORMS", "Compose", "RandomTransform", "check_pair"]

#: name -> transform class, filled by `RandomTransform.__init_subclass__` (for `Compose.from_config`).
TRANSFORMS: dict[str, type[RandomTransform]] = {}


def check_pair(value: Any, field: str, function: str, *, low: float = -np.inf, high: float = np.inf) -> tuple[float, float]:
    """``value`` as ``(a, b)`` with ``low <= a <= b <= high`` (a single number means ``(v, v)``)."""
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        arr = np.asarray([np.nan])
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.shape != (2,) or not np.all(np.isfinite(arr)) or not (low <= arr[0] <= arr[1] <= high):
        raise InvalidParameterError(field, function, f"a number or a pair (a, b) with {low} <= a <= b <= {high}", value)
    return float(arr[0]), float(arr[1])


def check_arrays(image: Any, label: Any, function: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate the (image, label) pair every transform takes."""
    img = np.asarray(image)
    if img.ndim not in (3, 4) or img.size == 0:
        raise InvalidParameterError("image", function, "a (C, Z, Y, X) or (C, Y, X) array", f"shape {img.shape}")
    if img.dtype.kind not in "biuf":
        raise InvalidParameterError("image", function, "a numeric array", f"dtype {img.dtype}")
    if label is None:
        return img, None
    lbl = np.asarray(label)
    spatial = img.shape[1:]
    if lbl.shape != spatial and lbl.shape[1:] != spatial:
        raise InvalidParameterError(
            "label", function, f"an array of spatial shape {spatial} (optionally with a leading channel axis)",
            f"shape {lbl.shape}",
        )
    if lbl.dtype.kind not in "biu":
        raise InvalidParameterError("label", function, "an integer or boolean array", f"dtype {lbl.dtype}")
    return img, lbl


def label_channels(label: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """``label`` with exactly one leading channel axis."""
    return label if label.ndim == spatial_ndim + 1 else label[None]


def restore_label(out: np.ndarray, like: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """Undo `label_channels`."""
    return out if like.ndim == spatial_ndim + 1 else out[0]


def float_image(image: np.ndarray) -> np.ndarray:
    """``image`` as floating point (float32 unless it already is float)."""
    return image if image.dtype.kind == "f" else image.astype(np.float32)


def _fresh(out: np.ndarray | None, given: Any) -> np.ndarray | None:
    """``out``, copied when it shares memory with the caller's array (nothing was applied)."""
    if out is not None and given is not None and np.shares_memory(out, np.asarray(given)):
        return out.copy()
    return out


class RandomTransform:
    """Base class: subclasses set ``name``, store plain-data options, implement `draw` and `apply`."""

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            TRANSFORMS[cls.name] = cls

    @property
    def config(self) -> dict[str, Any]:
        """Plain-data options; ``type(self)(**config)`` rebuilds the transform."""
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, image_shape: tuple[int, ...]) -> dict[str, Any]:
        """Sample the parameters (plain data) for an image of ``image_shape`` (channel first)."""
        raise NotImplementedError

    def apply(
        self, image: np.ndarray, label: np.ndarray | None, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Deterministic transform with the given parameters."""
        raise NotImplementedError

    def __call__(
        self, image: np.ndarray, label: np.ndarray | None = None, rng: np.random.Generator | int = 0
    ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        """Draw parameters from ``rng``, apply them; return ``(image, label, record)``."""
        img, lbl = check_arrays(image, label, type(self).__name__)
        params = self.draw(as_rng(rng, type(self).__name__), img.shape)
        out_img, out_lbl = self.apply(img, lbl, params)
        return out_img, out_lbl, {"name": self.name, "params": params}

    def replay(
        self, image: np.ndarray, label: np.ndarray | None, record: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Re-apply a transform from the ``record`` returned by ``__call__``."""
        img, lbl = check_arrays(image, label, f"{type(self).__name__}.replay")
        if not isinstance(record, dict) or record.get("name") != self.name or "params" not in record:
            raise InvalidParameterError("record", f"{type(self).__name__}.replay", f"a record of {self.name!r}", record)
        return self.apply(img, lbl, record["params"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config.items())})"


class Compose:
    """Apply random transforms in order, each with its own probability.

    Parameters
    ----------
    transforms : sequence of RandomTransform
    probabilities : sequence of float, optional
        Probability that each transform is applied (default 1 for all). A uniform number is
        drawn for every transform on every call, so the generator's stream does not depend on
        which transforms fired.

    Examples
    --------
    >>> import numpy as np
    >>> from samd_core import augment
    >>> aug = augment.Compose([augment.RandomFlip(axes=(0, 1, 2)), augment.RandomGamma()], probabilities=[1.0, 0.3])
    >>> img, lbl = np.zeros((1, 8, 8, 8), np.float32), np.zeros((8, 8, 8), np.uint8)
    >>> out_img, out_lbl, record = aug(img, lbl, np.random.default_rng(0))
    >>> same_img, same_lbl = aug.replay(img, lbl, record)
    """

    def __init__(self, transforms: Sequence[RandomTransform], *, probabilities: Sequence[float] | None = None) -> None:
        fn = "Compose"
        ts = list(transforms)
        for i, t in enumerate(ts):
            if not isinstance(t, RandomTransform):
                raise InvalidParameterError(f"transforms[{i}]", fn, "a RandomTransform", t)
        probs = [1.0] * len(ts) if probabilities is None else list(probabilities)
        if len(probs) != len(ts):
            raise InvalidParameterError("probabilities", fn, f"{len(ts)} numbers (one per transform)", probabilities)
        self.transforms = tuple(ts)
        self.probabilities = tuple(check_probability(p, f"probabilities[{i}]", fn) for i, p in enumerate(probs))

    @property
    def config(self) -> list[dict[str, Any]]:
        """Plain data: ``[{"name", "p", "options"}, ...]`` (see `from_config`)."""
        return [
            {"name": t.name, "p": p, "options": t.config} for t, p in zip(self.transforms, self.probabilities, strict=True)
        ]

    @classmethod
    def from_config(cls, config: Sequence[dict[str, Any]]) -> Compose:
        """Build from the plain data `config` returns (no code is executed)."""
        ts, ps = [], []
        for i, item in enumerate(config):
            if not isinstance(item, dict) or "name" not in item:
                raise InvalidParameterError(f"config[{i}]", "Compose.from_config", "a dict with a 'name'", item)
            name = item["name"]
            if name not in TRANSFORMS:
                raise InvalidParameterError(
                    f"config[{i}].name", "Compose.from_config", f"one of {sorted(TRANSFORMS)}", name, options=TRANSFORMS
                )
            extra = set(item) - {"name", "p", "options"}
            if extra:
                raise InvalidParameterError(f"config[{i}]", "Compose.from_config", "keys name, p, options", sorted(extra))
            try:
                ts.append(TRANSFORMS[name](**dict(item.get("options", {}))))
            except TypeError as exc:
                raise InvalidParameterError(f"config[{i}].options", "Compose.from_config", "options of " + name, str(exc)) from None
            ps.append(item.get("p", 1.0))
        return cls(ts, probabilities=ps)

    def __call__(
        self, image: np.ndarray, label: np.ndarray | None = None, rng: np.random.Generator | int = 0
    ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        """Return ``(image, label, record)``; ``record["transforms"]`` lists name, applied, params."""
        img, lbl = check_arrays(image, label, "Compose")
        gen = as_rng(rng, "Compose")
        steps = []
        for t, p in zip(self.transforms, self.probabilities, strict=True):
            applied = bool(gen.random() < p)
            params = t.draw(gen, img.shape) if applied else None
            if applied:
                img, lbl = t.apply(img, lbl, params)  # type: ignore[arg-type]
            steps.append({"name": t.name, "applied": applied, "params": params})
        return _fresh(img, image), _fresh(lbl, label), {"transforms": steps}

    def replay(
        self, image: np.ndarray, label: np.ndarray | None, record: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Re-apply exactly what the call that produced ``record`` did."""
        img, lbl = check_arrays(image, label, "Compose.replay")
        steps = record.get("transforms") if isinstance(record, dict) else None
        if not isinstance(steps, list) or len(steps) != len(self.transforms):
            raise InvalidParameterError("record", "Compose.replay", f"a record with {len(self.transforms)} transforms", record)
        for i, (t, step) in enumerate(zip(self.transforms, steps, strict=True)):
            if step.get("name") != t.name:
                raise InvalidParameterError(f"record.transforms[{i}].name", "Compose.replay", repr(t.name), step.get("name"))
            if step.get("applied"):
                img, lbl = t.apply(img, lbl, step["params"])
        return _fresh(img, image), _fresh(lbl, label)

    def __repr__(self) -> str:
        return f"Compose({list(self.transforms)!r}, probabilities={list(self.probabilities)!r})"
