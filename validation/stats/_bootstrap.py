"""Nonparametric bootstrap confidence intervals for any statistic (percentile and BCa).

Resampling scheme (fixed, so that a seed reproduces a result bit for bit):

* The resampled *units* are the observations, or the clusters (e.g. patients) when
  ``clusters`` is given; a cluster is resampled with all of its rows.
* Units are grouped by stratum (``strata``, sorted by value; one group without strata).
  For each group in turn, ``rng.integers(0, n_group, size=(n_resamples, n_group))`` draws
  all resamples at once. Without strata and clusters this is exactly the draw of
  `scipy.stats.bootstrap`, so both give identical results for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from scipy import special

from samd_core.checks import Described, as_count, as_rng, check_confidence_level, check_option
from validation.errors import InvalidParameterError
from validation.stats._results import Estimate

__all__ = ["BOOTSTRAP_METHODS", "BootstrapMethod", "ChunkedStreams", "bootstrap_ci", "bootstrap_interval",
           "bootstrap_replicates"]

BootstrapMethod = Literal["percentile", "bca"]
BOOTSTRAP_METHODS: tuple[str, ...] = ("percentile", "bca")
_CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class ChunkedStreams:
    """Draw bootstrap replicates in chunks, each from its own seeded stream (see module notes).

    Pass an instance as ``rng`` to any bootstrap function of `validation.stats` or
    `validation.metrics`.

    Parameters
    ----------
    seed : int or sequence of int
        Entropy of the parent `numpy.random.SeedSequence` (non-negative integers).
    chunk_size : int
        Replicates per chunk, >= 1. Memory per chunk is what the function needs for
        ``chunk_size`` replicates (e.g. ``8 * chunk_size * n`` bytes of resample indices).
    map : callable, optional
        A map-like callable, ``map(function, iterable) -> iterable of results in order``
        (the built-in `map` when omitted; as SciPy's ``workers`` argument). The results never
        depend on it.
    """

    seed: int | tuple[int, ...]
    chunk_size: int
    map: Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]] | None = None

    def __post_init__(self) -> None:
        fn = "ChunkedStreams"
        raw = self.seed if isinstance(self.seed, (list, tuple)) else (self.seed,)
        if not raw or any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) or int(x) < 0 for x in raw):
            raise InvalidParameterError("seed", fn, "a non-negative int or a non-empty sequence of them", self.seed)
        object.__setattr__(self, "seed", tuple(int(x) for x in raw) if isinstance(self.seed, (list, tuple))
                           else int(self.seed))
        object.__setattr__(self, "chunk_size", as_count(self.chunk_size, "chunk_size", fn, minimum=1))
        if self.map is not None and not callable(self.map):
            raise InvalidParameterError("map", fn, "a map-like callable", self.map)

    def chunks(self, n_resamples: int) -> list[tuple[np.random.SeedSequence, int]]:
        """``(seed sequence, number of replicates)`` of each chunk, in order."""
        n_chunks = -(-int(n_resamples) // self.chunk_size)
        return [(np.random.SeedSequence(self.seed, spawn_key=(k,)),
                 min(self.chunk_size, int(n_resamples) - k * self.chunk_size)) for k in range(n_chunks)]


def _chunk(draw: Callable[[np.random.Generator, int], np.ndarray],
           spec: tuple[np.random.SeedSequence, int]) -> np.ndarray:
    return np.asarray(draw(np.random.default_rng(spec[0]), spec[1]))


def bootstrap_replicates(
    draw: Callable[[np.random.Generator, int], Any],
    n_resamples: int,
    rng: np.random.Generator | int | ChunkedStreams,
    *,
    function: str = "bootstrap_replicates",
) -> np.ndarray:
    """Replicate values ``draw(generator, n) -> array of n rows`` for ``n_resamples`` replicates.

    With a Generator (or an int seed) this is ``draw(generator, n_resamples)``: one stream. With
    `ChunkedStreams` it is the chunks' results, concatenated along the first axis in chunk
    order; the chunks are computed through ``rng.map``.

    Parameters
    ----------
    draw : callable
        ``draw(generator, n)`` returns the values of ``n`` replicates (first axis). Under a
        distributed ``map`` it must be picklable (a module-level function or a
        `functools.partial` of one).
    n_resamples : int
        Number of replicates, >= 1.
    rng : numpy.random.Generator, int or ChunkedStreams
        The stream(s).
    function : str
        Name used in error messages.
    """
    n_resamples = as_count(n_resamples, "n_resamples", function, minimum=1)
    if isinstance(rng, ChunkedStreams):
        mapper = rng.map if rng.map is not None else map
        parts = list(mapper(partial(_chunk, draw), rng.chunks(n_resamples)))
        return np.concatenate(parts, axis=0)
    return np.asarray(draw(as_rng(rng, function), n_resamples))


def bootstrap_ci(
    statistic: Callable[..., Any],
    *data: Any,
    method: BootstrapMethod,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | ChunkedStreams,
    strata: Any = None,
    clusters: Any = None,
    confidence_level: float = 0.95,
    vectorized: bool = False,
) -> Estimate:
    """Bootstrap confidence interval of ``statistic(*data)``.

    Parameters
    ----------
    statistic : callable
        ``statistic(*arrays) -> float``. The arrays are the rows of ``data`` selected by one
        resample (paired: the same rows of every array). With ``vectorized=True`` it receives
        2-d arrays of shape ``(n_batch, n)`` and must return shape ``(n_batch,)`` (only
        without ``clusters``, where resamples have equal length).
    *data : array_like
        One or more arrays with the same first dimension ``n`` (the observations).
    method : {"percentile", "bca"}
        Percentile interval, or bias-corrected and accelerated (Efron 1987) with the
        acceleration from the leave-one-unit-out jackknife (units: observations, or clusters).
    n_resamples : int
        Number of bootstrap resamples, ``>= 1``.
    rng : numpy.random.Generator, int or ChunkedStreams
        Source of randomness (an int is a seed for `numpy.random.default_rng`; `ChunkedStreams`
        draws the resamples in independently seeded chunks).
    strata : array_like, optional
        Stratum of each observation (e.g. the class label): units are resampled within
        strata, keeping stratum sizes fixed (pROC's ``stratified=TRUE``).
    clusters : array_like, optional
        Cluster id of each observation (e.g. patient id): clusters are resampled with
        replacement, each bringing all of its rows. With ``strata``, every cluster must lie
        in a single stratum.
    confidence_level : float
        Two-sided coverage in (0, 1).
    vectorized : bool
        See ``statistic``.

    Returns
    -------
    Estimate
        ``value = statistic(*data)``; ``method`` is ``"bootstrap_percentile"`` or
        ``"bootstrap_bca"``; ``n`` is the number of resampled units.

    Notes
    -----
    Quantiles are NumPy's linear interpolation (R ``quantile`` type 7). The BCa bias
    correction counts replicates equal to the estimate as one half (as SciPy).
    The statistic must be finite on every resample and jackknife subsample, otherwise a
    clear error is raised (e.g. a single-class resample of an AUC: use ``strata``).
    A percentile interval need not contain the estimate. Memory: the resample indices are
    held at once (``8 * n_resamples * n`` bytes).

    References
    ----------
    Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall, 1993 (ch. 13-14).
    Efron B. Better bootstrap confidence intervals. JASA 1987;82:171-185.
    Davison AC, Hinkley DV. Bootstrap Methods and their Application. CUP 1997 (sec. 3.8,
    cluster resampling).
    """
    fn = "bootstrap_ci"
    if not callable(statistic):
        raise InvalidParameterError("statistic", fn, "a callable", statistic)
    method = check_option(method, "method", fn, BOOTSTRAP_METHODS)  # type: ignore[assignment]
    confidence_level = check_confidence_level(confidence_level, fn)
    n_resamples = as_count(n_resamples, "n_resamples", fn, minimum=1)
    if not isinstance(rng, ChunkedStreams):
        rng = as_rng(rng, fn)
    if len(data) == 0:
        raise InvalidParameterError("data", fn, "at least one array", Described("no arrays"))
    arrays = [np.asarray(d) for d in data]
    n = arrays[0].shape[0] if arrays[0].ndim > 0 else 0
    for i, a in enumerate(arrays):
        if a.ndim == 0 or a.shape[0] == 0:
            raise InvalidParameterError(f"data[{i}]", fn, "a non-empty array", Described("an empty array or scalar"))
        if a.shape[0] != n:
            raise InvalidParameterError(f"data[{i}]", fn, f"length {n} (as data[0])", Described(f"length {a.shape[0]}"))
    groups, unit_rows = _units(n, strata, clusters, fn)
    if clusters is not None and vectorized:
        raise InvalidParameterError("vectorized", fn, "False when clusters are given", vectorized)
    theta_hat = _as_scalar(statistic(*arrays), fn)
    theta_b = bootstrap_replicates(partial(_draw_replicates, statistic, arrays, groups, unit_rows, vectorized),
                                   n_resamples, rng, function=fn)
    bad = ~np.isfinite(theta_b)
    if bad.any():
        raise InvalidParameterError(
            "statistic",
            fn,
            "finite on every bootstrap resample (consider `strata`)",
            Described(f"a non-finite value in {int(bad.sum())} of {n_resamples} resamples"),
        )
    if method == "percentile":
        low, high = percentile_interval(theta_b, confidence_level)
    else:
        theta_jack = _jackknife(statistic, arrays, unit_rows, vectorized)
        if not np.isfinite(theta_jack).all():
            raise InvalidParameterError(
                "statistic", fn, "finite on every jackknife subsample (needed by BCa)", Described("a non-finite value")
            )
        low, high = bca_interval(theta_b, theta_hat, theta_jack, confidence_level)
    return Estimate(theta_hat, low, high, confidence_level, f"bootstrap_{method}", len(unit_rows))


def bootstrap_interval(
    theta_b: Any,
    theta_hat: float,
    *,
    method: BootstrapMethod,
    confidence_level: float = 0.95,
    theta_jack: Any = None,
    n: int | None = None,
) -> Estimate:
    """Percentile or BCa interval from bootstrap replicates computed elsewhere.

    The interval step of `bootstrap_ci`, for callers that draw their replicates by a scheme
    of their own (e.g. stratified binomial draws of confusion-matrix counts, which equal
    case resampling within each class but cost O(1) per replicate).

    Parameters
    ----------
    theta_b : array_like of float
        The bootstrap replicates of the statistic (1-d).
    theta_hat : float
        The statistic on the original data.
    method : {"percentile", "bca"}
        As in `bootstrap_ci`.
    confidence_level : float
        Two-sided coverage in (0, 1).
    theta_jack : array_like of float, optional
        Leave-one-unit-out values of the statistic; required for ``"bca"``.
    n : int, optional
        Number of resampled units, stored in the result (default: ``len(theta_jack)`` or 0).

    Returns
    -------
    Estimate
        ``value = theta_hat``; ``method`` as `bootstrap_ci`.

    Notes
    -----
    Same quantiles and BCa formula as `bootstrap_ci` (bit-identical on the same replicates).
    Where `bootstrap_ci` raises because the statistic is undefined on a resample, this
    function returns NaN bounds: a non-finite replicate, jackknife value or estimate means
    there is no interval (one computed over the finite replicates only would be optimistic).
    The BCa bounds are NaN too when the bias correction is infinite (every replicate on one
    side of ``theta_hat``) and there is no acceleration to offset it, e.g. constant replicates
    that differ from the estimate.
    """
    fn = "bootstrap_interval"
    method = check_option(method, "method", fn, BOOTSTRAP_METHODS)  # type: ignore[assignment]
    confidence_level = check_confidence_level(confidence_level, fn)
    reps = np.asarray(theta_b, dtype=np.float64)
    if reps.ndim != 1 or reps.size == 0:
        raise InvalidParameterError("theta_b", fn, "a non-empty 1-d array", Described(f"shape {reps.shape}"))
    jack = None if theta_jack is None else np.asarray(theta_jack, dtype=np.float64)
    if method == "bca" and (jack is None or jack.ndim != 1 or jack.size == 0):
        raise InvalidParameterError("theta_jack", fn, "a non-empty 1-d array for method='bca'", Described("missing"))
    units = (0 if jack is None else int(jack.size)) if n is None else as_count(n, "n", fn)
    theta = float(theta_hat)
    tag = f"bootstrap_{method}"
    if not (math.isfinite(theta) and np.isfinite(reps).all()):
        return Estimate(theta, math.nan, math.nan, confidence_level, tag, units)
    if method == "percentile":
        low, high = percentile_interval(reps, confidence_level)
    elif not np.isfinite(jack).all():  # type: ignore[arg-type]
        low, high = math.nan, math.nan
    else:
        low, high = bca_interval(reps, theta, jack, confidence_level)  # type: ignore[arg-type]
    return Estimate(theta, low, high, confidence_level, tag, units)


def _as_scalar(x: Any, fn: str) -> float:
    arr = np.asarray(x, dtype=np.float64)
    if arr.size != 1:
        raise InvalidParameterError("statistic", fn, "a callable returning a scalar", Described(f"shape {arr.shape}"))
    return float(arr.reshape(()))


def _units(n: int, strata: Any, clusters: Any, fn: str) -> tuple[list[np.ndarray], Any]:
    """Groups of unit indices (one per stratum) and the rows of each unit."""
    if clusters is None:
        unit_rows: Any = _ObsRows(n)
        unit_stratum = None if strata is None else _as_1d_key(strata, "strata", n, fn)
    else:
        cl = _as_1d_key(clusters, "clusters", n, fn)
        uniq, inv = np.unique(cl, return_inverse=True)
        unit_rows = _ClusterRows(inv.reshape(-1), len(uniq))
        if strata is None:
            unit_stratum = None
        else:
            st = _as_1d_key(strata, "strata", n, fn)[unit_rows.order]
            inside = np.ones(n, dtype=bool)
            inside[unit_rows.starts] = False  # first row of each cluster
            bad = np.flatnonzero(inside[1:] & (st[1:] != st[:-1]))
            if bad.size:
                u = int(inv[unit_rows.order[bad[0] + 1]])
                vals = np.unique(st[unit_rows.starts[u] : unit_rows.starts[u] + unit_rows.sizes[u]])
                where = Described(f"cluster {uniq[u].item()!r} spans strata {vals.tolist()}")
                raise InvalidParameterError("strata", fn, "constant within each cluster", where)
            unit_stratum = st[unit_rows.starts]
    n_units = len(unit_rows)
    if unit_stratum is None:
        groups = [np.arange(n_units)]
    else:
        groups = [np.flatnonzero(unit_stratum == s) for s in np.unique(unit_stratum)]
    return groups, unit_rows


class _ObsRows:
    """Stand-in for ``[[0], [1], ...]`` when the units are the observations."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


class _ClusterRows:
    """Rows of each cluster (clusters in sorted order of their ids, rows in input order)."""

    def __init__(self, codes: np.ndarray, k: int) -> None:
        self.order = np.argsort(codes, kind="stable")
        self.sizes = np.bincount(codes, minlength=k)
        self.starts = np.zeros(k, dtype=np.int64)
        np.cumsum(self.sizes[:-1], out=self.starts[1:])
        self.k = k

    def __len__(self) -> int:
        return self.k

    def rows_of(self, units: np.ndarray) -> np.ndarray:
        """Concatenated rows of the given clusters, in the given order."""
        sizes = self.sizes[units]
        total = int(sizes.sum())
        offsets = np.repeat(np.cumsum(sizes) - sizes, sizes)
        return self.order[np.repeat(self.starts[units], sizes) + np.arange(total) - offsets]

    def rows_without(self, unit: int) -> np.ndarray:
        s, e = self.starts[unit], self.starts[unit] + self.sizes[unit]
        return np.concatenate([self.order[:s], self.order[e:]])


def _as_1d_key(values: Any, field: str, n: int, fn: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidParameterError(
            field, fn, f"a 1-d array of length {n} (as the data)", Described(f"shape {arr.shape}")
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidParameterError(field, fn, "finite ids", Described("NaN or inf"))
    return arr


def draw_resamples(gen: np.random.Generator, n_resamples: int, groups: Sequence[np.ndarray]) -> np.ndarray:
    """Unit indices of every resample, shape ``(n_resamples, n_units)``, grouped by stratum."""
    parts = [g[gen.integers(0, len(g), size=(n_resamples, len(g)))] for g in groups]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _draw_replicates(statistic: Callable[..., Any], arrays: list[np.ndarray], groups: Sequence[np.ndarray],
                     unit_rows: Any, vectorized: bool, gen: np.random.Generator, n_resamples: int) -> np.ndarray:
    return _replicates(statistic, arrays, draw_resamples(gen, n_resamples, groups), unit_rows, vectorized)


def _replicates(
    statistic: Callable[..., Any],
    arrays: list[np.ndarray],
    draws: np.ndarray,
    unit_rows: Any,
    vectorized: bool,
) -> np.ndarray:
    b, n_units = draws.shape
    out = np.empty(b, dtype=np.float64)
    if isinstance(unit_rows, _ObsRows):
        if vectorized:
            step = max(1, _CHUNK_ELEMENTS // max(1, n_units))
            for s in range(0, b, step):
                idx = draws[s : s + step]
                res = np.asarray(statistic(*[a[idx] for a in arrays]), dtype=np.float64)
                out[s : s + step] = res.reshape(-1)
        else:
            for i in range(b):
                idx = draws[i]
                out[i] = _as_scalar(statistic(*[a[idx] for a in arrays]), "bootstrap_ci")
    else:
        for i in range(b):
            rows = unit_rows.rows_of(draws[i])
            out[i] = _as_scalar(statistic(*[a[rows] for a in arrays]), "bootstrap_ci")
    return out


def _jackknife(statistic: Callable[..., Any], arrays: list[np.ndarray], unit_rows: Any, vectorized: bool) -> np.ndarray:
    n_units = len(unit_rows)
    out = np.empty(n_units, dtype=np.float64)
    if isinstance(unit_rows, _ObsRows):
        n = n_units
        if vectorized and n > 1:
            step = max(1, _CHUNK_ELEMENTS // n)
            base = np.arange(n - 1)
            for s in range(0, n, step):
                left = np.arange(s, min(n, s + step))
                idx = base[None, :] + (base[None, :] >= left[:, None])
                res = np.asarray(statistic(*[a[idx] for a in arrays]), dtype=np.float64)
                out[s : s + len(left)] = res.reshape(-1)
            return out
        for i in range(n):
            idx = np.delete(np.arange(n), i)
            out[i] = _as_scalar(statistic(*[a[idx] for a in arrays]), "bootstrap_ci")
    else:
        for u in range(n_units):
            rows = unit_rows.rows_without(u)
            out[u] = _as_scalar(statistic(*[a[rows] for a in arrays]), "bootstrap_ci")
    return out


def percentile_interval(theta_b: np.ndarray, confidence_level: float) -> tuple[float, float]:
    """Percentile interval: linear-interpolation quantiles at (1 -/+ level)/2."""
    alpha = (1.0 - confidence_level) / 2.0
    low, high = np.percentile(theta_b, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    return float(low), float(high)


def bca_interval(
    theta_b: np.ndarray, theta_hat: float, theta_jack: np.ndarray, confidence_level: float
) -> tuple[float, float]:
    """BCa interval (Efron 1987) from replicates and jackknife values."""
    alpha = (1.0 - confidence_level) / 2.0
    b = theta_b.size
    prop = (np.count_nonzero(theta_b < theta_hat) + np.count_nonzero(theta_b <= theta_hat)) / (2.0 * b)
    z0 = float(special.ndtri(prop))
    dev = theta_jack.mean() - theta_jack
    den = 6.0 * float(np.sum(dev**2)) ** 1.5
    a_hat = float(np.sum(dev**3)) / den if den > 0 else 0.0
    bounds = []
    for q in (alpha, 1.0 - alpha):
        zq = float(special.ndtri(q))
        with np.errstate(invalid="ignore", divide="ignore"):
            adj = float(special.ndtr(z0 + (z0 + zq) / (1.0 - a_hat * (z0 + zq))))
        if math.isnan(adj):
            bounds.append(math.nan)
        else:
            bounds.append(float(np.percentile(theta_b, 100.0 * adj)))
    return bounds[0], bounds[1]
