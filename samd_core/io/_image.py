"""`read_image` / `write_image`: NIfTI, MetaImage and NRRD through SimpleITK."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from samd_core.errors import InvalidParameterError
from samd_core.io._errors import ImageReadError
from samd_core.volume import Volume

__all__ = ["IMAGE_SUFFIXES", "read_image", "write_image"]

#: File suffixes handled, mapped to the ``meta["source"]`` they record.
IMAGE_SUFFIXES: dict[str, str] = {
    ".nii": "nifti",
    ".nii.gz": "nifti",
    ".mha": "metaimage",
    ".mhd": "metaimage",
    ".nrrd": "nrrd",
    ".nhdr": "nrrd",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
}

#: Most components per voxel of a vector (multi-channel) image.
_MAX_COMPONENTS = 64

#: Suffixes read with Pillow (2-D photographs and screenshots: spacing unknown).
_PILLOW = frozenset({".png", ".jpg", ".jpeg"})


def _suffix(path: Path, function: str) -> str:
    name = path.name.lower()
    for suffix in sorted(IMAGE_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    # only the suffix is quoted: file names may hold patient names
    suffix = "".join(path.suffixes)[-16:] or "(none)"
    raise InvalidParameterError(
        "path", function, f"a file name ending in one of {sorted(IMAGE_SUFFIXES)}", f"suffix {suffix}", IMAGE_SUFFIXES
    )


def read_image(path: str | os.PathLike[str]) -> Volume:
    """Read a 2-D or 3-D NIfTI (.nii, .nii.gz), MetaImage (.mha, .mhd) or NRRD (.nrrd, .nhdr), or a PNG/JPEG.

    A vector image (several components per voxel, e.g. a multi-channel NRRD) becomes a
    ``channel_last`` volume ``(y, x, c)`` / ``(z, y, x, c)`` in the file's component order.

    PNG and JPEG (.png, .jpg, .jpeg) are read with Pillow as 2-D images with spacing unknown
    (1.0 nominal, ``meta["spacing_source"] = "unknown"``): grey-scale (8 or 16 bit) as ``(y, x)``,
    colour as an RGB ``channel_last`` volume ``(y, x, 3)`` (palette images are expanded, an
    alpha channel is dropped). The declared size is checked before decoding.

    SimpleITK converts each format's own convention (NIfTI's RAS qform/sform included) to
    LPS; the result follows the `Volume` convention (array ``(z, y, x)``, spacing in mm in array
    order, origin and direction in LPS).

    Raises
    ------
    InvalidParameterError
        Unknown suffix.
    ImageReadError
        Missing or unreadable file, a 4-D image or more than 64 components, or a non-orthonormal
        direction.
    """
    import SimpleITK as sitk

    p = Path(path)
    suffix = _suffix(p, "read_image")
    if not p.is_file():
        raise ImageReadError(f"{suffix} file: no such file")
    if suffix in _PILLOW:
        return _read_pillow(p, suffix)
    try:
        image = sitk.ReadImage(str(p))
    except RuntimeError as exc:
        # SimpleITK's message quotes the path: only the exception type is kept
        raise ImageReadError(f"{suffix} file: SimpleITK cannot read it ({type(exc).__name__})") from exc
    if image.GetDimension() not in (2, 3) or not 1 <= image.GetNumberOfComponentsPerPixel() <= _MAX_COMPONENTS:
        raise ImageReadError(
            f"{suffix} file: a 2-D or 3-D image with 1 to {_MAX_COMPONENTS} components per voxel is needed; got "
            f"dimension {image.GetDimension()} with {image.GetNumberOfComponentsPerPixel()} component(s) per voxel"
        )
    try:
        return Volume.from_sitk(image, meta={"source": IMAGE_SUFFIXES[suffix]})
    except ValueError as exc:
        raise ImageReadError(f"{suffix} file: {exc}") from exc


_PILLOW_LOCK = threading.Lock()


@contextlib.contextmanager
def _strict_pillow() -> Iterator[None]:
    """Decode with Pillow refusing truncated data, whatever another library set process-wide.

    WeasyPrint sets ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES = True`` when it is imported; a truncated
    PNG would then decode with its missing rows filled in. samd's reads hold a lock and set it to
    False for their own decode, restoring the previous value afterwards.
    """
    from PIL import ImageFile

    with _PILLOW_LOCK:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _read_pillow(p: Path, suffix: str) -> Volume:
    import numpy as np
    from PIL import Image

    from samd_core.volume import check_array_bytes

    label = f"{suffix} file"
    try:
        with _strict_pillow(), Image.open(p) as img:
            width, height = img.size
            channels = len(img.getbands())
            check_array_bytes((height, width, max(channels, 1)), 4, f"{label} of {width} x {height} pixels", ImageReadError)
            if img.mode in ("P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
                img = img.convert("RGB")
            elif img.mode in ("LA", "1"):
                img = img.convert("L")
            arr = np.asarray(img)
    except ImageReadError:
        raise
    except Image.DecompressionBombError:
        raise ImageReadError(
            f"{label}: declares more than {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels (Pillow's decompression-bomb "
            "limit); refusing to decode it"
        ) from None
    except Exception as exc:  # Pillow's messages may quote the path: only the type is kept
        raise ImageReadError(f"{label}: Pillow cannot read it ({type(exc).__name__})") from exc
    meta = {"source": IMAGE_SUFFIXES[suffix], "spacing_source": "unknown"}
    if arr.ndim == 3:
        meta["channels"] = "RGB"
        return Volume(np.ascontiguousarray(arr[..., :3]), (1.0, 1.0), meta=meta, channel_last=True)
    return Volume(np.ascontiguousarray(arr), (1.0, 1.0), meta=meta)


def write_image(volume: Volume, path: str | os.PathLike[str], *, compress: bool = True) -> Path:
    """Write ``volume`` as NIfTI, MetaImage or NRRD (chosen by the suffix of ``path``).

    Voxel type, spacing (mm), origin and direction (LPS) are kept; ``meta`` is not written.
    ``compress`` selects the format's lossless compression (gzip/zlib). Returns the path.
    """
    import SimpleITK as sitk

    if not isinstance(volume, Volume):
        raise InvalidParameterError("volume", "write_image", "a samd_core.Volume", type(volume).__name__)
    p = Path(path)
    _suffix(p, "write_image")
    p.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(volume.to_sitk(), str(p), useCompression=bool(compress))
    return p
