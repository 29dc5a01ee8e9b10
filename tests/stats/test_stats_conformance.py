"""Conformance suite: every public statistic of validation.stats, from one registry, through
the same checks (determinism given rng, inputs not mutated, ci_low <= value <= ci_high, CI
widens with confidence_level, JSON round trip, the one error template)."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import validation.stats as vs
from validation.errors import InvalidParameterError
from validation.stats import Estimate, HypothesisTestResult
from validation.stats._results import encode_float


@dataclass(frozen=True)
class Spec:
    func: Callable[..., Any]
    data: Callable[[Any], tuple[tuple[Any, ...], dict[str, Any]]]  # draw -> (args, kwargs)
    contains_value: bool = True  # ci_low <= value <= ci_high guaranteed
    widens: bool = True  # CI widens with confidence_level
    has_cl: bool = True
    bad_kwargs: tuple[tuple[str, Any], ...] = (("confidence_level", 1.5),)


@st.composite
def scored(draw: Any, n_min: int = 4, n_max: int = 40) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(n_min, n_max))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[:4] = [0, 1, 0, 1]
    s = np.array(draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)), dtype=float) / 2 + y * draw(st.floats(0, 2))
    return y, s


@st.composite
def count_pair(draw: Any) -> tuple[int, int]:
    n = draw(st.integers(1, 150))
    return draw(st.integers(0, n)), n


@st.composite
def table(draw: Any) -> list[list[int]]:
    cells = draw(st.lists(st.integers(0, 30), min_size=4, max_size=4).filter(lambda c: sum(c) > 0))
    return [cells[:2], cells[2:]]


def _roc(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    y, s = draw(scored())
    return (y, s), {}


def _roc2(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    y, s = draw(scored())
    s2 = s + np.array(draw(st.lists(st.integers(-2, 2), min_size=len(s), max_size=len(s))), dtype=float)
    return (y, s, s2), {}


def _roc_unpaired(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    y1, s1 = draw(scored())
    y2, s2 = draw(scored())
    return (y1, s1, y2, s2), {}


def _boot(method: str) -> Callable[[Any], tuple[tuple[Any, ...], dict[str, Any]]]:
    def make(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        y, s = draw(scored(6, 30))
        clusters = np.arange(len(y)) // 2 if draw(st.booleans()) else None
        kw: dict[str, Any] = {"method": method, "n_resamples": 60, "rng": draw(st.integers(0, 2**32 - 1))}
        if clusters is None:
            kw["strata"] = y
        else:
            kw["clusters"] = clusters
        return (lambda a: float(np.mean(a)), s), kw

    return make


def _auc_boot(method: str) -> Callable[[Any], tuple[tuple[Any, ...], dict[str, Any]]]:
    def make(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        y, s = draw(scored(8, 40))
        return (y, s), {"method": method, "n_resamples": 80, "rng": draw(st.integers(0, 2**32 - 1))}

    return make


def _curve(kw_name: str) -> Callable[[Any], tuple[tuple[Any, ...], dict[str, Any]]]:
    def make(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        y, s = draw(scored(6, 30))
        return (y, s), {kw_name: draw(st.sampled_from([0.5, 0.8, 0.9])), "method": "bootstrap_percentile",
                        "n_resamples": 40, "rng": draw(st.integers(0, 1000))}

    return make


def _pauc(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    y, s = draw(scored(6, 30))
    return (y, s), {"bounds": (0.8, 1.0), "correct": False, "method": "bootstrap_percentile", "n_resamples": 40,
                    "rng": draw(st.integers(0, 1000))}


def _prop(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    k, n = draw(count_pair())
    return (k, n), {"method": draw(st.sampled_from(["wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"]))}


def _diag(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    c = draw(st.lists(st.integers(0, 40), min_size=4, max_size=4).filter(lambda c: sum(c) > 0))
    return (), {"tp": c[0], "fp": c[1], "fn": c[2], "tn": c[3], "method": draw(st.sampled_from(["wilson", "clopper_pearson"])),
                "prevalence": draw(st.sampled_from([None, 0.1]))}


def _diag_labels(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    y, s = draw(scored())
    return (y, (s > 0).astype(int)), {"method": "wilson"}


def _opp(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    y, s = draw(scored())
    return (y, s), {"threshold": 0.5, "method": "jeffreys"}


def _diff(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    k1, n1 = draw(count_pair())
    k2, n2 = draw(count_pair())
    return (k1, n1, k2, n2), {"method": "newcombe"}


def _ni(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    args, _ = _diff(draw)
    return args, {"margin": 0.1, "method": "newcombe"}


def _goal(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    k, n = draw(count_pair())
    return (k, n), {"goal": 0.7, "method": draw(st.sampled_from(["wilson", "wilson_cc", "clopper_pearson", "jeffreys", "agresti_coull"]))}


def _tab(**kw: Any) -> Callable[[Any], tuple[tuple[Any, ...], dict[str, Any]]]:
    def make(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (draw(table()),), dict(kw)

    return make


def _mcnemar(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (draw(table()),), {"method": draw(st.sampled_from(["exact", "mid_p", "asymptotic", "asymptotic_cc"]))}


def _adjust(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    p = draw(st.lists(st.floats(0, 1), min_size=1, max_size=20))
    return (p,), {"method": draw(st.sampled_from(["holm", "bonferroni", "benjamini_hochberg"]))}


@st.composite
def ratings(draw: Any, k_min: int = 2, k_max: int = 2) -> np.ndarray:
    """Ordinal ratings 1..4 of n subjects by k raters; every rater uses >= 2 categories."""
    n = draw(st.integers(6, 40))
    k = draw(st.integers(k_min, k_max))
    r = np.array(draw(st.lists(st.integers(1, 4), min_size=n * k, max_size=n * k))).reshape(n, k)
    r[0, :] = 1
    r[1, :] = 4
    r[2, :] = np.arange(k) % 4 + 1
    return r


def _kappa(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    r = draw(ratings())
    return (r[:, 0], r[:, 1]), {"weights": draw(st.sampled_from([None, "linear", "quadratic"]))}


def _fleiss(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (draw(ratings(2, 5)),), {}


def _icc(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    r = draw(ratings(2, 5)).astype(float)
    r += np.arange(r.shape[0])[:, None]  # subject effect so that the ICC is well defined
    return (r,), {"form": draw(st.sampled_from(["ICC(2,1)", "ICC(3,1)"]))}


def _bland_altman(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    r = draw(ratings()).astype(float) * 1.5
    return (r[:, 0], r[:, 1]), {"method": draw(st.sampled_from(["exact", "approximate"]))}


def _published(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    v, w1, w2 = draw(st.floats(0.1, 0.9)), draw(st.floats(0.0, 0.1)), draw(st.floats(0.0, 0.1))
    est = Estimate(v, v - w1, v + w2, 0.95, "wilson", 50)
    r, u = draw(st.floats(0.1, 0.9)), draw(st.floats(0.0, 0.1))
    return (est, r, r - u, r + u), {"reference_confidence_level": draw(st.sampled_from([0.9, 0.95]))}


def _curve_pts(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    y, s = draw(scored())
    return (y, s), {}


def _boot_interval(method: str) -> Callable[[Any], tuple[tuple[Any, ...], dict[str, Any]]]:
    def make(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        reps = np.array(draw(st.lists(st.floats(-5, 5), min_size=5, max_size=60)))
        jack = np.array(draw(st.lists(st.floats(-5, 5), min_size=3, max_size=20)))
        return (reps, float(np.median(reps))), {"method": method, "theta_jack": jack}

    return make


def _cochran(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    k = draw(st.integers(0, 8))
    eff = draw(st.lists(st.floats(0, 1), min_size=k, max_size=k))
    var = draw(st.lists(st.floats(1e-4, 0.1), min_size=k, max_size=k))
    return (np.array(eff), np.array(var)), {}


def _auc_var(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    y, s = draw(scored())
    return (y, s), {}


REGISTRY: dict[str, Spec] = {
    "bootstrap_interval[percentile]": Spec(vs.bootstrap_interval, _boot_interval("percentile"), contains_value=False),
    "bootstrap_interval[bca]": Spec(vs.bootstrap_interval, _boot_interval("bca"), contains_value=False, widens=False),
    "cochran_q_test": Spec(vs.cochran_q_test, _cochran),
    "roc_auc_variance": Spec(vs.roc_auc_variance, _auc_var, has_cl=False, bad_kwargs=()),
    "adjust_pvalues": Spec(vs.adjust_pvalues, _adjust, has_cl=False, bad_kwargs=(("method", "holms"),)),
    # agreement statistics (module validation/stats/_agreement.py, developed separately)
    "bland_altman": Spec(vs.bland_altman, _bland_altman),
    "cohen_kappa": Spec(vs.cohen_kappa, _kappa),
    "fleiss_kappa": Spec(vs.fleiss_kappa, _fleiss),
    "icc": Spec(vs.icc, _icc),
    "bootstrap_ci[percentile]": Spec(vs.bootstrap_ci, _boot("percentile"), contains_value=False),
    "bootstrap_ci[bca]": Spec(vs.bootstrap_ci, _boot("bca"), contains_value=False, widens=False),
    "delong_test": Spec(vs.delong_test, _roc2),
    "delong_test_unpaired": Spec(vs.delong_test_unpaired, _roc_unpaired),
    "diagnostic_accuracy": Spec(vs.diagnostic_accuracy, _diag),
    "diagnostic_accuracy_from_labels": Spec(vs.diagnostic_accuracy_from_labels, _diag_labels),
    "difference_from_published": Spec(vs.difference_from_published, _published),
    "mcnemar_test": Spec(vs.mcnemar_test, _mcnemar),
    "non_inferiority_test": Spec(vs.non_inferiority_test, _ni),
    "non_inferiority_test_paired": Spec(vs.non_inferiority_test_paired, _tab(margin=0.1, method="newcombe")),
    "non_inferiority_test_paired[tango]": Spec(vs.non_inferiority_test_paired, _tab(margin=0.1, method="tango")),
    "operating_point": Spec(vs.operating_point, _opp),
    "paired_proportion_difference_ci": Spec(vs.paired_proportion_difference_ci, _tab(method="newcombe")),
    "paired_proportion_difference_ci[tango]": Spec(vs.paired_proportion_difference_ci, _tab(method="tango")),
    "partial_auc": Spec(vs.partial_auc, _pauc, contains_value=False),
    "performance_goal_test": Spec(vs.performance_goal_test, _goal),
    "proportion_ci": Spec(vs.proportion_ci, _prop),
    "proportion_difference_ci": Spec(vs.proportion_difference_ci, _diff),
    "roc_auc[delong]": Spec(vs.roc_auc, _roc),
    "roc_auc[bootstrap_percentile]": Spec(vs.roc_auc, _auc_boot("bootstrap_percentile"), contains_value=False),
    "roc_auc[bootstrap_bca]": Spec(vs.roc_auc, _auc_boot("bootstrap_bca"), contains_value=False, widens=False),
    "roc_curve": Spec(vs.roc_curve, _curve_pts, has_cl=False, bad_kwargs=()),
    "sensitivity_at_specificity": Spec(vs.sensitivity_at_specificity, _curve("specificity"), contains_value=False),
    "specificity_at_sensitivity": Spec(vs.specificity_at_sensitivity, _curve("sensitivity"), contains_value=False),
}

NOT_STATISTICS = {"AdjustedPValuesResult", "BlandAltmanResult", "ChunkedStreams", "DiagnosticAccuracyResult", "Estimate",
                  "HypothesisTestResult", "RocCurveResult", "decode_float", "encode_float",  # lossless JSON floats
                  "bootstrap_replicates"}  # replicate streams, tested in tests/scale/test_chunked_bootstrap.py


def test_registry_covers_every_public_statistic() -> None:
    public = {n for n in vs.__all__ if n not in NOT_STATISTICS}
    registered = {getattr(s.func, "__name__", "") for s in REGISTRY.values()}
    assert public <= registered, f"register these in the conformance suite: {sorted(public - registered)}"
    assert list(vs.__all__) == sorted(vs.__all__)


def _estimates(res: Any) -> list[Estimate]:
    if isinstance(res, Estimate):
        return [res]
    if isinstance(res, HypothesisTestResult):
        return [] if res.estimate is None else [res.estimate]
    if is_dataclass(res):
        return [getattr(res, f.name) for f in fields(res) if isinstance(getattr(res, f.name), Estimate)]
    return []


def _to_json(res: Any) -> str:
    if isinstance(res, float):  # a variance (roc_auc_variance)
        return json.dumps(encode_float(res))
    if hasattr(res, "to_json"):
        return str(res.to_json())
    return json.dumps(res.to_dict(), sort_keys=True, allow_nan=False)


def _digest(res: Any) -> str:
    return hashlib.sha256(_to_json(res).encode()).hexdigest()


def _snapshot(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if callable(obj):
        return obj
    return copy.deepcopy(obj)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if callable(a):
        return a is b
    return bool(a == b)


NAMES = sorted(REGISTRY)


@pytest.mark.verifies("SRS-STATS-013")
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_conformance(name: str, data: Any) -> None:
    spec = REGISTRY[name]
    args, kwargs = spec.data(data.draw)
    before = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
    res = spec.func(*args, **kwargs)
    # inputs not mutated
    assert all(_same(a, b) for a, b in zip(before[0], args, strict=True))
    assert all(_same(before[1][k], kwargs[k]) for k in kwargs)
    # determinism (bit-identical, hashed)
    assert _digest(spec.func(*args, **kwargs)) == _digest(res)
    # strict-JSON round trip (BlandAltmanResult has no from_json yet: its estimates must)
    text = _to_json(res)
    assert "NaN" not in text and "Infinity" not in text
    if hasattr(type(res), "from_json"):
        assert type(res).from_json(text).to_json() == text
    for est in _estimates(res):
        assert Estimate.from_json(est.to_json()).to_json() == est.to_json()
    # ci_low <= value <= ci_high
    for est in _estimates(res):
        if spec.contains_value and not any(math.isnan(x) for x in (est.value, est.ci_low, est.ci_high)):
            assert est.ci_low <= est.value + 1e-12 and est.value <= est.ci_high + 1e-12, est
        if not math.isnan(est.ci_low) and not math.isnan(est.ci_high):
            assert est.ci_low <= est.ci_high
    # CI widens with confidence_level
    if spec.has_cl and spec.widens:
        narrow = spec.func(*args, **{**kwargs, "confidence_level": 0.8})
        wide = spec.func(*args, **{**kwargs, "confidence_level": 0.95})
        for en, ew in zip(_estimates(narrow), _estimates(wide), strict=True):
            if any(math.isnan(x) for x in (en.ci_low, en.ci_high, ew.ci_low, ew.ci_high)):
                continue
            assert ew.ci_low <= en.ci_low + 1e-12 and ew.ci_high >= en.ci_high - 1e-12, (en, ew)
            assert ew.confidence_level == 0.95 and en.confidence_level == 0.8


TEMPLATE = re.compile(r"^`[\w\[\]]+` of `[\w.]+` must be .+; got .+")


@pytest.mark.verifies("SRS-STATS-012")
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_error_template(name: str, data: Any) -> None:
    spec = REGISTRY[name]
    args, kwargs = spec.data(data.draw)
    for key, bad in spec.bad_kwargs:
        with pytest.raises(InvalidParameterError) as exc:
            spec.func(*args, **{**kwargs, key: bad})
        assert TEMPLATE.match(str(exc.value)), str(exc.value)
        assert exc.value.field == key
        assert isinstance(exc.value, ValueError)
