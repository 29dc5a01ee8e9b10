"""Every attribute the DICOM reader uses, fed bad values: a samd error naming file and tag, or no effect.

The table below covers `READER_TAGS` (the reader's declared list) and a source scan checks that
the reader's modules name no DICOM keyword outside that list: adding a tag to the reader
without a row here fails `test_io_reader_uses_only_tags_the_table_covers`.
"""

from __future__ import annotations

import ast
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

import samd_core.io as sio
from samd_core import Volume
from samd_core.errors import SamdError
from samd_core.io import read_dicom_series, write_dicom_series
from samd_core.io._dicom_tags import READER_TAGS, tag_name

IO_DIR = Path(sio.__file__).parent

#: Keywords the reader's source names that are not single attributes it parses (containers,
#: pixel data, file meta): each with the reason.
NOT_PARSED = {
    "SegmentationType": "DICOM SEG: parsed by highdicom (read_dicom_seg; tests/dicom_out bad-input cases)",
    "MaximumFractionalValue": "DICOM SEG: parsed by highdicom (read_dicom_seg)",
    "SegmentIdentificationSequence": "DICOM SEG: parsed by highdicom (read_dicom_seg)",
    "PixelData": "pixel bytes: length checked against the declared size (see test_io_resources)",
    "FloatPixelData": "only its presence is tested",
    "PerFrameFunctionalGroupsSequence": "container of the enhanced-frame attributes below",
    "SharedFunctionalGroupsSequence": "container",
    "PlanePositionSequence": "container of ImagePositionPatient",
    "PlaneOrientationSequence": "container of ImageOrientationPatient",
    "PixelMeasuresSequence": "container of PixelSpacing",
    "PixelValueTransformationSequence": "container of RescaleSlope/Intercept",
    "ModalityLUTSequence": "2-D images: checked by test_io_image (LUT sequence)",
    "VOILUTSequence": "2-D images: checked by test_io_image (VOI LUT sequence)",
    "LUTDescriptor": "2-D images: inside the LUT sequences",
    "LUTData": "2-D images: inside the LUT sequences",
    "TransferSyntaxUID": "file meta: chosen by pydicom's parser",
    "PresentationLUTShape": "2-D images: checked by test_io_image",
}

#: The bad values fed to each attribute, and what must happen. ``None`` as value deletes it.
#: expect: a regex the message must match, or "ok" (the volume must equal the clean read).
T = "{tag}"  # replaced with ``Keyword \(gggg,eeee\)``
F2 = r"file 2 \(SOPInstanceUID [0-9.]+\)"
DIFF = r"differs between file 0 \(SOPInstanceUID [0-9.]+\) and " + F2
TABLE: dict[str, list[tuple[bytes | None, str]]] = {
    "SOPClassUID": [(b"1.2.3", F2 + r" \(1\.2\.3\)"), (b"Smith^John", r"\(<malformed UID>\)")],
    "SOPInstanceUID": [(b"Smith^John", "ok"), (None, "ok")],
    "SeriesInstanceUID": [(b"1.2.3.4", r"holds 2 image series"), (b"Smith^John", r"<malformed UID>")],
    "StudyInstanceUID": [(b"1.2.3.4", T + " " + DIFF), (None, T + " " + DIFF)],
    "FrameOfReferenceUID": [(b"1.2.3.4", T + " " + DIFF), (None, T + " " + DIFF)],
    "PatientID": [(b"OTHER-PATIENT", T + " " + DIFF + r": these slices")],
    "SeriesNumber": [(b"abcd", "ok"), (b"nan", "ok")],
    "Modality": [(b"XX", "ok")],
    "ImageType": [(b"\xff\xfe", "ok")],
    "NumberOfFrames": [(b"abcd", F2 + ": " + T + " must be an integer"), (b"0 ", F2 + ": " + T), (b"-1", F2 + ": " + T),
                       (b"1.5 ", F2 + ": " + T)],
    "Rows": [(b"\x00\x00", F2 + ": " + T + " must be an integer in \\[1, 65535\\]"),
             (b"\x0b\x00", r"PixelData holds 240 bytes but Rows 11"), (b"\x0a", F2 + ": " + T)],
    "Columns": [(b"\x00\x00", F2 + ": " + T), (b"\xff\xff", r"PixelData holds 240 bytes but Rows 10 x Columns 65535")],
    "SamplesPerPixel": [(b"\x03\x00", F2 + ": " + T + " must be 1 for PhotometricInterpretation MONOCHROME2"),
                        (b"\x00\x00", F2 + ": " + T)],
    "PhotometricInterpretation": [(None, F2 + ": " + T + " must be one of .*got nothing"),
                                  (b"FOO ", F2 + ": " + T + r" must be one of .*got 'FOO'"),
                                  (b"MONOCHROME1 ", T + " " + DIFF + r" \('MONOCHROME2' vs 'MONOCHROME1'\)")],
    "BitsAllocated": [(b"\x0c\x00", F2 + ": " + T + " must be one of 1, 8, 16, 32, 64; got '12'"),
                      (b"\x08\x00", F2 + r": BitsStored \(0028,0101\) must be an integer in \[1, BitsAllocated = 8\]"),
                      (b"\x10", F2 + ": " + T)],
    "BitsStored": [(b"\x11\x00", F2 + ": " + T + r" must be an integer in \[1, BitsAllocated = 16\]; got '17'"),
                   (b"\x0c\x00", F2 + ": HighBit \\(0028,0102\\) must be BitsStored - 1 = 11")],
    "HighBit": [(b"\x03\x00", F2 + ": " + T + " must be BitsStored - 1 = 15; got '3'")],
    "PixelRepresentation": [(b"\x01\x00", T + " " + DIFF + r" \('0' vs '1'\)"), (b"\x02\x00", F2 + ": " + T)],
    "PlanarConfiguration": [(b"\x07\x00", "ok")],  # only read for colour 2-D images
    "ImagePositionPatient": [(b"1\\nan\\3 ", F2 + ": " + T + r" must be 3 finite decimal number\(s\); got '1\\\\nan\\\\3'"),
                             (b"1\\2", F2 + ": " + T), (b"abcd", F2 + ": " + T), (None, F2 + " has no " + T)],
    "ImageOrientationPatient": [(b"1\\0\\0\\0\\1\\inf ", F2 + ": " + T), (b"1\\0\\0", F2 + ": " + T),
                                (b"1\\0\\0\\0\\0\\1 ", r"different orientations")],
    "PixelSpacing": [(b"0.7 ", F2 + ": " + T + r" must be 2 finite decimal number\(s\) > 0; got '0\.7'"),
                     (b"0\\0.7 ", F2 + ": " + T), (b"-1\\1 ", F2 + ": " + T), (b"nan\\1 ", F2 + ": " + T),
                     (b"1e6\\1e6 ", r"different PixelSpacing")],
    "ImagerPixelSpacing": [(b"abcd", "ok")],  # 2-D images only
    "EstimatedRadiographicMagnificationFactor": [(b"abcd", "ok")],  # 2-D images only
    "SliceThickness": [(b"abcd", F2 + ": " + T + r" must be .*got 'abcd'"), (b"nan ", F2 + ": " + T),
                       (b"-2 ", F2 + ": " + T + " must be a finite number >= 0")],
    "RescaleSlope": [(b"0 ", F2 + ": " + T + " must be a finite number > 0; got '0(\\.0)?'"),
                     (b"-1", F2 + ": " + T + " must be a finite number > 0"), (b"nan ", F2 + ": " + T),
                     (b"inf ", F2 + ": " + T), (b"abcd", F2 + ": " + T)],
    "RescaleIntercept": [(b"nan ", F2 + ": " + T), (b"-inf", F2 + ": " + T), (b"1e400 ", F2 + ": " + T),
                         (b"abcd", F2 + ": " + T)],
    "WindowCenter": [(b"abcd", "ok")],  # VOI LUT: 2-D images only, on request
    "WindowWidth": [(b"abcd", "ok")],
    "VOILUTFunction": [(b"CUBIC ", "ok")],  # 2-D images only, on request (test_io_image corpus)
    "KVP": [(b"abcd", F2 + ": " + T), (b"inf ", F2 + ": " + T)],
    "Manufacturer": [(b"\xff\xfe", "ok")],
    "ManufacturerModelName": [(b"\xff\xfe", "ok")],
    "ConvolutionKernel": [(b"\xff\xfe", "ok")],
}

CASES = [(kw, value, expect) for kw, rows in TABLE.items() for value, expect in rows]


def _keywords_in_source() -> set[str]:
    """Every string literal in the reader's modules that is a DICOM keyword."""
    found = set()
    for path in IO_DIR.glob("*.py"):
        if path.name.startswith("_dicom_write") or path.name == "_uids.py":
            continue  # the writer sets attributes; it does not read them
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for word in re.findall(r"[A-Z][A-Za-z0-9]+", node.value):
                    if word == node.value.strip() and tag_for_keyword(word) is not None:
                        found.add(word)
    return found


@pytest.mark.verifies("SRS-IO-018")
def test_io_reader_uses_only_tags_the_table_covers() -> None:
    used = _keywords_in_source()
    assert "RescaleSlope" in used and "PixelSpacing" in used  # the scan sees the reader
    uncovered = sorted(used - set(READER_TAGS) - set(NOT_PARSED))
    assert not uncovered, f"reader uses tags missing from READER_TAGS / this table: {uncovered}"
    assert set(TABLE) == set(READER_TAGS), sorted(set(TABLE) ^ set(READER_TAGS))


def _vol() -> Volume:
    arr = np.random.default_rng(3).integers(-1000, 1500, size=(6, 10, 12)).astype(np.int16)
    return Volume(arr, (2.0, 0.7, 0.7), (-20.0, -30.0, 5.0))


def _set_raw(path: Path, keyword: str, value: bytes | None) -> None:
    """Write ``value`` as the attribute's raw bytes (pydicom neither converts nor validates them), or delete it."""
    ds = pydicom.dcmread(path)
    tag = Tag(tag_for_keyword(keyword))
    if tag in ds:
        del ds[tag]
    if value is not None:
        vr = dictionary_VR(tag)
        if vr not in ("US", "SS", "UL", "SL") and len(value) % 2:
            value += b" "
        ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)
    ds.save_as(path)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Volume]:
    d = tmp_path_factory.mktemp("clean")
    write_dicom_series(_vol(), d, patient={"PatientID": "P1"})
    return d, read_dicom_series(d, max_workers=1)


@pytest.mark.verifies("SRS-IO-018")
@pytest.mark.parametrize(("keyword", "value", "expect"), CASES, ids=[f"{c[0]}-{c[1]!r}" for c in CASES])
def test_io_every_reader_tag_with_bad_values(keyword: str, value: bytes | None, expect: str, clean, tmp_path: Path) -> None:
    src, reference = clean
    d = tmp_path / "s"
    d.mkdir()
    for f in sorted(src.iterdir()):
        (d / f.name).write_bytes(f.read_bytes())
    target = sorted(d.iterdir())[2]
    _set_raw(target, keyword, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if expect == "ok":
            vol = read_dicom_series(d, max_workers=1)
            np.testing.assert_array_equal(vol.array, reference.array)
            assert vol.spacing == reference.spacing
            return
        with pytest.raises(SamdError) as info:
            read_dicom_series(d, max_workers=1)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "\n" not in message
    pattern = expect.replace(T, re.escape(tag_name(keyword)))
    assert re.search(pattern, message), message


@pytest.mark.timeout(600)
@pytest.mark.verifies("SRS-IO-018")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(
    keyword=st.sampled_from(sorted(READER_TAGS)),
    value=st.one_of(
        st.binary(max_size=24),
        st.text(alphabet="0123456789.-+eEnaif\\ ", max_size=24).map(str.encode),
        st.sampled_from([b"nan", b"inf", b"-0", b"0", b"1e308", b"1e-308", b"\\", b"\xff\xff\xff\xff"]),
    ),
    which=st.integers(0, 5),
)
def test_io_fuzzed_tag_values_raise_only_samd_errors(keyword: str, value: bytes, which: int, clean) -> None:
    src, _ = clean
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = sorted(src.iterdir())
        for f in files:
            (d / f.name).write_bytes(f.read_bytes())
        _set_raw(d / files[which].name, keyword, value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                vol = read_dicom_series(d, max_workers=1)
            except SamdError as exc:
                assert isinstance(exc, ValueError) and "\n" not in str(exc)
                return
    assert np.all(np.isfinite(np.asarray(vol.array, dtype=np.float64)))
