"""OR and DBM quantities: covariance averages, ANOVA mean squares, variance components.

Pure kernels on arrays (validated upstream). Notation of Hillis et al. (2005): I modalities,
J readers, K cases, ``A[i, j]`` the FOM of reader j in modality i.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dbm_anova", "dbm_variance_components", "or_covariances", "or_mean_squares", "or_variance_components"]


def or_covariances(cov: np.ndarray, n_modalities: int, n_readers: int) -> dict[str, object]:
    """Average the (I J x I J) cell covariance matrix into Var, Cov1, Cov2, Cov3.

    Cells are ordered modality-major (cell ``i * J + j``). Also per-modality ``var_i, cov2_i``
    and per-reader ``var_j, cov1_j``.
    """
    I, J = n_modalities, n_readers
    c = cov.reshape(I, J, I, J)
    same_t = np.eye(I, dtype=bool)[:, None, :, None]
    same_r = np.eye(J, dtype=bool)[None, :, None, :]
    st = np.broadcast_to(same_t, c.shape)
    sr = np.broadcast_to(same_r, c.shape)
    var = float(c[st & sr].mean())
    cov1 = float(c[~st & sr].mean()) if I > 1 else float("nan")
    cov2 = float(c[st & ~sr].mean())
    cov3 = float(c[~st & ~sr].mean()) if I > 1 else float("nan")
    var_i = np.array([np.mean(np.diag(c[i, :, i, :])) for i in range(I)])
    off = ~np.eye(J, dtype=bool)
    cov2_i = np.array([c[i, :, i, :][off].mean() for i in range(I)])
    offt = ~np.eye(I, dtype=bool)
    var_j = np.array([np.mean(np.diag(c[:, j, :, j])) for j in range(J)])
    cov1_j = np.array([c[:, j, :, j][offt].mean() if I > 1 else np.nan for j in range(J)])
    return {
        "var": var, "cov1": cov1, "cov2": cov2, "cov3": cov3,
        "var_i": var_i, "cov2_i": cov2_i, "var_j": var_j, "cov1_j": cov1_j,
    }


def or_mean_squares(a: np.ndarray) -> dict[str, object]:
    """Modality x reader ANOVA of the FOMs ``a`` (I, J): MS(T), MS(R), MS(T*R), MS_i(R)."""
    I, J = a.shape
    gm = a.mean()
    mi = a.mean(axis=1)
    mj = a.mean(axis=0)
    ms_t = J * np.sum((mi - gm) ** 2) / (I - 1) if I > 1 else float("nan")
    ms_r = I * np.sum((mj - gm) ** 2) / (J - 1)
    resid = a - mi[:, None] - mj[None, :] + gm
    ms_tr = np.sum(resid**2) / ((I - 1) * (J - 1)) if I > 1 else float("nan")
    ms_r_i = np.sum((a - mi[:, None]) ** 2, axis=1) / (J - 1)
    return {"ms_t": float(ms_t), "ms_r": float(ms_r), "ms_tr": float(ms_tr), "ms_r_i": ms_r_i}


def or_variance_components(ms: dict[str, object], cv: dict[str, object], n_modalities: int, *, truncate: bool) -> dict[str, float]:
    """OR variance components (Hillis et al. 2005, method of moments; may be negative).

    ``var_tr = MS(T*R) - Var + Cov1 + (Cov2 - Cov3)`` and
    ``var_r = (MS(R) - Var - (I-1) Cov1 + Cov2 + (I-1) Cov3 - var_tr) / I``, which equals
    ``(MS(R) - MS(T*R)) / I - Cov1 + Cov3``. With ``truncate`` (RJafroc's OR output)
    ``max(Cov2 - Cov3, 0)`` replaces ``Cov2 - Cov3`` in ``var_tr``, which also moves ``var_r``.
    """
    I = n_modalities
    var, cov1, cov2, cov3 = (float(cv[k]) for k in ("var", "cov1", "cov2", "cov3"))  # type: ignore[arg-type]
    ms_r, ms_tr = float(ms["ms_r"]), float(ms["ms_tr"])  # type: ignore[arg-type]
    d23 = max(cov2 - cov3, 0.0) if truncate else cov2 - cov3
    var_tr = ms_tr - var + cov1 + d23
    var_r = (ms_r - var - (I - 1) * cov1 + cov2 + (I - 1) * cov3 - var_tr) / I
    out = {"var_r": var_r, "var_tr": var_tr, "cov1": cov1, "cov2": cov2, "cov3": cov3, "var_error": var}
    for n, c in (("r1", cov1), ("r2", cov2), ("r3", cov3)):
        out[n] = c / var if var > 0 else float("nan")
    return out


def dbm_anova(y: np.ndarray) -> dict[str, object]:
    """Three-factor (modality x reader x case) ANOVA of pseudovalues ``y`` (I, J, K).

    Also per-modality ``ms_r_i, ms_c_i, ms_rc_i`` and per-reader ``ms_tc_j``.
    """
    I, J, K = y.shape
    g = y.mean()
    mt = y.mean(axis=(1, 2))
    mr = y.mean(axis=(0, 2))
    mc = y.mean(axis=(0, 1))
    mtr = y.mean(axis=2)
    mtc = y.mean(axis=1)
    mrc = y.mean(axis=0)
    ms: dict[str, object] = {}
    ms["ms_t"] = J * K * np.sum((mt - g) ** 2) / (I - 1) if I > 1 else float("nan")
    ms["ms_r"] = I * K * np.sum((mr - g) ** 2) / (J - 1)
    ms["ms_c"] = I * J * np.sum((mc - g) ** 2) / (K - 1)
    tr = mtr - mt[:, None] - mr[None, :] + g
    tc = mtc - mt[:, None] - mc[None, :] + g
    rc = mrc - mr[:, None] - mc[None, :] + g
    ms["ms_tr"] = K * np.sum(tr**2) / ((I - 1) * (J - 1)) if I > 1 else float("nan")
    ms["ms_tc"] = J * np.sum(tc**2) / ((I - 1) * (K - 1)) if I > 1 else float("nan")
    ms["ms_rc"] = I * np.sum(rc**2) / ((J - 1) * (K - 1))
    trc = y - mtr[:, :, None] - mtc[:, None, :] - mrc[None, :, :] + mt[:, None, None] + mr[None, :, None] + mc[None, None, :] - g
    ms["ms_trc"] = np.sum(trc**2) / ((I - 1) * (J - 1) * (K - 1)) if I > 1 else float("nan")
    # single modality i: reader x case ANOVA
    ms["ms_r_i"] = K * np.sum((mtr - mt[:, None]) ** 2, axis=1) / (J - 1)
    ms["ms_c_i"] = J * np.sum((mtc - mt[:, None]) ** 2, axis=1) / (K - 1)
    rci = y - mtr[:, :, None] - mtc[:, None, :] + mt[:, None, None]
    ms["ms_rc_i"] = np.sum(rci**2, axis=(1, 2)) / ((J - 1) * (K - 1))
    # single reader j: modality x case ANOVA
    if I > 1:
        mj_t = y.mean(axis=2)  # (I, J)
        mj_c = y.mean(axis=0)  # (J, K)
        mj = y.mean(axis=(0, 2))  # (J,)
        tcj = y - mj_t[:, :, None] - mj_c[None, :, :] + mj[None, :, None]
        ms["ms_tc_j"] = np.sum(tcj**2, axis=(0, 2)) / ((I - 1) * (K - 1))
    for k in list(ms):
        if not isinstance(ms[k], np.ndarray):
            ms[k] = float(ms[k])  # type: ignore[arg-type]
    return ms


def dbm_variance_components(ms: dict[str, object], n_modalities: int, n_readers: int, n_cases: int) -> dict[str, float]:
    """DBM variance components (Dorfman et al. 1992; Hillis et al. 2005, plain, may be negative)."""
    I, J, K = n_modalities, n_readers, n_cases
    g = {k: float(v) for k, v in ms.items() if not isinstance(v, np.ndarray)}  # type: ignore[arg-type]
    return {
        "var_r": (g["ms_r"] - g["ms_tr"] - g["ms_rc"] + g["ms_trc"]) / (I * K),
        "var_c": (g["ms_c"] - g["ms_tc"] - g["ms_rc"] + g["ms_trc"]) / (I * J),
        "var_tr": (g["ms_tr"] - g["ms_trc"]) / K,
        "var_tc": (g["ms_tc"] - g["ms_trc"]) / J,
        "var_rc": (g["ms_rc"] - g["ms_trc"]) / I,
        "var_trc_error": g["ms_trc"],
    }
