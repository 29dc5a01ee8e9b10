"""Multi-reader multi-case (MRMC) ROC analysis: Obuchowski-Rockette and DBM with Hillis df."""

from clinical_eval.mrmc._analyze import CONVENTIONS, analyze
from clinical_eval.mrmc._data import MrmcData, as_mrmc_data, read_imrmc, read_mrmc_csv
from clinical_eval.mrmc._report import report_text
from clinical_eval.mrmc._result import ComparisonResult, ModalityFomResult, MrmcResult, ReaderComparisonResult
from clinical_eval.mrmc._standalone import StandaloneResult, non_inferiority, standalone_vs_readers
from clinical_eval.mrmc._track import EXPERIMENT, REPORT_FILE, RESULT_FILE, track_mrmc

__all__ = [
    "CONVENTIONS",
    "EXPERIMENT",
    "REPORT_FILE",
    "RESULT_FILE",
    "ComparisonResult",
    "ModalityFomResult",
    "MrmcData",
    "MrmcResult",
    "ReaderComparisonResult",
    "StandaloneResult",
    "analyze",
    "as_mrmc_data",
    "non_inferiority",
    "read_imrmc",
    "read_mrmc_csv",
    "report_text",
    "standalone_vs_readers",
    "track_mrmc",
]

#: Names of release 0.1.0, importable until 1.0 with a DeprecationWarning.
_DEPRECATED = {"Comparison": "ComparisonResult", "ModalityFom": "ModalityFomResult",
               "ReaderComparison": "ReaderComparisonResult"}


def __getattr__(name: str) -> object:
    if name in _DEPRECATED:
        import warnings

        new = _DEPRECATED[name]
        warnings.warn(f"clinical_eval.mrmc.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
