"""Choose the frames of one image series among the files of a folder."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from samd_core.errors import DicomError
from samd_core.io._dicom_header import PROJECTION_SOP_CLASSES, FrameHeader, sop_class_name
from samd_core.io._dicom_tags import PIXEL_MODULE_KEYWORDS, safe_uid, tag_name, tag_text
from samd_core.io._errors import MultipleSeriesError, NonImageObjectError

__all__ = ["check_same_subject", "is_excluded_image", "select_series"]


def is_excluded_image(h: FrameHeader) -> bool:
    """True for localizers (ImageType LOCALIZER) and derived projections (DERIVED + *PROJECTION*)."""
    t = h.image_type
    return "LOCALIZER" in t or ("DERIVED" in t and any("PROJECTION" in v for v in t))


def _series_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def _describe(uid: str, frames: list[FrameHeader]) -> str:
    """UID, SeriesNumber, modality and counts only: SeriesDescription and file names may identify."""
    h = frames[0]
    n_files = len({f.path for f in frames})
    number = h.series_number if _series_number(h.series_number) != float("inf") else "?"
    modality = h.modality if h.modality.replace("_", "").isalnum() and len(h.modality) <= 16 else "?"
    return f"{safe_uid(uid)} (SeriesNumber {number}, {modality or '?'}, {n_files} file(s), e.g. {h.where})"


#: Attributes that must be equal on every frame of a series: the pixel module (else values are
#: decoded differently per slice) and the subject (else slices of two patients, studies or
#: frames of reference would be stacked).
CONSISTENT_KEYWORDS: tuple[str, ...] = (
    *PIXEL_MODULE_KEYWORDS,
    "PatientID",
    "StudyInstanceUID",
    "FrameOfReferenceUID",
)


def check_same_subject(frames: list[FrameHeader]) -> None:
    """Refuse a series whose frames differ in a `CONSISTENT_KEYWORDS` attribute.

    The message names the attribute and two files (index and SOPInstanceUID); it quotes the
    values only for pixel-module attributes (numbers and coded strings), never for PatientID
    or UIDs.
    """
    by_file: dict[object, FrameHeader] = {}
    for h in frames:
        by_file.setdefault(h.path, h)
    files = list(by_file.values())
    if len(files) < 2:
        return
    for keyword in CONSISTENT_KEYWORDS:
        first = tag_text(files[0].dataset, keyword)
        for h in files[1:]:
            value = tag_text(h.dataset, keyword)
            if value != first:
                shown = f" ({first!r} vs {value!r})" if keyword in PIXEL_MODULE_KEYWORDS else ""
                raise DicomError(
                    f"{tag_name(keyword)} differs between {files[0].where} and {h.where}{shown}: "
                    "these slices do not belong to one image series"
                )


def select_series(
    headers: list[FrameHeader], folder: Path, series_uid: str | None
) -> tuple[list[FrameHeader], int]:
    """Frames of the one image series to read, and how many localizer/projection frames were dropped.

    Raises
    ------
    NonImageObjectError
        Non-image objects (SR, SEG, RTSTRUCT, ...) in the folder when no ``series_uid`` is given,
        or in the requested series.
    MultipleSeriesError
        Several image series and no ``series_uid``, or ``series_uid`` not present.
    DicomError
        No image file at all, or only localizers / derived projections in the series.
    """
    non_image = [h for h in headers if not h.is_image]
    if series_uid is not None:
        non_image = [h for h in non_image if h.series_uid == series_uid]
    projections = [h for h in non_image if h.sop_class in PROJECTION_SOP_CLASSES]
    if projections:
        listed = "; ".join(f"{h.where} ({sop_class_name(h.sop_class)})" for h in projections[:5])
        more = f" and {len(projections) - 5} more" if len(projections) > 5 else ""
        raise NonImageObjectError(
            f"single-frame projection or photographic images are in the folder: {listed}{more}. "
            "They are not slices of a volume: read each file with `read_dicom_image`."
        )
    if non_image:
        listed = "; ".join(f"{h.where} ({sop_class_name(h.sop_class)})" for h in non_image[:5])
        more = f" and {len(non_image) - 5} more" if len(non_image) > 5 else ""
        raise NonImageObjectError(
            f"non-image DICOM objects are mixed in with the images: {listed}{more}. "
            "Move them out of the folder or pass `series_uid` to read only the image series."
        )
    by_series: dict[str, list[FrameHeader]] = defaultdict(list)
    for h in headers:
        by_series[h.series_uid].append(h)
    if not by_series:
        raise DicomError("no DICOM image files found in the folder")
    ordered = sorted(by_series.items(), key=lambda kv: (_series_number(kv[1][0].series_number), kv[0]))
    listing = "; ".join(_describe(uid, frames) for uid, frames in ordered)
    if series_uid is None:
        if len(by_series) > 1:
            raise MultipleSeriesError(
                f"the folder holds {len(by_series)} image series; pass `series_uid` to choose one of: {listing}",
                sorted(by_series),
            )
        (series_uid,) = by_series
    elif series_uid not in by_series:
        raise MultipleSeriesError(
            f"`series_uid` {safe_uid(series_uid)!r} not found; the folder holds: {listing}", sorted(by_series)
        )
    frames = by_series[series_uid]
    kept = [h for h in frames if not is_excluded_image(h)]
    if not kept:
        image_type = "\\".join(v for v in frames[0].image_type if v.replace("_", "").isalnum())
        raise DicomError(
            f"series {safe_uid(series_uid)} holds only localizer or derived projection images "
            f"({len(frames)} frame(s), ImageType {image_type}); nothing to stack"
        )
    check_same_subject(kept)
    return kept, len(frames) - len(kept)
