"""Multi-reader multi-case (MRMC) ROC analysis: Obuchowski-Rockette and DBM with Hillis df."""

from clinical_eval.mrmc._analyze import CONVENTIONS, analyze
from clinical_eval.mrmc._data import MrmcData, as_mrmc_data, read_imrmc, read_mrmc_csv
from clinical_eval.mrmc._report import report_text
from clinical_eval.mrmc._result import Comparison, ModalityFom, MrmcResult, ReaderComparison
from clinical_eval.mrmc._standalone import StandaloneResult, non_inferiority, standalone_vs_readers
from clinical_eval.mrmc._track import EXPERIMENT, REPORT_FILE, RESULT_FILE, track_mrmc

__all__ = [
    "CONVENTIONS",
    "EXPERIMENT",
    "REPORT_FILE",
    "RESULT_FILE",
    "Comparison",
    "ModalityFom",
    "MrmcData",
    "MrmcResult",
    "ReaderComparison",
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
