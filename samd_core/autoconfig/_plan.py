"""Auto-configuration: dataset fingerprint -> training plan (the nnU-Net idea, simplified).

Each rule is a small pure function; docs/models.md ("Auto-configuration") states them in
words. References: Isensee F, Jaeger PF, Kohl SAA, Petersen J, Maier-Hein KH. nnU-Net: a
self-configuring method for deep learning-based biomedical image segmentation. Nat Methods 18,
203-211 (2021), Supplementary Note 2 (rule-based parameters).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from samd_core.autoconfig._fingerprint import DatasetFingerprint
from samd_core.errors import IntegrityError, InvalidParameterError
from samd_core.hashing import canonical_json, sha256_json
from samd_core.models import UNetConfig, config_from_dict

__all__ = ["ANISOTROPY_RATIO", "Plan", "estimate_memory_mb", "make_plan"]

#: Spacing ratio above which a dataset counts as anisotropic (nnU-Net: 3).
ANISOTROPY_RATIO = 3.0
#: Smallest feature-map edge at the bottom of the U-Net (nnU-Net: 4 voxels).
MIN_FEATURE_SIZE = 4
#: An axis is pooled/convolved with kernel 3 only while its spacing is <= this x the finest.
SPACING_RATIO_POOL = 2.0
#: Largest fraction of the dataset's voxels one batch may cover (nnU-Net: 5 %).
MAX_BATCH_FRACTION = 0.05
#: Activation bytes per feature-map voxel-channel, forward + backward (empirical factor).
ACTIVATION_FACTOR = 10
BASE_CHANNELS = 32
MAX_CHANNELS = {2: 512, 3: 320}
MAX_STAGES = {2: 7, 3: 6}
RULES_VERSION = "1"


@dataclass(frozen=True)
class Plan:
    """A training plan: plain data, saved as canonical JSON and identified by its SHA-256.

    Attributes
    ----------
    fingerprint_sha256 : str
    target_spacing : tuple of float
        mm per array axis.
    normalization : tuple of str
        Per channel: ``"ct"`` (clip to ``ct_clip``, then ``(x - ct_mean) / ct_std``) or
        ``"zscore"`` (per image).
    ct_clip, ct_mean_std : tuple or None per channel
    median_shape : tuple of int
        Median image size after resampling to ``target_spacing``.
    patch_size : tuple of int
    batch_size : int
    network : dict
        `UNetConfig.to_dict()` of the planned network (depth = ``len(channels)``).
    memory_estimate_mb, memory_budget_mb : float
    rules_version : str
    """

    fingerprint_sha256: str
    target_spacing: tuple[float, ...]
    anisotropic: bool
    normalization: tuple[str, ...]
    ct_clip: tuple[tuple[float, float] | None, ...]
    ct_mean_std: tuple[tuple[float, float] | None, ...]
    median_shape: tuple[int, ...]
    patch_size: tuple[int, ...]
    batch_size: int
    network: Mapping[str, Any]
    memory_estimate_mb: float
    memory_budget_mb: float
    rules_version: str = RULES_VERSION

    def network_config(self) -> UNetConfig:
        """The planned network as a validated config."""
        return config_from_dict(self.network)  # type: ignore[return-value]

    def preprocess_spec(self, channel: int = 0) -> dict[str, Any]:
        """A `samd_core.preprocess.Pipeline` spec for one input channel: resample to
        ``target_spacing``, then the planned normalisation (``ct_normalize`` with the plan's
        clip range and foreground mean/std, or a per-image ``zscore``)."""
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < len(self.normalization):
            raise InvalidParameterError("channel", "Plan.preprocess_spec", f"an integer in [0, {len(self.normalization) - 1}]", channel)
        steps: list[dict[str, Any]] = [{"op": "resample", "spacing": list(self.target_spacing)}]
        if self.normalization[channel] == "ct":
            low, high = self.ct_clip[channel]  # type: ignore[misc]
            mean, std = self.ct_mean_std[channel]  # type: ignore[misc]
            steps.append({"op": "ct_normalize", "lower": low, "upper": high, "mean": mean, "std": std})
        else:
            steps.append({"op": "zscore", "mean": None, "std": None})
        return {"version": 1, "steps": steps}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""

        def plain(v: Any) -> Any:
            if isinstance(v, (tuple, list)):
                return [plain(x) for x in v]
            if isinstance(v, Mapping):
                return {k: plain(x) for k, x in v.items()}
            return v

        return {k: plain(getattr(self, k)) for k in self.__dataclass_fields__}

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, compact)."""
        return canonical_json(self.to_dict()).decode("utf-8")

    def sha256(self) -> str:
        """SHA-256 of `to_json`."""
        return sha256_json(self.to_dict())

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write ``{"plan": ..., "sha256": ...}`` as JSON; return the hash."""
        h = self.sha256()
        Path(path).write_text(json.dumps({"plan": self.to_dict(), "sha256": h}, sort_keys=True, indent=1), encoding="utf-8")
        return h

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Rebuild from `to_dict` data."""

        def tup(v: Any) -> Any:
            return tuple(tup(x) for x in v) if isinstance(v, list) else v

        d = {k: (v if k == "network" else tup(v)) for k, v in data.items()}
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidParameterError("data", "Plan.from_dict", "plan fields only", sorted(unknown))
        return cls(**d)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        """Read a `save`d plan; raise `IntegrityError` when its hash does not match."""
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        plan = cls.from_dict(doc["plan"])
        if plan.sha256() != doc.get("sha256"):
            raise IntegrityError(f"plan file {str(path)!r}: content hash {plan.sha256()} != recorded {doc.get('sha256')}")
        return plan


# ---------------------------------------------------------------------- rules
def target_spacing_rule(fp: DatasetFingerprint) -> tuple[tuple[float, ...], bool]:
    """Rule 1: median spacing per axis; for anisotropic data the coarse axis gets its 10th percentile.

    Anisotropic means: largest/smallest median spacing > `ANISOTROPY_RATIO` and the coarse
    axis's median size (at median spacing) times `ANISOTROPY_RATIO` is below the smallest
    other size. The coarse-axis spacing is then the 10th percentile of that axis's spacings,
    but never finer than the coarsest other axis.
    """
    sp = np.asarray(fp.spacings, dtype=np.float64)
    sh = np.asarray(fp.shapes, dtype=np.float64)
    target = np.median(sp, axis=0)
    worst = int(np.argmax(target))
    others = [a for a in range(len(target)) if a != worst]
    sizes = np.median(sh * sp / target, axis=0)
    aniso = bool(
        target[worst] / target.min() > ANISOTROPY_RATIO
        and sizes[worst] * ANISOTROPY_RATIO < min(sizes[a] for a in others)
    )
    if aniso:
        t = float(np.percentile(sp[:, worst], 10))
        target[worst] = max(t, float(max(target[a] for a in others)))
    return tuple(float(round(v, 6)) for v in target), aniso


def normalization_rule(fp: DatasetFingerprint) -> tuple[tuple[str, ...], tuple[Any, ...], tuple[Any, ...]]:
    """Rule 2: CT channels: clip to foreground [p0.5, p99.5] then z-score with foreground mean/std;
    other channels: per-image z-score."""
    norm, clip, ms = [], [], []
    for mod, st in zip(fp.modalities, fp.intensity_stats):
        if mod.upper() == "CT":
            norm.append("ct")
            clip.append((st.p00_5, st.p99_5))
            ms.append((st.mean, max(st.std, 1e-8)))
        else:
            norm.append("zscore")
            clip.append(None)
            ms.append(None)
    return tuple(norm), tuple(clip), tuple(ms)


def topology_rule(patch: tuple[int, ...], spacing: tuple[float, ...]) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """Rule 4: per-stage strides and kernels from patch size and spacing.

    Stage 0 has stride 1. At each further stage an axis is downsampled by 2 when its current
    spacing is <= `SPACING_RATIO_POOL` x the finest current spacing and its current feature
    size is >= 2 x `MIN_FEATURE_SIZE`; stages stop when no axis can be pooled or at
    `MAX_STAGES`. Kernels are 3 on axes whose current spacing is <= `SPACING_RATIO_POOL` x the
    finest, else 1 (no in-plane/through-plane mixing across very coarse axes).
    """
    d = len(patch)
    size = [float(p) for p in patch]
    sp = list(spacing)
    strides: list[tuple[int, ...]] = [(1,) * d]
    kernels: list[tuple[int, ...]] = [tuple(3 if s <= SPACING_RATIO_POOL * min(sp) else 1 for s in sp)]
    while len(strides) < MAX_STAGES[d]:
        fine = min(sp)
        pool = [sp[a] <= SPACING_RATIO_POOL * fine and size[a] >= 2 * MIN_FEATURE_SIZE for a in range(d)]
        if not any(pool):
            break
        st = tuple(2 if p else 1 for p in pool)
        size = [s / k for s, k in zip(size, st)]
        sp = [s * k for s, k in zip(sp, st)]
        strides.append(st)
        kernels.append(tuple(3 if s <= SPACING_RATIO_POOL * min(sp) else 1 for s in sp))
    return tuple(strides), tuple(kernels)


def _channels(n_stages: int, d: int) -> tuple[int, ...]:
    return tuple(min(BASE_CHANNELS * 2**i, MAX_CHANNELS[d]) for i in range(n_stages))


def estimate_memory_mb(config: UNetConfig, patch: tuple[int, ...], batch_size: int) -> float:
    """Rule 3 (memory model): training memory in MiB.

    ``4 B x (ACTIVATION_FACTOR x batch x sum_stages(voxels_s x channels_s) x 2 (encoder and
    decoder) + 4 x n_parameters)`` -- activations of both U-Net halves, plus weights, gradients
    and two optimizer moments. A deliberately simple, monotone estimate, not a measurement.
    """
    vox = float(np.prod(patch))
    act = 0.0
    for st, ch in zip(config.strides, config.channels):
        vox /= float(np.prod(st))
        act += vox * ch
    n_params = 0
    in_ch = config.in_channels
    for ks, ch in zip(config.kernel_sizes, config.channels):
        k = float(np.prod(ks))
        n_params += int(k * (in_ch * ch + ch * ch * (config.convs_per_block - 1)) * 2 + k * ch * ch)
        in_ch = ch
    return 4.0 * (ACTIVATION_FACTOR * batch_size * act * 2 + 4 * n_params) / 2**20


def make_plan(fingerprint: DatasetFingerprint, *, memory_budget_mb: float = 8000.0, in_plane_cap: int = 512) -> Plan:
    """Derive a training plan from a fingerprint under a memory budget (pure, deterministic).

    Parameters
    ----------
    fingerprint : DatasetFingerprint
    memory_budget_mb : float
        Training memory the plan must fit in (MiB, `estimate_memory_mb` at batch size 2).
    in_plane_cap : int
        Largest starting patch edge in voxels.

    Returns
    -------
    Plan
        Same fingerprint and arguments -> same plan (and the same `Plan.sha256`).

    Notes
    -----
    Rules 1-5 in docs/models.md: target spacing, normalisation, memory model, topology,
    patch and batch size (start from the median resampled shape, shrink the axis with the
    largest physical extent by one divisor step until batch 2 fits; then batch size = what the
    budget allows, within [2, 5 % of the dataset's voxels]).
    """
    fn = "make_plan"
    if not isinstance(fingerprint, DatasetFingerprint):
        raise InvalidParameterError("fingerprint", fn, "a DatasetFingerprint", type(fingerprint).__name__)
    if isinstance(memory_budget_mb, bool) or not isinstance(memory_budget_mb, (int, float)) or not memory_budget_mb > 0:
        raise InvalidParameterError("memory_budget_mb", fn, "a positive number (MiB)", memory_budget_mb)
    fp = fingerprint
    d = fp.spatial_dims
    target, aniso = target_spacing_rule(fp)
    norm, clip, ms = normalization_rule(fp)
    sp = np.asarray(fp.spacings, dtype=np.float64)
    sh = np.asarray(fp.shapes, dtype=np.float64)
    median = tuple(int(round(v)) for v in np.median(sh * sp / np.asarray(target), axis=0))
    patch = [min(m, in_plane_cap) for m in median]

    first = [True]

    def config_for(p: tuple[int, ...]) -> UNetConfig:
        strides, kernels = topology_rule(p, target)
        if len(strides) < 2:
            if first[0]:
                raise InvalidParameterError(
                    "fingerprint", fn, f"images of at least {2 * MIN_FEATURE_SIZE} voxels along some axis", median
                )
            raise InvalidParameterError("memory_budget_mb", fn, "a budget that fits a 2-stage network", memory_budget_mb)
        first[0] = False
        return UNetConfig(
            spatial_dims=d, in_channels=len(fp.modalities), out_channels=fp.n_classes,
            channels=_channels(len(strides), d), strides=strides, kernel_sizes=kernels,
        )

    for _ in range(10_000):
        cfg = config_for(tuple(patch))
        div = cfg.divisor
        rounded = tuple(max(q, (p // q) * q) for p, q in zip(patch, div))
        cfg = config_for(rounded)
        if cfg.divisor != div and any(r % q for r, q in zip(rounded, cfg.divisor)):
            patch = list(rounded)
            continue
        mem = estimate_memory_mb(cfg, rounded, 2)
        if mem <= memory_budget_mb:
            break
        extent = [r * t for r, t in zip(rounded, target)]
        a = int(np.argmax(extent))
        if rounded[a] <= cfg.divisor[a] * 2 and all(r <= q * 2 for r, q in zip(rounded, cfg.divisor)):
            raise InvalidParameterError("memory_budget_mb", fn, f"at least {mem:.1f} MiB for this dataset", memory_budget_mb)
        patch = list(rounded)
        patch[a] = rounded[a] - cfg.divisor[a]
        if patch[a] < 2 * MIN_FEATURE_SIZE:
            patch[a] = rounded[a] // 2
    patch_size = rounded
    per_sample = estimate_memory_mb(cfg, patch_size, 1) - estimate_memory_mb(cfg, patch_size, 0)
    fixed = estimate_memory_mb(cfg, patch_size, 0)
    by_budget = int(math.floor((memory_budget_mb - fixed) / per_sample)) if per_sample > 0 else 2
    dataset_vox = float(np.prod(median)) * len(fp.shapes)
    by_data = int(math.floor(MAX_BATCH_FRACTION * dataset_vox / float(np.prod(patch_size))))
    batch = max(2, min(by_budget, by_data))
    return Plan(
        fingerprint_sha256=fp.sha256(), target_spacing=target, anisotropic=aniso, normalization=norm,
        ct_clip=clip, ct_mean_std=ms, median_shape=median, patch_size=patch_size, batch_size=batch,
        network=cfg.to_dict(), memory_estimate_mb=round(estimate_memory_mb(cfg, patch_size, batch), 3),
        memory_budget_mb=float(memory_budget_mb),
    )
