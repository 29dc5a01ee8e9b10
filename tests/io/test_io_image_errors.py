"""read_image/write_image errors, MONOCHROME1 on CT, single-slice and non-uniform-spacing cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from samd_core import Volume
from samd_core.errors import InvalidParameterError
from samd_core.io import ImageReadError, read_dicom_series, read_image, write_dicom_series, write_image


@pytest.mark.verifies("SRS-IO-016")
def test_io_read_image_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"`path` of `read_image` must be a file name ending in"):
        read_image(tmp_path / "x.tiff")
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.nii.gz")
    (tmp_path / "bad.nrrd").write_bytes(b"NRRD0004\ngarbage\n")
    with pytest.raises(ImageReadError, match=r"^\.nrrd file: SimpleITK cannot read it \(RuntimeError\)$"):
        read_image(tmp_path / "bad.nrrd")
    import SimpleITK as sitk

    sitk.WriteImage(sitk.Image([3, 3, 3], sitk.sitkVectorFloat32, 3), str(tmp_path / "vec.mha"))
    vec = read_image(tmp_path / "vec.mha")  # a vector image is a channel_last volume
    assert vec.channel_last and vec.n_channels == 3 and vec.spatial_shape == (3, 3, 3)
    sitk.WriteImage(sitk.Image([3, 3, 3, 2], sitk.sitkFloat32), str(tmp_path / "four.mha"))
    with pytest.raises(ImageReadError, match="a 2-D or 3-D image with 1 to 64 components per voxel is needed; got "
                       "dimension 4 with 1 component"):
        read_image(tmp_path / "four.mha")
    with pytest.raises(InvalidParameterError, match="`volume` of `write_image`"):
        write_image(np.zeros((2, 2, 2)), tmp_path / "a.nii")  # type: ignore[arg-type]


@pytest.mark.verifies("SRS-IO-016")
def test_io_read_image_nibabel_nifti_matches_nibabel_affine() -> None:
    """A real NIfTI from nibabel's test data: our LPS geometry equals nibabel's RAS affine flipped."""
    nib = pytest.importorskip("nibabel")
    path = Path(nib.__file__).parent / "tests" / "data" / "anatomical.nii"
    if not path.exists():
        pytest.skip("nibabel test data not installed")
    vol = read_image(path)
    img = nib.load(path)
    ras = img.affine
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras
    # our affine maps (z, y, x) indices; nibabel's maps (i, j, k) = (x, y, z)
    ours = vol.affine()[:, [2, 1, 0, 3]]
    np.testing.assert_allclose(ours, lps, atol=1e-4)
    np.testing.assert_array_equal(vol.array, np.asarray(img.dataobj).transpose(2, 1, 0))


@pytest.mark.verifies("SRS-IO-004")
def test_io_monochrome1_ct_keeps_hounsfield_units(tmp_path: Path) -> None:
    arr = np.random.default_rng(4).integers(-1000, 2000, size=(3, 6, 6)).astype(np.int16)
    files = write_dicom_series(Volume(arr, (1, 1, 1)), tmp_path)
    for f in files:
        ds = pydicom.dcmread(f)
        ds.PhotometricInterpretation = "MONOCHROME1"
        ds.save_as(f)
    vol = read_dicom_series(tmp_path)
    np.testing.assert_array_equal(vol.array, arr)
    assert vol.meta["monochrome1_inverted"] is False
    assert vol.meta["photometric_interpretation"] == "MONOCHROME1"


@pytest.mark.verifies("SRS-IO-001")
def test_io_single_slice_uses_slice_thickness(tmp_path: Path) -> None:
    arr = np.arange(12, dtype=np.int16).reshape(1, 3, 4)
    write_dicom_series(Volume(arr, (2.5, 0.5, 0.5), (1, 2, 3)), tmp_path)
    vol = read_dicom_series(tmp_path)
    assert vol.spacing == (2.5, 0.5, 0.5) and vol.shape == (1, 3, 4)


@pytest.mark.verifies("SRS-IO-007")
def test_io_non_uniform_spacing_resampled_onto_median_step(tmp_path: Path) -> None:
    arr = np.random.default_rng(6).integers(0, 1000, size=(5, 4, 4)).astype(np.int16)
    files = write_dicom_series(Volume(arr, (2.0, 1, 1)), tmp_path)
    ds = pydicom.dcmread(files[4])
    ds.ImagePositionPatient = [0, 0, 9.0]  # last step 3 mm instead of 2 mm
    ds.save_as(files[4])
    vol = read_dicom_series(tmp_path, accept_gaps=True)
    # targets 0, 2, 4, 6, 8 mm: slice at 8 mm lies between 6 mm and 9 mm (w = 2/3)
    assert vol.shape == (5, 4, 4) and vol.spacing[0] == pytest.approx(2.0)
    np.testing.assert_allclose(vol.array[4], arr[3] / 3 + 2 * arr[4] / 3, atol=1e-3)
    np.testing.assert_array_equal(vol.array[:4], arr[:4])
    assert vol.meta["gap_resampled"]["interpolated_slices"] == [4]
