"""CycloneDX SBOM (JSON, spec 1.6) of the locked core's runtime environment."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from risk._soup import SoupItem

__all__ = ["CORE_RUNTIME_ROOTS", "sbom_json"]

#: Distributions the locked core (``samd_core``) imports at run time; the SBOM holds these and
#: everything they pull in according to the lock.
CORE_RUNTIME_ROOTS: tuple[str, ...] = (
    "numpy", "scipy", "simpleitk", "pydicom", "pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg",
    "pylibjpeg-rle", "python-gdcm", "torch", "safetensors", "cryptography", "nibabel",
)


def sbom_json(
    soup: Sequence[SoupItem],
    *,
    device_name: str,
    device_version: str,
    model_hashes: Sequence[str] = (),
    properties: Sequence[tuple[str, str]] = (),
    timestamp: datetime,
) -> str:
    """Render a CycloneDX 1.6 JSON SBOM.

    The device (the locked core and its bundle) is the metadata component, typed
    ``machine-learning-model``, carrying the bundle SHA-256 hashes; each SOUP item becomes a
    ``library`` component with its purl and every allowed wheel/sdist SHA-256 from the lock. The
    serial number is a UUID5 of the content, so the same inputs give the same SBOM.
    """
    comps = [
        Component(
            name=s.name,
            version=s.version,
            type=ComponentType.LIBRARY,
            bom_ref=f"pkg:pypi/{s.name}@{s.version}",
            purl=PackageURL(type="pypi", name=s.name, version=s.version),
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=h) for h in s.hashes],
            description=s.purpose,
        )
        for s in soup
    ]
    device = Component(
        name=device_name,
        version=device_version,
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=f"device:{device_name}@{device_version}",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=h) for h in model_hashes],
        properties=[Property(name=k, value=v) for k, v in properties],
    )
    seed = json.dumps([device_name, device_version, list(model_hashes), [(s.name, s.version, s.hashes) for s in soup]])
    bom = Bom(
        components=comps,
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, "samd-sbom:" + seed),
        metadata=BomMetaData(component=device, timestamp=timestamp),
    )
    bom.register_dependency(device, comps)
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    return text
