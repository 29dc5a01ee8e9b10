"""DICOM Comprehensive 3D SR (TID 1500 measurement report) of a prediction, with highdicom."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from samd_core.dicom_out._codes import class_codes
from samd_core.dicom_out._identity import AlgorithmIdentity
from samd_core.io import derive_uid

__all__ = ["SR_SERIES_NUMBER", "build_dicom_sr", "write_dicom_sr"]

SR_SERIES_NUMBER = 902
_NO_UNITS = ("1", "UCUM", "no units")


def build_dicom_sr(prediction: Any, sources: list[Any], identity: AlgorithmIdentity, *, seg: Any = None) -> Any:
    """A highdicom `Comprehensive3DSR` holding a TID 1500 measurement report of ``prediction``.

    - Case level (TID 1501, every bundle): the finding as a qualitative evaluation
      "<class> = Present/Absent" (SNOMED CT, from ``prediction.positive``) and the case score
      (``prediction.score``, SCT "Score", no units).
    - With ``seg`` (the `build_dicom_seg` dataset; segmentation bundles): one TID 1411
      volumetric group per lesion, largest first, referencing the class's SEG segment, with
      the lesion's volume (mm³) and equivalent diameter (mm), each tied to the lesion centre as
      an SCOORD3D point (LPS mm) in the source frame of reference.

    Every group carries the algorithm identification (bundle name, version, manifest SHA-256).
    Patient and Study modules come from the source images; the observer is the device (the
    bundle), never a person.
    """
    import highdicom as hd
    from highdicom.sr import CodedConcept
    from pydicom.sr.codedict import codes

    algo = hd.sr.AlgorithmIdentification(name=identity.name, version=identity.version,
                                         parameters=[f"bundle_manifest_sha256={identity.manifest_sha256}"])
    series_uid = str(sources[0].SeriesInstanceUID)
    seed = f"{series_uid}/{identity.manifest_sha256}"
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=derive_uid("2.25.", identity.manifest_sha256, "device"), name=identity.name[:64],
            manufacturer_name="samd", model_name=identity.version[:64], serial_number=identity.manifest_sha256))
    context = hd.sr.ObservationContext(observer_person_context=None, observer_device_context=observer)
    finding = codes.SCT.Present if bool(prediction.positive) else codes.SCT.Absent
    cat, typ = class_codes(identity.output_classes[1])
    case_group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=derive_uid("2.25.", seed, "case"), identifier="case"),
        algorithm_id=algo,
        measurements=[hd.sr.Measurement(name=codes.SCT.Score, value=float(prediction.score),
                                        unit=CodedConcept(*_NO_UNITS), algorithm_id=algo)],
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(name=typ, value=finding)])
    groups: list[Any] = [case_group]
    if seg is not None:
        frame_uid = str(sources[0].FrameOfReferenceUID)
        for i, les in enumerate(prediction.lesions, start=1):
            centre = hd.sr.CoordinatesForMeasurement3D(
                graphic_type=hd.sr.GraphicTypeValues3D.POINT, graphic_data=_point(les.centre_lps_mm),
                frame_of_reference_uid=frame_uid)
            ref = hd.sr.ReferencedSegment(sop_class_uid=str(seg.SOPClassUID), sop_instance_uid=str(seg.SOPInstanceUID),
                                          segment_number=1,
                                          source_series=hd.sr.SourceSeriesForSegmentation(series_uid))
            tracking = hd.sr.TrackingIdentifier(uid=derive_uid("2.25.", seed, "lesion", i), identifier=f"lesion {i}")
            volume = hd.sr.Measurement(name=codes.SCT.Volume, value=float(les.volume_mm3),
                                       unit=codes.UCUM.CubicMillimeter, algorithm_id=algo)
            diameter = hd.sr.Measurement(name=codes.SCT.Diameter, value=float(les.equivalent_diameter_mm),
                                         unit=codes.UCUM.Millimeter, algorithm_id=algo)
            groups.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=tracking, referenced_segment=ref, finding_type=typ, finding_category=cat,
                algorithm_id=algo, measurements=[volume, diameter]))
            # TID 1411 forbids coordinates on its measurements: the centre goes into a TID 1501
            # group of the same lesion (same tracking UID), as the centre of its equivalent sphere
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=tracking, finding_type=typ, finding_category=cat, algorithm_id=algo,
                measurements=[hd.sr.Measurement(name=codes.SCT.Diameter, value=float(les.equivalent_diameter_mm),
                                                unit=codes.UCUM.Millimeter, algorithm_id=algo,
                                                referenced_coordinates=[centre])]))
    report = hd.sr.MeasurementReport(observation_context=context, procedure_reported=codes.SCT.ImagingProcedure,
                                     imaging_measurements=groups)
    evidence = [*sources, *([seg] if seg is not None else [])]
    return hd.sr.Comprehensive3DSR(
        evidence=evidence, content=report[0], series_instance_uid=derive_uid("2.25.", seed, "sr-series"),
        series_number=SR_SERIES_NUMBER, sop_instance_uid=derive_uid("2.25.", seed, "sr-instance"),
        instance_number=1, manufacturer="samd", is_complete=True, is_final=False, is_verified=False)


def _point(lps: tuple[float, float, float]) -> Any:
    import numpy as np

    return np.asarray([lps], dtype=float)


def write_dicom_sr(prediction: Any, sources: list[Any], path: str | os.PathLike[str], *,
                   identity: AlgorithmIdentity, seg: Any = None) -> Path:
    """Write ``prediction`` as a Comprehensive 3D SR (TID 1500) ``path``; see `build_dicom_sr`.

    ``seg`` is the SEG dataset (or its file path) the lesion groups reference; without it only
    the case-level finding and score are reported.
    """
    if seg is not None and not hasattr(seg, "SOPInstanceUID"):
        import pydicom

        seg = pydicom.dcmread(seg)
    sr = build_dicom_sr(prediction, sources, identity, seg=seg)
    out = Path(path)
    sr.save_as(out)
    return out
