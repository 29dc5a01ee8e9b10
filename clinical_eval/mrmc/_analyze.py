"""`analyze`: OR and DBM analysis of a fully crossed MRMC study (Hillis 2007 df)."""

from __future__ import annotations

import math
import os
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from samd_core.checks import check_confidence_level
from validation.stats import Estimate
from clinical_eval.errors import InvalidParameterError, MrmcDataError
from clinical_eval.mrmc._anova import (
    dbm_anova,
    dbm_variance_components,
    or_covariances,
    or_mean_squares,
    or_variance_components,
)
from clinical_eval.mrmc._data import MrmcData, as_mrmc_data
from clinical_eval.mrmc._fom import Fom, cell_covariance
from clinical_eval.mrmc._result import ComparisonResult, ModalityFomResult, MrmcResult, ReaderComparisonResult

__all__ = ["CONVENTIONS", "analyze"]

Method = Literal["OR", "DBM"]
Generalization = Literal["RRRC", "FRRC", "RRFC"]
Covariance = Literal["jackknife", "delong", "unbiased"]
Convention = Literal["iowa", "rjafroc", "mrmcaov"]

#: What each ``convention`` means (printed in every report).
CONVENTIONS: dict[str, str] = {
    "iowa": "OR-DBM MRMC 2.51 (Iowa): max(Cov2 - Cov3, 0) in the RRRC and FRRC denominators; variance components untruncated",
    "rjafroc": "RJafroc 2.1.3: max(Cov2 - Cov3, 0) in the RRRC and FRRC denominators and in the OR variance components",
    "mrmcaov": "MRMCaov 0.3.0: max(Cov2 - Cov3, 0) in the RRRC denominator only (FRRC untruncated); variance components untruncated",
}


def _tp(stat: float, df: float | None) -> float:
    if not math.isfinite(stat):
        return float("nan")
    if df is None or math.isinf(df):
        return float(2 * stats.norm.sf(abs(stat)))
    return float(2 * stats.t.sf(abs(stat), df))


def _crit(conf: float, df: float | None) -> float:
    if df is None or math.isinf(df):
        return float(stats.norm.ppf(0.5 + conf / 2))
    return float(stats.t.ppf(0.5 + conf / 2, df))


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else float("nan")


def _est(value: float, se: float, df: float | None, conf: float, method: str, n: int) -> Estimate:
    if not math.isfinite(se):
        return Estimate(value, float("nan"), float("nan"), conf, method, n)
    h = _crit(conf, df) * se
    return Estimate(value, value - h, value + h, conf, method, n)


def _hillis_df(den: float, ms: float, df_ms: float) -> float:
    # MS equal to 0 up to rounding (e.g. identical readers): infinite df, not 1e57
    if abs(ms) <= 1e-13 * abs(den):
        return float("inf")
    return den**2 / (ms**2 / df_ms)


def _pairs(labels: tuple[str, ...], reference: str | None) -> list[tuple[int, int]]:
    n = len(labels)
    if reference is None:
        return [(a, b) for a in range(n) for b in range(a + 1, n)]
    r = labels.index(reference)
    return [(a, r) for a in range(n) if a != r]


def analyze(
    data: pd.DataFrame | MrmcData | str | os.PathLike[str],
    *,
    method: Method = "OR",
    generalization: Generalization = "RRRC",
    covariance: Covariance = "jackknife",
    confidence_level: float = 0.95,
    reference: str | None = None,
    fom: Fom = "auc",
    convention: Convention = "iowa",
) -> MrmcResult:
    """Obuchowski-Rockette or DBM analysis of a fully crossed reader study.

    Parameters
    ----------
    data : DataFrame, MrmcData or path
        Long format ``reader, modality, case, truth, rating`` (see `as_mrmc_data`), or a
        ``.csv`` / iMRMC ``.imrmc`` file.
    method : {"OR", "DBM"}
        Obuchowski-Rockette with covariances of the FOMs, or Dorfman-Berbaum-Metz ANOVA of
        jackknife pseudovalues (requires ``covariance="jackknife"``).
    generalization : {"RRRC", "FRRC", "RRFC"}
        Random readers and cases; fixed readers (random cases); fixed cases (random readers).
    covariance : {"jackknife", "delong", "unbiased"}
        Estimator of the FOM error covariances (OR only).
    confidence_level : float
        Two-sided level of every CI (tests are two-sided at ``1 - confidence_level``).
    reference : str, optional
        Modality label to compare every other modality against (differences are
        ``modality - reference``). Default: all pairs ``a - b`` with ``a`` before ``b``.
    fom : {"auc", "sensitivity", "specificity"}
        Empirical (Wilcoxon, ties 1/2) AUC; sensitivity/specificity need 0/1 ratings.
    convention : {"iowa", "rjafroc", "mrmcaov"}
        Where ``max(Cov2 - Cov3, 0)`` is applied (see `CONVENTIONS`); only matters when
        Cov2 < Cov3 (e.g. Franken).

    Returns
    -------
    MrmcResult

    Notes
    -----
    RRRC: ``D = MS(T*R) + J max(Cov2 - Cov3, 0)``, ``F = MS(T) / D`` on
    ``(I-1, ddf_H)`` with ``ddf_H = D^2 / (MS(T*R)^2 / ((I-1)(J-1)))`` (Hillis 2007).
    FRRC (OR): ``X2 = (I-1) MS(T) / (Var - Cov1 + (J-1) max(Cov2 - Cov3, 0))`` on chi-square(I-1).
    FRRC (DBM): ``F = MS(T) / MS(TC)`` on ``(I-1, (I-1)(K-1))``.
    RRFC: ``F = MS(T) / MS(T*R)`` on ``(I-1, (I-1)(J-1))``.

    References
    ----------
    Dorfman, Berbaum, Metz (1992) Invest Radiol 27:723-731. Obuchowski, Rockette (1995)
    Commun Stat Simul Comput 24:285-308. Hillis, Obuchowski, Schartz, Berbaum (2005) Stat Med
    24:1579-1607. Hillis (2007) Stat Med 26:596-619. Hillis, Berbaum, Metz (2008) Acad Radiol
    15:647-661.
    """
    fn = "analyze"
    if method not in ("OR", "DBM"):
        raise InvalidParameterError("method", fn, "one of 'OR', 'DBM'", method, options=["OR", "DBM"])
    if generalization not in ("RRRC", "FRRC", "RRFC"):
        raise InvalidParameterError("generalization", fn, "one of 'RRRC', 'FRRC', 'RRFC'", generalization, options=["RRRC", "FRRC", "RRFC"])
    if covariance not in ("jackknife", "delong", "unbiased"):
        raise InvalidParameterError("covariance", fn, "one of 'jackknife', 'delong', 'unbiased'", covariance, options=["jackknife", "delong", "unbiased"])
    if method == "DBM" and covariance != "jackknife":
        raise InvalidParameterError("covariance", fn, "'jackknife' when method='DBM' (pseudovalues are jackknife values)", covariance)
    if fom not in ("auc", "sensitivity", "specificity"):
        raise InvalidParameterError("fom", fn, "one of 'auc', 'sensitivity', 'specificity'", fom, options=["auc", "sensitivity", "specificity"])
    if convention not in CONVENTIONS:
        raise InvalidParameterError("convention", fn, "one of 'iowa', 'rjafroc', 'mrmcaov'", convention, options=list(CONVENTIONS))
    confidence_level = check_confidence_level(confidence_level, fn)
    d = as_mrmc_data(data, function=fn)
    I, J, K = d.shape
    if I < 2:
        raise MrmcDataError(f"`data` of `{fn}` must have at least 2 modalities for a comparison; got {list(d.modalities)}")
    if reference is not None and str(reference) not in d.modalities:
        raise InvalidParameterError("reference", fn, f"one of the modalities {list(d.modalities)}", reference, options=list(d.modalities))
    if fom != "auc" and not d.is_binary():
        raise MrmcDataError(f"`rating` of `{fn}` must be 0/1 for fom={fom!r}; got non-binary ratings")
    return _analyze(d, method, generalization, covariance, float(confidence_level), None if reference is None else str(reference), fom, convention)


def _analyze(
    d: MrmcData, method: str, gen: str, covariance: str, conf: float, reference: str | None, fom: Fom, convention: str
) -> MrmcResult:
    I, J, K = d.shape
    cells = d.ratings.reshape(I * J, K)
    value, loo, cov = cell_covariance(cells, d.truth, fom, covariance)  # type: ignore[arg-type]
    a = value.reshape(I, J)
    kk = loo.shape[1]  # number of cases in the jackknife (K, K2 or K1)
    cv = or_covariances(cov, I, J)
    ms = or_mean_squares(a)
    var, cov1, cov2, cov3 = (float(cv[k]) for k in ("var", "cov1", "cov2", "cov3"))  # type: ignore[arg-type]
    ms_t, ms_tr = float(ms["ms_t"]), float(ms["ms_tr"])  # type: ignore[arg-type]
    ms_r_i = np.asarray(ms["ms_r_i"])
    var_i, cov2_i = np.asarray(cv["var_i"]), np.asarray(cv["cov2_i"])
    var_j, cov1_j = np.asarray(cv["var_j"]), np.asarray(cv["cov1_j"])
    mean_i = a.mean(axis=1)
    trunc_frrc = convention in ("iowa", "rjafroc")
    vc = or_variance_components(ms, cv, I, truncate=convention == "rjafroc")
    notes = [f"convention {convention}: {CONVENTIONS[convention]}"]
    dbm_ms = dbm_vc = None
    y = None
    if covariance == "jackknife":
        y = kk * a[:, :, None] - (kk - 1) * loo.reshape(I, J, kk)
        dbm_ms = dbm_anova(y)
        dbm_vc = dbm_variance_components(dbm_ms, I, J, kk)
    tag = f"{method}-{gen} {covariance}"
    n = K
    df_num: float = I - 1
    df_den: float | None
    single: list[tuple[float, float | None]] = []  # (se, df)
    if method == "OR" or gen == "RRFC":
        if gen == "RRRC":
            den = ms_tr + J * max(cov2 - cov3, 0.0)
            df_den = _hillis_df(den, ms_tr, (I - 1) * (J - 1))
            statistic = ms_t / den if den > 0 else float("nan")
            pair_se, pair_df = _sqrt(2 * den / J), df_den
            for i in range(I):
                di = float(ms_r_i[i]) + J * max(float(cov2_i[i]), 0.0)
                single.append((_sqrt(di / J), _hillis_df(di, float(ms_r_i[i]), J - 1)))
            if cov2 <= cov3:
                notes.append("Cov2 <= Cov3: the RRRC denominator is MS(T*R) and ddf_H = (I-1)(J-1)")
        elif gen == "FRRC":
            d23 = max(cov2 - cov3, 0.0) if trunc_frrc else cov2 - cov3
            den = var - cov1 + (J - 1) * d23
            df_den = None
            statistic = (I - 1) * ms_t / den if den > 0 else float("nan")
            pair_se, pair_df = _sqrt(2 * den / J), None
            for i in range(I):
                single.append((_sqrt((float(var_i[i]) + (J - 1) * max(float(cov2_i[i]), 0.0)) / J), None))
        else:  # RRFC (OR and DBM identical)
            den = ms_tr
            df_den = float((I - 1) * (J - 1))
            statistic = ms_t / den if den > 0 else float("nan")
            pair_se, pair_df = _sqrt(2 * den / J), df_den
            for i in range(I):
                single.append((_sqrt(float(ms_r_i[i]) / J), float(J - 1)))
    else:  # DBM RRRC / FRRC on pseudovalues
        if dbm_ms is None:  # unreachable: analyze() requires the jackknife for DBM
            raise RuntimeError("DBM analysis needs jackknife pseudovalues")
        g = dbm_ms
        if gen == "RRRC":
            den = float(g["ms_tr"]) + max(float(g["ms_tc"]) - float(g["ms_trc"]), 0.0)  # type: ignore[arg-type]
            df_den = _hillis_df(den, float(g["ms_tr"]), (I - 1) * (J - 1))  # type: ignore[arg-type]
            statistic = float(g["ms_t"]) / den if den > 0 else float("nan")  # type: ignore[arg-type]
            pair_se, pair_df = _sqrt(2 * den / (J * kk)), df_den
            for i in range(I):
                mr_i, mc_i, mrc_i = (float(np.asarray(g[k])[i]) for k in ("ms_r_i", "ms_c_i", "ms_rc_i"))
                di = mr_i + max(mc_i - mrc_i, 0.0)
                single.append((_sqrt(di / (J * kk)), _hillis_df(di, mr_i, J - 1)))
        else:  # FRRC
            den = float(g["ms_tc"])  # type: ignore[arg-type]
            df_den = float((I - 1) * (kk - 1))
            statistic = float(g["ms_t"]) / den if den > 0 else float("nan")  # type: ignore[arg-type]
            pair_se, pair_df = _sqrt(2 * den / (J * kk)), df_den
            for i in range(I):
                single.append((_sqrt(float(np.asarray(g["ms_c_i"])[i]) / (J * kk)), float(kk - 1)))
            notes.append("DBM FRRC: F = MS(T)/MS(TC) on (I-1, (I-1)(K-1)); no truncation (MS(TC)/K = OR Var - Cov1 + (J-1)(Cov2 - Cov3))")
    if not (den > 0):
        notes.append(f"degenerate: the denominator of the global test is {den!r} (<= 0); statistic, p-value and CIs are NaN")
    if df_den is None:
        test = "chi-square"
        pvalue = float(stats.chi2.sf(statistic, df_num)) if math.isfinite(statistic) else float("nan")
    else:
        test = "F"
        if not math.isfinite(statistic):
            pvalue = float("nan")
        elif math.isinf(df_den):  # MS(T*R) = 0: F(I-1, inf) = chi-square(I-1) / (I-1)
            pvalue = float(stats.chi2.sf(statistic * df_num, df_num))
        else:
            pvalue = float(stats.f.sf(statistic, df_num, df_den))
    modality_auc = tuple(
        ModalityFomResult(d.modalities[i], _est(float(mean_i[i]), se, df, conf, f"{tag} single-modality", n), se, df)
        for i, (se, df) in enumerate(single)
    )
    comps = []
    for ia, ib in _pairs(d.modalities, reference):
        diff = float(mean_i[ia] - mean_i[ib])
        stat = diff / pair_se if pair_se > 0 else float("nan")
        comps.append(
            ComparisonResult(d.modalities[ia], d.modalities[ib], _est(diff, pair_se, pair_df, conf, tag, n), pair_se, stat, pair_df, _tp(stat, pair_df))
        )
    reader_diffs: list[ReaderComparisonResult] = []
    if gen == "FRRC":
        for ia, ib in _pairs(d.modalities, reference):
            for j in range(J):
                diff = float(a[ia, j] - a[ib, j])
                if method == "OR":
                    # Iowa: reader j's Var and Cov1 averaged over all its modalities
                    se, df = _sqrt(2 * (float(var_j[j]) - float(cov1_j[j]))), None
                else:
                    if dbm_ms is None:  # unreachable: DBM requires the jackknife
                        raise RuntimeError("DBM analysis needs jackknife pseudovalues")
                    # modality x case ANOVA of reader j's pseudovalues
                    se = _sqrt(2 * float(np.asarray(dbm_ms["ms_tc_j"])[j]) / kk)
                    df = float((I - 1) * (kk - 1))
                stat = diff / se if se > 0 else float("nan")
                reader_diffs.append(
                    ReaderComparisonResult(d.readers[j], d.modalities[ia], d.modalities[ib], _est(diff, se, df, conf, f"{tag} per-reader", n), se, stat, df, _tp(stat, df))
                )
    first = comps[0]
    sign = f"modality {first.minuend} minus modality {first.subtrahend}"
    if reference is not None:
        notes.append(f"differences are each modality minus the reference modality {reference}")
    mean_squares = {"ms_t": ms_t, "ms_r": float(ms["ms_r"]), "ms_tr": ms_tr,  # type: ignore[arg-type]
                    "ms_r_by_modality": {d.modalities[i]: float(ms_r_i[i]) for i in range(I)}}
    def _plain(m: dict[str, object] | None) -> dict[str, object] | None:
        if m is None:
            return None
        out: dict[str, object] = {}
        for k, v in m.items():
            if isinstance(v, np.ndarray):
                labels = d.modalities if k.endswith("_i") else d.readers
                out[k.replace("_i", "_by_modality") if k.endswith("_i") else k.replace("_j", "_by_reader")] = {labels[x]: float(v[x]) for x in range(len(v))}
            else:
                out[k] = v
        return out
    vc_full: dict[str, float] = dict(vc)
    return MrmcResult(
        method=method,
        generalization=gen,
        covariance=covariance,
        fom=fom,
        convention=convention,
        confidence_level=conf,
        modalities=d.modalities,
        readers=d.readers,
        n_cases=K,
        n_nondiseased=d.n_nondiseased,
        n_diseased=d.n_diseased,
        modality_auc=modality_auc,
        reader_auc=tuple(tuple(float(x) for x in row) for row in a),
        difference=first.estimate,
        sign_convention=sign,
        comparisons=tuple(comps),
        reader_differences=tuple(reader_diffs),
        test=test,
        statistic=float(statistic),
        df_num=float(df_num),
        df_den=None if df_den is None else float(df_den),
        pvalue=pvalue,
        denominator=float(den),
        variance_components=vc_full,
        mean_squares=mean_squares,
        dbm_mean_squares=_plain(dbm_ms),  # type: ignore[arg-type]
        dbm_variance_components=dbm_vc,
        notes=tuple(notes),
    )
