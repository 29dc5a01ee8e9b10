#!/usr/bin/env python
"""Release the locked core: record its fingerprint, re-qualify and re-lock the shipped bundles.

Usage (from the repository root, with the project's Python):

    python scripts/release_core.py --version 0.2.0   # bump, record, re-lock bundles
    python scripts/release_core.py                   # re-record the current (unreleased) version
    python scripts/release_core.py --check           # only report change-control findings

Rules: a version that already has a ``## [X.Y.Z]`` section in CHANGELOG.md is released and its
fingerprint can never change (a new fingerprint needs a new version); a version still under
``## [Unreleased]`` may be re-recorded. Each shipped bundle is re-run on its reference inputs
under the new core; only if its outputs are bit-identical to its golden outputs is it re-locked
to the new fingerprint. Otherwise the release stops (the model's behaviour changed: retrain or
re-validate, or pass --regenerate-goldens after review).

Input domains: ``scripts/input_domains/<bundle>.json`` (reviewed; see docs/bundle.md) is written
into the bundle's ``bundle.json`` as ``input_domain`` at re-lock; the golden outputs must still be
reproduced bit-exactly.

Training sets: ``scripts/training_sets/<bundle>.json`` (written by ``scripts/make_training_sets.py``
from the reference devices' development cohorts) is validated (`samd_core.bundle.TrainingSet`) and
written into the bundle as ``training_set.json`` at re-lock, listed in and hashed by its manifest;
``samd validate`` then refuses test cases that overlap it.

Signing: with ``SAMD_RELEASE_KEY`` (path of the project's Ed25519 release key, an *encrypted*
PKCS#8 PEM) and ``SAMD_RELEASE_PASSPHRASE`` set, every re-locked shipped bundle is signed
(``manifest.sig``) and the public key is written to ``samd_core/bundles/release_public_key.pem``;
`samd_core.qualification.check_bundle` then verifies shipped bundles against it. Without the key
the bundles are left unsigned (a warning is printed), and a shipped public key makes that a
failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _set_version(version: str) -> None:
    p = ROOT / "samd_core" / "_version.py"
    text = p.read_text(encoding="utf-8")
    new = re.sub(r'__version__\s*=\s*"[^"]+"', f'__version__ = "{version}"', text)
    p.write_text(new, encoding="utf-8")


def _relock(bundle: pathlib.Path, fingerprint: str, version: str, regenerate: bool) -> str:
    import numpy as np

    from samd_core.bundle import decode_goldens, decode_reference_inputs, load_locked, write_goldens, write_manifest
    from samd_core.bundle._reference import GOLDEN_JSON, GOLDEN_TENSORS, INPUTS_JSON, INPUTS_TENSORS

    model = load_locked(bundle, check_core_fingerprint=False)  # hashes still verified
    cases = decode_reference_inputs((bundle / INPUTS_TENSORS).read_bytes(), (bundle / INPUTS_JSON).read_bytes())
    probs, doc = decode_goldens((bundle / GOLDEN_TENSORS).read_bytes(), (bundle / GOLDEN_JSON).read_bytes())
    same = all(
        np.array_equal(model.predict(v).golden_array(), probs[cid]) for cid, v in cases.items()
    )
    meta_path = bundle / "bundle.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["core_fingerprint"] = fingerprint
    meta["core_version"] = version
    domain = input_domain_for(bundle.name)
    if domain is not None:
        meta["input_domain"] = domain
    if not same and not regenerate:
        raise SystemExit(
            f"bundle {bundle.name}: outputs under the new core differ from its golden outputs; "
            "the locked model's behaviour changed. Retrain/re-validate it, or rerun with "
            "--regenerate-goldens after review."
        )
    meta_path.write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    training = training_set_for(bundle.name)
    if training is not None:
        (bundle / "training_set.json").write_bytes(training)
    write_manifest(bundle)
    relocked = load_locked(bundle, check_core_fingerprint=False)
    for v in cases.values():  # the reference inputs must lie inside the declared input domain
        relocked.predict(v)
    if not same:
        write_goldens(bundle)
        return "re-locked, golden outputs REGENERATED"
    return "re-locked (golden outputs reproduced bit-exactly)"


#: Reviewed input-domain declarations of the shipped bundles, applied to ``bundle.json`` at re-lock.
INPUT_DOMAINS = ROOT / "scripts" / "input_domains"


def input_domain_for(bundle_name: str) -> dict | None:
    """The validated `InputDomain` declaration ``scripts/input_domains/<bundle>.json``, or None."""
    from samd_core.bundle import InputDomain

    p = INPUT_DOMAINS / f"{bundle_name}.json"
    if not p.is_file():
        return None
    return InputDomain.from_dict(json.loads(p.read_text(encoding="utf-8"))).to_dict()


#: Training-set identifier files of the shipped bundles (``scripts/make_training_sets.py``).
TRAINING_SETS = ROOT / "scripts" / "training_sets"


def training_set_for(bundle_name: str) -> bytes | None:
    """The validated ``training_set.json`` bytes for ``bundle_name`` (``scripts/training_sets/<bundle>.json``), or None."""
    from samd_core.bundle import TrainingSet

    p = TRAINING_SETS / f"{bundle_name}.json"
    if not p.is_file():
        return None
    return TrainingSet.from_file(p).to_bytes()


def load_release_key(path: str | os.PathLike[str], passphrase: str | None) -> object:
    """The Ed25519 release key from an encrypted PKCS#8 PEM; refuses an unencrypted key or an empty passphrase."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not passphrase:
        raise SystemExit("SAMD_RELEASE_PASSPHRASE must be set (non-empty) to unlock the release key")
    data = pathlib.Path(path).read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode("utf-8"))
    except TypeError as exc:  # "Password was given but private key is not encrypted"
        raise SystemExit("the release key must be an encrypted PKCS#8 PEM (it is not encrypted)") from exc
    except ValueError as exc:
        raise SystemExit("the release key cannot be decrypted: wrong passphrase or not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"the release key must be Ed25519; got {type(key).__name__}")
    return key


def sign_shipped(bundles_root: pathlib.Path, key: object) -> list[str]:
    """Sign every bundle under ``bundles_root`` and write its ``release_public_key.pem``; verify each."""
    from cryptography.hazmat.primitives import serialization

    from samd_core.bundle import load_locked, sign_manifest
    from samd_core.qualification import RELEASE_PUBLIC_KEY

    pub = key.public_key()  # type: ignore[attr-defined]
    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (bundles_root / RELEASE_PUBLIC_KEY).write_bytes(pem)
    done = []
    for b in sorted(p for p in bundles_root.iterdir() if (p / "manifest.json").is_file()):
        sign_manifest(b, key)
        load_locked(b, public_key=pem, check_core_fingerprint=False)  # the signature verifies
        done.append(b.name)
    return done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", help="new samd_core version (semantic); default: keep the current one")
    ap.add_argument("--check", action="store_true", help="only report change-control findings")
    ap.add_argument("--regenerate-goldens", action="store_true", help="accept changed bundle outputs")
    args = ap.parse_args()

    from samd_core.qualification import change_control_findings, changelog_sections

    if args.check:
        findings = change_control_findings(ROOT)
        for f in findings:
            print("FINDING:", f)
        print("change control: OK" if not findings else f"change control: {len(findings)} finding(s)")
        return 1 if findings else 0

    if args.version:
        if not re.fullmatch(r"\d+\.\d+\.\d+(?:[-.+][0-9A-Za-z.]+)?", args.version):
            raise SystemExit(f"--version must be a semantic version; got {args.version!r}")
        _set_version(args.version)
    from samd_core.fingerprint import RELEASED_FILENAME, core_fingerprint

    text = (ROOT / "samd_core" / "_version.py").read_text(encoding="utf-8")
    version = re.search(r'__version__\s*=\s*"([^"]+)"', text).group(1)  # type: ignore[union-attr]
    fingerprint = core_fingerprint(ROOT / "samd_core")
    record_path = ROOT / "samd_core" / RELEASED_FILENAME
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {"releases": []}
    releases = record["releases"]
    released = set(changelog_sections((ROOT / "CHANGELOG.md").read_text(encoding="utf-8")))
    entry = {"version": version, "fingerprint": fingerprint,
             "recorded_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    same_version = [r for r in releases if r["version"] == version]
    if same_version and same_version[0]["fingerprint"] != fingerprint:
        if version in released:
            raise SystemExit(
                f"version {version} is released (CHANGELOG.md has its section) with fingerprint "
                f"{same_version[0]['fingerprint']}; a changed core needs a new version (--version)"
            )
        releases = [r for r in releases if r["version"] != version]
    if not same_version or same_version[0]["fingerprint"] != fingerprint:
        releases.append(entry)
    record = {
        "about": "Released samd_core fingerprints (scripts/release_core.py; docs/bundle.md). "
        "The latest entry must match the sources; this file is not part of the fingerprint.",
        "releases": releases,
    }
    record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"samd_core {version}: fingerprint {fingerprint}")
    bundles = ROOT / "samd_core" / "bundles"
    if bundles.is_dir():
        for b in sorted(p for p in bundles.iterdir() if (p / "manifest.json").is_file()):
            print(f"bundle {b.name}: {_relock(b, fingerprint, version, args.regenerate_goldens)}")
        key_path = os.environ.get("SAMD_RELEASE_KEY")
        if key_path:
            key = load_release_key(key_path, os.environ.get("SAMD_RELEASE_PASSPHRASE"))
            for name in sign_shipped(bundles, key):
                print(f"bundle {name}: signed with the release key")
        else:
            print("WARNING: SAMD_RELEASE_KEY not set: shipped bundles are NOT signed")
    findings = change_control_findings(ROOT)
    for f in findings:
        print("FINDING:", f)
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
