"""Plain-text audit report of an `MrmcResult` (every intermediate quantity, sign stated)."""

from __future__ import annotations

import math

from clinical_eval.mrmc._analyze import CONVENTIONS
from clinical_eval.mrmc._result import MrmcResult

__all__ = ["report_text"]


def _f(x: float | None, p: int = 6) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if p == 0:
        return f"{x:g}"
    return f"{x:.{p}g}"


def report_text(r: MrmcResult) -> str:
    """Render the analysis as text: FOM table, ANOVA, covariances, test, CIs, conventions."""
    pct = f"{100 * r.confidence_level:g}%"
    L: list[str] = []
    L.append(f"MRMC analysis: {r.method}, {r.generalization}, covariance {r.covariance}, FOM {r.fom}")
    L.append(f"  {len(r.modalities)} modalities x {len(r.readers)} readers x {r.n_cases} cases "
             f"({r.n_nondiseased} non-diseased, {r.n_diseased} diseased)")
    L.append(f"  sign convention: difference = {r.sign_convention}")
    L.append(f"  convention: {r.convention} ({CONVENTIONS[r.convention]})")
    L.append("")
    L.append(f"Reader x modality {r.fom}:")
    L.append("  reader      " + "".join(f"{m:>14}" for m in r.modalities))
    for j, rd in enumerate(r.readers):
        L.append(f"  {rd:<12}" + "".join(f"{r.reader_auc[i][j]:>14.8f}" for i in range(len(r.modalities))))
    L.append("  mean        " + "".join(f"{m.estimate.value:>14.8f}" for m in r.modality_auc))
    L.append("")
    ms = r.mean_squares
    L.append("OR ANOVA of the reader x modality FOMs:")
    L.append(f"  MS(T) = {_f(ms['ms_t'], 10)}   MS(R) = {_f(ms['ms_r'], 10)}   MS(T*R) = {_f(ms['ms_tr'], 10)}")
    for m, v in ms["ms_r_by_modality"].items():
        L.append(f"  MS(R) in modality {m} = {_f(v, 10)}")
    vc = r.variance_components
    L.append("OR variance components:")
    L.append(f"  Var(R) = {_f(vc['var_r'], 8)}   Var(T*R) = {_f(vc['var_tr'], 8)}")
    L.append(f"  Var(error) = {_f(vc['var_error'], 8)}   Cov1 = {_f(vc['cov1'], 8)}   Cov2 = {_f(vc['cov2'], 8)}   Cov3 = {_f(vc['cov3'], 8)}")
    L.append(f"  r1 = {_f(vc['r1'], 6)}   r2 = {_f(vc['r2'], 6)}   r3 = {_f(vc['r3'], 6)}   Cov2 - Cov3 = {_f(vc['cov2'] - vc['cov3'], 8)}")
    if r.dbm_mean_squares is not None and r.dbm_variance_components is not None:
        d = r.dbm_mean_squares
        L.append("DBM ANOVA of jackknife pseudovalues:")
        L.append("  " + "   ".join(f"{k.upper().replace('MS_', 'MS(')}) = {_f(d[k], 8)}" for k in ("ms_t", "ms_r", "ms_c", "ms_tr", "ms_tc", "ms_rc", "ms_trc")))
        L.append("DBM variance components:")
        L.append("  " + "   ".join(f"{k} = {_f(v, 8)}" for k, v in r.dbm_variance_components.items()))
    L.append("")
    L.append(f"Global test of equal {r.fom} ({r.method} {r.generalization}):")
    L.append(f"  denominator = {_f(r.denominator, 10)}")
    if r.test == "F":
        L.append(f"  F = {_f(r.statistic, 6)}   df = ({_f(r.df_num, 0)}, {_f(r.df_den, 6)})   p = {_f(r.pvalue, 6)}")
    else:
        L.append(f"  X2 = {_f(r.statistic, 6)}   df = {_f(r.df_num, 0)}   p = {_f(r.pvalue, 6)}")
    L.append("")
    L.append(f"Differences ({pct} CI; t with df, or z where df is '-'):")
    for c in r.comparisons:
        e = c.estimate
        L.append(f"  {c.minuend} - {c.subtrahend}: {_f(e.value, 6)}   SE {_f(c.se, 6)}   df {_f(c.df, 4)}   "
                 f"stat {_f(c.statistic, 4)}   p {_f(c.pvalue, 6)}   CI ({_f(e.ci_low, 6)}, {_f(e.ci_high, 6)})")
    if r.reader_differences:
        L.append("Per-reader differences (fixed readers):")
        for c in r.reader_differences:
            e = c.estimate
            L.append(f"  reader {c.reader}, {c.minuend} - {c.subtrahend}: {_f(e.value, 6)}   SE {_f(c.se, 6)}   "
                     f"p {_f(c.pvalue, 6)}   CI ({_f(e.ci_low, 6)}, {_f(e.ci_high, 6)})")
    L.append(f"Single-modality {r.fom} ({pct} CI):")
    for m in r.modality_auc:
        e = m.estimate
        L.append(f"  modality {m.modality}: {_f(e.value, 6)}   SE {_f(m.se, 6)}   df {_f(m.df, 4)}   CI ({_f(e.ci_low, 6)}, {_f(e.ci_high, 6)})")
    if r.notes:
        L.append("")
        L.append("Notes:")
        L.extend(f"  - {n}" for n in r.notes)
    return "\n".join(L) + "\n"
