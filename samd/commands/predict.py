"""`samd predict BUNDLE INPUT --out DIR`: run a locked model on one input (+ DICOM SEG / SR)."""

from __future__ import annotations

import click

__all__ = ["command"]


@click.command("predict")
@click.argument("bundle", type=click.Path(file_okay=False))
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (prediction.json, label.nii.gz, seg.dcm, sr.dcm).")
@click.option("--dicom-seg", is_flag=True, help="Also write the label map as DICOM SEG (seg.dcm).")
@click.option("--dicom-sr", is_flag=True, help="Also write a TID 1500 Comprehensive 3D SR (sr.dcm) and the seg.dcm it references.")
@click.option("--expected-sha256", default=None, help="Pin: SHA-256 of the bundle's manifest.json.")
@click.option("--public-key", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Ed25519 public key (PEM); the bundle's signature is then required.")
def command(bundle: str, input_path: str, out_dir: str, dicom_seg: bool, dicom_sr: bool,
            expected_sha256: str | None, public_key: str | None) -> None:
    """Run the locked BUNDLE on INPUT (DICOM series folder, DICOM file, or NIfTI/MHA file)."""
    from samd_core.predict_file import predict_file

    res = predict_file(bundle, input_path, out_dir, dicom_seg=dicom_seg, dicom_sr=dicom_sr,
                       expected_sha256=expected_sha256, public_key=public_key)
    r = res.record
    click.echo(f"bundle {r['bundle']['name']} {r['bundle']['version']} ({r['bundle']['manifest_sha256'][:12]}…)")
    click.echo(f"score {r['score']!r}  positive {r['positive']}  lesions {len(r['lesions'])}")
    for name in sorted(res.files):
        click.echo(f"wrote {res.files[name]}")
