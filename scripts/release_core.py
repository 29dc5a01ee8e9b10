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
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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
        np.array_equal(model.predict(v).probability.array, probs[cid]) for cid, v in cases.items()
    )
    meta_path = bundle / "bundle.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["core_fingerprint"] = fingerprint
    meta["core_version"] = version
    if not same and not regenerate:
        raise SystemExit(
            f"bundle {bundle.name}: outputs under the new core differ from its golden outputs; "
            "the locked model's behaviour changed. Retrain/re-validate it, or rerun with "
            "--regenerate-goldens after review."
        )
    meta_path.write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    write_manifest(bundle)
    if not same:
        write_goldens(bundle)
        return "re-locked, golden outputs REGENERATED"
    return "re-locked (golden outputs reproduced bit-exactly)"


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
    findings = change_control_findings(ROOT)
    for f in findings:
        print("FINDING:", f)
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
