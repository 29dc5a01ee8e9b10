"""AI standalone vs the reader panel, and non-inferiority of one modality against another."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from samd_core.checks import check_confidence_level
from validation.stats import Estimate, HypothesisTestResult, encode_float
from clinical_eval.errors import InvalidParameterError, MrmcDataError
from clinical_eval.mrmc._data import MrmcData, as_mrmc_data
from clinical_eval.mrmc._fom import Fom, cell_covariance
from clinical_eval.mrmc._result import MrmcResult

__all__ = ["StandaloneResult", "non_inferiority", "standalone_vs_readers"]


@dataclass(frozen=True, slots=True)
class StandaloneResult:
    """AI (standalone) FOM minus the reader-averaged FOM, one-modality OR analysis.

    ``difference`` = AI minus mean over readers (``sign_convention``); ``statistic`` is t
    on ``df`` degrees of freedom; ``pvalue`` two-sided.
    """

    modality: str
    generalization: str
    covariance: str
    ai_fom: float
    reader_fom: tuple[float, ...]
    readers: tuple[str, ...]
    difference: Estimate
    sign_convention: str
    se: float
    df: float
    statistic: float
    pvalue: float
    ms_r: float
    var_error: float
    cov2: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "modality": self.modality, "generalization": self.generalization, "covariance": self.covariance,
            "ai_fom": encode_float(self.ai_fom), "reader_fom": [encode_float(x) for x in self.reader_fom],
            "readers": list(self.readers), "difference": self.difference.to_dict(),
            "sign_convention": self.sign_convention, "se": encode_float(self.se), "df": encode_float(self.df),
            "statistic": encode_float(self.statistic), "pvalue": encode_float(self.pvalue),
            "ms_r": encode_float(self.ms_r), "var_error": encode_float(self.var_error), "cov2": encode_float(self.cov2),
        }


def standalone_vs_readers(
    data: pd.DataFrame | MrmcData | str | os.PathLike[str],
    ai_scores: pd.Series | dict[Any, float],
    *,
    modality: str | None = None,
    generalization: Literal["RRRC", "RRFC"] = "RRRC",
    covariance: Literal["jackknife", "delong", "unbiased"] = "jackknife",
    fom: Fom = "auc",
    confidence_level: float = 0.95,
) -> StandaloneResult:
    """Compare an algorithm read alone with the panel of readers (single-modality OR).

    The per-reader differences ``D_j = A_AI - A_j`` (the AI's FOM is a fixed "reader" on the
    same cases) are analysed as one modality: ``D = MS(R) + J max(Cov2, 0)`` with
    ``df = D^2 / (MS(R)^2 / (J-1))`` for RRRC, ``D = MS(R)``, ``df = J - 1`` for RRFC;
    ``SE = sqrt(D / J)``. This is the "1T-RRRC" analysis of RJafroc's ``StCadVsRad``
    (Chakraborty 2017; Hillis 2007 single-modality df), with the sign AI minus readers.

    Parameters
    ----------
    data : reader study (long format), one or more modalities
    ai_scores : pandas.Series or dict
        Algorithm score per case label (higher = more suspicious); every case needs one.
    modality : str, optional
        Which modality's reader ratings to use (required when the study has several).
    """
    fn = "standalone_vs_readers"
    if generalization not in ("RRRC", "RRFC"):
        raise InvalidParameterError("generalization", fn, "one of 'RRRC', 'RRFC'", generalization, options=["RRRC", "RRFC"])
    if covariance not in ("jackknife", "delong", "unbiased"):
        raise InvalidParameterError("covariance", fn, "one of 'jackknife', 'delong', 'unbiased'", covariance, options=["jackknife", "delong", "unbiased"])
    confidence_level = check_confidence_level(confidence_level, fn)
    d = as_mrmc_data(data, function=fn)
    if modality is None:
        if len(d.modalities) != 1:
            raise InvalidParameterError("modality", fn, f"one of {list(d.modalities)} (the study has several)", modality, options=list(d.modalities))
        i = 0
    else:
        if str(modality) not in d.modalities:
            raise InvalidParameterError("modality", fn, f"one of {list(d.modalities)}", modality, options=list(d.modalities))
        i = d.modalities.index(str(modality))
    scores = pd.Series(ai_scores)
    scores.index = [str(x) for x in scores.index]
    missing = [c for c in d.cases if c not in scores.index]
    if missing:
        raise MrmcDataError(f"`ai_scores` of `{fn}` must have a score for every case; missing case(s) {missing[:5]}")
    ai = pd.to_numeric(scores.loc[list(d.cases)], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(ai)):
        bad = d.cases[int(np.flatnonzero(~np.isfinite(ai))[0])]
        raise MrmcDataError(f"`ai_scores` of `{fn}` must be finite numbers; case {bad!r} has {scores.loc[bad]!r}")
    J = len(d.readers)
    cells = np.vstack([d.ratings[i], ai[None, :]])
    value, _, cov = cell_covariance(cells, d.truth, fom, covariance)
    # D_j = A_AI - A_j: covariance of differences by contrast
    c = np.zeros((J, J + 1))
    c[:, J] = 1.0
    c[np.arange(J), np.arange(J)] = -1.0
    dvals = c @ value
    dcov = c @ cov @ c.T
    mean = float(dvals.mean())
    ms_r = float(np.sum((dvals - mean) ** 2) / (J - 1))
    var_e = float(np.mean(np.diag(dcov)))
    cov2 = float(dcov[~np.eye(J, dtype=bool)].mean())
    den = ms_r + J * max(cov2, 0.0) if generalization == "RRRC" else ms_r
    df = (den**2 / (ms_r**2 / (J - 1)) if ms_r > 0 else math.inf) if generalization == "RRRC" else float(J - 1)
    se = math.sqrt(den / J) if den >= 0 else float("nan")
    stat = mean / se if se > 0 else float("nan")
    p = float(2 * stats.t.sf(abs(stat), df)) if math.isfinite(stat) else float("nan")
    h = float(stats.t.ppf(0.5 + confidence_level / 2, df)) * se
    est = Estimate(mean, mean - h, mean + h, float(confidence_level), f"OR single-modality {generalization} {covariance} (AI minus readers)", len(d.cases))
    return StandaloneResult(
        modality=d.modalities[i], generalization=generalization, covariance=covariance,
        ai_fom=float(value[J]), reader_fom=tuple(float(x) for x in value[:J]), readers=d.readers,
        difference=est, sign_convention="AI minus reader average", se=se, df=float(df),
        statistic=stat, pvalue=p, ms_r=ms_r, var_error=var_e, cov2=cov2,
    )


def non_inferiority(result: MrmcResult, *, test: str, reference: str, margin: float) -> HypothesisTestResult:
    """Non-inferiority of modality ``test`` to ``reference`` with a margin (FOM units).

    H0: ``theta_test - theta_ref <= -margin`` vs H1: ``> -margin``. Uses the difference, SE
    and df of ``result`` (same generalization and covariance): ``t = (diff + margin) / SE``,
    one-sided p-value (t with the analysis df; normal where the analysis has none). The
    returned ``estimate`` is ``test - reference`` with the two-sided CI of ``result``;
    non-inferiority at one-sided level ``(1 - confidence_level) / 2`` holds exactly when
    ``ci_low > -margin``.
    """
    fn = "non_inferiority"
    if not isinstance(margin, float | int) or isinstance(margin, bool) or not math.isfinite(margin) or margin < 0:
        raise InvalidParameterError("margin", fn, "a finite number >= 0 (FOM units, e.g. 0.05 AUC)", margin)
    for name, v in (("test", test), ("reference", reference)):
        if str(v) not in result.modalities:
            raise InvalidParameterError(name, fn, f"one of {list(result.modalities)}", v, options=list(result.modalities))
    if str(test) == str(reference):
        raise InvalidParameterError("test", fn, "a modality different from `reference`", test)
    c = result.comparison(str(test), str(reference))
    t = (c.estimate.value + margin) / c.se if c.se > 0 else float("nan")
    if not math.isfinite(t):
        p = float("nan")
    elif c.df is None or math.isinf(c.df):
        p = float(stats.norm.sf(t))
    else:
        p = float(stats.t.sf(t, c.df))
    e = c.estimate
    est = Estimate(e.value, e.ci_low, e.ci_high, e.confidence_level, f"{e.method}; non-inferiority margin {margin!r}; {test} minus {reference}", e.n)
    return HypothesisTestResult(statistic=float(t), pvalue=p, alternative="greater", estimate=est)
