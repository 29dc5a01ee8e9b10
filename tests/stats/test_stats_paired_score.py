"""Paired difference of proportions: Tango's score interval and Newcombe's hybrid score
interval (method 10) against published worked examples and an independent computation.

Published values (4 decimals): Fagerland MW, Lydersen S, Laake P. Statistical Analysis of
Contingency Tables (CRC 2017), chapter 8 "The paired 2x2 table", worked example of Cavo et al.
(2012), complete response before/after consolidation therapy, table [[59, 6], [16, 80]]:
estimate -0.0621; Tango asymptotic score CI -0.1240 to -0.0054; Newcombe square-and-add
(hybrid score, Newcombe 1998b method 10) CI -0.1186 to -0.0046. The same printed values are
asserted by the authors' R package contingencytables (tests/testthat/test-ch8.R).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from validation.errors import InvalidParameterError
from validation.stats import non_inferiority_test_paired, paired_proportion_difference_ci

Z95 = float(special.ndtri(0.975))

PUBLISHED = [
    # (table, method, (low, high)) to 4 decimals, Fagerland et al. (2017) chapter 8
    ([[59, 6], [16, 80]], "tango", (-0.1240, -0.0054)),
    ([[59, 6], [16, 80]], "newcombe", (-0.1186, -0.0046)),
]


@pytest.mark.verifies("SRS-STATS-015")
@pytest.mark.parametrize(("table", "method", "bounds"), PUBLISHED, ids=[f"cavo-{m}" for _, m, _ in PUBLISHED])
def test_published_worked_example(table: list[list[int]], method: str, bounds: tuple[float, float]) -> None:
    est = paired_proportion_difference_ci(table, method=method, confidence_level=0.95)  # type: ignore[arg-type]
    assert round(est.value, 4) == -0.0621
    assert (round(est.ci_low, 4), round(est.ci_high, 4)) == bounds
    assert est.method == method and est.n == 161 and est.confidence_level == 0.95


def _tango_z(b: int, c: int, n: int, delta: float) -> float:
    """Independent Tango Z: the restricted MLE of p01 as the feasible root (numpy.roots) of
    d logL/dq = 0 for p01 = q, p10 = q + delta, concordant 1 - 2q - delta."""
    roots = np.roots([-2.0 * n, b + c - delta * (2.0 * n - b + c), c * delta * (1.0 - delta)])
    lo_q, hi_q = max(0.0, -delta), (1.0 - delta) / 2.0
    q = max(r.real for r in roots if abs(r.imag) < 1e-12 and lo_q - 1e-12 <= r.real <= hi_q + 1e-12)
    var = n * (2.0 * q + delta - delta * delta)
    num = b - c - n * delta
    return num / math.sqrt(var) if var > 0 else math.copysign(math.inf, num)


def _tango_reference(b: int, c: int, n: int, z: float) -> tuple[float, float]:
    """Independent Tango interval: bisection of Z(delta) -+ z with `_tango_z`."""

    def zstat(delta: float) -> float:
        return _tango_z(b, c, n, delta)

    d = (b - c) / n

    def bisect(f, lo: float, hi: float) -> float:  # f(lo) > 0 > f(hi)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if f(mid) > 0:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    eps = 1e-13
    low = -1.0 if d == -1.0 else bisect(lambda t: zstat(t) - z, -1.0 + eps, d)
    high = 1.0 if d == 1.0 else bisect(lambda t: zstat(t) + z, d, 1.0 - eps)
    return low, high


TABLES = [[[59, 6], [16, 80]], [[1, 1], [7, 12]], [[40, 5], [9, 46]], [[3, 2], [2, 3]], [[0, 9], [1, 0]],
          [[12, 0], [4, 20]], [[2, 30], [1, 3]]]


@pytest.mark.verifies("SRS-STATS-015")
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("cl", [0.9, 0.95, 0.99])
def test_tango_equals_independent_root_finding(table: list[list[int]], cl: float) -> None:
    z = float(special.ndtri(0.5 + cl / 2))
    est = paired_proportion_difference_ci(table, method="tango", confidence_level=cl)
    lo, hi = _tango_reference(table[0][1], table[1][0], sum(map(sum, table)), z)
    assert abs(est.ci_low - lo) <= 1e-9 and abs(est.ci_high - hi) <= 1e-9


@pytest.mark.verifies("SRS-STATS-015")
@pytest.mark.parametrize("n", [1, 10, 113])
def test_tango_no_discordant_pairs_closed_form(n: int) -> None:
    """b = c = 0: Z(delta) = -+sqrt(N|delta|/(1 -+ delta)), so the bounds are +-z^2/(N + z^2)."""
    est = paired_proportion_difference_ci([[n, 0], [0, 0]], method="tango")
    h = Z95**2 / (n + Z95**2)
    assert est.value == 0.0
    assert abs(est.ci_low + h) <= 1e-12 and abs(est.ci_high - h) <= 1e-12


@pytest.mark.verifies("SRS-STATS-015")
def test_tango_boundaries() -> None:
    all_b = paired_proportion_difference_ci([[0, 10], [0, 0]], method="tango")
    all_c = paired_proportion_difference_ci([[0, 0], [10, 0]], method="tango")
    assert all_b.value == 1.0 and all_b.ci_high == 1.0 and 0.0 < all_b.ci_low < 1.0
    assert all_c.value == -1.0 and all_c.ci_low == -1.0
    assert all_c.ci_high == pytest.approx(-all_b.ci_low, abs=1e-12)


@pytest.mark.verifies("SRS-STATS-015")
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=4, max_size=4).filter(lambda c: sum(c) > 0), st.sampled_from(["tango", "newcombe"]))
def test_swapping_a_and_b_mirrors_the_interval(cells: list[int], method: str) -> None:
    t = [[cells[0], cells[1]], [cells[2], cells[3]]]
    swapped = [[cells[0], cells[2]], [cells[1], cells[3]]]
    e = paired_proportion_difference_ci(t, method=method)  # type: ignore[arg-type]
    s = paired_proportion_difference_ci(swapped, method=method)  # type: ignore[arg-type]
    assert -1.0 <= e.ci_low <= e.value <= e.ci_high <= 1.0
    assert s.ci_low == pytest.approx(-e.ci_high, abs=1e-12) and s.ci_high == pytest.approx(-e.ci_low, abs=1e-12)


@pytest.mark.verifies("SRS-STATS-015", "SRS-STATS-010")
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("margin", [0.0, 0.05, 0.2])
def test_tango_non_inferiority_is_the_score_test(table: list[list[int]], margin: float) -> None:
    """p = Phi(-Z(-margin)) and "non-inferior" exactly when the CI lower bound > -margin."""
    res = non_inferiority_test_paired(table, margin=margin, method="tango", confidence_level=0.95)
    b, c, n = table[0][1], table[1][0], sum(map(sum, table))
    lo, _ = _tango_reference(b, c, n, Z95)
    assert res.estimate is not None and abs(res.estimate.ci_low - lo) <= 1e-9
    p_ref = float(special.ndtr(-_tango_z(b, c, n, -margin)))
    assert abs(res.pvalue - p_ref) <= 1e-9
    assert (res.pvalue < 0.025) == (lo > -margin)


def test_unknown_method_names_the_options() -> None:
    with pytest.raises(InvalidParameterError, match="method.*paired_proportion_difference_ci.*tango"):
        paired_proportion_difference_ci([[1, 2], [3, 4]], method="tang")  # type: ignore[arg-type]
