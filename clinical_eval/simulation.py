"""Seeded Roe-Metz simulation of fully crossed MRMC rating data.

Model (Roe & Metz 1997), for modality i, reader j, case k of truth t (0 / 1)::

    X_ijk = t * (mu + delta_i) + R_j^t + TR_ij^t + C_k + TC_ik + RC_jk + E_ijk

with independent zero-mean normal components of variances ``var_r, var_tr, var_c, var_tc,
var_rc, var_e``; reader components are drawn separately for each truth state, case
components belong to the case (one truth). ``delta_1 = 0`` and ``delta_i = delta_mu`` for
the other modalities. Ratings are continuous (no ties).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from samd_core.checks import as_rng
from clinical_eval.errors import InvalidParameterError

__all__ = ["ROE_METZ_1997", "RoeMetzConfig", "expected_auc", "roe_metz_config", "simulate_roe_metz"]


@dataclass(frozen=True, slots=True)
class RoeMetzConfig:
    """Parameters of the Roe-Metz model (variances on the latent decision-variable scale)."""

    mu: float
    delta_mu: float = 0.0
    var_r: float = 0.0055
    var_tr: float = 0.0055
    var_c: float = 0.3
    var_tc: float = 0.3
    var_rc: float = 0.2
    var_e: float = 0.2


#: Roe & Metz (1997, Table 1) variance structures: first letter = case/data correlation
#: (H: var_c = var_tc = 0.3, var_rc = 0.2, var_e = 0.2; L: 0.1, 0.1, 0.2, 0.6), second
#: letter = reader variability (var_r = var_tr; L = 0.0055; H = 0.011, 0.030, 0.056 for
#: mu = 0.75, 1.5, 2.5, i.e. AUC about 0.702, 0.855, 0.961). Cross-checked against the
#: iMRMC "RMconfigurations" files of DIDSR/iMRMC.
ROE_METZ_1997: dict[tuple[str, float], dict[str, float]] = {}
for _case, (_c, _tc, _rc, _e) in {"H": (0.3, 0.3, 0.2, 0.2), "L": (0.1, 0.1, 0.2, 0.6)}.items():
    for _mu, _high in ((0.75, 0.011), (1.5, 0.030), (2.5, 0.056)):
        for _rd, _vr in (("H", _high), ("L", 0.0055)):
            ROE_METZ_1997[(_case + _rd, _mu)] = {
                "var_r": _vr, "var_tr": _vr, "var_c": _c, "var_tc": _tc, "var_rc": _rc, "var_e": _e,
            }


def roe_metz_config(structure: Literal["HH", "HL", "LH", "LL"], mu: float, *, delta_mu: float = 0.0) -> RoeMetzConfig:
    """One of the standard Roe & Metz (1997) settings (see `ROE_METZ_1997`)."""
    if structure not in ("HH", "HL", "LH", "LL"):
        raise InvalidParameterError("structure", "roe_metz_config", "one of 'HH', 'HL', 'LH', 'LL'", structure, options=["HH", "HL", "LH", "LL"])
    key = (structure, float(mu))
    if key not in ROE_METZ_1997:
        raise InvalidParameterError("mu", "roe_metz_config", "one of 0.75, 1.5, 2.5 (AUC about 0.702, 0.855, 0.961)", mu)
    return RoeMetzConfig(mu=float(mu), delta_mu=float(delta_mu), **ROE_METZ_1997[key])


def expected_auc(config: RoeMetzConfig, modality: int = 0) -> float:
    """Reader-averaged expected AUC of modality ``modality`` (0-based) under the model.

    ``Phi((mu + delta) / sqrt(2 (var_c + var_tc + var_rc + var_e) + 2 (var_r + var_tr)))``:
    the reader terms of the two truth states shift each reader's binormal separation.
    """
    m = config.mu + (config.delta_mu if modality > 0 else 0.0)
    case = config.var_c + config.var_tc + config.var_rc + config.var_e
    return float(stats.norm.cdf(m / math.sqrt(2 * case + 2 * (config.var_r + config.var_tr))))


def simulate_roe_metz(
    config: RoeMetzConfig,
    *,
    n_readers: int,
    n_nondiseased: int,
    n_diseased: int,
    n_modalities: int = 2,
    rng: np.random.Generator | int,
) -> pd.DataFrame:
    """Simulate one fully crossed study in the long format (``reader, modality, case, truth, rating``).

    Same ``config``, sizes and seed give bit-identical output. Labels are integers from 1;
    non-diseased cases come first.

    References
    ----------
    Roe CA, Metz CE (1997) Acad Radiol 4:298-303. Hillis SL (2012) Stat Med 31:1239-1250.
    """
    fn = "simulate_roe_metz"
    for name, v, lo in (("n_readers", n_readers, 2), ("n_nondiseased", n_nondiseased, 2), ("n_diseased", n_diseased, 2), ("n_modalities", n_modalities, 1)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
            raise InvalidParameterError(name, fn, f"an integer >= {lo}", v)
    for name in ("var_r", "var_tr", "var_c", "var_tc", "var_rc", "var_e"):
        v = getattr(config, name)
        if not (math.isfinite(v) and v >= 0):
            raise InvalidParameterError(f"config.{name}", fn, "a finite variance >= 0", v)
    g = as_rng(rng, fn)
    I, J, K0, K1 = n_modalities, n_readers, n_nondiseased, n_diseased
    K = K0 + K1
    truth = np.r_[np.zeros(K0, int), np.ones(K1, int)]
    sd = {k: math.sqrt(getattr(config, k)) for k in ("var_r", "var_tr", "var_c", "var_tc", "var_rc", "var_e")}
    r = g.normal(0, sd["var_r"], size=(2, J))  # per truth state
    tr = g.normal(0, sd["var_tr"], size=(2, I, J))
    c = g.normal(0, sd["var_c"], size=K)
    tc = g.normal(0, sd["var_tc"], size=(I, K))
    rc = g.normal(0, sd["var_rc"], size=(J, K))
    e = g.normal(0, sd["var_e"], size=(I, J, K))
    shift = np.array([0.0] + [config.delta_mu] * (I - 1))
    mean = truth[None, None, :] * (config.mu + shift[:, None, None])
    x = (
        mean
        + r[truth][None, :, :].transpose(0, 2, 1)
        + tr[truth].transpose(1, 2, 0)
        + c[None, None, :]
        + tc[:, None, :]
        + rc[None, :, :]
        + e
    )
    ii, jj, kk = np.meshgrid(np.arange(I), np.arange(J), np.arange(K), indexing="ij")
    return pd.DataFrame(
        {
            "reader": (jj + 1).ravel(),
            "modality": (ii + 1).ravel(),
            "case": (kk + 1).ravel(),
            "truth": truth[kk.ravel()],
            "rating": x.ravel(),
        }
    )
