"""DICOM Segmentation (SEG) of a prediction, with highdicom."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from samd_core.dicom_out._codes import class_codes
from samd_core.dicom_out._identity import AlgorithmIdentity
from samd_core.io import derive_uid

__all__ = ["SEG_SERIES_NUMBER", "build_dicom_seg", "write_dicom_seg"]

SEG_SERIES_NUMBER = 901


def build_dicom_seg(prediction: Any, sources: list[Any], identity: AlgorithmIdentity) -> Any:
    """A highdicom `Segmentation` of ``prediction`` on its source images.

    One segment per non-background class (coded category and type, `CLASS_CODES`), algorithm
    identification = bundle name, version and manifest SHA-256 (as an algorithm parameter);
    BINARY from the label map or FRACTIONAL/PROBABILITY from the probability map, as
    ``identity.segmentation_type`` declares. Every source frame is kept (also empty ones), so
    the SEG alone defines its grid. Patient and Study modules come from the sources (highdicom
    copies them; nothing else is copied). UIDs derive from the source series and the bundle,
    so the same inputs give the same UIDs.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    algo = hd.AlgorithmIdentificationSequence(
        name=identity.name, version=identity.version, family=codes.cid7162.ArtificialIntelligence,
        source="samd locked bundle", parameters={"bundle_manifest_sha256": identity.manifest_sha256})
    descs = []
    for i, cls in enumerate(identity.output_classes[1:], start=1):
        cat, typ = class_codes(cls)
        descs.append(hd.seg.SegmentDescription(
            segment_number=i, segment_label=cls, segmented_property_category=cat, segmented_property_type=typ,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC, algorithm_identification=algo,
            tracking_uid=derive_uid("2.25.", identity.manifest_sha256, "segment", cls),
            tracking_id=f"{cls} (samd {identity.name} {identity.version})"))
    label = np.asarray(prediction.label.array)
    if identity.segmentation_type == "binary":
        pixels = np.stack([(label == i) for i in range(1, len(identity.output_classes))], axis=-1).astype(np.uint8)
        seg_type = hd.seg.SegmentationTypeValues.BINARY
    else:
        prob = np.asarray(prediction.probability.array, dtype=np.float32)
        pixels = prob[..., None] if prob.ndim == 3 else prob
        seg_type = hd.seg.SegmentationTypeValues.FRACTIONAL
    series_uid = str(sources[0].SeriesInstanceUID)
    seed = f"{series_uid}/{identity.manifest_sha256}"
    return hd.seg.Segmentation(
        source_images=sources, pixel_array=pixels, segmentation_type=seg_type, segment_descriptions=descs,
        series_instance_uid=derive_uid("2.25.", seed, "seg-series"), series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=derive_uid("2.25.", seed, "seg-instance"), instance_number=1,
        manufacturer="samd", manufacturer_model_name=identity.name[:64],
        software_versions=identity.software_versions, device_serial_number=identity.manifest_sha256,
        content_description=f"{identity.name} {identity.version}"[:64], content_label="SAMD_SEG",
        omit_empty_frames=False, max_fractional_value=255)


def write_dicom_seg(prediction: Any, sources: list[Any], path: str | os.PathLike[str], *,
                    identity: AlgorithmIdentity) -> Path:
    """Write ``prediction`` as DICOM SEG ``path`` referencing its source images.

    Parameters
    ----------
    prediction : samd_core.bundle.Prediction
        Output of ``LockedModel.predict`` on the volume read from the source series.
    sources : list of pydicom.Dataset
        The source images in slice order (`source_datasets`).
    path : path
        Output file (``seg.dcm``).
    identity : AlgorithmIdentity
        The bundle that made the prediction (`AlgorithmIdentity.from_model`).
    """
    seg = build_dicom_seg(prediction, sources, identity)
    out = Path(path)
    seg.save_as(out)
    return out
