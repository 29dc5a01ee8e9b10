"""Real single-slice files bundled with pydicom: every encoding of MR_small gives the same volume.

Reference: SimpleITK ``ReadImage`` (GDCM) on ``MR_small.dcm`` and the encoded copies, called live.
pydicom's MR_small set holds one 64x64 MR slice stored as explicit/implicit VR little endian,
explicit VR big endian, RLE, JPEG 2000 lossless and JPEG-LS lossless.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from samd_core import Volume
from samd_core.io import NonImageObjectError, read_dicom_series

ENCODINGS = [
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_expb.dcm",
    "MR_small_padded.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
]


def _alone(name: str, tmp_path: Path) -> Path:
    src = get_testdata_file(name, download=False)
    if src is None:
        pytest.skip(f"pydicom test file {name} not installed")
    shutil.copy(src, tmp_path / name)
    return tmp_path


@pytest.mark.verifies("SRS-IO-003", "SRS-IO-001")
@pytest.mark.parametrize("name", ENCODINGS)
def test_io_mr_small_encodings_equal_reference(name: str, tmp_path: Path) -> None:
    import SimpleITK as sitk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = read_dicom_series(_alone(name, tmp_path))
    ref = sitk.GetArrayFromImage(sitk.ReadImage(get_testdata_file("MR_small.dcm", download=False)))
    np.testing.assert_array_equal(ours.array, ref)
    # geometry identical to the uncompressed little-endian file read by SimpleITK (in-plane)
    img = sitk.ReadImage(get_testdata_file("MR_small.dcm", download=False))
    np.testing.assert_allclose(ours.origin, img.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(ours.spacing[1:], img.GetSpacing()[1::-1], atol=1e-6)


@pytest.mark.verifies("SRS-IO-003")
def test_io_deflated_secondary_capture_is_not_mistaken_for_a_non_image(tmp_path: Path) -> None:
    """image_dfl.dcm (Deflated Explicit VR LE, Secondary Capture without geometry)."""
    from samd_core.io import MixedGeometryError

    with pytest.raises(MixedGeometryError, match=r"^file 0 \(SOPInstanceUID [0-9.]+\) has no ImagePositionPatient \(0020,0032\)"):
        read_dicom_series(_alone("image_dfl.dcm", tmp_path))


@pytest.mark.verifies("SRS-IO-010")
def test_io_meta_less_rt_plan_is_a_non_image_object(tmp_path: Path) -> None:
    with pytest.raises(NonImageObjectError, match=r"file 0 \(SOPInstanceUID [0-9.]+\) \(RT Ion Plan Storage\)"):
        read_dicom_series(_alone("ExplVR_LitEndNoMeta.dcm", tmp_path))


@pytest.mark.verifies("SRS-IO-002")
def test_io_real_ct_small_rescaled_like_simpleitk(tmp_path: Path) -> None:
    import SimpleITK as sitk

    ours = read_dicom_series(_alone("CT_small.dcm", tmp_path))
    ref = Volume.from_sitk(sitk.ReadImage(get_testdata_file("CT_small.dcm", download=False)))
    np.testing.assert_array_equal(ours.array, ref.array)
    np.testing.assert_allclose(ours.origin, ref.origin, atol=1e-6)
