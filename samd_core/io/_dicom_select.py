"""Choose the frames of one image series among the files of a folder."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from samd_core.errors import DicomError
from samd_core.io._dicom_header import FrameHeader, sop_class_name
from samd_core.io._errors import MultipleSeriesError, NonImageObjectError

__all__ = ["is_excluded_image", "select_series"]


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
    h = frames[0]
    n_files = len({f.path for f in frames})
    return (
        f"{uid} (SeriesNumber {h.series_number or '?'}, {h.modality or '?'}, "
        f"'{h.series_description}', {n_files} file(s), e.g. {h.path.name})"
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
    if non_image:
        listed = "; ".join(f"{h.path.name} ({sop_class_name(h.sop_class)})" for h in non_image[:5])
        more = f" and {len(non_image) - 5} more" if len(non_image) > 5 else ""
        raise NonImageObjectError(
            f"{folder}: non-image DICOM objects are mixed in with the images: {listed}{more}. "
            "Move them out of the folder or pass `series_uid` to read only the image series."
        )
    by_series: dict[str, list[FrameHeader]] = defaultdict(list)
    for h in headers:
        by_series[h.series_uid].append(h)
    if not by_series:
        raise DicomError(f"{folder}: no DICOM image files found")
    ordered = sorted(by_series.items(), key=lambda kv: (_series_number(kv[1][0].series_number), kv[0]))
    listing = "; ".join(_describe(uid, frames) for uid, frames in ordered)
    if series_uid is None:
        if len(by_series) > 1:
            raise MultipleSeriesError(
                f"{folder}: holds {len(by_series)} image series; pass `series_uid` to choose one of: {listing}",
                sorted(by_series),
            )
        (series_uid,) = by_series
    elif series_uid not in by_series:
        raise MultipleSeriesError(
            f"{folder}: `series_uid` {series_uid!r} not found; the folder holds: {listing}", sorted(by_series)
        )
    frames = by_series[series_uid]
    kept = [h for h in frames if not is_excluded_image(h)]
    if not kept:
        image_type = "\\".join(frames[0].image_type)
        raise DicomError(
            f"{folder}: series {series_uid} holds only localizer or derived projection images "
            f"({len(frames)} frame(s), ImageType {image_type}); nothing to stack"
        )
    return kept, len(frames) - len(kept)
