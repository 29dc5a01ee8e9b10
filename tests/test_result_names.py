"""One naming scheme for result types: every public result dataclass ends in ``Result`` (issue #12)."""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
import warnings

import pytest

PACKAGES = ["clinical_eval", "clinical_eval.mrmc", "clinical_eval.sizing", "clinical_eval.reading_time",
            "clinical_eval.simulation", "validation.stats", "validation.metrics", "validation.tracking",
            "validation.audit", "validation.harness"]

#: Public dataclasses that are not results, with the reason.
NOT_RESULTS = {
    "Estimate": "the house value type every result holds (STYLE.md convention 1)",
    "MrmcData": "validated input data of an MRMC analysis",
    "RoeMetzConfig": "a simulation configuration",
    "TrackedRun": "a live MLflow run handle",
    "AnalysisRun": "a live tracked-analysis handle",
    "AuditVerification": "owned by the audit trail; renamed with its verifier",
    "ValidationOutcome": "owned by the harness, restructured there",
    "Protocol": "a parsed protocol (configuration)",
    "Manifest": "a parsed test-set manifest (input data)",
    "LockState": "the lock state of a protocol (harness)",
    "Signer": "an entry of the signer registry",
    "SignerRegistry": "the signer registry (configuration)",
    "EnrolledSigner": "a new signer and its key files",
    "ChunkedStreams": "a bootstrap random-stream specification (an rng argument), not a result",
    **{name: "a typed protocol object (configuration)" for name in (
        "Acceptance", "Bootstrap", "Device", "Endpoint", "Normalised", "Score", "SubgroupVariable", "Subgroups",
        "Truth", "UndefinedRule")},
}

DEPRECATED = [
    ("clinical_eval.mrmc", "Comparison", "ComparisonResult"),
    ("clinical_eval.mrmc", "ModalityFom", "ModalityFomResult"),
    ("clinical_eval.mrmc", "ReaderComparison", "ReaderComparisonResult"),
    ("validation.stats", "AdjustedPValues", "AdjustedPValuesResult"),
    ("validation.stats", "DiagnosticAccuracy", "DiagnosticAccuracyResult"),
    ("validation.stats", "RocCurve", "RocCurveResult"),
    ("validation.metrics", "DetectionMatch", "DetectionMatchResult"),
    ("validation.metrics", "FROCCurve", "FROCCurveResult"),
    ("validation.metrics", "SurfaceDistances", "SurfaceDistancesResult"),
    ("validation.metrics", "SurfaceMetrics", "SurfaceMetricsResult"),
    ("validation.tracking", "RunCheck", "RunCheckResult"),
]


@pytest.mark.parametrize("package", PACKAGES)
def test_public_dataclasses_are_named_result(package: str) -> None:
    mod = importlib.import_module(package)
    bad = [name for name in getattr(mod, "__all__", ())
           if isinstance(obj := getattr(mod, name), type) and dataclasses.is_dataclass(obj)
           and not name.endswith("Result") and name not in NOT_RESULTS]
    assert not bad, f"{package}: result types not named ...Result: {bad}"


@pytest.mark.parametrize("package,old,new", DEPRECATED, ids=[d[1] for d in DEPRECATED])
def test_names_of_0_1_0_still_import_with_a_warning(package: str, old: str, new: str) -> None:
    mod = importlib.import_module(package)
    with pytest.warns(DeprecationWarning, match=new):
        obj = getattr(mod, old)
    assert obj is getattr(mod, new)
    assert old not in mod.__all__


def test_unknown_names_still_raise_attribute_error() -> None:
    import clinical_eval.mrmc
    import validation.stats

    for mod in (clinical_eval.mrmc, validation.stats):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(AttributeError):
                mod.NoSuchName  # noqa: B018


def test_fom_neutral_names_equal_the_auc_names(tmp_path: pathlib.Path) -> None:
    """`modality_fom`/`reader_fom` are the same objects as the contract names (Van Dyke data:
    AUC, and sensitivity of the ratings dichotomised at >= 3)."""
    import pandas as pd

    from clinical_eval.mrmc import analyze

    data = pathlib.Path(__file__).resolve().parent / "reference" / "mrmc" / "vandyke_long.csv"
    binary = tmp_path / "binary.csv"
    df = pd.read_csv(data)
    df.assign(rating=(df["rating"] >= 3).astype(int)).to_csv(binary, index=False)
    for fom, path in (("auc", data), ("sensitivity", binary)):
        res = analyze(str(path), fom=fom)
        assert res.modality_fom is res.modality_auc and res.reader_fom is res.reader_auc
        assert "modality_fom" not in res.to_dict()  # the JSON keeps its 0.1.0 keys
