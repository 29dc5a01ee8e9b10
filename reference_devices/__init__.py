"""Reference devices of samd: synthetic cohorts and the training of the shipped example models.

Nothing here is validation. `reference_devices.phantom` generates synthetic chest-CT cohorts
(DICOM series, masks, manifests), `reference_devices.training` trains and locks the reference
nodule model shipped as ``samd_core/bundles/nodule_v1``, `reference_devices.radiograph` makes
synthetic radiographs and trains the reference classifier, and `reference_devices.demo` runs the
end-to-end example device (``samd demo``). This package may import `samd_core`, `validation`,
`clinical_eval` and `risk`; only the `samd` CLI and the tests import it.
"""

__all__: list[str] = []
