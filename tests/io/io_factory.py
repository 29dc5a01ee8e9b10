"""Realistic DICOM test series written at test time (nothing binary is committed).

The anatomy comes from Debian's invesalius-examples head CT (``Cranium.inv3``, GPL-2: read in
place, never copied into the repository). It is a gzip tar; its ``matrix.dat`` member is
little-endian int16 HU, shape 108 x 256 x 256 (z, y, x), z = 0 inferior, rows stored bottom-up,
spacing (z, y, x) = 1.5, 0.9570312, 0.9570312 mm.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import EnhancedCTImageStorage, ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from bench.bench_data import INV3, cranium_hu  # one reader of the head CT, shared with bench/
from samd_core import Volume
from samd_core.io import derive_uid, write_dicom_series

INV3_SKIP = "Debian package invesalius-examples (Cranium.inv3 head CT) is not installed"
FAKE_PATIENT = {"PatientName": "Phantom^Head", "PatientID": "SAMD-TEST-001", "PatientBirthDate": "19700101",
                "PatientSex": "O", "StudyID": "1", "AccessionNumber": "ACC0001"}


def cranium_slab(n: int = 12, step: int = 4, z0: int = 40) -> Volume:
    """A small slab of the real head CT: ``n`` slices, in-plane subsampled by ``step``."""
    arr = cranium_hu()[z0 : z0 + n, ::step, ::step]
    sy = 0.9570312 * step
    return Volume(np.ascontiguousarray(arr), (1.5, sy, sy), (-122.5, -122.5, -60.0 + 1.5 * z0))


def sitk_read(folder: Path, series_uid: str = "") -> Volume:
    """SimpleITK ImageSeriesReader with its GDCM file-name scan (the independent reader)."""
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder), series_uid))
    return Volume.from_sitk(reader.Execute())


def dciodvfy_errors(paths: list[Path]) -> list[str]:
    """'Error -' lines (and non-zero exits) of dciodvfy over every file."""
    problems = []
    for p in paths:
        res = subprocess.run(["dciodvfy", str(p)], capture_output=True, text=True, timeout=60)
        lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.startswith("Error")]
        if res.returncode != 0 or lines:
            problems.append(f"{p.name}: exit {res.returncode}: {lines[:3]}")
    return problems


def _rewrite(path: Path, new_path: Path, edit: Callable[[pydicom.Dataset], None]) -> Path:
    ds = pydicom.dcmread(path)
    edit(ds)
    path.unlink()
    ds.save_as(new_path, enforce_file_format=True)
    return new_path


def shuffle_and_reverse(files: list[Path], seed: int = 0) -> list[Path]:
    """Rename files to random names and reverse InstanceNumber (slice order must come from IPP)."""
    rng = np.random.default_rng(seed)
    n = len(files)
    out = []
    for k, f in enumerate(files):
        name = f"{rng.integers(0, 2**32):08x}.dcm"

        def edit(ds: pydicom.Dataset, k: int = k) -> None:
            ds.InstanceNumber = n - k

        out.append(_rewrite(f, f.with_name(name), edit))
    return out


def alternating_rescale(n: int) -> list[tuple[float, float]]:
    """Odd slices slope 0.5 / intercept -1000, even slices 1 / -1024 (one PixelRepresentation for the series)."""
    return [(0.5, -1000.0) if k % 2 else (1.0, -1024.0) for k in range(n)]


# ---------------------------------------------------------------- variants
def v_plain(vol: Volume, folder: Path) -> list[Path]:
    files = write_dicom_series(vol, folder, uid_seed="plain", rescale=alternating_rescale(vol.shape[0]),
                               patient=FAKE_PATIENT)
    return shuffle_and_reverse(files)


def v_rle(vol: Volume, folder: Path) -> list[Path]:
    return write_dicom_series(vol, folder, uid_seed="rle", transfer_syntax="rle", patient=FAKE_PATIENT)


def v_j2k(vol: Volume, folder: Path) -> list[Path]:
    return write_dicom_series(vol.with_array(vol.array[:5]), folder, uid_seed="j2k",
                              transfer_syntax="jpeg2000", patient=FAKE_PATIENT)


def v_missing(vol: Volume, folder: Path) -> list[Path]:
    files = write_dicom_series(vol, folder, uid_seed="missing", patient=FAKE_PATIENT)
    for k in (4, 7):
        files[k].unlink()
    return [f for k, f in enumerate(files) if k not in (4, 7)]


def v_tilt(vol: Volume, folder: Path) -> list[Path]:
    return write_dicom_series(vol, folder, uid_seed="tilt", gantry_tilt_deg=15.0, patient=FAKE_PATIENT)


def v_mixed(vol: Volume, folder: Path) -> list[Path]:
    a = write_dicom_series(vol, folder, uid_seed="mixed", series_number=1, patient=FAKE_PATIENT,
                           file_name="A{index:03d}.dcm")
    thin = Volume(np.ascontiguousarray(vol.array[::2]), (3.0, *vol.spacing[1:]), vol.origin, vol.direction)
    b = write_dicom_series(thin, folder, uid_seed="mixed", series_number=2, patient=FAKE_PATIENT,
                           series_description="thick", file_name="B{index:03d}.dcm")
    return a + b


def v_mr_monochrome1(vol: Volume, folder: Path) -> list[Path]:
    mr = vol.with_array((np.asarray(vol.array, dtype=np.int32) + 1024).astype(np.uint16))
    files = write_dicom_series(mr, folder, modality="MR", uid_seed="mr", patient=FAKE_PATIENT)

    def edit(ds: pydicom.Dataset) -> None:
        ds.PhotometricInterpretation = "MONOCHROME1"
        stored = np.frombuffer(ds.PixelData, dtype="<u2")
        ds.PixelData = (65535 - stored).astype("<u2").tobytes()

    return [_rewrite(f, f, edit) for f in files]


VARIANTS: dict[str, Callable[[Volume, Path], list[Path]]] = {
    "plain": v_plain,
    "rle": v_rle,
    "j2k": v_j2k,
    "missing": v_missing,
    "tilt": v_tilt,
    "mixed": v_mixed,
    "mr_monochrome1": v_mr_monochrome1,
}


def make_variant(name: str, vol: Volume, folder: Path) -> list[Path]:
    if folder.exists():
        shutil.rmtree(folder)
    return VARIANTS[name](vol, folder)


# ---------------------------------------------------------------- enhanced multi-frame
def enhanced_ct(vol: Volume, path: Path, *, frame_order: list[int] | None = None, geometry: bool = True) -> Path:
    """One Enhanced CT file holding ``vol`` (functional groups; frames in ``frame_order``).

    A reader-input fixture: it carries the functional-group macros the reader uses, not the full
    Enhanced CT IOD (so it is not a dciodvfy subject).
    """
    n = vol.shape[0]
    order = list(range(n)) if frame_order is None else frame_order
    d = vol.direction_matrix
    ds = Dataset()
    ds.SOPClassUID = EnhancedCTImageStorage
    ds.SOPInstanceUID = derive_uid("2.25.", "enhanced", "sop")
    ds.SeriesInstanceUID = derive_uid("2.25.", "enhanced", "series")
    ds.StudyInstanceUID = derive_uid("2.25.", "enhanced", "study")
    ds.Modality = "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.Rows, ds.Columns = vol.shape[1], vol.shape[2]
    ds.NumberOfFrames = n
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = [f"{vol.spacing[1]:.10g}", f"{vol.spacing[2]:.10g}"]
    pm.SliceThickness = f"{vol.spacing[0]:.10g}"
    po = Dataset()
    po.ImageOrientationPatient = [f"{v:.10g}" for v in (*d[:, 2], *d[:, 1])]
    pvt = Dataset()
    pvt.RescaleSlope, pvt.RescaleIntercept, pvt.RescaleType = "1", "-1024", "HU"
    shared.PixelValueTransformationSequence = Sequence([pvt])
    if geometry:
        shared.PixelMeasuresSequence = Sequence([pm])
        shared.PlaneOrientationSequence = Sequence([po])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per = []
    for k in order:
        item = Dataset()
        pp = Dataset()
        pp.ImagePositionPatient = [f"{v:.10g}" for v in np.asarray(vol.origin) + k * vol.spacing[0] * d[:, 0]]
        if geometry:
            item.PlanePositionSequence = Sequence([pp])
        fc = Dataset()
        fc.InStackPositionNumber = int(k) + 1
        item.FrameContentSequence = Sequence([fc])
        per.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    stored = (np.asarray(vol.array, dtype=np.int32)[order] + 1024).astype("<u2")
    ds.PixelData = stored.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
