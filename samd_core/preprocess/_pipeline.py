"""`Pipeline`: a validated, hashable list of preprocessing steps with an inverse.

Spec (plain data, JSON-compatible)::

    {"version": 1,
     "steps": [{"op": "reorient", "orientation": "LPS"},
               {"op": "resample", "spacing": [2.5, 1.5, 1.5]},
               {"op": "ct_normalize", "lower": -1000, "upper": 1500, "mean": 50, "std": 300}]}

`Pipeline.spec` is the canonical form (defaults filled in, numbers as floats); its SHA-256
over canonical JSON (sorted keys, compact separators) is `Pipeline.spec_hash` and is appended
to the ``provenance`` of every volume the pipeline produces.

Multi-channel images (a ``channel_last`` `Volume`, ``(y, x, c)`` or ``(z, y, x, c)``) keep their
channel axis last and their channel order. Geometric steps (``reorient``, ``resample``,
``resize``, ``crop_pad``) map every channel onto the same output grid with the same
interpolation; ``crop_foreground`` is refused (which channel's foreground would decide?).
Intensity steps follow `samd_core.preprocess._intensity._Intensity`: fixed numbers apply
to every channel alike; statistics computed from the image need ``channel_wise`` stated.
The record then holds ``"channels": c`` and, per intensity step, ``channel_wise`` and what
was resolved (per channel or once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from samd_core.errors import GeometryError, InvalidParameterError
from samd_core.preprocess._geometry import CropForeground, CropPad, Reorient, Resample
from samd_core.preprocess._intensity import Clip, CTNormalize, IntensityWindow, PercentileNormalize, Window, ZScore
from samd_core.preprocess._resize import Resize
from samd_core.preprocess._spec import FN, Grid, Step, canonical_json, sha256_of
from samd_core.volume import Volume

__all__ = ["STEPS", "SPEC_VERSION", "Pipeline"]

SPEC_VERSION = 1

#: op name -> step class (the spec's vocabulary).
STEPS: dict[str, type[Step]] = {
    cls.op: cls
    for cls in (Reorient, Resample, Resize, Clip, Window, IntensityWindow, ZScore, PercentileNormalize, CTNormalize,
                CropPad, CropForeground)
}

Kind = Literal["image", "label"]
InverseKind = Literal["label", "probabilities"]


#: Geometric steps defined for multi-channel images: their plan depends on the grid only, so every
#: channel is resampled onto the same grid (forward on channel 0, replayed on the others).
CHANNEL_GEOMETRIC_OPS = ("crop_pad", "reorient", "resample", "resize")


def _grid_of(v: Volume) -> Grid:
    return Grid(v.spatial_shape, v.spacing, v.origin, v.direction)  # type: ignore[arg-type]


def _volume(arr: np.ndarray, grid: Grid, like: Volume | None, provenance: tuple[str, ...],
            channel_last: bool = False) -> Volume:
    meta = dict(like.meta) if like is not None else {}
    return Volume(arr, grid.spacing, grid.origin, grid.direction, meta=meta, provenance=provenance,
                  channel_last=channel_last)


class Pipeline:
    """An ordered list of preprocessing steps built from a plain-data spec.

    Use `from_spec`; ``pipeline(volume)`` returns the preprocessed image; `forward` also
    returns a plain-data record; `replay` applies a record to another volume on the same grid
    (e.g. the label map of a training case); `inverse` maps a prediction back to the grid the
    forward pass started from.

    Step ops (keys, defaults; see ``docs/preprocess.md``):

    * ``reorient``: ``orientation="LPS"``
    * ``resample``: ``spacing`` (mm, array order, required), ``image_interpolation="linear"``
      (``"bspline"``, ``"nearest"``), ``label_interpolation="nearest"`` (``"labelwise"``)
    * ``clip``: ``lower=None``, ``upper=None``
    * ``window``: ``center``, ``width``
    * ``intensity_window``: ``lower``, ``upper`` (maps ``[lower, upper]`` to ``[0, 1]``, clipped)
    * ``resize``: ``shape`` (voxels, required), ``interpolation="linear"``, ``aspect="stretch"``
      (``"pad"``: centred padding to the target aspect ratio first), ``pad_value=0``
    * ``zscore``: ``mean=None``, ``std=None``, ``foreground_threshold=None``
    * ``percentile``: ``lower=0.5``, ``upper=99.5``, ``foreground_threshold=None``
    * ``ct_normalize``: ``lower``, ``upper``, ``mean``, ``std`` (see `ct_fingerprint`)
    * ``crop_pad``: ``shape`` (voxels), ``pad_value=0``
    * ``crop_foreground``: ``threshold=None``, ``margin=0``
    """

    def __init__(self, steps: list[Step]) -> None:
        self._steps = tuple(steps)
        self._spec = {"version": SPEC_VERSION, "steps": [s.spec() for s in self._steps]}
        self._hash = sha256_of(self._spec)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | str) -> Pipeline:
        """Validate ``spec`` (a mapping or a JSON string) and build the pipeline.

        Raises
        ------
        InvalidParameterError
            Naming the key path (e.g. ``steps[1].spacing``), the value and what is allowed.
        """
        if isinstance(spec, str):
            try:
                spec = json.loads(spec)
            except json.JSONDecodeError as exc:
                raise InvalidParameterError("spec", FN, "valid JSON", f"{exc.msg} at position {exc.pos}") from None
        if not isinstance(spec, Mapping):
            raise InvalidParameterError("spec", FN, "a mapping with keys 'version' and 'steps'", spec)
        extra = set(spec) - {"version", "steps"}
        if extra:
            key = sorted(extra)[0]
            raise InvalidParameterError(key, FN, "absent (allowed keys: 'steps', 'version')", key, options=["steps", "version"])
        version = spec.get("version", SPEC_VERSION)
        if version != SPEC_VERSION or isinstance(version, bool):
            raise InvalidParameterError("version", FN, f"{SPEC_VERSION}", version)
        raw_steps = spec.get("steps")
        if not isinstance(raw_steps, (list, tuple)):
            raise InvalidParameterError("steps", FN, "a list of step mappings", raw_steps)
        steps = []
        for i, raw in enumerate(raw_steps):
            path = f"steps[{i}]"
            if not isinstance(raw, Mapping):
                raise InvalidParameterError(path, FN, "a mapping with an 'op' key", raw)
            op = raw.get("op")
            if op not in STEPS:
                raise InvalidParameterError(f"{path}.op", FN, f"one of {sorted(STEPS)}", op, options=sorted(STEPS))
            steps.append(STEPS[op].from_spec(raw, path))
        return cls(steps)

    # ------------------------------------------------------------------ identity
    @property
    def spec(self) -> dict[str, Any]:
        """Canonical spec (plain data; a fresh copy)."""
        return json.loads(canonical_json(self._spec))  # type: ignore[no-any-return]

    @property
    def spec_json(self) -> str:
        """Canonical JSON of `spec` (sorted keys, compact): the bytes that `spec_hash` hashes."""
        return canonical_json(self._spec)

    @property
    def spec_hash(self) -> str:
        """SHA-256 (hex) of `spec_json`; invariant to key order and to ``1`` vs ``1.0``."""
        return self._hash

    def __repr__(self) -> str:
        return f"Pipeline(ops={[s.op for s in self._steps]}, spec_hash={self._hash[:12]}...)"

    # ------------------------------------------------------------------ forward
    def __call__(self, volume: Volume) -> Volume:
        """Preprocess an image; same as ``forward(volume)[0]``."""
        return self.forward(volume)[0]

    def _check_volume(self, volume: Any, fn: str, kind: str) -> Volume:
        if not isinstance(volume, Volume):
            raise InvalidParameterError("volume", fn, "a samd_core.Volume", type(volume).__name__)
        if kind not in ("image", "label"):
            raise InvalidParameterError("kind", fn, "'image' or 'label'", kind, options=("image", "label"))
        if kind == "label" and volume.channel_last:
            raise InvalidParameterError("volume", fn, "a grey-scale label map for kind='label'",
                                        f"a {volume.n_channels}-channel volume")
        if kind == "label" and volume.array.dtype.kind not in "biu":
            raise InvalidParameterError("volume", fn, "an integer or boolean label map for kind='label'", str(volume.array.dtype))
        return volume

    def forward(self, volume: Volume, *, kind: Kind = "image") -> tuple[Volume, dict[str, Any]]:
        """Apply every step; return the output volume and a plain-data record.

        Parameters
        ----------
        volume : Volume
        kind : {"image", "label"}
            ``"label"``: intensity steps are skipped, resampling uses the label interpolation,
            and a foreground crop uses the label's non-zero voxels.

        Returns
        -------
        output : Volume
            ``provenance`` = input provenance + (`spec_hash`,).
        record : dict
            ``{"spec_sha256", "kind", "input": grid, "output": grid, "steps": [...]}``; each
            entry holds what the step resolved (grids, crop boxes, computed means).
        """
        vol = self._check_volume(volume, "Pipeline.forward", kind)
        arr, grid = np.asarray(vol.array), _grid_of(vol)
        recs = []
        if vol.channel_last:
            chans = [arr[..., c] for c in range(vol.n_channels)]
            for step in self._steps:
                chans, grid, rec = _forward_channels(step, chans, grid)
                recs.append(rec)
            arr = np.ascontiguousarray(np.stack(chans, axis=-1))
        else:
            for step in self._steps:
                arr, grid, rec = step.forward(arr, grid, kind)
                recs.append(rec)
        record = {
            "spec_sha256": self._hash,
            "kind": kind,
            "input": _grid_of(vol).to_dict(),
            "output": grid.to_dict(),
            "steps": recs,
        }
        if vol.channel_last:  # grey-scale records keep their release 0.1.0 form
            record["channels"] = vol.n_channels
        return _volume(arr, grid, vol, (*vol.provenance, self._hash), vol.channel_last), record

    def _check_record(self, record: Any, fn: str) -> dict[str, Any]:
        if not isinstance(record, Mapping) or record.get("spec_sha256") != self._hash:
            got = record.get("spec_sha256") if isinstance(record, Mapping) else record
            raise InvalidParameterError("record", fn, f"a record made by this pipeline (spec_sha256 {self._hash})", got)
        if len(record.get("steps", ())) != len(self._steps):
            raise InvalidParameterError("record.steps", fn, f"{len(self._steps)} step records", len(record.get("steps", ())))
        return dict(record)

    def replay(self, volume: Volume, record: Mapping[str, Any], *, kind: Kind = "label") -> Volume:
        """Apply ``record`` (from `forward` on an image) to another volume on the same grid.

        Typical use: the label map of a training case gets exactly the image's reorientation,
        resampling grid and crop box. Intensity steps reuse the resolved parameters for
        ``kind="image"`` and are skipped for ``kind="label"``.
        """
        fn = "Pipeline.replay"
        vol = self._check_volume(volume, fn, kind)
        rec = self._check_record(record, fn)
        grid = _grid_of(vol)
        if not _same_grid(grid, Grid.from_dict(rec["input"])):
            raise GeometryError(
                f"`volume` of `{fn}` must lie on the record's input grid {rec['input']}; got {grid.to_dict()}"
            )
        arr = np.asarray(vol.array)
        if vol.channel_last:
            chans = [arr[..., c] for c in range(vol.n_channels)]
            for step, srec in zip(self._steps, rec["steps"], strict=True):
                chans, grid = _replay_channels(step, chans, grid, srec)
            arr = np.ascontiguousarray(np.stack(chans, axis=-1))
        else:
            for step, srec in zip(self._steps, rec["steps"], strict=True):
                if "channel_wise" in srec and not step.geometric:
                    raise InvalidParameterError("record", fn, "a record made from a grey-scale image",
                                                f"a record of a {rec.get('channels')}-channel image")
                arr, grid = step.replay(arr, grid, srec, kind)
        return _volume(arr, grid, vol, (*vol.provenance, self._hash), vol.channel_last)

    # ------------------------------------------------------------------ inverse
    def inverse(
        self, prediction: Volume | np.ndarray, record: Mapping[str, Any], *, kind: InverseKind = "label"
    ) -> Volume | np.ndarray:
        """Put a prediction made on the pipeline's output grid back on the original grid.

        Parameters
        ----------
        prediction : Volume or numpy.ndarray
            ``kind="label"``: an integer label map (Volume or array) on ``record["output"]``.
            ``kind="probabilities"``: an array ``(C, *spatial)`` of per-class scores,
            channel 0 = background.
        record : dict
            The record `forward` returned.
        kind : {"label", "probabilities"}
            Labels are resampled with the pipeline's label interpolation and padded with 0;
            probabilities are resampled linearly per channel and padded with background
            (channel 0 = 1, others 0).

        Returns
        -------
        Volume (labels) or numpy.ndarray ``(C, *spatial)`` float32 (probabilities), on
        ``record["input"]``. A returned Volume's provenance ends with ``"inverse:<spec_hash>"``.
        """
        fn = "Pipeline.inverse"
        rec = self._check_record(record, fn)
        out_grid = Grid.from_dict(rec["output"])
        if kind not in ("label", "probabilities"):
            raise InvalidParameterError("kind", fn, "'label' or 'probabilities'", kind, options=("label", "probabilities"))
        prov: tuple[str, ...] = ()
        if isinstance(prediction, Volume):
            if not _same_grid(_grid_of(prediction), out_grid):
                raise GeometryError(f"`prediction` of `{fn}` must lie on the record's output grid {rec['output']}")
            prov = prediction.provenance
            arr = np.asarray(prediction.array)
        else:
            arr = np.asarray(prediction)
        want = tuple(out_grid.shape)
        if kind == "label":
            if arr.shape != want or arr.dtype.kind not in "biu":
                raise InvalidParameterError("prediction", fn, f"an integer label map of shape {want}", f"{arr.dtype} {arr.shape}")
        else:
            if arr.ndim != len(want) + 1 or arr.shape[1:] != want or arr.dtype.kind != "f":
                raise InvalidParameterError("prediction", fn, f"a float array of shape (C, *{want})", f"{arr.dtype} {arr.shape}")
            arr = arr.astype(np.float32, copy=False)
        for step, srec in zip(reversed(self._steps), reversed(rec["steps"]), strict=True):
            if step.geometric:
                arr = step.inverse(arr, srec, kind)
        if kind == "probabilities":
            out = np.ascontiguousarray(arr, dtype=np.float32)
            return out.copy() if np.shares_memory(out, np.asarray(prediction)) else out
        in_grid = Grid.from_dict(rec["input"])
        return Volume(arr, in_grid.spacing, in_grid.origin, in_grid.direction, provenance=(*prov, f"inverse:{self._hash}"))


def _check_channel_step(step: Step) -> None:
    if step.geometric and step.op not in CHANNEL_GEOMETRIC_OPS:
        raise InvalidParameterError(f"{step.path}.op", "Pipeline.forward",
                                    f"a step defined for multi-channel images (geometric: {list(CHANNEL_GEOMETRIC_OPS)}, "
                                    "or an intensity step)", step.op)


def _forward_channels(step: Step, chans: list[np.ndarray], grid: Grid) -> tuple[list[np.ndarray], Grid, dict[str, Any]]:
    """One step on the channels of an image (see the module docstring)."""
    _check_channel_step(step)
    if step.geometric:
        first, new, rec = step.forward(chans[0], grid, "image")
        return [first] + [step.replay(c, grid, rec, "image")[0] for c in chans[1:]], new, rec
    outs, rec = step.forward_channels(chans)  # type: ignore[attr-defined]
    return outs, grid, rec


def _replay_channels(step: Step, chans: list[np.ndarray], grid: Grid, rec: dict[str, Any]) -> tuple[list[np.ndarray], Grid]:
    _check_channel_step(step)
    if step.geometric:
        outs = [step.replay(c, grid, rec, "image") for c in chans]
        return [o[0] for o in outs], outs[0][1]
    if "channel_wise" not in rec:
        raise InvalidParameterError("record", "Pipeline.replay", f"a record made from a {len(chans)}-channel image",
                                    "a record of a grey-scale image")
    return step.replay_channels(chans, rec), grid  # type: ignore[attr-defined]


def _same_grid(a: Grid, b: Grid, atol: float = 1e-4) -> bool:
    return (
        tuple(a.shape) == tuple(b.shape)
        and np.allclose(a.spacing, b.spacing, atol=atol)
        and np.allclose(a.origin, b.origin, atol=atol)
        and np.allclose(a.direction, b.direction, atol=atol)
    )
