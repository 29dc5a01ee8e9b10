"""Frozen, JSON round-trippable result objects of the MRMC analysis."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from samd_core.hashing import canonical_json
from validation.stats import Estimate, decode_float, encode_float

__all__ = ["ComparisonResult", "ModalityFomResult", "MrmcResult", "ReaderComparisonResult"]


def _enc(v: Any) -> Any:
    if isinstance(v, Estimate):
        return v.to_dict()
    if isinstance(v, ModalityFomResult | ComparisonResult | ReaderComparisonResult):
        return v.to_dict()
    if isinstance(v, dict):
        return {str(k): _enc(x) for k, x in v.items()}
    if isinstance(v, tuple | list):
        return [_enc(x) for x in v]
    if isinstance(v, float):
        return encode_float(v)
    return v


def _dec_map(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {k: (_dec_map(v) if isinstance(v, dict) else decode_float(v) if isinstance(v, str | float | int) and not isinstance(v, bool) else v) for k, v in d.items()}


@dataclass(frozen=True, slots=True)
class ModalityFomResult:
    """Reader-averaged figure of merit of one modality with its single-modality CI.

    ``df`` is the t degrees of freedom of the CI (Hillis ``ddf_H_single`` for RRRC), or
    ``None`` where the CI is normal (OR FRRC).
    """

    modality: str
    estimate: Estimate
    se: float
    df: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"modality": self.modality, "estimate": self.estimate.to_dict(), "se": encode_float(self.se), "df": encode_float(self.df)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModalityFomResult:
        return cls(d["modality"], Estimate.from_dict(d["estimate"]), decode_float(d["se"]), decode_float(d["df"]))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ComparisonResult:
    """Difference of reader-averaged FOMs, ``minuend - subtrahend``, with its test.

    ``statistic`` is t (``df`` given) or z (``df`` None); ``pvalue`` is two-sided.
    """

    minuend: str
    subtrahend: str
    estimate: Estimate
    se: float
    statistic: float
    df: float | None
    pvalue: float

    @property
    def label(self) -> str:
        return f"{self.minuend} - {self.subtrahend}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "minuend": self.minuend,
            "subtrahend": self.subtrahend,
            "sign_convention": f"modality {self.minuend} minus modality {self.subtrahend}",
            "estimate": self.estimate.to_dict(),
            "se": encode_float(self.se),
            "statistic": encode_float(self.statistic),
            "df": encode_float(self.df),
            "pvalue": encode_float(self.pvalue),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ComparisonResult:
        return cls(
            d["minuend"], d["subtrahend"], Estimate.from_dict(d["estimate"]),
            decode_float(d["se"]), decode_float(d["statistic"]), decode_float(d["df"]), decode_float(d["pvalue"]),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class ReaderComparisonResult:
    """Per-reader difference (fixed-reader analysis): ``minuend - subtrahend`` for one reader."""

    reader: str
    minuend: str
    subtrahend: str
    estimate: Estimate
    se: float
    statistic: float
    df: float | None
    pvalue: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "reader": self.reader,
            "minuend": self.minuend,
            "subtrahend": self.subtrahend,
            "estimate": self.estimate.to_dict(),
            "se": encode_float(self.se),
            "statistic": encode_float(self.statistic),
            "df": encode_float(self.df),
            "pvalue": encode_float(self.pvalue),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReaderComparisonResult:
        return cls(
            d["reader"], d["minuend"], d["subtrahend"], Estimate.from_dict(d["estimate"]),
            decode_float(d["se"]), decode_float(d["statistic"]), decode_float(d["df"]), decode_float(d["pvalue"]),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class MrmcResult:
    """Result of `clinical_eval.mrmc.analyze` (one analysis: method x generalization).

    Attributes
    ----------
    method, generalization, covariance, fom, convention : str
        What was computed (``convention`` names the peer whose truncation rules are used).
    confidence_level : float
    modalities, readers : tuple of str
        Labels in array order.
    n_cases, n_nondiseased, n_diseased : int
    modality_auc : tuple of ModalityFomResult
        Reader-averaged FOM of each modality with the single-modality CI and its df (also
        available as `modality_fom`, the name that fits every ``fom``).
    reader_auc : tuple of tuple of float
        ``reader_auc[i][j]`` = FOM of reader ``readers[j]`` in modality ``modalities[i]`` (also
        `reader_fom`).
    difference : Estimate
        The primary difference, ``comparisons[0]``; its sign is ``sign_convention``.
    sign_convention : str
        E.g. ``"modality 1 minus modality 2"``.
    comparisons : tuple of ComparisonResult
        All pairwise differences (or each modality minus ``reference``).
    reader_differences : tuple of ReaderComparisonResult
        Per-reader differences (fixed readers only), else empty.
    test : str
        ``"F"`` or ``"chi-square"``.
    statistic, df_num, df_den, pvalue : float
        Global test of equal modality FOMs; ``df_den`` is None for chi-square.
    denominator : float
        Denominator of the global statistic (OR: on the AUC scale; DBM: pseudovalue scale).
    variance_components : dict
        OR components ``var_r, var_tr, cov1, cov2, cov3, var_error`` (+ ``r1, r2, r3``).
    mean_squares : dict
        OR ANOVA of the reader x modality FOMs: ``ms_t, ms_r, ms_tr`` and ``ms_r_by_modality``.
    dbm_mean_squares, dbm_variance_components : dict or None
        DBM pseudovalue ANOVA (jackknife only).
    notes : tuple of str
        Conventions used and any degenerate-case messages.
    """

    method: str
    generalization: str
    covariance: str
    fom: str
    convention: str
    confidence_level: float
    modalities: tuple[str, ...]
    readers: tuple[str, ...]
    n_cases: int
    n_nondiseased: int
    n_diseased: int
    modality_auc: tuple[ModalityFomResult, ...]
    reader_auc: tuple[tuple[float, ...], ...]
    difference: Estimate
    sign_convention: str
    comparisons: tuple[ComparisonResult, ...]
    reader_differences: tuple[ReaderComparisonResult, ...]
    test: str
    statistic: float
    df_num: float
    df_den: float | None
    pvalue: float
    denominator: float
    variance_components: dict[str, float]
    mean_squares: dict[str, Any]
    dbm_mean_squares: dict[str, Any] | None = None
    dbm_variance_components: dict[str, float] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def modality_fom(self) -> tuple[ModalityFomResult, ...]:
        """Reader-averaged figure of merit of each modality, whatever ``fom`` is (= `modality_auc`).

        `modality_auc` keeps its name (a contract of release 0.1.0) although it holds the
        sensitivity or specificity when ``fom`` says so; this name fits every figure of merit.
        """
        return self.modality_auc

    @property
    def reader_fom(self) -> tuple[tuple[float, ...], ...]:
        """``reader_fom[i][j]`` = figure of merit of reader ``readers[j]`` in ``modalities[i]`` (= `reader_auc`)."""
        return self.reader_auc

    def reader_auc_table(self) -> dict[str, dict[str, float]]:
        """``{modality: {reader: FOM}}`` (a plain-dict view of `reader_auc`)."""
        return {m: dict(zip(self.readers, row, strict=True)) for m, row in zip(self.modalities, self.reader_auc, strict=True)}

    def comparison(self, minuend: str, subtrahend: str) -> ComparisonResult:
        """The comparison ``minuend - subtrahend`` (sign flipped if stored the other way)."""
        for c in self.comparisons:
            if (c.minuend, c.subtrahend) == (minuend, subtrahend):
                return c
            if (c.minuend, c.subtrahend) == (subtrahend, minuend):
                e = c.estimate
                return ComparisonResult(
                    minuend, subtrahend,
                    Estimate(-e.value, -e.ci_high, -e.ci_low, e.confidence_level, e.method, e.n),
                    c.se, -c.statistic, c.df, c.pvalue,
                )
        raise KeyError(f"no comparison {minuend!r} - {subtrahend!r}; modalities are {list(self.modalities)}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            out[f.name] = _enc(getattr(self, f.name))
        out["schema"] = "samd.mrmc_result/1"
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MrmcResult:
        return cls(
            method=d["method"],
            generalization=d["generalization"],
            covariance=d["covariance"],
            fom=d["fom"],
            convention=d["convention"],
            confidence_level=float(d["confidence_level"]),
            modalities=tuple(d["modalities"]),
            readers=tuple(d["readers"]),
            n_cases=int(d["n_cases"]),
            n_nondiseased=int(d["n_nondiseased"]),
            n_diseased=int(d["n_diseased"]),
            modality_auc=tuple(ModalityFomResult.from_dict(x) for x in d["modality_auc"]),
            reader_auc=tuple(tuple(decode_float(v) for v in row) for row in d["reader_auc"]),  # type: ignore[misc]
            difference=Estimate.from_dict(d["difference"]),
            sign_convention=d["sign_convention"],
            comparisons=tuple(ComparisonResult.from_dict(x) for x in d["comparisons"]),
            reader_differences=tuple(ReaderComparisonResult.from_dict(x) for x in d["reader_differences"]),
            test=d["test"],
            statistic=decode_float(d["statistic"]),  # type: ignore[arg-type]
            df_num=decode_float(d["df_num"]),  # type: ignore[arg-type]
            df_den=decode_float(d["df_den"]),
            pvalue=decode_float(d["pvalue"]),  # type: ignore[arg-type]
            denominator=decode_float(d["denominator"]),  # type: ignore[arg-type]
            variance_components=_dec_map(d["variance_components"]),  # type: ignore[arg-type]
            mean_squares=_dec_map(d["mean_squares"]),  # type: ignore[arg-type]
            dbm_mean_squares=_dec_map(d.get("dbm_mean_squares")),
            dbm_variance_components=_dec_map(d.get("dbm_variance_components")),
            notes=tuple(d.get("notes", ())),
        )

    def to_json(self) -> str:
        """Canonical strict JSON (sorted keys)."""
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> MrmcResult:
        return cls.from_dict(json.loads(text))
