"""Building the per-case table: truth, device output, per-case segmentation values."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from validation._locations import shown
from validation.errors import ProtocolError
from validation.harness._endpoints import CaseData
from validation.harness._manifest import Manifest
from validation.harness._protocol import (
    BINARY_METRICS,
    IMAGE_DIAGONAL,
    LESION_METRICS,
    REF_NONEMPTY,
    SEGMENTATION_METRICS,
    Endpoint,
    Protocol,
    Truth,
)

__all__ = ["build_case_data", "read_predictions", "load_mask"]


def _listing(xs: list[Any]) -> str:
    return f"{xs[:10]}" + (f" and {len(xs) - 10} more" if len(xs) > 10 else "")


def read_predictions(path: Path, manifest: Manifest) -> tuple[pd.DataFrame, list[str]]:
    """Predictions table aligned to the manifest's case order; extra rows are reported."""
    if not path.is_file():
        raise ProtocolError(f"`device.predictions` file {path} does not exist")
    preds = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "case_id" not in preds.columns:
        raise ProtocolError(f"predictions {path.name} have no `case_id` column; columns: {list(preds.columns)}")
    dup = sorted(set(preds["case_id"][preds["case_id"].duplicated()]))
    if dup:
        raise ProtocolError(f"predictions {path.name}: duplicate `case_id` values {_listing(dup)}")
    ids = manifest.table["case_id"]
    have = set(preds["case_id"])
    missing = [c for c in ids if c not in have]
    if missing:
        raise ProtocolError(f"predictions {path.name}: no prediction for {len(missing)} manifest case(s) {_listing(missing)}")
    extra = sorted(have - set(ids))
    warnings = [f"{len(extra)} prediction row(s) not in the manifest were ignored"] if extra else []
    return preds.set_index("case_id").loc[ids.to_numpy()].reset_index(), warnings


def load_mask(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    """A binary mask and its spacing (mm, array order) from .npz (``mask``, ``spacing``), a
    DICOM SEG (``.dcm``; `samd_core.io.read_dicom_seg`, every segment as foreground) or any
    SimpleITK-readable file."""
    if path.suffix.lower() == ".dcm":
        from samd_core.io import read_dicom_seg

        seg = read_dicom_seg(path)
        return np.asarray(seg.array) != 0, tuple(float(v) for v in seg.spacing)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return z["mask"].astype(bool), tuple(float(v) for v in z["spacing"])
    import SimpleITK as sitk

    img = sitk.ReadImage(str(path))
    arr = sitk.GetArrayFromImage(img) != 0
    return arr, tuple(float(v) for v in reversed(img.GetSpacing()))


def _seg_values(ep_keys: dict[str, Endpoint], pred_paths: list[Path], ref_paths: list[str]) -> dict[str, np.ndarray]:
    """Segmentation endpoint values, case by case; a reference given as an fsspec URL is staged
    (`validation._locations.staged`), the predictions are local files."""
    from validation._locations import staged

    from validation import metrics as M

    out = {k: np.empty(len(pred_paths)) for k in ep_keys}
    out[REF_NONEMPTY] = np.zeros(len(pred_paths))
    out[IMAGE_DIAGONAL] = np.zeros(len(pred_paths))
    for i, (pp, rp) in enumerate(zip(pred_paths, ref_paths, strict=True)):
        pred, sp = load_mask(pp)
        with staged(rp) as local_ref:
            ref, sr = load_mask(local_ref)
        out[REF_NONEMPTY][i] = float(np.any(ref))
        out[IMAGE_DIAGONAL][i] = float(np.sqrt(np.sum((np.asarray(ref.shape, float) * np.asarray(sr, float)) ** 2)))
        if pred.shape != ref.shape or not np.allclose(sp, sr):
            raise ProtocolError(f"prediction and reference masks differ in shape or spacing: {pp.name} vs "
                                f"{PurePosixPath(shown(rp)).name}")
        for k, ep in ep_keys.items():
            m = ep.metric
            if m == "dice":
                r = M.dice(pred, ref)  # type: ignore[attr-defined]
            elif m == "hd95":
                r = M.hausdorff_distance(pred, ref, spacing=sp, percentile=95)  # type: ignore[attr-defined]
            else:
                r = M.normalized_surface_dice(pred, ref, spacing=sp, tolerance_mm=ep.tolerance_mm)  # type: ignore[attr-defined]
            out[k][i] = float(getattr(r, "value", r))
    return out


def _truth_labels(truth: Truth, manifest: Manifest) -> np.ndarray:
    """0/1 truth from the label column. Accepted labels: ``truth.positive`` and the declared
    ``truth.negative`` value(s); without ``negative`` the column must hold exactly two distinct
    values, one of them the positive. Anything else is an error naming the unexpected labels and
    the first rows (case ids) holding them: a label is never counted negative by default."""
    col = str(truth.column)
    if col not in manifest.table.columns:
        raise ProtocolError(f"`truth.column` {col!r} is not a manifest column; columns: {list(manifest.table.columns)}")
    raw = manifest.table[col].astype(str).str.strip()
    ids = manifest.table["case_id"]
    empty = ids[raw == ""].tolist()
    if empty:
        raise ProtocolError(f"`truth.column` {col!r} is empty for case(s) {_listing(empty)}")
    boolean = isinstance(truth.positive, bool)
    text = raw.str.lower() if boolean else raw
    pos = _accepted(truth.positive)
    if truth.negative is not None:
        neg = set().union(*(_accepted(v) for v in truth.negative))
        bad = ~text.isin(pos | neg)
        if bad.any():
            labels = sorted(set(raw[bad]))
            raise ProtocolError(f"`truth.column` {col!r} has label(s) {_listing(labels)} that are neither "
                                f"truth.positive nor truth.negative, in case(s) {_listing(ids[bad].tolist())}")
    else:
        others = sorted(set(raw[~text.isin(pos)]))
        if len(others) != 1:
            rows = ids[~text.isin(pos)].tolist() if others else ids.tolist()
            raise ProtocolError(f"`truth.column` {col!r} must hold exactly two distinct labels, one of them "
                                f"truth.positive {truth.positive!r} (or declare truth.negative); got non-positive "
                                f"label(s) {_listing(others)} in case(s) {_listing(rows[:10])}")
    return text.isin(pos).to_numpy().astype(np.int8)


def _accepted(v: Any) -> set[str]:
    """Manifest spellings of one protocol label value."""
    if v is True:
        return {"true", "1", "yes"}
    if v is False:
        return {"false", "0", "no"}
    if isinstance(v, float) and v.is_integer():
        return {str(int(v)), str(v)}
    return {str(v)}


def build_case_data(protocol: Protocol, manifest: Manifest, device: pd.DataFrame,
                    mask_base: Path, *, threshold: float | None = None,
                    detections_path: Path | None = None) -> tuple[CaseData, pd.DataFrame]:
    """Per-case arrays for the endpoints and the case-level table (no images, no PHI).

    ``threshold`` is the operating threshold in force (the protocol's, or in bundle mode the
    bundle's locked case threshold).
    """
    dev, truth = protocol.device, protocol.truth
    metrics = {ep.metric for ep in protocol.endpoints}
    table = pd.DataFrame({"case_id": manifest.table["case_id"].to_numpy()})
    y = score = pred = None
    if truth.column is not None:
        y = _truth_labels(truth, manifest)
        table["truth"] = y
    if dev.score is not None:
        col = dev.score.column
        if col not in device.columns:
            raise ProtocolError(f"`device.score.column` {col!r} is not a predictions column; columns: {list(device.columns)}")
        s = pd.to_numeric(device[col], errors="coerce").to_numpy(dtype=float)
        bad = device["case_id"][~np.isfinite(s)].tolist()
        if bad:
            raise ProtocolError(f"score column {col!r} is missing or not a finite number for case(s) {_listing(bad)}")
        table["score"] = s
        higher = dev.score.higher_is_positive
        score = s if higher else -s
        if threshold is not None:
            pred = ((s >= threshold) if higher else (s <= threshold)).astype(np.int8)
            table["predicted_positive"] = pred
    seg: dict[str, np.ndarray] = {}
    seg_eps = {ep.seg_key: ep for ep in protocol.endpoints if ep.metric in SEGMENTATION_METRICS}
    if seg_eps:
        ref_col = str(truth.mask_column)
        pred_col = dev.mask_column or "mask_path"
        refs = [manifest.locate(p) for p in manifest.table[ref_col]]
        preds = [p if p.is_absolute() else (mask_base / p) for p in map(Path, device[pred_col])]
        seg = _seg_values(seg_eps, preds, refs)
        worst = any(ep.undefined.rule == "worst" for ep in seg_eps.values())
        for k, v in seg.items():
            if k != IMAGE_DIAGONAL or worst:  # the diagonal is an output only when it is imputed
                table[k] = v
    detection = None
    if metrics & LESION_METRICS:
        detection = _read_detection(protocol, manifest, table, detections_path, threshold)
    if y is not None and (metrics & (BINARY_METRICS | {"roc_auc"})) and len(set(y.tolist())) < 2:
        raise ProtocolError(f"truth column has a single class ({int(y[0]) if y.size else 'none'}) in "
                            "the whole test set; sensitivity/specificity/AUC need both classes")
    return CaseData(case_ids=table["case_id"].to_numpy(), y=y, score=score, pred=pred, seg=seg,
                    detection=detection), table


_CENTER = ["center_z_mm", "center_y_mm", "center_x_mm"]
_CENTER_2D = ["center_y_mm", "center_x_mm"]


def _read_points(path: Path, cols: list[str], what: str, known: set[str],
                 allow_empty: bool = False) -> tuple[pd.DataFrame, list[str], set[str]]:
    """A lesion or detection table: ``case_id``, ``cols`` and the centre columns, in mm.

    Centres are 3-D (``center_z_mm``, ``center_y_mm``, ``center_x_mm``) or 2-D (``center_y_mm``,
    ``center_x_mm`` only, e.g. radiographs: mm in the image plane, rows down and columns right).
    A ``center_z_mm`` column that is empty on some rows and filled on others mixes 2-D and 3-D
    rows and is refused. With ``allow_empty``, a row whose every value column is empty states
    "image read, no candidates": it is dropped from the table and its case returned as read.

    Returns the table, the centre columns used and the case ids of the "read, no candidates" rows.
    """
    if not path.is_file():
        raise ProtocolError(f"{what} file {path} does not exist")
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    center = _CENTER if "center_z_mm" in t.columns else _CENTER_2D
    missing = [c for c in ["case_id", *cols, *center] if c not in t.columns]
    if missing:
        raise ProtocolError(f"{what} file {path.name} lacks column(s) {missing}; columns: {list(t.columns)}")
    values = [*cols, *center]
    blank = t[values].apply(lambda c: c.str.strip() == "")
    empty_rows = blank.all(axis=1) if allow_empty else pd.Series(False, index=t.index)
    if center is _CENTER:
        z_blank = blank["center_z_mm"] & ~empty_rows
        if z_blank.any() and not z_blank[~empty_rows].all():
            rows = [int(i) + 2 for i in t.index[z_blank]][:5]
            raise ProtocolError(f"{what} file {path.name} mixes 2-D rows (empty `center_z_mm`, e.g. file "
                                f"line(s) {rows}) with 3-D rows; use one kind of coordinates per table")
        if z_blank.any():  # a z column that is empty throughout: a 2-D table
            center = _CENTER_2D
            values = [*cols, *center]
    read_empty = set(t["case_id"][empty_rows])
    t = t[~empty_rows].reset_index(drop=True)
    for c in values:
        v = pd.to_numeric(t[c], errors="coerce")
        if not np.all(np.isfinite(v)):
            bad = [int(i) + 2 for i in np.flatnonzero(~np.isfinite(v.to_numpy(float)))][:5]
            raise ProtocolError(f"{what} file {path.name}: column {c!r} must be finite numbers (file line(s) "
                                f"{bad}{'; a row with every value empty means image read, no candidates' if allow_empty else ''})")
        t[c] = v.astype(float)
    unknown = sorted((set(t["case_id"]) | read_empty) - known)
    if unknown:
        raise ProtocolError(f"{what} file {path.name}: case ids not in the manifest {_listing(unknown)}")
    return t, center, read_empty


def _read_detection(protocol: Protocol, manifest: Manifest, table: pd.DataFrame,
                    detections_path: Path | None = None, threshold: float | None = None) -> dict[str, Any]:
    """Reference lesions (truth.lesions) and device candidates, in mm in one frame per case.

    Candidates come from ``device.detections`` or, in bundle mode without it, from the locked
    model's own lesion list (``detections_path``): every in-domain case was run by the harness, so
    that list is complete by construction (a case without rows had no candidate). A
    ``device.detections`` file must hold a row for every manifest case (a row with empty score and
    coordinates states "image read, no candidates"); cases without any row are refused, unless
    ``device.missing_detections: no_findings`` declares that a missing row means no findings.

    The candidate threshold of the operating-point endpoints is ``device.detection_threshold``,
    else ``threshold`` (the case threshold in force: the protocol's, or the bundle's locked one).
    """
    dev = protocol.device
    known = set(manifest.table["case_id"])
    lpath = protocol.resolve(str(protocol.truth.lesions))
    from_model = detections_path is not None
    cpath = detections_path if from_model else protocol.resolve(str(dev.detections))
    les, l_center, _ = _read_points(lpath, ["diameter_mm"], "`truth.lesions`", known)
    cand, c_center, read_empty = _read_points(cpath, ["score"], "`device.detections`", known,  # type: ignore[arg-type]
                                              allow_empty=not from_model)
    if len(les) and len(cand) and len(l_center) != len(c_center):
        raise ProtocolError(f"`truth.lesions` has {len(l_center)}-D centres and `device.detections` "
                            f"{len(c_center)}-D centres; both must use the same frame")
    ids = manifest.table["case_id"].tolist()
    with_rows = set(cand["case_id"]) | read_empty
    no_rows = [c for c in ids if c not in with_rows]
    if from_model:
        policy, no_rows = "complete (the locked model's own lesion list, every case run)", []
    else:
        policy = dev.missing_detections
        if no_rows and policy == "error":
            raise ProtocolError(
                f"`device.detections` {cpath.name} has no row for {len(no_rows)} of {len(ids)} manifest case(s) "
                f"{_listing(no_rows[:5])}; a case never run is not a case without findings: add a row with "
                "empty score and coordinates for an image read without candidates, or declare "
                "`device.missing_detections: no_findings`")
    cand_thr = dev.detection_threshold if dev.detection_threshold is not None else threshold
    source = "device.detection_threshold" if dev.detection_threshold is not None else (
        "bundle locked threshold" if protocol.mode == "bundle" else "device.threshold")
    table["n_lesions"] = table["case_id"].map(les["case_id"].value_counts()).fillna(0).astype(int)
    table["n_candidates"] = table["case_id"].map(cand["case_id"].value_counts()).fillna(0).astype(int)
    table["detection_rows"] = table["case_id"].isin(with_rows).astype(int) if not from_model else 1
    patient = None
    if "patient_id" in manifest.table.columns:
        patient = dict(zip(manifest.table["case_id"], manifest.table["patient_id"], strict=True))
    from samd_core.hashing import sha256_file

    c_xyz = cand[c_center].to_numpy(float) if len(cand) else np.zeros((0, len(l_center)))
    return {"l_case": les["case_id"].to_numpy(object), "l_center": les[l_center].to_numpy(float),
            "l_diam": les["diameter_mm"].to_numpy(float), "c_case": cand["case_id"].to_numpy(object),
            "c_score": cand["score"].to_numpy(float), "c_center": c_xyz,
            "patient": patient, "lesions_sha256": sha256_file(lpath), "detections_sha256": sha256_file(cpath),
            "lesions_file": lpath, "detections_file": cpath, "ndim": len(l_center),
            "missing_detections": policy, "cases_without_rows": no_rows,
            "candidate_threshold": cand_thr, "candidate_threshold_source": source}
