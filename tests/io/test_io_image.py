"""2-D projection and photographic images: `read_dicom_image`, `write_dicom_image`, PNG/JPEG, colour volumes.

Peers: pydicom's ``apply_modality_lut`` / ``apply_voi_lut`` (pydicom.pixels.processing, 3.0)
for the Modality and VOI LUTs; closed forms for spacing (ImagerPixelSpacing / ERMF, PS3.3
C.8.11.4.1.1) and MONOCHROME1 (PS3.3 C.7.6.3.1.2); dciodvfy (dicom3tools) for conformance.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut, convert_color_space
from pydicom.sequence import Sequence

from samd_core import Volume
from samd_core.errors import InvalidParameterError, SamdError
from samd_core.io._dicom_tags import READER_TAGS
from samd_core.io import (
    IMAGE_MODALITIES,
    DicomReadError,
    ImageReadError,
    NonImageObjectError,
    read_dicom_image,
    read_dicom_series,
    read_image,
    write_dicom_image,
    write_dicom_series,
)

MARK = "ZQX_Smith^John"


def _grey(shape: tuple[int, int] = (40, 32), hi: int = 4000, seed: int = 1) -> Volume:
    arr = np.random.default_rng(seed).integers(0, hi, size=shape).astype(np.int16)
    return Volume(arr, (0.15, 0.2))


def _edit(path: Path, fn: Callable[[pydicom.Dataset], None], out: Path | None = None) -> Path:
    ds = pydicom.dcmread(path)
    fn(ds)
    target = out or path
    ds.save_as(target)
    return target


# ---------------------------------------------------------------- writer conformance
@pytest.mark.verifies("SRS-IO-021")
@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools (dciodvfy) not installed")
@pytest.mark.parametrize("modality", sorted(IMAGE_MODALITIES))
@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_io_written_images_pass_dciodvfy(modality: str, photometric: str, tmp_path: Path) -> None:
    mag = 1.2 if modality in ("DX", "MG") else None
    p = write_dicom_image(_grey(), tmp_path / "a.dcm", modality=modality, photometric=photometric, magnification=mag)
    res = subprocess.run(["dciodvfy", str(p)], capture_output=True, text=True, timeout=60)
    errors = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.startswith("Error")]
    assert errors == []


@pytest.mark.verifies("SRS-IO-021")
@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools (dciodvfy) not installed")
def test_io_written_colour_secondary_capture_passes_dciodvfy(tmp_path: Path) -> None:
    rgb = Volume(np.random.default_rng(2).integers(0, 256, (24, 30, 3)).astype(np.uint8), (1.0, 1.0), channel_last=True)
    p = write_dicom_image(rgb, tmp_path / "c.dcm", modality="SC", photometric="RGB", spacing_attribute="none")
    res = subprocess.run(["dciodvfy", str(p)], capture_output=True, text=True, timeout=60)
    assert [ln for ln in (res.stdout + res.stderr).splitlines() if ln.startswith("Error")] == []


# ---------------------------------------------------------------- spacing
@pytest.mark.verifies("SRS-IO-021")
@pytest.mark.parametrize(
    ("attribute", "mag", "source", "factor"),
    [("PixelSpacing", None, "PixelSpacing", 1.0), ("ImagerPixelSpacing", None, "ImagerPixelSpacing", 1.0),
     ("ImagerPixelSpacing", 1.25, "ImagerPixelSpacing/ERMF", 1.0)],
)
def test_io_spacing_source(attribute: str, mag: float | None, source: str, factor: float, tmp_path: Path) -> None:
    vol = _grey()
    p = write_dicom_image(vol, tmp_path / "s.dcm", spacing_attribute=attribute, magnification=mag)  # type: ignore[arg-type]
    ds = pydicom.dcmread(p)
    out = read_dicom_image(p)
    assert out.meta["spacing_source"] == source
    if source == "ImagerPixelSpacing/ERMF":  # PS3.3 C.8.11.4.1.1: spacing at the patient = IPS / ERMF
        expected = tuple(float(v) / float(ds.EstimatedRadiographicMagnificationFactor) for v in ds.ImagerPixelSpacing)
    else:
        expected = tuple(float(v) for v in ds[attribute].value)
    np.testing.assert_allclose(out.spacing, expected, rtol=1e-12)
    np.testing.assert_allclose(out.spacing, vol.spacing, rtol=1e-9)


@pytest.mark.verifies("SRS-IO-021")
def test_io_spacing_unknown_is_nominal(tmp_path: Path) -> None:
    p = write_dicom_image(_grey(), tmp_path / "u.dcm", modality="SC", spacing_attribute="none")
    out = read_dicom_image(p)
    assert out.spacing == (1.0, 1.0) and out.meta["spacing_source"] == "unknown"


# ---------------------------------------------------------------- Modality LUT, MONOCHROME1
def _with_rescale(tmp_path: Path, slope: float, intercept: float) -> Path:
    vol = _grey()
    values = Volume(np.asarray(vol.array, dtype=np.float64) * slope + intercept, vol.spacing)
    return write_dicom_image(values, tmp_path / f"r{slope}_{intercept}.dcm", rescale=(slope, intercept))


def _with_modality_lut(tmp_path: Path) -> Path:
    p = write_dicom_image(_grey(hi=256), tmp_path / "lut.dcm", bits_stored=8, modality="CR")

    def lut(ds: pydicom.Dataset) -> None:
        del ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType
        item = Dataset()
        item.LUTDescriptor = [200, 10, 16]  # 200 entries, first stored value mapped 10, 16 bits
        item.ModalityLUTType = "US"
        item.LUTData = (np.arange(200) ** 2 // 7 + 3).astype("<u2").tobytes()
        ds.ModalityLUTSequence = Sequence([item])

    return _edit(p, lut)


MODALITY_CASES = {
    "identity": lambda d: _with_rescale(d, 1.0, 0.0),
    "integer-rescale": lambda d: _with_rescale(d, 2.0, -1000.0),
    "float-rescale": lambda d: _with_rescale(d, 0.37, -12.5),
    "lut-sequence": _with_modality_lut,
}


@pytest.mark.verifies("SRS-IO-021")
@pytest.mark.parametrize("case", sorted(MODALITY_CASES))
def test_io_modality_lut_equals_pydicom(case: str, tmp_path: Path) -> None:
    p = MODALITY_CASES[case](tmp_path)
    ds = pydicom.dcmread(p)
    expected = apply_modality_lut(ds.pixel_array, ds)
    got = read_dicom_image(p)
    np.testing.assert_allclose(np.asarray(got.array, dtype=np.float64), expected, rtol=1e-6, atol=1e-4)
    assert got.meta["modality_lut"] == ("ModalityLUTSequence" if case == "lut-sequence" else
                                        "none" if case == "identity" else "rescale")


def _monochrome1_twin(p: Path, out: Path) -> Path:
    """Independent twin: stored values inverted within BitsStored, same Modality LUT (PS3.3 C.7.6.3.1.2)."""

    def flip(ds: pydicom.Dataset) -> None:
        bits = int(ds.BitsStored)
        stored = np.frombuffer(ds.PixelData, dtype="<u2" if ds.BitsAllocated == 16 else "u1")
        ds.PixelData = ((2**bits - 1) - stored.astype(np.int64)).astype(stored.dtype).tobytes()
        ds.PhotometricInterpretation = "MONOCHROME1"
        if "PresentationLUTShape" in ds:
            ds.PresentationLUTShape = "INVERSE"

    return _edit(p, flip, out)


@pytest.mark.verifies("SRS-IO-021")
@pytest.mark.parametrize("case", sorted(MODALITY_CASES))
def test_io_monochrome1_twin_reads_as_monochrome2(case: str, tmp_path: Path) -> None:
    p = MODALITY_CASES[case](tmp_path)
    twin = _monochrome1_twin(p, tmp_path / "twin.dcm")
    a, b = read_dicom_image(p), read_dicom_image(twin)
    np.testing.assert_array_equal(a.array, b.array)
    assert a.array.dtype == b.array.dtype
    assert b.meta["monochrome1_inverted"] is True and a.meta["monochrome1_inverted"] is False


@pytest.mark.verifies("SRS-IO-021")
def test_io_writer_monochrome1_round_trips(tmp_path: Path) -> None:
    vol = _grey()
    p = write_dicom_image(vol, tmp_path / "m1.dcm", photometric="MONOCHROME1", modality="CR")
    np.testing.assert_array_equal(read_dicom_image(p).array, vol.array)


# ---------------------------------------------------------------- VOI LUT
def _window(tmp_path: Path, function: str, centre: float, width: float, rescale=(1.0, 0.0)) -> Path:
    vol = _grey()
    values = Volume(np.asarray(vol.array, dtype=np.float64) * rescale[0] + rescale[1], vol.spacing)
    p = write_dicom_image(values, tmp_path / f"w{function}.dcm", window=(centre, width), rescale=rescale)
    if function != "LINEAR":
        _edit(p, lambda ds: setattr(ds, "VOILUTFunction", function))
    return p


def _voi_sequence(tmp_path: Path) -> Path:
    p = write_dicom_image(_grey(hi=1000), tmp_path / "voiseq.dcm")

    def seq(ds: pydicom.Dataset) -> None:
        del ds.WindowCenter, ds.WindowWidth
        item = Dataset()
        item.LUTDescriptor = [512, 100, 12]
        item.LUTData = np.linspace(0, 4095, 512).round().astype("<u2").tobytes()
        ds.VOILUTSequence = Sequence([item])

    return _edit(p, seq)


VOI_CASES = {
    "linear": lambda d: _window(d, "LINEAR", 1500.0, 800.0),
    "linear-rescaled": lambda d: _window(d, "LINEAR", 300.0, 1200.0, rescale=(0.5, -400.0)),
    "linear-exact": lambda d: _window(d, "LINEAR_EXACT", 2000.0, 1000.0),
    "sigmoid": lambda d: _window(d, "SIGMOID", 1800.0, 600.0),
    "lut-sequence": _voi_sequence,
}


@pytest.mark.verifies("SRS-IO-021")
@pytest.mark.parametrize("case", sorted(VOI_CASES))
def test_io_voi_lut_equals_pydicom(case: str, tmp_path: Path) -> None:
    p = VOI_CASES[case](tmp_path)
    ds = pydicom.dcmread(p)
    expected = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds)
    got = read_dicom_image(p, voi_lut=True)
    assert got.meta["voi_lut_applied"] is True and got.array.dtype == np.float32
    np.testing.assert_allclose(np.asarray(got.array, dtype=np.float64), expected, rtol=1e-6, atol=1e-3)
    assert read_dicom_image(p).meta["voi_lut_applied"] is False  # only when asked


# ---------------------------------------------------------------- colour
@pytest.mark.verifies("SRS-IO-021")
def test_io_colour_secondary_capture_keeps_channels(tmp_path: Path) -> None:
    rgb = np.random.default_rng(4).integers(0, 256, (20, 26, 3)).astype(np.uint8)
    p = write_dicom_image(Volume(rgb, (0.5, 0.5), channel_last=True), tmp_path / "c.dcm", modality="SC",
                          photometric="RGB", spacing_attribute="none")
    out = read_dicom_image(p)
    assert out.channel_last and out.n_channels == 3 and out.spatial_shape == (20, 26)
    assert out.meta["channels"] == "RGB"
    np.testing.assert_array_equal(out.array, pydicom.dcmread(p).pixel_array)


@pytest.mark.verifies("SRS-IO-021")
def test_io_ophthalmic_photograph_ybr_full_reads_as_rgb(tmp_path: Path) -> None:
    rgb = np.random.default_rng(6).integers(0, 256, (16, 20, 3)).astype(np.uint8)
    p = write_dicom_image(Volume(rgb, (1.0, 1.0), channel_last=True), tmp_path / "op.dcm", modality="SC",
                          photometric="RGB", spacing_attribute="none")

    def to_op(ds: pydicom.Dataset) -> None:
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.5.1"
        ds.Modality = "OP"
        ds.PhotometricInterpretation = "YBR_FULL"
        ds.PixelData = np.asarray(convert_color_space(rgb, "RGB", "YBR_FULL")).astype(np.uint8).tobytes()
        ds.PixelSpacing = ["0.01", "0.01"]

    _edit(p, to_op)
    out = read_dicom_image(p)
    assert out.n_channels == 3 and out.meta["spacing_source"] == "PixelSpacing"
    # YBR_FULL (PS3.3 C.7.6.3.1.2) round trip: within 2 grey levels of the RGB it came from
    assert np.abs(out.array.astype(int) - rgb.astype(int)).max() <= 2


@pytest.mark.verifies("SRS-IO-021")
def test_io_png_and_jpeg_read_with_spacing_unknown(tmp_path: Path) -> None:
    grey = np.random.default_rng(7).integers(0, 65535, (12, 9)).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "g.png")
    rgb = np.random.default_rng(8).integers(0, 256, (10, 14, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    Image.fromarray(rgb).save(tmp_path / "c.jpg", quality=95)
    g, c, j = read_image(tmp_path / "g.png"), read_image(tmp_path / "c.png"), read_image(tmp_path / "c.jpg")
    np.testing.assert_array_equal(g.array, grey)
    np.testing.assert_array_equal(c.array, rgb)
    assert g.n_channels == 1 and c.n_channels == 3 and j.n_channels == 3 and j.spatial_shape == (10, 14)
    np.testing.assert_array_equal(j.array, np.asarray(Image.open(tmp_path / "c.jpg")))  # Pillow is the decoder
    for v in (g, c, j):
        assert v.spacing == (1.0, 1.0) and v.meta["spacing_source"] == "unknown"


# ---------------------------------------------------------------- Volume channels
@pytest.mark.verifies("SRS-IO-021")
def test_io_grey_volume_hash_is_unchanged_by_channel_support() -> None:
    """content_sha256 of grey-scale volumes is the 0.1.0 formula (recomputed here with hashlib)."""
    v = _grey((5, 7))
    h = hashlib.sha256()
    h.update(v.array.dtype.str.encode())
    h.update(repr(v.shape).encode())
    h.update(np.ascontiguousarray(v.array).tobytes())
    h.update(repr((v.spacing, v.origin, v.direction)).encode())
    assert v.content_sha256() == h.hexdigest()
    assert v.n_channels == 1 and not v.channel_last
    c = Volume(np.zeros((5, 7, 1), np.uint8), (1.0, 1.0), channel_last=True)
    assert c.content_sha256() != Volume(np.zeros((5, 7, 1), np.uint8), (1.0, 1.0, 1.0)).content_sha256()
    with pytest.raises(InvalidParameterError, match="`spacing` of `Volume` must be 2 values"):
        Volume(np.zeros((5, 7, 3)), (1.0, 1.0, 1.0), channel_last=True)


# ---------------------------------------------------------------- the series reader points to read_dicom_image
@pytest.mark.verifies("SRS-IO-021")
def test_io_series_reader_sends_projection_images_to_read_dicom_image(tmp_path: Path) -> None:
    write_dicom_image(_grey(), tmp_path / "dx.dcm")
    with pytest.raises(NonImageObjectError, match=r"single-frame projection or photographic images .*"
                       r"\(Digital X-Ray Image Storage - For Presentation\).*read each file with `read_dicom_image`") as info:
        read_dicom_series(tmp_path)
    assert "non-image" not in str(info.value)


# ---------------------------------------------------------------- bad-input corpus (2-D)
def _dx(d: Path) -> Path:
    return write_dicom_image(_grey(), d / f"{MARK}.dcm", spacing_attribute="PixelSpacing")


def _set(**values: object) -> Callable[[Path], tuple[Path, dict]]:
    def build(d: Path) -> tuple[Path, dict]:
        p = _dx(d)
        ds = pydicom.dcmread(p)
        for k, v in values.items():
            if v is None:
                delattr(ds, k)
            else:
                setattr(ds, k, v)
        ds.save_as(p)
        return p, {}

    return build


def _multiframe(d: Path) -> tuple[Path, dict]:
    p = _dx(d)

    def two(ds: pydicom.Dataset) -> None:
        ds.NumberOfFrames = 2
        ds.PixelData = ds.PixelData * 2

    _edit(p, two)
    return p, {}


def _ct_slice(d: Path) -> tuple[Path, dict]:
    files = write_dicom_series(Volume(np.zeros((2, 8, 8), np.int16), (1.0, 1.0, 1.0)), d)
    return files[0], {}


def _truncated(d: Path) -> tuple[Path, dict]:
    p = _dx(d)
    p.write_bytes(p.read_bytes()[:-100])
    return p, {}


def _not_dicom(d: Path) -> tuple[Path, dict]:
    p = d / f"{MARK}.dcm"
    p.write_text("not DICOM")
    return p, {}


def _lut_bad(descriptor: list[int], n_data: int) -> Callable[[Path], tuple[Path, dict]]:
    def build(d: Path) -> tuple[Path, dict]:
        p = _dx(d)

        def lut(ds: pydicom.Dataset) -> None:
            del ds.RescaleSlope, ds.RescaleIntercept
            item = Dataset()
            item.LUTDescriptor = descriptor
            item.LUTData = np.arange(n_data).astype("<u2").tobytes()
            ds.ModalityLUTSequence = Sequence([item])

        _edit(p, lut)
        return p, {}

    return build


def _rgb_with(**values: object) -> Callable[[Path], tuple[Path, dict]]:
    def build(d: Path) -> tuple[Path, dict]:
        rgb = Volume(np.zeros((6, 8, 3), np.uint8), (1.0, 1.0), channel_last=True)
        p = write_dicom_image(rgb, d / f"{MARK}.dcm", modality="SC", photometric="RGB", spacing_attribute="none")
        _edit(p, lambda ds: [setattr(ds, k, v) for k, v in values.items()])
        return p, {}

    return build


def _with_kwargs(build: Callable[[Path], tuple[Path, dict]], **kw: object) -> Callable[[Path], tuple[Path, dict]]:
    def wrapped(d: Path) -> tuple[Path, dict]:
        p, _ = build(d)
        return p, kw

    return wrapped


CORPUS_2D = [
    ("bits-stored-above-allocated", _set(BitsStored=17, HighBit=16), DicomReadError,
     r"BitsStored \(0028,0101\) must be an integer in \[1, BitsAllocated = 16\]; got '17'"),
    ("missing-photometric", _set(PhotometricInterpretation=None), DicomReadError,
     r"PhotometricInterpretation \(0028,0004\) must be one of .*got nothing"),
    ("multi-frame", _multiframe, DicomReadError, r"NumberOfFrames \(0028,0008\) must be 1 .*got '2'"),
    ("pixel-spacing-zero", _set(PixelSpacing=["0", "0.2"]), DicomReadError, r"PixelSpacing \(0028,0030\) must be 2 finite"),
    ("imager-spacing-zero", _set(PixelSpacing=None, ImagerPixelSpacing=["0.2", "0"]), DicomReadError,
     r"ImagerPixelSpacing \(0018,1164\) must be 2 finite decimal number\(s\) > 0"),
    ("ermf-zero", _set(PixelSpacing=None, EstimatedRadiographicMagnificationFactor="0"), DicomReadError,
     r"EstimatedRadiographicMagnificationFactor \(0018,1114\) must be 1 finite decimal number\(s\) > 0"),
    ("three-samples-monochrome", _set(SamplesPerPixel=3), DicomReadError,
     r"SamplesPerPixel \(0028,0002\) must be 1 for PhotometricInterpretation MONOCHROME2; got '3'"),
    ("one-sample-rgb", _rgb_with(SamplesPerPixel=1), DicomReadError,
     r"SamplesPerPixel \(0028,0002\) must be 3 for PhotometricInterpretation RGB; got '1'"),
    ("unknown-photometric", _set(PhotometricInterpretation="CMYK"), DicomReadError, r"must be one of"),
    ("ct-slice", _ct_slice, DicomReadError, r"CT Image Storage\) is not a single-frame projection"),
    ("truncated-pixels", _truncated, DicomReadError, r"PixelData holds \d+ bytes but Rows 40 x Columns 32"),
    ("huge-declared", _set(Rows=65535, Columns=65535), DicomReadError, r"exceeds the limit|PixelData holds"),
    ("not-dicom", _not_dicom, DicomReadError, r"^file: not a DICOM file"),
    ("rescale-slope-zero", _set(RescaleSlope="0"), DicomReadError, r"RescaleSlope \(0028,1053\) must be a finite number > 0"),
    ("rescale-slope-huge", _set(RescaleSlope="1e300"), DicomReadError, r"RescaleSlope \(0028,1053\) must be a value that keeps"),
    ("lut-descriptor-bits", _lut_bad([10, 0, 20], 10), DicomReadError, r"LUTDescriptor \(0028,3002\) must be 3 values"),
    ("lut-data-short", _lut_bad([10, 0, 16], 4), DicomReadError, r"LUTData \(0028,3006\) holds 4 entries; LUTDescriptor says 10"),
    ("window-width-zero", _with_kwargs(_set(WindowWidth="0"), voi_lut=True), DicomReadError,
     r"WindowWidth \(0028,1051\) must be >= 1"),
    ("voi-function-bad", _with_kwargs(_set(VOILUTFunction="CUBIC"), voi_lut=True), DicomReadError,
     r"VOILUTFunction \(0028,1056\) must be one of"),
    ("voi-missing", _with_kwargs(_set(WindowWidth=None, WindowCenter=None), voi_lut=True), DicomReadError,
     r"voi_lut=True but the file has no WindowCenter"),
    ("voi-on-colour", _with_kwargs(_rgb_with(), voi_lut=True), InvalidParameterError, r"`voi_lut` of `read_dicom_image`"),
    ("voi-not-bool", _with_kwargs(_dx_path := (lambda d: (_dx(d), {})), voi_lut="yes"), InvalidParameterError,
     r"`voi_lut` of `read_dicom_image` must be a bool"),
    ("missing-file", lambda d: (d / f"{MARK}.dcm", {}), InvalidParameterError, r"`path` of `read_dicom_image` must be an existing"),
]


@pytest.mark.verifies("SRS-IO-021")
@pytest.mark.parametrize(("name", "build", "error", "pattern"), CORPUS_2D, ids=[c[0] for c in CORPUS_2D])
def test_io_image_bad_input_gives_clear_error(name: str, build, error, pattern: str, tmp_path: Path) -> None:
    d = tmp_path / MARK
    d.mkdir()
    path, kwargs = build(d)
    with pytest.raises(error, match=pattern) as info:
        read_dicom_image(path, **kwargs)
    assert isinstance(info.value, SamdError) and isinstance(info.value, ValueError)
    assert "ZQX" not in str(info.value) and "Smith" not in str(info.value)  # no file name (PHI)


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


CORPUS_RASTER = [
    ("png-garbage", b"\x89PNG\r\n\x1a\ngarbage", r"^\.png file: Pillow cannot read it"),
    ("png-declares-100000-squared", _png_declaring(100000, 100000), r"^\.png file( of 100000 x 100000 pixels: .*above the limit|: declares more than \d+ pixels)"),
    ("png-declares-20000-squared", _png_declaring(20000, 20000), r"^\.png file: declares more than \d+ pixels"),
    ("png-declares-8000-squared", _png_declaring(8000, 8000), r"^\.png file: Pillow cannot read it"),  # < bomb limit: truncated
    ("png-truncated-data", _png_declaring(64, 64), r"^\.png file: Pillow cannot read it"),
    ("jpeg-garbage", b"\xff\xd8\xff\xe0garbage", r"^\.jpg file: Pillow cannot read it"),
]


@pytest.mark.verifies("SRS-IO-021")
@pytest.mark.parametrize(("name", "content", "pattern"), CORPUS_RASTER, ids=[c[0] for c in CORPUS_RASTER])
def test_io_raster_bad_input_gives_clear_error(name: str, content: bytes, pattern: str, tmp_path: Path) -> None:
    suffix = ".jpg" if name.startswith("jpeg") else ".png"
    p = tmp_path / f"{MARK}{suffix}"
    p.write_bytes(content)
    with pytest.raises(ImageReadError, match=pattern) as info:
        read_image(p)
    assert "ZQX" not in str(info.value)


_FUZZ_BASE: dict[str, bytes] = {}


def _fuzz_base(kind: str) -> bytes:
    if kind not in _FUZZ_BASE:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            if kind == "rgb":
                rgb = Volume(np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3), (1.0, 1.0), channel_last=True)
                p = write_dicom_image(rgb, Path(tmp) / "a.dcm", modality="SC", photometric="RGB", spacing_attribute="none")
            else:
                p = write_dicom_image(_grey((6, 8), hi=2000), Path(tmp) / "a.dcm", photometric=kind, magnification=1.1,
                                      rescale=(1.0, -10.0), window=(500.0, 400.0))
            _FUZZ_BASE[kind] = p.read_bytes()
    return _FUZZ_BASE[kind]


@pytest.mark.verifies("SRS-IO-021")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["MONOCHROME2", "MONOCHROME1", "rgb"]),
    keyword=st.sampled_from(sorted(READER_TAGS)),
    value=st.one_of(
        st.binary(max_size=16),
        st.text(alphabet="0123456789.-+eEnaif\\ ", max_size=16).map(str.encode),
        st.sampled_from([b"nan", b"inf", b"0", b"-1", b"1e308", b"\xff\xff", b"MONOCHROME1", b"RGB", b"3"]),
    ),
    voi=st.booleans(),
)
def test_io_image_fuzzed_tags_raise_only_samd_errors(kind: str, keyword: str, value: bytes, voi: bool) -> None:
    import tempfile
    import warnings

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "f.dcm"
        p.write_bytes(_fuzz_base(kind))
        ds = pydicom.dcmread(p)
        tag = Tag(tag_for_keyword(keyword))
        if tag in ds:
            del ds[tag]
        vr = dictionary_VR(tag)
        if vr not in ("US", "SS", "UL", "SL") and len(value) % 2:
            value += b" "
        ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)
        ds.save_as(p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = read_dicom_image(p, voi_lut=voi)
            except SamdError as exc:
                assert isinstance(exc, ValueError) and "\n" not in str(exc)
                return
    assert np.all(np.isfinite(np.asarray(out.array, dtype=np.float64)))


# ---------------------------------------------------------------- every reader tag, 2-D
_T = "{tag}"
IMAGE_TABLE: dict[str, tuple[bytes | None, str]] = {
    "SOPClassUID": (b"1.2.3", r"SOPClassUID 1\.2\.3 \(1\.2\.3\) is not a single-frame"),
    "SOPInstanceUID": (b"Smith^John", "ok"),
    "SeriesInstanceUID": (b"Smith^John", "ok"),
    "StudyInstanceUID": (b"1.2.3", "ok"),
    "FrameOfReferenceUID": (b"1.2.3", "ok"),
    "PatientID": (b"OTHER", "ok"),
    "SeriesNumber": (b"abcd", "ok"),
    "Modality": (b"XX", "ok"),
    "ImageType": (b"\xff\xfe", "ok"),
    "NumberOfFrames": (b"abcd", _T + " must be an integer"),
    "Rows": (b"\x00\x00", _T + r" must be an integer in \[1, 65535\]"),
    "Columns": (b"\x00\x00", _T + r" must be an integer in \[1, 65535\]"),
    "SamplesPerPixel": (b"\x03\x00", _T + " must be 1 for PhotometricInterpretation MONOCHROME2"),
    "PhotometricInterpretation": (b"FOO ", _T + " must be one of"),
    "BitsAllocated": (b"\x0c\x00", _T + " must be one of 1, 8, 16, 32, 64"),
    "BitsStored": (b"\x11\x00", _T + r" must be an integer in \[1, BitsAllocated = 16\]"),
    "HighBit": (b"\x03\x00", _T + " must be BitsStored - 1"),
    "PixelRepresentation": (b"\x02\x00", _T + r" must be an integer in \[0, 1\]"),
    "PlanarConfiguration": (b"\x07\x00", "ok"),
    "ImagePositionPatient": (b"abcd", "ok"),
    "ImageOrientationPatient": (b"abcd", "ok"),
    "PixelSpacing": (b"0\\0.2 ", _T + r" must be 2 finite decimal number\(s\) > 0"),
    "ImagerPixelSpacing": (b"abcd", _T + r" must be 2 finite decimal number\(s\) > 0; got 'abcd'"),
    "EstimatedRadiographicMagnificationFactor": (b"nan ", _T + r" must be 1 finite decimal number\(s\) > 0"),
    "SliceThickness": (b"abcd", "ok"),
    "RescaleSlope": (b"-1", _T + " must be a finite number > 0"),
    "RescaleIntercept": (b"inf ", _T + r" must be 1 or more finite decimal number\(s\)"),
    "WindowCenter": (b"abcd", _T + r" must be 1 or more finite decimal number\(s\)"),
    "WindowWidth": (b"0 ", _T + " must be >= 1"),
    "VOILUTFunction": (b"CUBIC ", _T + " must be one of"),
    "KVP": (b"abcd", _T),
    "Manufacturer": (b"\xff\xfe", "ok"),
    "ManufacturerModelName": (b"\xff\xfe", "ok"),
    "ConvolutionKernel": (b"\xff\xfe", "ok"),
}


@pytest.mark.verifies("SRS-IO-021", "SRS-IO-018")
@pytest.mark.parametrize("keyword", sorted(IMAGE_TABLE))
def test_io_image_every_reader_tag_with_a_bad_value(keyword: str, tmp_path: Path) -> None:
    import re
    import warnings

    from samd_core.io._dicom_tags import tag_name

    assert set(IMAGE_TABLE) == set(READER_TAGS)
    vol = _grey((6, 8), hi=2000)
    p = write_dicom_image(vol, tmp_path / "a.dcm", magnification=1.1, rescale=(1.0, -10.0), window=(500.0, 400.0))
    clean = read_dicom_image(p)
    value, expect = IMAGE_TABLE[keyword]
    ds = pydicom.dcmread(p)
    tag = Tag(tag_for_keyword(keyword))
    if tag in ds:
        del ds[tag]
    if value is not None:
        vr = dictionary_VR(tag)
        ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)
    ds.save_as(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if expect == "ok":
            out = read_dicom_image(p)
            np.testing.assert_array_equal(out.array, clean.array)
            assert out.spacing == clean.spacing
            return
        with pytest.raises(DicomReadError) as info:
            read_dicom_image(p)
    message = str(info.value)
    assert message.startswith("file (SOPInstanceUID ") and "\n" not in message
    assert re.search(expect.replace(_T, re.escape(tag_name(keyword))), message), message


def test_io_truncated_png_is_refused_even_after_weasyprint_loosened_pillow(tmp_path: Path) -> None:
    """WeasyPrint sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES = True process-wide when imported; a
    product that also renders reports must still refuse a truncated PNG (and the flag is restored)."""
    import io as _io

    import numpy as np
    from PIL import Image, ImageFile

    from samd_core.io import read_image

    buf = _io.BytesIO()
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64).astype(np.uint8)).save(buf, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with pytest.raises(ImageReadError):
            read_image(path)
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous
