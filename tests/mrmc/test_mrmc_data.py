"""Loud validation of reader-study input and the iMRMC reader."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest

from clinical_eval.errors import InvalidParameterError, MrmcDataError
from clinical_eval.mrmc import analyze, as_mrmc_data, read_imrmc

REF = pathlib.Path(__file__).resolve().parents[1] / "reference" / "mrmc"
VD = REF / "vandyke_long.csv"


@pytest.fixture()
def vd() -> pd.DataFrame:
    return pd.read_csv(VD)


@pytest.mark.verifies("SRS-MRMC-005")
def test_mrmc_missing_cell_names_reader_modality_case(vd: pd.DataFrame) -> None:
    bad = vd.drop(index=vd.index[(vd.reader == 3) & (vd.modality == 2) & (vd.case == 17)])
    with pytest.raises(MrmcDataError, match=r"fully crossed; reader '3' in modality '2' has no rating for case\(s\) '17'"):
        analyze(bad)


@pytest.mark.verifies("SRS-MRMC-005")
def test_mrmc_reader_missing_modality(vd: pd.DataFrame) -> None:
    bad = vd[~((vd.reader == 4) & (vd.modality == 1))]
    with pytest.raises(MrmcDataError, match=r"reader '4' has no ratings in modality '1'"):
        analyze(bad)


@pytest.mark.verifies("SRS-MRMC-005")
def test_mrmc_case_with_two_truths(vd: pd.DataFrame) -> None:
    bad = vd.copy()
    bad.loc[(bad.case == 5) & (bad.reader == 2), "truth"] = 1
    with pytest.raises(MrmcDataError, match=r"case '5' has truths \[0, 1\]"):
        analyze(bad)


@pytest.mark.verifies("SRS-MRMC-005")
def test_mrmc_non_numeric_rating(vd: pd.DataFrame) -> None:
    bad = vd.astype({"rating": object})
    bad.loc[(bad.case == 9) & (bad.reader == 1) & (bad.modality == 2), "rating"] = "high"
    with pytest.raises(MrmcDataError, match=r"`rating` of `analyze` must be a finite number; got 'high' for reader '1', modality '2', case '9'"):
        analyze(bad)
    bad.loc[(bad.case == 9) & (bad.reader == 1) & (bad.modality == 2), "rating"] = np.nan
    with pytest.raises(MrmcDataError, match="finite number"):
        analyze(bad)


@pytest.mark.verifies("SRS-MRMC-005")
def test_mrmc_single_class_truth(vd: pd.DataFrame) -> None:
    bad = vd[vd.truth == 0]
    with pytest.raises(MrmcDataError, match=r"both non-diseased \(0\) and diseased \(1\) cases; got 69 non-diseased and 0 diseased"):
        analyze(bad)


@pytest.mark.verifies("SRS-MRMC-005")
def test_mrmc_other_bad_inputs(vd: pd.DataFrame) -> None:
    with pytest.raises(MrmcDataError, match="missing"):
        analyze(vd.drop(columns=["truth"]))
    bad = vd.copy()
    bad.loc[0, "truth"] = 2
    with pytest.raises(MrmcDataError, match="0 \\(non-diseased\\) or 1"):
        analyze(bad)
    dup = pd.concat([vd, vd.iloc[[0]]])
    with pytest.raises(MrmcDataError, match="one rating per reader x modality x case"):
        analyze(dup)
    with pytest.raises(MrmcDataError, match="at least 2 readers"):
        analyze(vd[vd.reader == 1])
    with pytest.raises(MrmcDataError, match="at least 2 modalities"):
        analyze(vd[vd.modality == 1])
    with pytest.raises(InvalidParameterError, match="did you mean 'RRRC'"):
        analyze(vd, generalization="RRCR")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="`covariance` of `analyze` must be 'jackknife' when method='DBM'"):
        analyze(vd, method="DBM", covariance="delong")
    with pytest.raises(InvalidParameterError, match="confidence_level"):
        analyze(vd, confidence_level=95)
    with pytest.raises(InvalidParameterError, match="reference"):
        analyze(vd, reference="3")
    with pytest.raises(MrmcDataError, match="must be 0/1"):
        analyze(vd, fom="sensitivity")
    with pytest.raises(InvalidParameterError, match="data"):
        analyze([1, 2, 3])  # type: ignore[arg-type]


@pytest.mark.verifies("SRS-MRMC-006")
def test_mrmc_imrmc_reader_roundtrip(tmp_path: pathlib.Path, vd: pd.DataFrame) -> None:
    lines = ["Van Dyke in iMRMC format", "NR: 5", "N0: 69", "N1: 45", "NM: 2", "", "BEGIN DATA:"]
    truth = vd.drop_duplicates("case")
    lines += [f"-1,{c},0,{t}" for c, t in zip(truth.case, truth.truth, strict=True)]
    lines += [f"{r},{c},{m},{x}" for r, m, c, x in zip(vd.reader, vd.modality, vd.case, vd.rating, strict=True)]
    p = tmp_path / "vd.imrmc"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    df = read_imrmc(p)
    assert len(df) == len(vd)
    a = analyze(p)
    b = analyze(VD)
    assert a.to_json() == b.to_json()
    # truth rows spelled 'truth', string case ids (RJafroc issue 72)
    p2 = tmp_path / "s.imrmc"
    p2.write_text(
        "BEGIN DATA:\ntruth,caseA,truth,0\ntruth,caseB,truth,1\ntruth,caseC,truth,0\ntruth,caseD,truth,1\n"
        + "".join(f"{r},{c},{m},{s}\n" for r in ("r1", "r2") for m in ("A", "B") for c, s in (("caseA", 1), ("caseB", 3), ("caseC", 2), ("caseD", 2))),
        encoding="utf-8",
    )
    d = as_mrmc_data(p2)
    assert d.cases == ("caseA", "caseB", "caseC", "caseD") and d.truth.tolist() == [0, 1, 0, 1]


@pytest.mark.verifies("SRS-MRMC-006")
def test_mrmc_imrmc_whitespace_and_order(tmp_path: pathlib.Path) -> None:
    # iMRMC ignores white space inside fields and any row order; truth-row modality is ignored
    rows = ["-1 , c 1 , whatever , 0", "-1,c2,truth,1", "-1,c3,0,0", "-1,c4,0,1"]
    data = [(r, m, c, s) for r in ("reader 1", "reader2") for m in ("mod A", "modB") for c, s in (("c1", 1), ("c2", 4), ("c3", 2), ("c4", 3))]
    rows += [f" {r} ,{c}, {m} ,{s}" for r, m, c, s in reversed(data)]
    p = tmp_path / "w.imrmc"
    p.write_text("free text\nBEGIN DATA:\n" + "\n".join(rows) + "\n", encoding="utf-8")
    d = as_mrmc_data(p)
    assert d.readers == ("reader1", "reader2") and d.modalities == ("modA", "modB")
    assert d.cases == ("c1", "c2", "c3", "c4") and d.truth.tolist() == [0, 1, 0, 1]
    assert d.shape == (2, 2, 4)


@pytest.mark.verifies("SRS-MRMC-006")
def test_mrmc_imrmc_errors(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "x.imrmc"
    p.write_text("no data marker\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(MrmcDataError, match="BEGIN DATA"):
        read_imrmc(p)
    p.write_text("BEGIN DATA:\n-1,1,0,1\n1,1,A\n", encoding="utf-8")
    with pytest.raises(MrmcDataError, match="line 3"):
        read_imrmc(p)
    p.write_text("BEGIN DATA:\n-1,1,0,1\n1,2,A,3\n", encoding="utf-8")
    with pytest.raises(MrmcDataError, match=r"missing for case\(s\) \['2'\]"):
        read_imrmc(p)
