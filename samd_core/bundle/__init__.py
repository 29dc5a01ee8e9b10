"""Locked model bundles: write, verify, load immutably, predict.

A bundle is a directory of plain files (JSON, safetensors, Markdown) listed with their SHA-256
in ``manifest.json`` and optionally signed (Ed25519). `load_locked` verifies every byte and the
core code fingerprint before it builds anything. See ``docs/bundle.md``.
"""

from samd_core.bundle._create import create_bundle
from samd_core.bundle._domain import DOMAIN_KEYS, InputDomain
from samd_core.bundle._locked import BUNDLE_FORMAT, REQUIRED_FILES, LockedModel, load_locked
from samd_core.bundle._manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    canonical_json,
    read_verified_files,
    sign_manifest,
    write_manifest,
)
from samd_core.bundle._network import build_bundle_network
from samd_core.bundle._prediction import Lesion, Prediction
from samd_core.bundle._preprocess import ResampleClipScale
from samd_core.bundle._reference import decode_goldens, decode_reference_inputs, platform_id
from samd_core.bundle._settings import CASE_SCORE_RULES, InferenceSettings
from samd_core.bundle._task import InputSpec, TaskSpec
from samd_core.bundle._task_model import BUNDLE_FORMAT_V2, LockedTaskModel
from samd_core.bundle._training_set import (
    OVERLAP_KINDS,
    TRAINING_SET_FORMAT,
    TRAINING_SET_NAME,
    TrainingSet,
    case_identifiers,
    training_set_from_spec,
)
from samd_core.bundle._writer import write_bundle, write_goldens
from samd_core.bundle.errors import (
    BundleError,
    BundleIntegrityError,
    InputDomainError,
    LockedModelError,
    PredictionError,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_V2",
    "BundleError",
    "BundleIntegrityError",
    "CASE_SCORE_RULES",
    "DOMAIN_KEYS",
    "InferenceSettings",
    "InputDomain",
    "InputDomainError",
    "InputSpec",
    "Lesion",
    "LockedModel",
    "LockedModelError",
    "LockedTaskModel",
    "MANIFEST_NAME",
    "OVERLAP_KINDS",
    "Prediction",
    "PredictionError",
    "REQUIRED_FILES",
    "ResampleClipScale",
    "SIGNATURE_NAME",
    "TRAINING_SET_FORMAT",
    "TRAINING_SET_NAME",
    "TaskSpec",
    "TrainingSet",
    "build_bundle_network",
    "canonical_json",
    "case_identifiers",
    "create_bundle",
    "decode_goldens",
    "decode_reference_inputs",
    "load_locked",
    "platform_id",
    "read_verified_files",
    "sign_manifest",
    "training_set_from_spec",
    "write_bundle",
    "write_goldens",
    "write_manifest",
]
