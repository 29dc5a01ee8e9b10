"""Reader-study data: loading, loud validation and the dense (modality, reader, case) array."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clinical_eval.errors import InvalidParameterError, MrmcDataError

__all__ = ["COLUMNS", "MrmcData", "as_mrmc_data", "read_imrmc", "read_mrmc_csv"]

#: Required columns of the long format.
COLUMNS = ("reader", "modality", "case", "truth", "rating")


@dataclass(frozen=True, slots=True, eq=False)
class MrmcData:
    """A validated, fully crossed reader study.

    Attributes
    ----------
    ratings : numpy.ndarray
        Float array of shape ``(I modalities, J readers, K cases)``; higher = more
        confident the case is diseased.
    truth : numpy.ndarray
        Int array of shape ``(K,)``, 0 = non-diseased, 1 = diseased.
    modalities, readers, cases : tuple of str
        Labels in array order (numeric labels sorted numerically, others as text).
    """

    ratings: np.ndarray
    truth: np.ndarray
    modalities: tuple[str, ...]
    readers: tuple[str, ...]
    cases: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        i, j, k = self.ratings.shape
        return int(i), int(j), int(k)

    @property
    def n_nondiseased(self) -> int:
        return int(np.sum(self.truth == 0))

    @property
    def n_diseased(self) -> int:
        return int(np.sum(self.truth == 1))

    def is_binary(self) -> bool:
        """True when every rating is 0 or 1 (then sensitivity/specificity are defined)."""
        return bool(np.all((self.ratings == 0) | (self.ratings == 1)))


def _label_order(values: pd.Series) -> list[Any]:
    uniq = list(pd.unique(values))
    try:
        return sorted(uniq, key=lambda v: (float(v), str(v)))
    except (TypeError, ValueError):
        return sorted(uniq, key=str)


def _label(v: Any) -> str:
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def as_mrmc_data(data: pd.DataFrame | MrmcData | str | os.PathLike[str], *, function: str = "as_mrmc_data") -> MrmcData:
    """Validate long-format reader-study data and build the dense array.

    Parameters
    ----------
    data : pandas.DataFrame, MrmcData, or path
        Long format with columns ``reader, modality, case, truth, rating`` (one row per
        reader x modality x case), or a path to such a CSV or to an iMRMC ``.imrmc`` file.

    Raises
    ------
    MrmcDataError
        Missing columns, missing or duplicated cells (not fully crossed, naming the reader,
        modality and case), a case with two truths, truth not 0/1, a single truth class,
        non-numeric or non-finite ratings, fewer than 2 readers or cases.
    """
    if isinstance(data, MrmcData):
        return data
    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
        df = read_imrmc(path) if path.lower().endswith(".imrmc") else read_mrmc_csv(path)
    elif isinstance(data, pd.DataFrame):
        df = data
    else:
        raise InvalidParameterError(
            "data", function, "a pandas DataFrame in long format, MrmcData, or a path to a .csv/.imrmc file",
            type(data).__name__,
        )
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise MrmcDataError(
            f"`data` of `{function}` must have columns {list(COLUMNS)}; missing {missing} "
            f"(got columns {list(df.columns)})"
        )
    df = df.loc[:, list(COLUMNS)]
    if len(df) == 0:
        raise MrmcDataError(f"`data` of `{function}` must have at least one row; got an empty table")
    for col in ("reader", "modality", "case", "truth"):
        if df[col].isna().any():
            row = int(np.flatnonzero(df[col].isna().to_numpy())[0])
            raise MrmcDataError(f"`{col}` of `{function}` must not be missing; row {row} has no {col}")
    rating = pd.to_numeric(df["rating"], errors="coerce")
    bad = rating.isna() | ~np.isfinite(rating.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        r = df[bad.to_numpy()].iloc[0]
        raise MrmcDataError(
            f"`rating` of `{function}` must be a finite number; got {r['rating']!r} for "
            f"reader {_label(r['reader'])!r}, modality {_label(r['modality'])!r}, case {_label(r['case'])!r}"
        )
    truth_num = pd.to_numeric(df["truth"], errors="coerce")
    bad_t = truth_num.isna() | ~truth_num.isin([0, 1])
    if bad_t.any():
        r = df[bad_t.to_numpy()].iloc[0]
        raise MrmcDataError(
            f"`truth` of `{function}` must be 0 (non-diseased) or 1 (diseased); got {r['truth']!r} for case {_label(r['case'])!r}"
        )
    df = df.assign(rating=rating.astype(float), truth=truth_num.astype(int))
    # a case with two truths
    nt = df.groupby("case", sort=False)["truth"].nunique()
    if (nt > 1).any():
        case = nt.index[int(np.flatnonzero((nt > 1).to_numpy())[0])]
        truths = sorted(df.loc[df["case"] == case, "truth"].unique().tolist())
        raise MrmcDataError(
            f"`truth` of `{function}` must be the same in every row of a case; case {_label(case)!r} has truths {truths}"
        )
    dup = df.duplicated(subset=["reader", "modality", "case"], keep=False)
    if dup.any():
        r = df[dup.to_numpy()].iloc[0]
        raise MrmcDataError(
            f"`data` of `{function}` must have one rating per reader x modality x case; reader "
            f"{_label(r['reader'])!r}, modality {_label(r['modality'])!r}, case {_label(r['case'])!r} has "
            f"{int(dup.sum())} duplicated rows in all"
        )
    modalities = _label_order(df["modality"])
    readers = _label_order(df["reader"])
    cases = _label_order(df["case"])
    mi = {m: i for i, m in enumerate(modalities)}
    ri = {r: j for j, r in enumerate(readers)}
    ci = {c: k for k, c in enumerate(cases)}
    I, J, K = len(modalities), len(readers), len(cases)
    if len(df) != I * J * K:
        # find what is missing: first reader missing a whole modality, else first missing cell
        present = df.groupby(["reader", "modality"], sort=False).size()
        for r in readers:
            for m in modalities:
                if (r, m) not in present.index:
                    raise MrmcDataError(
                        f"`data` of `{function}` must be fully crossed; reader {_label(r)!r} has no ratings "
                        f"in modality {_label(m)!r}"
                    )
        for r in readers:
            for m in modalities:
                have = set(df.loc[(df["reader"] == r) & (df["modality"] == m), "case"])
                lack = [c for c in cases if c not in have]
                if lack:
                    shown = ", ".join(repr(_label(c)) for c in lack[:5])
                    raise MrmcDataError(
                        f"`data` of `{function}` must be fully crossed; reader {_label(r)!r} in modality "
                        f"{_label(m)!r} has no rating for case(s) {shown}"
                        + (f" and {len(lack) - 5} more" if len(lack) > 5 else "")
                    )
    arr = np.full((I, J, K), np.nan)
    arr[
        df["modality"].map(mi).to_numpy(),
        df["reader"].map(ri).to_numpy(),
        df["case"].map(ci).to_numpy(),
    ] = df["rating"].to_numpy(dtype=float)
    truth = np.zeros(K, dtype=int)
    truth[df["case"].map(ci).to_numpy()] = df["truth"].to_numpy()
    if J < 2:
        raise MrmcDataError(f"`data` of `{function}` must have at least 2 readers; got {J} ({[_label(r) for r in readers]})")
    n1 = int(truth.sum())
    n0 = K - n1
    if n0 == 0 or n1 == 0:
        raise MrmcDataError(
            f"`truth` of `{function}` must contain both non-diseased (0) and diseased (1) cases; got "
            f"{n0} non-diseased and {n1} diseased"
        )
    if n0 < 2 or n1 < 2:
        raise MrmcDataError(
            f"`truth` of `{function}` must have at least 2 cases of each class for the jackknife; got "
            f"{n0} non-diseased and {n1} diseased"
        )
    arr.setflags(write=False)
    truth.setflags(write=False)
    return MrmcData(
        ratings=arr,
        truth=truth,
        modalities=tuple(_label(m) for m in modalities),
        readers=tuple(_label(r) for r in readers),
        cases=tuple(_label(c) for c in cases),
    )


def read_mrmc_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a long-format CSV (``reader, modality, case, truth, rating``) as text labels.

    Labels are kept as read; `as_mrmc_data` validates.
    """
    return pd.read_csv(path, dtype={"reader": str, "modality": str, "case": str}, skipinitialspace=True)


_BEGIN = re.compile(r"^\s*BEGIN DATA:?\s*$", re.IGNORECASE)


def read_imrmc(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an iMRMC ``.imrmc`` file into the long format.

    The format is free text, a line ``BEGIN DATA:``, then rows ``readerID,caseID,modalityID,score``.
    Truth rows have reader ``-1`` (or ``truth``) and their score is the truth (0/1); the
    modality of a truth row is ignored (iMRMC writes ``truth`` or ``0``). As in iMRMC, white
    space inside a field is ignored (``reader 1`` and ``reader1`` are the same reader) and rows
    may come in any order.

    Raises
    ------
    MrmcDataError
        No ``BEGIN DATA`` line, a malformed row (with its line number), a case without truth.
    """
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    start = next((n for n, line in enumerate(lines) if _BEGIN.match(line)), None)
    if start is None:
        raise MrmcDataError(f"`path` of `read_imrmc` must be an iMRMC file with a 'BEGIN DATA:' line; got {os.fspath(path)!r}")
    truth: dict[str, int] = {}
    rows: list[tuple[str, str, str, str]] = []
    for n, line in enumerate(lines[start + 1 :], start=start + 2):
        if not line.strip():
            continue
        # iMRMC ignores all white space inside fields ("reader 1" is "reader1")
        parts = ["".join(p.split()) for p in line.split(",")]
        if len(parts) != 4:
            raise MrmcDataError(
                f"line {n} of `read_imrmc` input must be 'readerID,caseID,modalityID,score'; got {line!r}"
            )
        reader, case, modality, score = parts
        if reader in ("-1", "truth", "TRUTH"):
            if score not in ("0", "1", "0.0", "1.0"):
                raise MrmcDataError(f"line {n} of `read_imrmc` input: truth of case {case!r} must be 0 or 1; got {score!r}")
            if case in truth and truth[case] != int(float(score)):
                raise MrmcDataError(f"`truth` of `read_imrmc` must be the same in every row of a case; case {case!r} has truths [0, 1]")
            truth[case] = int(float(score))
        else:
            rows.append((reader, modality, case, score))
    missing = sorted({c for _, _, c, _ in rows if c not in truth})
    if missing:
        raise MrmcDataError(f"`truth` of `read_imrmc` input is missing for case(s) {missing[:5]}")
    return pd.DataFrame(
        {
            "reader": [r[0] for r in rows],
            "modality": [r[1] for r in rows],
            "case": [r[2] for r in rows],
            "truth": [truth[r[2]] for r in rows],
            "rating": [r[3] for r in rows],
        }
    )
