"""Operational qualification: each locked bundle reproduces its golden outputs.

On the platform that made the goldens (same `platform_id`), outputs must be **bit-exact**.
Elsewhere the probability maps and case scores must agree within `PROBABILITY_TOLERANCE`
(absolute), and the case call (positive/negative) must be identical; the maximum difference is
always reported.
"""

from __future__ import annotations

import pathlib

import numpy as np

from samd_core.qualification._record import CheckResult

__all__ = ["PROBABILITY_TOLERANCE", "RELEASE_PUBLIC_KEY", "check_bundle", "release_public_key", "shipped_bundles"]

#: Max |probability difference| accepted on a platform other than the goldens' (documented).
PROBABILITY_TOLERANCE = 1e-4


#: File name of the project's release public key, shipped beside the reference bundles.
RELEASE_PUBLIC_KEY = "release_public_key.pem"


def _bundles_root() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parents[1] / "bundles"


def shipped_bundles() -> list[pathlib.Path]:
    """Bundle directories shipped inside ``samd_core/bundles/`` (sorted)."""
    root = _bundles_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())


def release_public_key() -> pathlib.Path | None:
    """The project's release public key (``samd_core/bundles/release_public_key.pem``), when shipped.

    When it is shipped, every shipped bundle must carry a valid signature by it.
    """
    p = _bundles_root() / RELEASE_PUBLIC_KEY
    return p if p.is_file() else None


def _is_shipped(path: pathlib.Path) -> bool:
    return path.resolve() in {b.resolve() for b in shipped_bundles()}


def check_bundle(
    path: str | pathlib.Path, *, expected_sha256: str | None = None, public_key: object | None = None
) -> CheckResult:
    """Verify a bundle, run it on its reference inputs, compare with its golden outputs.

    Parameters
    ----------
    path : path
        Any bundle: a shipped reference bundle or a product's own.
    expected_sha256 : str, optional
        Pinned ``manifest_sha256``; any other bundle fails the check.
    public_key : key or path, optional
        Require and verify the manifest signature. A shipped bundle is verified against the
        release key (`release_public_key`) when that key is shipped and none is given.
    """
    from samd_core.bundle import decode_goldens, decode_reference_inputs, load_locked, platform_id, read_verified_files
    from samd_core.bundle._reference import GOLDEN_JSON, GOLDEN_TENSORS, INPUTS_JSON, INPUTS_TENSORS
    from samd_core.errors import IntegrityError

    base = pathlib.Path(path)
    name = f"OQ-bundle:{base.name}"
    if public_key is None and _is_shipped(base):
        public_key = release_public_key()
    try:
        model = load_locked(base, expected_sha256=expected_sha256, public_key=public_key)
        contents, _, manifest_sha = read_verified_files(
            base, public_key=public_key, require_signature=public_key is not None, expected_sha256=expected_sha256
        )
    except IntegrityError as exc:
        return CheckResult(name, "OQ", False, f"bundle refused: {exc}", {"bundle": str(base), "kind": getattr(exc, "kind", None)})
    needed = (INPUTS_TENSORS, INPUTS_JSON, GOLDEN_TENSORS, GOLDEN_JSON)
    if any(n not in contents for n in needed):
        return CheckResult(name, "OQ", False, "bundle has no reference inputs / golden outputs", {"bundle": str(base)})
    cases = decode_reference_inputs(contents[INPUTS_TENSORS], contents[INPUTS_JSON])
    golden_probs, golden_doc = decode_goldens(contents[GOLDEN_TENSORS], contents[GOLDEN_JSON])
    here = platform_id()
    same_platform = golden_doc.get("platform") == here
    per_case = {}
    ok = True
    worst = 0.0
    for cid, vol in cases.items():
        pred = model.predict(vol)
        arr = pred.golden_array()
        g = golden_probs.get(cid)
        grec = golden_doc["cases"].get(cid, {})
        if g is None or g.shape != arr.shape:
            per_case[cid] = {"passed": False, "reason": "no golden output of this shape"}
            ok = False
            continue
        diff = float(np.max(np.abs(g.astype(np.float64) - arr.astype(np.float64)))) if g.size else 0.0
        sdiff = abs(float(grec.get("score", np.nan)) - pred.score)
        worst = max(worst, diff, sdiff)
        if same_platform:
            case_ok = bool(np.array_equal(g, arr)) and pred.to_dict() == grec
        else:
            case_ok = diff <= PROBABILITY_TOLERANCE and sdiff <= PROBABILITY_TOLERANCE and pred.positive == grec.get("positive")
        ok &= case_ok
        per_case[cid] = {"passed": case_ok, "max_abs_probability_difference": diff, "score_difference": sdiff,
                         "bit_exact": bool(np.array_equal(g, arr))}
    mode = "bit-exact (same platform as the goldens)" if same_platform else f"tolerance {PROBABILITY_TOLERANCE:g} (other platform)"
    failed = [c for c, r in per_case.items() if not r["passed"]]
    msg = (
        f"{model.name} {model.version}: {len(cases)} reference cases reproduce the golden outputs, {mode}; max |difference| {worst:.3g}"
        if ok
        else f"{model.name} {model.version}: golden outputs not reproduced ({mode}) for {failed}; max |difference| {worst:.3g}"
    )
    return CheckResult(
        name, "OQ", ok, msg,
        {"bundle": str(base), "manifest_sha256": manifest_sha, "pinned": expected_sha256 is not None,
         "signature_verified": model.signature_verified, "same_platform": same_platform, "criterion": mode,
         "max_abs_difference": worst, "golden_platform": golden_doc.get("platform"), "cases": per_case},
    )
