"""Coded concepts for the segment classes of samd bundles (SNOMED CT, as in DICOM CID 7150/7151)."""

from __future__ import annotations

from typing import Any

from samd_core.errors import InvalidParameterError

__all__ = ["CLASS_CODES", "class_codes"]

#: class name -> (category (CID 7150), type) as (code value, scheme, meaning) triples.
CLASS_CODES: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    "nodule": (("49755003", "SCT", "Morphologically abnormal structure"), ("27925004", "SCT", "Nodule")),
    "lesion": (("49755003", "SCT", "Morphologically abnormal structure"), ("52988006", "SCT", "Lesion")),
    "mass": (("49755003", "SCT", "Morphologically abnormal structure"), ("4147007", "SCT", "Mass")),
}


def class_codes(name: str) -> tuple[Any, Any]:
    """``(category, type)`` as highdicom `CodedConcept` for a bundle's output class name."""
    from highdicom.sr import CodedConcept

    key = name.strip().lower()
    if key not in CLASS_CODES:
        raise InvalidParameterError("output_classes", "write_dicom_seg",
                                    f"class names with a SNOMED CT code, one of {sorted(CLASS_CODES)}", name,
                                    sorted(CLASS_CODES))
    cat, typ = CLASS_CODES[key]
    return CodedConcept(*cat), CodedConcept(*typ)
