"""Identity of the algorithm that made a prediction, as written into DICOM objects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from samd_core._version import __version__
from samd_core.errors import InvalidParameterError

__all__ = ["AlgorithmIdentity"]

_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class AlgorithmIdentity:
    """Bundle name, version and manifest SHA-256, its classes and declared segmentation type.

    Attributes
    ----------
    name, version : str
        The locked bundle's name and version.
    manifest_sha256 : str
        SHA-256 of the bundle's ``manifest.json`` (pins every byte of the bundle).
    output_classes : tuple of str
        Class names, background first; one SEG segment per non-background class.
    segmentation_type : {"binary", "fractional"}
        SEG type: the label map, or the probability map as FRACTIONAL/PROBABILITY.
    """

    name: str
    version: str
    manifest_sha256: str
    output_classes: tuple[str, ...]
    segmentation_type: Literal["binary", "fractional"] = "binary"

    def __post_init__(self) -> None:
        if not _SHA.match(self.manifest_sha256):
            raise InvalidParameterError("manifest_sha256", "AlgorithmIdentity", "64 lowercase hex digits",
                                        self.manifest_sha256)
        if self.segmentation_type not in ("binary", "fractional"):
            raise InvalidParameterError("segmentation_type", "AlgorithmIdentity", "'binary' or 'fractional'",
                                        self.segmentation_type, ("binary", "fractional"))
        if len(self.output_classes) < 2:
            raise InvalidParameterError("output_classes", "AlgorithmIdentity",
                                        "background and at least one class", self.output_classes)

    @classmethod
    def from_model(cls, model: Any) -> AlgorithmIdentity:
        """From a `samd_core.bundle.LockedModel`; the segmentation type is the one its settings
        declare (``segmentation_type``), binary when they declare none."""
        settings = getattr(model, "settings", None)
        if settings is not None:  # samd-bundle/1: one lesion class
            classes = tuple(settings.output_classes)
            seg_type = getattr(settings, "segmentation_type", "binary")
        else:  # samd-bundle/2: the task's classes, in output-channel order
            classes = tuple(str(c) for c in model.task.classes)
            seg_type = "binary"
        return cls(name=str(model.name), version=str(model.version), manifest_sha256=str(model.manifest_sha256),
                   output_classes=classes, segmentation_type=seg_type)

    @property
    def software_versions(self) -> str:
        """``samd_core <version>`` (the code that wrote the object)."""
        return f"samd_core {__version__}"
