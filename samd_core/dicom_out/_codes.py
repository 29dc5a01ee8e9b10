"""Coded concepts for the segment classes of samd bundles (SNOMED CT, as in DICOM CID 7150/7151)."""

from __future__ import annotations

from typing import Any

from samd_core.errors import InvalidParameterError

__all__ = ["CLASS_CODES", "LOCAL_SCHEME", "class_codes"]

#: class name -> (category (CID 7150), type) as (code value, scheme, meaning) triples.
CLASS_CODES: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    "nodule": (("49755003", "SCT", "Morphologically abnormal structure"), ("27925004", "SCT", "Nodule")),
    "lesion": (("49755003", "SCT", "Morphologically abnormal structure"), ("52988006", "SCT", "Lesion")),
    "mass": (("49755003", "SCT", "Morphologically abnormal structure"), ("4147007", "SCT", "Mass")),
}


#: Private coding scheme (DICOM PS3.3 8.2: designators starting "99" are local) for class names
#: without a standard code; CID 7150 category "Finding" (SNOMED CT 404684003) is used with it.
LOCAL_SCHEME = "99SAMD"
_FINDING = ("404684003", "SCT", "Finding")


def class_codes(name: str) -> tuple[Any, Any]:
    """``(category, type)`` as highdicom `CodedConcept` for a bundle's output class name.

    Known names (`CLASS_CODES`) get SNOMED CT codes. Any other name gets category "Finding"
    (SCT 404684003) and a type in the local scheme `LOCAL_SCHEME` whose code value is the name
    upper-cased to letters, digits and ``_`` (at most 16 characters) and whose meaning is the name.
    """
    import re

    from highdicom.sr import CodedConcept

    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise InvalidParameterError("output_classes", "write_dicom_seg", "class names of 1 to 64 characters", name)
    key = name.strip().lower()
    if key in CLASS_CODES:
        cat, typ = CLASS_CODES[key]
        return CodedConcept(*cat), CodedConcept(*typ)
    value = re.sub(r"[^A-Z0-9_]", "_", name.strip().upper())[:16]
    return CodedConcept(*_FINDING), CodedConcept(value, LOCAL_SCHEME, name.strip())
