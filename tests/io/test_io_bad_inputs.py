"""Bad-input corpus: each malformed or inconsistent series/file gives its documented error.

Every case asserts the error class *and* the message content (file, measured values).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
import pytest
from pydicom.data import get_testdata_file

from samd_core import Volume
from samd_core.errors import DicomError, InvalidParameterError
from samd_core.io import (
    DicomReadError,
    GantryTiltError,
    MixedGeometryError,
    MultipleSeriesError,
    NonImageObjectError,
    SliceSpacingError,
    read_dicom_series,
    write_dicom_series,
)
from tests.io.io_factory import enhanced_ct

TESTDATA = Path(get_testdata_file("CT_small.dcm", download=False)).parent


def _vol(n: int = 6) -> Volume:
    arr = np.random.default_rng(3).integers(-1000, 1500, size=(n, 10, 12)).astype(np.int16)
    return Volume(arr, (2.0, 0.7, 0.7), (-20.0, -30.0, 5.0))


def _series(folder: Path, **kw: object) -> list[Path]:
    return write_dicom_series(_vol(), folder, **kw)  # type: ignore[arg-type]


def _edit(path: Path, fn: Callable[[pydicom.Dataset], None]) -> None:
    ds = pydicom.dcmread(path)
    fn(ds)
    ds.save_as(path)


def _real(rel: str) -> Path:
    return Path(get_testdata_file(rel, download=False)).parent


def _copy_real(dst: Path, name: str) -> None:
    shutil.copy(get_testdata_file(name, download=False), dst / name)


# Each builder fills ``d`` (an empty folder) and returns (folder to read, kwargs).
def b_empty(d: Path):
    return d, {}


def b_missing_folder(d: Path):
    return d / "does-not-exist", {}


def b_text_file(d: Path):
    _series(d)
    (d / "notes.txt").write_text("this is not DICOM\n")
    return d, {}


def b_zero_bytes(d: Path):
    _series(d)
    (d / "empty.dcm").write_bytes(b"")
    return d, {}


def b_truncated_header(d: Path):
    files = _series(d)
    files[2].write_bytes(files[2].read_bytes()[:300])
    return d, {}


def b_truncated_pixels(d: Path):
    files = _series(d)
    files[3].write_bytes(files[3].read_bytes()[:-50])
    return d, {}


def b_short_pixeldata(d: Path):
    files = _series(d)
    _edit(files[1], lambda ds: setattr(ds, "PixelData", ds.PixelData[:100]))
    return d, {}


def b_corrupt_rle(d: Path):
    files = _series(d, transfer_syntax="rle")

    def garble(ds: pydicom.Dataset) -> None:
        # one RLE segment where 16-bit data needs two: a structurally invalid frame
        header = (1).to_bytes(4, "little") + (64).to_bytes(4, "little") + bytes(56)
        ds.PixelData = encapsulate([header + b"\x7f" + bytes(128)])

    _edit(files[0], garble)
    return d, {}


def b_real_truncated_mr(d: Path):
    _copy_real(d, "MR_truncated.dcm")
    return d, {}


def b_two_series(d: Path):
    _series(d, series_number=1, file_name="A{index}.dcm")
    _series(d, series_number=2, file_name="B{index}.dcm")
    return d, {}


def b_unknown_series_uid(d: Path):
    _series(d)
    return d, {"series_uid": "1.2.3.4"}


def b_missing_slice(d: Path):
    files = _series(d)
    files[3].unlink()
    return d, {}


def b_duplicate_position(d: Path):
    files = _series(d)
    ds = pydicom.dcmread(files[2])
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.999"
    ds.save_as(d / "copy.dcm")
    return d, {}


def b_mixed_orientation(d: Path):
    files = _series(d)
    _edit(files[4], lambda ds: setattr(ds, "ImageOrientationPatient", [0, 1, 0, 0, 0, -1]))
    return d, {}


def b_mixed_size(d: Path):
    files = _series(d)

    def shrink(ds: pydicom.Dataset) -> None:
        ds.Columns = 11
        ds.PixelData = ds.PixelData[: 10 * 11 * 2]

    _edit(files[1], shrink)
    return d, {}


def b_mixed_pixel_spacing(d: Path):
    files = _series(d)
    _edit(files[0], lambda ds: setattr(ds, "PixelSpacing", [0.8, 0.8]))
    return d, {}


def b_missing_ipp(d: Path):
    files = _series(d)
    _edit(files[5], lambda ds: delattr(ds, "ImagePositionPatient"))
    return d, {}


def b_non_orthonormal_iop(d: Path):
    files = _series(d)
    for f in files:
        _edit(f, lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 0.5, 0.5, 0]))
    return d, {}


def b_not_on_a_line(d: Path):
    files = _series(d)

    def move(ds: pydicom.Dataset) -> None:
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x + 5.0, y, z]

    _edit(files[2], move)
    return d, {}


def b_sr_mixed_in(d: Path):
    _series(d)
    _copy_real(d, "test-SR.dcm")
    return d, {}


def b_rtstruct_mixed_in(d: Path):
    _series(d)
    _copy_real(d, "rtstruct.dcm")
    return d, {}


def b_seg_mixed_in(d: Path):
    _series(d)
    _copy_real(d, "liver_1frame.dcm")
    return d, {}


def b_tilt(d: Path):
    write_dicom_series(_vol(), d, gantry_tilt_deg=12.0)
    return d, {}


def b_real_ct2_gap(d: Path):
    return _real("dicomdirtests/77654033/CT2/17106"), {}


def b_real_localizers_only(d: Path):
    return _real("dicomdirtests/98892001/CT2N/6293"), {}


def b_real_projections_only(d: Path):
    return _real("dicomdirtests/98892003/MR700/4467"), {}


def b_real_three_series(d: Path):
    return _real("dicomdirtests/98892003/MR2/4950"), {}


def b_real_triplanar(d: Path):
    folder = _real("dicomdirtests/98892003/MR2/4950")
    uid = str(pydicom.dcmread(folder / "4950", stop_before_pixels=True).SeriesInstanceUID)
    return folder, {"series_uid": uid}


def b_enhanced_without_geometry(d: Path):
    enhanced_ct(_vol(), d / "enh.dcm", geometry=False)
    return d, {}


def b_legacy_multiframe(d: Path):
    files = _series(d)
    for f in files[1:]:
        f.unlink()

    def two_frames(ds: pydicom.Dataset) -> None:
        ds.NumberOfFrames = 2
        ds.PixelData = ds.PixelData * 2

    _edit(files[0], two_frames)
    return d, {}


def b_bad_tilt_option(d: Path):
    _series(d)
    return d, {"tilt": "deshere"}


def b_bad_workers(d: Path):
    _series(d)
    return d, {"max_workers": 0}


def b_colour(d: Path):
    files = _series(d)
    for f in files:

        def rgb(ds: pydicom.Dataset) -> None:
            ds.SamplesPerPixel = 3
            ds.PlanarConfiguration = 0
            ds.PhotometricInterpretation = "RGB"
            ds.BitsAllocated = ds.BitsStored = 8
            ds.HighBit = 7
            ds.PixelRepresentation = 0
            ds.PixelData = bytes(10 * 12 * 3)

        _edit(f, rgb)
    return d, {}


CORPUS = [
    ("empty-folder", b_empty, DicomError, r"no files to read"),
    ("missing-folder", b_missing_folder, InvalidParameterError, r"`folder` of `read_dicom_series` must be an existing directory"),
    ("text-file", b_text_file, DicomReadError, r"^file 6: not a DICOM file"),
    ("zero-bytes", b_zero_bytes, DicomReadError, r"^file 6: "),
    ("truncated-header", b_truncated_header, DicomReadError, r"^file 2: incomplete DICOM file"),
    ("truncated-pixels", b_truncated_pixels, DicomReadError, r"^file 3 \(SOPInstanceUID [0-9.]+\): PixelData holds 190 bytes but Rows 10 x Columns 12 x 1 frame\(s\) x 1 sample\(s\) x 16 bits need 240 \(truncated"),
    ("short-pixeldata", b_short_pixeldata, DicomReadError, r"^file 1 \(SOPInstanceUID [0-9.]+\): PixelData holds 100 bytes but Rows 10 x Columns 12 x 1 frame\(s\) x 1 sample\(s\) x 16 bits need 240"),
    ("corrupt-rle", b_corrupt_rle, DicomReadError, r"^file 0 \(SOPInstanceUID [0-9.]+\): cannot decode pixel data"),
    ("real-MR_truncated", b_real_truncated_mr, DicomReadError, r"^file 0 \(SOPInstanceUID [0-9.]+\): PixelData holds 8130 bytes"),
    ("two-series", b_two_series, MultipleSeriesError, r"holds 2 image series; pass `series_uid`.*SeriesNumber 1.*SeriesNumber 2"),
    ("unknown-series-uid", b_unknown_series_uid, MultipleSeriesError, r"`series_uid` '1\.2\.3\.4' not found"),
    ("missing-slice", b_missing_slice, SliceSpacingError, r"median step 2 mm .* but 4 mm between file 2 \(SOPInstanceUID [0-9.]+\) \(at 9\.0000 mm\) and file 3 \(SOPInstanceUID [0-9.]+\) \(at 13\.0000 mm\)"),
    ("duplicate-position", b_duplicate_position, SliceSpacingError, r"share a position along the slice normal, e\.g\. file 2 \(SOPInstanceUID [0-9.]+\) and file 6 \(SOPInstanceUID 1\.2\.3\.999\)"),
    ("mixed-orientation", b_mixed_orientation, MixedGeometryError, r"different orientations.*in 1 frame\(s\), e\.g\. file 4 \(SOPInstanceUID"),
    ("mixed-size", b_mixed_size, MixedGeometryError, r"different Rows x Columns: 10x12 in 5 frame\(s\).*10x11 in 1 frame\(s\), e\.g\. file 1 \(SOPInstanceUID"),
    ("mixed-pixel-spacing", b_mixed_pixel_spacing, MixedGeometryError, r"different PixelSpacing.*\(0\.8, 0\.8\) in 1 frame\(s\), e\.g\. file 0 \(SOPInstanceUID"),
    ("missing-ipp", b_missing_ipp, MixedGeometryError, r"^file 5 \(SOPInstanceUID [0-9.]+\) has no ImagePositionPatient \(0020,0032\)"),
    ("non-orthonormal-iop", b_non_orthonormal_iop, MixedGeometryError, r"not two orthonormal vectors: \[1\.0, 0\.0, 0\.0, 0\.5, 0\.5, 0\.0\]"),
    ("not-on-a-line", b_not_on_a_line, MixedGeometryError, r"do not lie on one line: file 2 \(SOPInstanceUID [0-9.]+\) is 5\.000 mm"),
    ("sr-mixed-in", b_sr_mixed_in, NonImageObjectError, r"file 6 \(SOPInstanceUID [0-9.]+\) \(Comprehensive SR Storage\)"),
    ("rtstruct-mixed-in", b_rtstruct_mixed_in, NonImageObjectError, r"file 6 \(SOPInstanceUID [0-9.]+\) \(RT Structure Set Storage\)"),
    ("seg-mixed-in", b_seg_mixed_in, NonImageObjectError, r"file 6 \(SOPInstanceUID [0-9.]+\) \(Segmentation Storage\)"),
    ("tilt-12-degrees", b_tilt, GantryTiltError, r"tilted by 12\.000 degrees"),
    ("real-CT2-gap", b_real_ct2_gap, SliceSpacingError, r"median step 1\.25 mm .* but 202\.5 mm between file 0 \(SOPInstanceUID [0-9.]+\) \(at -99\.4800 mm\) and file 1"),
    ("real-CT2N-localizers", b_real_localizers_only, DicomError, r"only localizer or derived projection images \(2 frame\(s\), ImageType ORIGINAL\\PRIMARY\\LOCALIZER\)"),
    ("real-MR700-projections", b_real_projections_only, DicomError, r"only localizer or derived projection images \(7 frame"),
    ("real-MR2-three-series", b_real_three_series, MultipleSeriesError, r"holds 3 image series"),
    ("real-MR2-triplanar", b_real_triplanar, MixedGeometryError, r"different orientations"),
    ("enhanced-no-geometry", b_enhanced_without_geometry, MixedGeometryError, r"^file 0 \(SOPInstanceUID [0-9.]+\): enhanced multi-frame frame 1 of 6 has no geometry: missing PlanePositionSequence"),
    ("legacy-multiframe", b_legacy_multiframe, MixedGeometryError, r"^file 0 \(SOPInstanceUID [0-9.]+\) frame 1 has no ImagePositionPatient \(0020,0032\)"),
    ("bad-tilt-option", b_bad_tilt_option, InvalidParameterError, r"`tilt` of `read_dicom_series` must be one of 'refuse', 'deshear'; got 'deshere'; did you mean 'deshear'\?"),
    ("bad-max-workers", b_bad_workers, InvalidParameterError, r"`max_workers` of `read_dicom_series`"),
    ("colour", b_colour, DicomReadError, r"SamplesPerPixel is 3; only grey-scale"),
]


@pytest.mark.verifies("SRS-IO-006", "SRS-IO-007", "SRS-IO-008", "SRS-IO-009", "SRS-IO-010", "SRS-IO-011", "SRS-IO-012")
@pytest.mark.parametrize(("name", "build", "error", "pattern"), CORPUS, ids=[c[0] for c in CORPUS])
def test_io_bad_input_gives_documented_error(name, build, error, pattern, tmp_path: Path) -> None:
    d = tmp_path / name
    d.mkdir()
    folder, kwargs = build(d)
    with pytest.raises(error, match=pattern):
        read_dicom_series(folder, **kwargs)


def test_io_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20
