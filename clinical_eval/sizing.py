"""Power and sample size of a planned MRMC study from pilot OR variance components.

Hillis, Obuchowski & Berbaum (2011): the pilot's case-level (co)variances ``var_error,
cov1, cov2, cov3`` scale with ``pilot_cases / n_cases``; ``var_tr`` does not. For RRRC with
two modalities and AUC difference ``effect``::

    E[MS(T*R)] = var_tr + s (var_error - cov1 - max(cov2 - cov3, 0))   s = pilot_cases / n_cases
    E[D]       = var_tr + s (var_error - cov1 + (J - 1) max(cov2 - cov3, 0))
    lambda     = J effect^2 / (2 E[D]),   ddf = E[D]^2 / (E[MS(T*R)]^2 / (J - 1))

and power = P(F'(1, ddf; lambda) > F_{1-alpha}(1, ddf)). RRFC uses F'(1, J - 1) with
``lambda = J effect^2 / (2 E[MS(T*R)])``. FRRC uses the chi-square(1; lambda)
with ``E[D] = s (var_error - cov1 + (J - 1) max(cov2 - cov3, 0))``. Negative ``var_tr`` is
set to 0. The truncated ``max(cov2 - cov3, 0)`` is used in both E[D] and E[MS(T*R)], so that
when Cov2 <= Cov3 the planned test has ddf = J - 1, as the analysis itself (RJafroc's
``SsPowerGivenJKOrVarCom`` does the same).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from samd_core.checks import check_confidence_level
from clinical_eval.errors import InvalidParameterError

__all__ = ["SampleSizeResult", "power", "sample_size"]

_KEYS = ("var_tr", "var_error", "cov1", "cov2", "cov3")


def _check(components: Mapping[str, float], fn: str) -> dict[str, float]:
    missing = [k for k in _KEYS if k not in components]
    if missing:
        raise InvalidParameterError("components", fn, f"a mapping with keys {list(_KEYS)} (e.g. MrmcResult.variance_components)", sorted(components))
    out = {k: float(components[k]) for k in _KEYS}
    for k, v in out.items():
        if not math.isfinite(v):
            raise InvalidParameterError(f"components[{k!r}]", fn, "a finite number", v)
    return out


def power(
    components: Mapping[str, float],
    *,
    effect: float,
    n_readers: int,
    n_cases: int,
    pilot_cases: int,
    confidence_level: float = 0.95,
    generalization: Literal["RRRC", "FRRC", "RRFC"] = "RRRC",
) -> float:
    """Power of a two-modality OR test (two-sided, level ``1 - confidence_level``).

    Parameters
    ----------
    components : mapping
        Pilot OR components (``var_tr, var_error, cov1, cov2, cov3``), e.g.
        ``analyze(pilot).variance_components``.
    effect : float
        AUC difference to detect (either sign).
    n_readers, n_cases : int
        Planned study size (cases in the same diseased/non-diseased ratio as the pilot).
    pilot_cases : int
        Number of cases of the pilot the components were estimated from.

    References
    ----------
    Hillis SL, Obuchowski NA, Berbaum KS (2011) Acad Radiol 18:129-142. Obuchowski NA (2000)
    Acad Radiol 7:516-525.
    """
    fn = "power"
    c = _check(components, fn)
    for name, v, lo in (("n_readers", n_readers, 2), ("n_cases", n_cases, 2), ("pilot_cases", pilot_cases, 2)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InvalidParameterError(name, fn, f"an integer >= {lo}", v)
    confidence_level = check_confidence_level(confidence_level, fn)
    if generalization not in ("RRRC", "FRRC", "RRFC"):
        raise InvalidParameterError("generalization", fn, "'RRRC', 'FRRC' or 'RRFC'", generalization, options=["RRRC", "FRRC", "RRFC"])
    if not math.isfinite(effect):
        raise InvalidParameterError("effect", fn, "a finite AUC difference", effect)
    J = n_readers
    s = pilot_cases / n_cases
    alpha = 1 - confidence_level
    d23 = max(c["cov2"] - c["cov3"], 0.0)
    case_part = s * (c["var_error"] - c["cov1"] + (J - 1) * d23)
    if generalization == "FRRC":
        if case_part <= 0:
            return float("nan")
        lam = J * effect**2 / (2 * case_part)
        crit = stats.chi2.ppf(1 - alpha, 1)
        return float(stats.ncx2.sf(crit, 1, lam))
    var_tr = max(c["var_tr"], 0.0)
    ed = var_tr + case_part
    ems = var_tr + s * (c["var_error"] - c["cov1"] - d23)
    if ed <= 0 or ems <= 0:
        return float("nan")
    if generalization == "RRFC":
        # cases fixed: the test is F = MS(T) / MS(T*R) on (1, J - 1)
        lam = J * effect**2 / (2 * ems)
        return float(stats.ncf.sf(stats.f.ppf(1 - alpha, 1, J - 1), 1, J - 1, lam))
    lam = J * effect**2 / (2 * ed)
    ddf = ed**2 / (ems**2 / (J - 1))
    crit = stats.f.ppf(1 - alpha, 1, ddf)
    return float(stats.ncf.sf(crit, 1, ddf, lam))


@dataclass(frozen=True, slots=True)
class SampleSizeResult:
    """Smallest number of cases reaching ``target_power`` for each number of readers.

    ``designs`` holds ``(n_readers, n_cases, power)``; ``n_cases`` is None where no case
    number up to ``max_cases`` suffices (reader variability dominates).
    """

    target_power: float
    effect: float
    confidence_level: float
    generalization: str
    designs: tuple[tuple[int, int | None, float], ...]


def sample_size(
    components: Mapping[str, float],
    *,
    effect: float,
    target_power: float,
    pilot_cases: int,
    readers: Iterable[int] = range(3, 16),
    max_cases: int = 10_000,
    confidence_level: float = 0.95,
    generalization: Literal["RRRC", "FRRC", "RRFC"] = "RRRC",
) -> SampleSizeResult:
    """Readers x cases needed for ``target_power`` (Hillis, Obuchowski & Berbaum 2011).

    For each number of readers the smallest ``n_cases`` (bisection; power increases with
    cases) with ``power(...) >= target_power`` is reported.
    """
    fn = "sample_size"
    if not 0 < target_power < 1:
        raise InvalidParameterError("target_power", fn, "a number in (0, 1)", target_power)
    if isinstance(max_cases, bool) or not isinstance(max_cases, int) or max_cases < 2:
        raise InvalidParameterError("max_cases", fn, "an integer >= 2", max_cases)
    out: list[tuple[int, int | None, float]] = []
    for j in readers:
        def pw(k: int, j: int = j) -> float:
            return power(components, effect=effect, n_readers=j, n_cases=k, pilot_cases=pilot_cases,
                         confidence_level=confidence_level, generalization=generalization)
        top = pw(max_cases)
        if not (top >= target_power):
            out.append((j, None, top))
            continue
        lo, hi = 2, max_cases
        while lo < hi:
            mid = (lo + hi) // 2
            if pw(mid) >= target_power:
                hi = mid
            else:
                lo = mid + 1
        out.append((j, lo, pw(lo)))
    return SampleSizeResult(float(target_power), float(effect), float(confidence_level), generalization, tuple(out))
