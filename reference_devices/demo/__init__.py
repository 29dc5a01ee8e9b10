"""The end-to-end example device (``samd demo``): from a sequestered test cohort to the documents."""

from reference_devices.demo._digest import VOLATILE_RESULT_KEYS, stable_result_sha256
from reference_devices.demo._run import DemoResult, run_demo
from reference_devices.demo._steps import (
    READER_STUDY_SEED,
    TEST_COHORT_SEED,
    sign_off,
    verification_tests,
    write_protocol,
    write_reader_study,
)

__all__ = [
    "READER_STUDY_SEED",
    "TEST_COHORT_SEED",
    "VOLATILE_RESULT_KEYS",
    "DemoResult",
    "run_demo",
    "sign_off",
    "stable_result_sha256",
    "verification_tests",
    "write_protocol",
    "write_reader_study",
]
